//! # sonde-fields: the field set
//!
//! Owns the names sysdig and Falco users write in `-p` formats and filters
//! (`evt.type`, `proc.name`, `fd.name`, ...): parsing a field reference
//! (with its argument, as in `proc.aname[2]` or `evt.arg.name`),
//! extracting its value from an event plus the state right after the event
//! (as text for `-p` and `-j`, typed for filters), the `-p` formats, and
//! the field registry behind `sonde -l` (names, types, flags,
//! descriptions).
//!
//! One module per field class, as libsinsp has one filter check per class:
//! each holds its class's names, parsing, extraction and registry rows.
//!
//! | module | fields |
//! |--------|--------|
//! | `evt` | `evt.*`, `syscall.type` |
//! | `proc` | `proc.*`, `thread.*` |
//! | `user` | `user.*`, `group.*` |
//! | `fd` | `fd.*` |
//! | `fdlist` | `fdlist.*` |
//! | `syslog` | `syslog.*` (and the `evt.info` of syslog writes) |
//! | `container` | `container.*` |
//! | `k8s` | `k8s.*` |
//! | `mesos` | `mesos.*`, `marathon.*` (never a value) |
//! | `span` | `span.*`, `evtin.*` (registry rows only) |
//! | `fspath` | `fs.path.*` |
//!
//! Below them, what every class uses: `ctx` ([`Ctx`], the event and state
//! a field looks at, with the lookups several classes share), `error`
//! ([`FieldError`]), `field` ([`Field`], the type), `value` ([`Value`]),
//! `row` (what a registry row is), `time`, `memo`. Above them, what calls
//! into every class: `extract` (parsing and extraction dispatch, and the
//! inline extraction of the default formats' fields), `format`
//! ([`Format`]) and `registry` (the classes in `sysdig -l` order,
//! [`registry::write_list`]). Beside them, `scope`: how much of the state
//! a field reads ([`field_scope`]). The only two-way link is the type: [`Field`]
//! names each class's own enum ([`EvtX`], [`ProcX`], ...), which the
//! class modules define next to the code that parses and extracts it.
//!
//! Does **not** own: the filter grammar (`sonde-filter`), parameter
//! rendering rules (`sonde-output::params`), JSON and line output
//! (`sonde-output`, `sonde-cli`), or the tables themselves (`sonde-state`).

#![warn(missing_docs)]

mod container;
mod ctx;
mod error;
mod evt;
mod extra;
mod extract;
mod fd;
mod fdlist;
mod field;
mod format;
mod fspath;
mod k8s;
mod memo;
mod mesos;
mod proc;
pub mod registry;
mod row;
mod scope;
mod span;
mod syscall_category;
mod syslog;
#[cfg(test)]
mod testutil;
mod time;
mod user;
mod value;

pub use container::{ContX, MountSel};
pub use ctx::{Ctx, Lookups};
pub use error::FieldError;
pub use evt::{code_value, event_name, has_result, EvtX};
pub use extra::Extra;
pub use fd::{FdX, IpEnd};
pub use field::Field;
pub use format::{
    unescape_format, Format, FormatError, CONTAINER_FORMAT, DEFAULT_FORMAT, K8S_FORMAT, MAX_WIDTH,
    MESOS_FORMAT, TTY_FORMAT,
};
pub use fspath::{FsPath, Which as FsPathWhich};
pub use k8s::{K8sPart, K8sX};
pub use proc::ProcX;
pub use registry::JsonKind;
pub use scope::{field_scope, text_scope};
pub use syslog::{set_syslog_decoding, syslog_decoding};
pub use time::{fmt_local_time, TimeFmt};
pub use value::{parse_int, Value};

//! # sonde-fields: the field set
//!
//! Owns the names sysdig and Falco users write in `-p` formats and filters
//! (`evt.type`, `proc.name`, `fd.name`, ...): parsing a field reference
//! (with its argument, as in `proc.aname[2]` or `evt.arg.name`), and
//! extracting its value from an event plus the state right after the event.
//! Values render as text (for `-p` and `-j`) and, later, compare typed (for
//! filters).
//!
//! Does **not** own: the filter grammar (`sonde-filter`), parameter
//! rendering rules (`sonde-output::params`), or the tables themselves
//! (`sonde-state`).

mod contx;
mod evtx;
mod extra;
mod extract;
mod fdx;
mod format;
mod fspath;
mod memo;
#[cfg(test)]
mod newer_tests;
mod procx;
pub mod registry;
mod syscall_category;
mod time;
mod typed;

pub use contx::{ContX, MountSel};
pub use evtx::{set_syslog_decoding, syslog_decoding, EvtX};
pub use extra::Extra;
pub use extract::event_name;
pub use extract::{Ctx, Field, FieldError, Lookups};
pub use fdx::FdX;
pub use format::{
    unescape_format, Format, FormatError, CONTAINER_FORMAT, DEFAULT_FORMAT, K8S_FORMAT,
    MESOS_FORMAT, TTY_FORMAT,
};
pub use fspath::{FsPath, Which as FsPathWhich};
pub use procx::ProcX;
pub use time::{fmt_local_time, TimeFmt};
pub use typed::{parse_int, Value};

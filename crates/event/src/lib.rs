//! # sonde-event: the event model
//!
//! Owns what an event *is*, for every part of sonde: the event table (codes,
//! names, directions, categories, flags, parameter names, types and print
//! formats, generated at build time from `data/events.tsv`), the flag and
//! enum symbol tables, errno and syscall names, [`RawEvent`], a zero-copy
//! view of one event's header and parameters, the decoder of socket tuples
//! and addresses ([`net`]), and the metadata records every source shares
//! ([`meta`]: threads, fds, users, groups, interfaces, machine info, as
//! capture files store them and the live probe reads them).
//!
//! Does **not** own: reading or writing capture files (`sonde-scap`), the
//! meaning events give to threads and fds (`sonde-state`), or how parameters
//! are rendered as text (`sonde-output`). Sources of events (files, the live
//! probe) all produce [`RawEvent`]s so that every sink treats them alike.

#![warn(missing_docs)]

pub mod codes;
pub mod meta;
pub mod net;
mod raw;
mod table;
mod types;

pub use raw::{
    cstr, le_int, le_uint, Error as EventError, RawEvent, HEADER_LEN, HEADER_LEN_V1, MAX_PARAMS,
};
pub use table::{
    codes_named, errno_name, event_info, syscall_name, Direction, DynTable, EventInfo, FlagTable,
    ParamInfo, ERRNO_NAMES, EVENTS, EVENT_COUNT, FLAG_TABLES, FLAG_TABLES_OLD, SYSCALL_NAMES,
};
pub use types::{category, flags, ParamType, PrintFmt};

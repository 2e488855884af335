//! Event code constants, one per entry of the event table, named after the
//! driver's `PPME_*` enum without its prefix (e.g. [`SYSCALL_OPEN_X`]).
#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/codes.rs"));

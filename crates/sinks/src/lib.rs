//! # sonde-sinks: the built-in sinks
//!
//! Owns what sysdig's command line does with the events the engine hands
//! out: [`Printer`] (text lines or `-j` JSON, with `-d`'s display filter),
//! [`Dumper`] (the `-w` capture writer: gzip, rotation by size, time or
//! events, `--filter-proclist`, `-F`, layout conversion) and [`Summary`]
//! (`-S`, counting kept apart from printing in [`EventCounts`]),
//! [`filestart`]: what a file that starts mid-stream needs (shared with
//! the flight recorder), and [`procinfo`]: the CPU-time events sysdig's
//! driver emits, made from `/proc` for live captures (shared by chisels
//! and `sonde top`).
//!
//! Does **not** own: the event loop and when each sink is called
//! (`sonde-engine`), the file format (`sonde-scap`), or field extraction
//! (`sonde-fields`). Chisels, views and metrics are sinks of their own
//! crates.
#![warn(missing_docs)]

pub mod filestart;
mod printer;
pub mod procinfo;
mod replace;
mod summary;
mod writer;

pub use filestart::FileStart;
pub use printer::Printer;
pub use summary::{introsort, EventCounts, Summary};
pub use writer::{DumpOpts, Dumper};

//! # sonde-chisel: Lua chisels
//!
//! Runs sysdig chisels (Lua 5.1 scripts, here on LuaJIT) unchanged: the
//! chisel API (`chisel.*`, `evt.*`, `sysdig.*`, the globals and callbacks
//! sysdig 0.29.3 defines), the search path chisels and their `require`d
//! modules are found along, the listings `-cl` and `-i` print, and
//! [`ChiselSink`], the sink through which a loaded chisel sees the events
//! of the shared engine.
//!
//! Does **not** own: the event loop (`sonde-engine`), field extraction
//! (`sonde-fields`) or filters (`sonde-filter`); chisels reach them
//! through their public APIs only.
#![warn(missing_docs)]

mod api;
mod args;
pub mod bundled;
mod bundled_sys;
mod call;
mod error;
mod held;
mod host;
mod listing;
mod run_app;
mod runtime;
mod scan;
mod search;
mod sink;
mod tables;
mod values;

pub use args::split_args;
pub use error::ChiselError;
pub use host::Env;
pub use listing::{write_info, write_list};
pub use runtime::{Chisel, ChiselArg, Meta};
pub use search::SearchPath;
pub use sink::ChiselSink;

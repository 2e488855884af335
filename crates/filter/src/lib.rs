//! # sonde-filter: the filter language
//!
//! Owns the filter language of sysdig and Falco: parsing a filter string
//! (`evt.type in (open, openat) and not proc.name contains sh`) into an
//! AST, compiling it once into a typed evaluator that runs per event
//! without looking at the string again, the evt.type set a filter needs
//! ([`Filter::event_types`], for the live probe), the part of a filter that
//! reads only the event's thread ([`Filter::thread_gate`], whose verdict
//! the engine keeps per thread), and loading Falco-style
//! rules files (macros, lists, list appends) into expanded conditions.
//! Errors point at the fault: the filter, a caret under the byte that is
//! wrong, and a message.
//!
//! Does **not** own: field names, types and extraction (`sonde-fields`
//! and its registry), the state the fields read (`sonde-state`), or where
//! in the pipeline a filter runs (`sonde` CLI).

#![warn(missing_docs)]

pub mod ast;
mod compile;
mod error;
mod glob;
mod parse;
pub mod rules;

pub use compile::{Filter, Gate};
pub use error::FilterError;
pub use parse::parse;

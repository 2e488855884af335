//! # sonde-engine: the pipeline every front end shares
//!
//! Owns the event loop: a [`Source`] (a capture file, decoded on a helper
//! thread, or live capture with the eBPF probe, whose syscall set and
//! latency measurement follow what the filter and the sinks need), the
//! state engine, sysdig's rules for where the capture filter runs and which
//! events are suppressed or handed out, and any number of [`Sink`]s served
//! in one pass. A [`StopHandle`] ends a run cleanly from elsewhere.
//!
//! Does **not** own: flags (`sonde` CLI), what sinks do with events
//! (`sonde-sinks`: printer, writer, summary; chisels, views and metrics
//! later), the filter language (`sonde-filter`), fields (`sonde-fields`)
//! or the state itself (`sonde-state`).
//!
//! ```no_run
//! use sonde_engine::{Config, Engine, Source};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut engine = Engine::new(Config::default());
//! // engine.add_sink(Box::new(my_sink));
//! let report = engine.run(Source::open_file("trace.scap".as_ref())?)?;
//! println!("{} events", report.events);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "live")]
mod containers;
mod copy;
mod engine;
mod events;
#[cfg(feature = "k8s")]
mod k8s;
#[cfg(feature = "live")]
mod live;
mod recent;
pub mod rules;
mod sink;
mod source;
mod stop;

pub use engine::{Config, Engine, Report};
pub use sink::{Flow, Handed, KernelCount, Needs, Sink, SinkError, SinkResult};
#[cfg(feature = "live")]
pub use source::{Live, LiveOptions};
pub use source::{Source, SourceError};
pub use stop::StopHandle;

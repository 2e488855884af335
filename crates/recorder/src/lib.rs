//! # sonde-recorder: the flight recorder
//!
//! Owns the last N seconds of raw events in a bounded in-memory ring and
//! turning them, on a trigger, into a `.scap` file that sonde and sysdig
//! read: [`Recorder`] is a [`sonde_engine::Sink`] (add it to the engine
//! beside the agent's other sinks); [`RecorderHandle::trigger`] asks for
//! the window before the trigger plus what follows for a while, from any
//! thread; [`control`] serves the same request on a local unix socket
//! (root only) and holds the client `sonde agent capture` calls.
//!
//! The ring is cut into segments (one per second of event time by
//! default); each segment begins with the state tables of its moment
//! (threads, fds, users, containers: [`sonde_sinks::FileStart`], what the
//! rotating `-w` writer starts its files with), so a file can start at
//! any segment and still read on its own. When the ring is over its byte
//! cap, whole segments go, oldest first, and are counted
//! ([`RecorderStats::dropped_events`]).
//!
//! Does **not** own: the event loop (`sonde-engine`), the file format
//! (`sonde-scap`), the command line (`sonde agent capture` in the CLI
//! parses its flags and calls [`control::request_capture`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use sonde_recorder::{Recorder, RecorderConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (recorder, handle) = Recorder::new(RecorderConfig::default());
//! let mut engine = sonde_engine::Engine::new(sonde_engine::Config::default());
//! engine.add_sink(Box::new(recorder));
//! let _server = sonde_recorder::control::ControlServer::start(
//!     sonde_recorder::control::DEFAULT_SOCKET.as_ref(), handle.clone())?;
//! // elsewhere: handle.trigger(Duration::from_secs(10), Duration::from_secs(5), "x.scap")?.wait()?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod control;
mod ring;

pub use ring::{
    parse_duration, CaptureReport, Pending, Recorder, RecorderConfig, RecorderError,
    RecorderHandle, RecorderStats,
};

//! # sonde-agent: the metrics of `sonde agent`
//!
//! Owns turning the engine's events into **1-second metric series with
//! implicit tags**: [`MetricsSink`] is a `sonde_engine::Sink` that counts,
//! per process, container and host, syscalls, errors by category and
//! errno, file I/O by direction and directory (and by file, capped),
//! network bytes by connection and server port, new and failed
//! connections, open connections and listening ports, latency histograms
//! of file and network syscalls, memory from the state and CPU
//! ([`cpu`]); decodes HTTP/1.x from the captured payloads behind the
//! [`http::Protocol`] trait (requests and latency by method, status and
//! path, and per connection for the topology map's edges); picks statsd datagrams sent to UDP 8125 out of
//! the syscall stream and tags them with the sender's process and
//! container from the event ([`statsd`]); recognises which protocol each
//! listening port serves from live traffic ([`discover`], `app.info`), and
//! on request scrapes the Prometheus endpoints of those that speak HTTP
//! ([`scrape`]). Ticks come from event time
//! (`Needs::tick_ns`), so a replayed capture gives the same series every
//! time. Each series carries its entity's tags (host, container id, name,
//! image, repository, tag, Kubernetes pod, namespace, owners, services,
//! pod labels, process) plus the configured explicit tags ([`config`]).
//! Output: JSON lines ([`series::Batch::write_json`]), the Prometheus
//! text format ([`prom`]) and OpenTelemetry export requests ([`otlp`]).
//! Where BPF is not allowed, [`sidecar::Sidecar`] reads the same kind of
//! series, reduced, from `/proc` and cgroup files. Gauges from outside
//! the event stream (the Kubernetes cluster state) join each second's
//! batch through [`external`].
//!
//! Does **not** own: the transport to a server, checks, the flight
//! recorder, storage, flags (the `sonde agent` command in `sonde-cli`),
//! the live probe or the state (`sonde-engine`, `sonde-state`).

#![warn(missing_docs)]

mod agg;
pub mod config;
pub mod cpu;
pub mod discover;
pub mod dns;
mod emit;
pub mod external;
pub mod http;
pub mod otlp;
pub mod prom;
pub mod scrape;
pub mod series;
pub mod sidecar;
mod sink;
pub mod statsd;
pub mod tags;

pub use config::{Config, ConfigError};
pub use cpu::CpuSource;
pub use external::{External, ExternalGauge};
pub use series::{Batch, Histogram, Series, Value};
pub use sink::{MetricsSink, Options, Publish, KERNEL_COUNTED};

//! # sonde-checks: checks and keepalives, the Sensu way
//!
//! Owns running check commands and saying the agent is alive:
//! [`CheckConfig`] (name, command, interval, timeout, subscriptions),
//! [`run_check`] (one run through `/bin/sh -c` in its own process group,
//! killed with the group at its timeout), the Nagios plugin convention
//! ([`Status`] from the exit code, the first output line, perfdata parsed
//! into [`PerfMetric`]s by [`parse_perfdata`]), and the [`Scheduler`]
//! that runs the checks of the agent's subscriptions on their intervals
//! and sends a [`Keepalive`] every few seconds, and a last one marked
//! `leaving` on a clean shutdown. Everything it produces is an
//! [`AgentEvent`] (serde), sent on a channel.
//!
//! Does **not** own: where events go (the agent batches them into the
//! transport), the server's view of hosts, or reading the agent's config
//! file (a [`CheckConfig`] deserializes from it).
#![warn(missing_docs)]

mod perfdata;
mod run;
mod schedule;

pub use perfdata::{parse_output, parse_perfdata, PerfMetric};
pub use run::{run_check, CheckConfig, CheckResult, Status};
pub use schedule::{AgentEvent, Keepalive, Scheduler, SchedulerConfig};

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

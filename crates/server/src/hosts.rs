//! The host registry: every agent seen, its last batch and keepalive, and
//! its state: `ok`, `silent` (no keepalive for more than
//! [`SILENT_AFTER`] keepalive intervals) or `deregistered` (its last
//! keepalive said it was leaving). Each change of state becomes an event
//! (kind `keepalive`, tag `status`), which the caller stores.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use sonde_store::{Event, Tags};

use crate::decode::Keepalive;

/// Keepalive intervals without one before a host is silent.
pub const SILENT_AFTER: i64 = 3;

/// A host's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Keepalives arrive.
    Ok,
    /// Keepalives stopped without a goodbye.
    Silent,
    /// Left cleanly.
    Deregistered,
    /// Batches seen, no keepalive yet (or since a restart of the server).
    Unknown,
}

/// What the registry knows of one host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// The agent's id.
    pub agent: String,
    /// Its state.
    pub status: HostStatus,
    /// When its last batch arrived (server clock, ms), 0: not since start.
    pub last_batch_ms: i64,
    /// When its last keepalive arrived (server clock, ms), 0: none.
    pub last_keepalive_ms: i64,
    /// Its keepalive interval, ms.
    pub interval_ms: i64,
    /// Its subscriptions.
    pub subscriptions: Vec<String>,
}

/// The registry. Thread-safe.
#[derive(Debug, Default)]
pub struct Registry {
    hosts: Mutex<BTreeMap<String, Host>>,
}

fn change(agent: &str, now: i64, status: HostStatus, why: &str) -> Event {
    let mut tags = Tags::new();
    tags.insert("host".into(), agent.into());
    let st = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    tags.insert("status".into(), st.clone());
    Event {
        ts_ms: now,
        agent: agent.into(),
        kind: "keepalive".into(),
        tags,
        body: serde_json::json!({"host": agent, "status": st, "reason": why}),
    }
}

impl Registry {
    /// A registry knowing `agents` (from the store, after a restart) in
    /// state `unknown`.
    pub fn with_agents<'a>(agents: impl IntoIterator<Item = &'a String>) -> Registry {
        let r = Registry::default();
        if let Ok(mut h) = r.hosts.lock() {
            for a in agents {
                h.insert(a.clone(), Host::new(a));
            }
        }
        r
    }

    /// Notes a batch from `agent` at `now` with its keepalives; returns the
    /// state changes to store.
    pub fn batch(&self, agent: &str, now: i64, keepalives: &[Keepalive]) -> Vec<Event> {
        let mut out = Vec::new();
        let Ok(mut hosts) = self.hosts.lock() else {
            return out;
        };
        let h = hosts
            .entry(agent.to_string())
            .or_insert_with(|| Host::new(agent));
        h.last_batch_ms = now;
        for k in keepalives {
            h.last_keepalive_ms = now;
            if k.interval_ms > 0 {
                h.interval_ms = k.interval_ms;
            }
            h.subscriptions.clone_from(&k.subscriptions);
            let (next, why) = if k.leaving {
                (HostStatus::Deregistered, "the agent left cleanly")
            } else {
                (HostStatus::Ok, "keepalives arrive")
            };
            if h.status != next {
                // a first keepalive is not news; coming back is
                if !(h.status == HostStatus::Unknown && next == HostStatus::Ok) {
                    out.push(change(agent, now, next, why));
                }
                h.status = next;
            }
        }
        out
    }

    /// Marks the hosts silent whose keepalives stopped (as of `now`);
    /// returns the changes to store.
    pub fn sweep(&self, now: i64) -> Vec<Event> {
        let mut out = Vec::new();
        let Ok(mut hosts) = self.hosts.lock() else {
            return out;
        };
        for h in hosts.values_mut() {
            if h.status == HostStatus::Ok
                && h.interval_ms > 0
                && now - h.last_keepalive_ms > SILENT_AFTER * h.interval_ms
            {
                h.status = HostStatus::Silent;
                out.push(change(
                    &h.agent,
                    now,
                    HostStatus::Silent,
                    "no keepalive for more than 3 intervals",
                ));
            }
        }
        out
    }

    /// Every host, by agent id.
    pub fn hosts(&self) -> Vec<Host> {
        self.hosts
            .lock()
            .map(|h| h.values().cloned().collect())
            .unwrap_or_default()
    }
}

impl Host {
    fn new(agent: &str) -> Host {
        Host {
            agent: agent.into(),
            status: HostStatus::Unknown,
            last_batch_ms: 0,
            last_keepalive_ms: 0,
            interval_ms: 0,
            subscriptions: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ka(leaving: bool) -> Keepalive {
        Keepalive {
            ts_ms: 0,
            interval_ms: 1000,
            subscriptions: vec!["web".into()],
            leaving,
        }
    }

    #[test]
    fn ok_silent_back_and_deregistered() {
        let r = Registry::default();
        assert!(r.batch("a", 1000, &[ka(false)]).is_empty());
        assert_eq!(r.hosts()[0].status, HostStatus::Ok);
        assert!(r.sweep(3900).is_empty());
        let ev = r.sweep(4100);
        assert_eq!(ev[0].tags["status"], "silent");
        assert_eq!(r.hosts()[0].status, HostStatus::Silent);
        assert!(r.sweep(9000).is_empty(), "said once");
        let ev = r.batch("a", 9000, &[ka(false)]);
        assert_eq!(ev[0].tags["status"], "ok");
        let ev = r.batch("a", 9500, &[ka(true)]);
        assert_eq!(ev[0].tags["status"], "deregistered");
        assert!(r.sweep(60_000).is_empty(), "a host that left is not silent");
        assert_eq!(r.hosts()[0].status, HostStatus::Deregistered);
        assert_eq!(r.hosts()[0].subscriptions, ["web"]);
    }
}

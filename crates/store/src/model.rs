//! What is stored: samples of series, and events.

use serde::{Deserialize, Serialize};

/// Tags of a series or event, sorted by key (a series is its metric name
/// plus its tags).
pub type Tags = std::collections::BTreeMap<String, String>;

/// One series' value for one second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Metric name (`cpu.used.percent`, `net.http.request.count`, ...).
    pub metric: String,
    /// Its tags (host, container, Kubernetes, statsd's own, ...).
    pub tags: Tags,
    /// The second's end, ms since the epoch (a multiple of 1000 from the
    /// agent; roll-ups align to their own resolution).
    pub ts_ms: i64,
    /// The value.
    pub value: Value,
}

/// A sample's value, as the agent sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// How much happened during the second (a delta, not a running total).
    Counter {
        /// The increment.
        value: f64,
    },
    /// A level at the end of the second.
    Gauge {
        /// The level.
        value: f64,
    },
    /// A distribution (latencies in ns): exact count, sum, min, max, and
    /// the agent's mergeable log-linear buckets (upper bound inclusive,
    /// count), within about 6% for any quantile. Merging two is adding
    /// their buckets: a service's percentile across pods, or over a
    /// roll-up, stays within the same error.
    Histogram {
        /// Values recorded.
        count: u64,
        /// Their sum.
        sum: f64,
        /// The smallest.
        min: f64,
        /// The largest.
        max: f64,
        /// (upper bound inclusive, count), sorted by bound.
        buckets: Vec<(u64, u64)>,
    },
}

/// Something that happened: a check result, a keepalive change (a host
/// silent, back, or deregistered), a container or pod starting or
/// stopping, an alert, a capture file taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When, ms since the epoch.
    pub ts_ms: i64,
    /// The agent (host) it concerns.
    pub agent: String,
    /// What kind: `check`, `keepalive`, `container`, `pod`, `alert`,
    /// `capture`, ...
    pub kind: String,
    /// Tags to search by (check name, status, container, pod, ...).
    pub tags: Tags,
    /// The whole record as received or made.
    pub body: serde_json::Value,
}

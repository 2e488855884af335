//! # sonde-store: what the server keeps and how it is asked
//!
//! Owns the storage model shared by every engine of `sonde server`:
//! [`Sample`]s (one series' value for one second, with its tags), the
//! query model ([`Query`]: metric, time range and step, tag filters,
//! group-by, aggregation in time and across groups, top-N; [`Answer`]
//! says which resolution served it), stored [`Event`]s (check results,
//! keepalive changes, lifecycle, alerts, captures), and the [`Store`]
//! trait the engines implement (DuckDB embedded, ClickHouse distributed),
//! which must give the same answers; [`eval`], the documented semantics
//! as plain functions (bucket arithmetic, aggregations, histogram and
//! sketch quantiles, limits) engines share; and [`testkit`], the
//! synthetic workload and the reference evaluator every engine's golden
//! tests compare with.
//!
//! Does **not** own: any engine (each lives in its own crate, so heavy
//! storage dependencies stay out of other builds), the wire protocol
//! (sonde-transport), HTTP APIs or PromQL (sonde-server).
#![warn(missing_docs)]

pub mod eval;
mod model;
mod query;
pub mod testkit;

pub use model::{Event, Sample, Tags, Value};
pub use query::{Agg, Answer, EventQuery, Group, Order, Query, Resolution, TagFilter};

/// A storage engine's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The query is invalid or would scan too much (the message says
    /// which limit), or a batch is malformed (e.g. histogram buckets not
    /// sorted): the caller's fault, an HTTP 4xx.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// The engine failed (I/O, connection, SQL): a 5xx, retry later.
    #[error("store failed: {0}")]
    Engine(String),
}

/// The result type of store calls.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A storage engine. Thread-safe; every method may block.
pub trait Store: Send + Sync {
    /// Stores one agent batch atomically: its samples and events, and
    /// `seq` as the agent's last sequence number (so a restarted server
    /// resumes deduplication where it stopped: see [`Store::last_seqs`]).
    /// A batch whose `seq` is not above the stored one is ignored.
    fn write_batch(
        &self,
        agent: &str,
        seq: u64,
        samples: &[Sample],
        events: &[Event],
    ) -> Result<()>;

    /// The last sequence number stored per agent.
    fn last_seqs(&self) -> Result<std::collections::HashMap<String, u64>>;

    /// Answers a metric query. Full resolution serves what is still
    /// kept, unless a roll-up level aligned with the range's start, step
    /// and end gives the same answer from fewer rows (a long range at a
    /// coarse step); older ranges come from the roll-ups. The answer
    /// says which resolution served it.
    fn query(&self, q: &Query) -> Result<Answer>;

    /// Answers several queries, each as [`Store::query`] would (a page's
    /// queries at once: an engine may read the rows they share once).
    fn query_many(&self, qs: &[Query]) -> Vec<Result<Answer>> {
        qs.iter().map(|q| self.query(q)).collect()
    }

    /// The series (metric name and tags) that have samples in the range
    /// and pass the filters (`metric` None: every metric).
    fn series(
        &self,
        metric: Option<&str>,
        filters: &[TagFilter],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Tags)>>;

    /// Tag names seen in the range (the Prometheus `labels` API; `__name__`
    /// is the server's, not the store's).
    fn tag_names(&self, start_ms: i64, end_ms: i64) -> Result<Vec<String>>;

    /// Values of tag `name` seen in the range.
    fn tag_values(&self, name: &str, start_ms: i64, end_ms: i64) -> Result<Vec<String>>;

    /// Stored events passing `q`, newest first.
    fn events(&self, q: &EventQuery) -> Result<Vec<Event>>;

    /// Rolls up and expires as of `now_ms`: samples are folded into the
    /// roll-up resolutions once their slot has passed (engines may roll up
    /// only what leaves the window), full-resolution samples older than
    /// the retention window are dropped, and roll-ups past their own
    /// retention expire. Idempotent.
    fn maintain(&self, now_ms: i64) -> Result<()>;
}

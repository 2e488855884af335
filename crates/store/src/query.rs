//! The query model: one form every engine compiles (to SQL for DuckDB and
//! ClickHouse) and the Prometheus API translates PromQL into.
//!
//! Semantics (what the golden tests check, on every engine):
//! - The range `[start_ms, end_ms)` is cut into buckets of `step_ms`
//!   from `start_ms` (a step of 0: one bucket for the whole range). A
//!   point's time is its bucket's start.
//! - Per series and bucket, `time_agg` folds the bucket's samples:
//!   `Avg`, `Sum`, `Min`, `Max` of the values, `Count` of samples,
//!   `Rate` = sum / bucket seconds, `Quantile(q)` (nearest rank over the
//!   values). For histogram samples the values are the recorded ones:
//!   `Sum` and `Count` are theirs, `Avg` = sum / count, `Min`/`Max` are
//!   exact, `Rate` = count / bucket seconds, `Quantile` reads the merged
//!   buckets.
//! - Series are grouped by the values of the `group_by` tags (a missing
//!   tag is the empty string; no `group_by`: one group), and `group_agg`
//!   folds the per-series values of each bucket: `Avg`, `Sum`, `Min`,
//!   `Max`, `Count` (series with a value), `Quantile(q)` over them. For
//!   histograms, `Merge` merges the group's distributions first, then
//!   applies `time_agg` to the merged one (a service's p95 across pods).
//! - `top` keeps the N groups with the highest (or lowest) mean over
//!   their points; ties broken by the group's tags.
//! - Refinements (see `eval`): `Rate` divides by the bucket's width
//!   within the range (the last bucket is shorter when `end_ms` cuts it);
//!   `Quantile` in time uses nearest rank (rank ceil(q x n), at least 1);
//!   a histogram quantile is the upper bound of the bucket holding that
//!   rank, clamped to the exact min and max; `Merge` over counters and
//!   gauges pools the group's samples before the time aggregation; a
//!   bucket whose series have no value is left out; `Merge` in time and
//!   `Rate` across groups are bad queries. At most `eval::MAX_POINTS`
//!   (groups x buckets) points per answer.
//! - Roll-ups: a roll-up row of width W at time T holds the samples with
//!   T <= ts < T + W and counts in the query bucket T falls in, so steps
//!   and starts aligned to W give the same sums, counts, min, max, means
//!   and rates as full resolution; quantiles of counters and gauges come
//!   from a sketch within `eval::SKETCH_ERROR` (relative), histogram
//!   quantiles from merged buckets (the agent's error).

use serde::{Deserialize, Serialize};

use crate::Tags;

/// An aggregation, in time or across groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    /// Mean.
    Avg,
    /// Sum.
    Sum,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// How many (samples in time, series across groups).
    Count,
    /// Per second (time aggregation only).
    Rate,
    /// Quantile in 0..=1 (p50 is 0.5).
    Quantile(f64),
    /// Across groups, histograms only: merge the distributions, then
    /// apply the time aggregation.
    Merge,
}

/// A filter on one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagFilter {
    /// The tag equals the value (a missing tag equals "").
    Eq(String, String),
    /// The tag differs from the value.
    Ne(String, String),
    /// The tag fully matches the regular expression.
    Re(String, String),
    /// The tag does not fully match the regular expression.
    NotRe(String, String),
}

/// Which end `top` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// The highest means.
    Highest,
    /// The lowest means.
    Lowest,
}

/// A metric query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// The metric.
    pub metric: String,
    /// Range start, ms since the epoch (inclusive).
    pub start_ms: i64,
    /// Range end (exclusive).
    pub end_ms: i64,
    /// Bucket width in ms (0: the whole range).
    pub step_ms: i64,
    /// Every filter must pass.
    #[serde(default)]
    pub filters: Vec<TagFilter>,
    /// Tags to group by.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Aggregation in time, per series.
    pub time_agg: Agg,
    /// Aggregation across the series of a group.
    pub group_agg: Agg,
    /// Keep only the N highest or lowest groups.
    #[serde(default)]
    pub top: Option<(usize, Order)>,
}

/// The resolution that served an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Full resolution: 1 s.
    Second,
    /// 10 s roll-ups.
    TenSeconds,
    /// 1 min roll-ups.
    Minute,
    /// 1 h roll-ups.
    Hour,
}

impl Resolution {
    /// Its width in ms.
    pub fn ms(self) -> i64 {
        match self {
            Resolution::Second => 1_000,
            Resolution::TenSeconds => 10_000,
            Resolution::Minute => 60_000,
            Resolution::Hour => 3_600_000,
        }
    }
}

/// One group's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The group's values of the `group_by` tags.
    pub tags: Tags,
    /// (bucket start ms, value), in time order; buckets with no sample
    /// are left out.
    pub points: Vec<(i64, f64)>,
}

/// A query's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The resolution that served it.
    pub resolution: Resolution,
    /// The groups, sorted by tags (or in `top` order).
    pub groups: Vec<Group>,
}

/// An events query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventQuery {
    /// Range start, ms (inclusive).
    pub start_ms: i64,
    /// Range end, ms (exclusive).
    pub end_ms: i64,
    /// Kinds to keep (empty: all).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Only this agent.
    #[serde(default)]
    pub agent: Option<String>,
    /// Every tag filter must pass.
    #[serde(default)]
    pub filters: Vec<TagFilter>,
    /// At most this many (newest first).
    pub limit: usize,
}

//! Alert rules: what they watch (a metric query with a comparison and a
//! threshold, a host silent for a while, a check critical), how long the
//! condition must hold (`for_ms`), and their validation (a bad rule is
//! refused with a message naming the field).

use serde::{Deserialize, Serialize};
use sonde_store::{Agg, TagFilter};

use crate::AlertError;

/// Tags an alert event sets itself, which a rule cannot group by.
pub const RESERVED_TAGS: [&str; 4] = ["rule", "state", "value", "silenced"];

/// The longest evaluation window of a metric rule: 1 day.
pub const MAX_WINDOW_MS: i64 = 86_400_000;

/// An alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name (letters, digits, `-`, `_`, `.`; 1 to 100 characters).
    pub name: String,
    /// What it watches.
    pub condition: Condition,
    /// How long the condition must hold before the alert fires, ms (0:
    /// at once). Until then the alert is `pending`.
    #[serde(default)]
    pub for_ms: i64,
    /// Handlers to notify, by name (empty: every handler whose filters
    /// pass).
    #[serde(default)]
    pub handlers: Vec<String>,
    /// Free text, copied into the alert's events.
    #[serde(default)]
    pub description: String,
    /// Actions to take when the alert fires, kept as given and copied
    /// into its `firing` event, for the server to act on (sonde-server
    /// does `{"capture": {"seconds_before": 10, "seconds_after": 5}}`:
    /// it asks the agents in scope for a flight-recorder capture).
    #[serde(default)]
    pub actions: Vec<serde_json::Value>,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// A metric query compared with a threshold, per group.
    Metric(MetricCondition),
    /// A host silent (its keepalives stopped) for at least `seconds`.
    HostSilent(HostSilent),
    /// A check whose latest result is critical.
    CheckCritical(CheckCritical),
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// Greater or equal.
    #[serde(rename = ">=")]
    Ge,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less or equal.
    #[serde(rename = "<=")]
    Le,
    /// Equal.
    #[serde(rename = "==")]
    Eq,
    /// Not equal.
    #[serde(rename = "!=")]
    Ne,
}

impl Cmp {
    /// Whether `v OP threshold`.
    pub fn holds(self, v: f64, threshold: f64) -> bool {
        match self {
            Cmp::Gt => v > threshold,
            Cmp::Ge => v >= threshold,
            Cmp::Lt => v < threshold,
            Cmp::Le => v <= threshold,
            Cmp::Eq => v == threshold,
            Cmp::Ne => v != threshold,
        }
    }
}

/// A metric condition: the query (as `sonde_store::Query` without its
/// range) over the `window_ms` ending at the evaluation time, one value
/// per group, compared with `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricCondition {
    /// The metric.
    pub metric: String,
    /// Tag filters (the scope).
    #[serde(default)]
    pub filters: Vec<TagFilter>,
    /// One alert per group of these tags.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Aggregation in time over the window (`avg`, `rate`,
    /// `{"quantile": 0.95}`, ...).
    pub time_agg: Agg,
    /// Aggregation across the series of a group (`merge` for a
    /// histogram's percentile across pods).
    pub group_agg: Agg,
    /// The window, ms (default 60 s).
    #[serde(default = "default_window")]
    pub window_ms: i64,
    /// The comparison.
    pub op: Cmp,
    /// The threshold, in the metric's unit (histograms: ns).
    pub threshold: f64,
}

fn default_window() -> i64 {
    60_000
}

/// A host silent for a while (from the host registry's `keepalive`
/// events: the time since its latest one says `silent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSilent {
    /// Seconds since the host was marked silent.
    pub seconds: i64,
    /// Which hosts (filters on the keepalive event's tags: `host`).
    #[serde(default)]
    pub filters: Vec<TagFilter>,
}

/// A check critical (from `check` events: the latest result per host and
/// check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckCritical {
    /// Only this check (None: every check).
    #[serde(default)]
    pub check: Option<String>,
    /// Filters on the check event's tags (`host`, `check`).
    #[serde(default)]
    pub filters: Vec<TagFilter>,
}

fn bad(msg: impl Into<String>) -> AlertError {
    AlertError::Invalid(msg.into())
}

/// Checks a name (rules, handlers, silences).
pub fn check_name(what: &str, name: &str) -> Result<(), AlertError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} name '{name}': 1 to 100 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn check_filters(filters: &[TagFilter]) -> Result<(), AlertError> {
    sonde_store::eval::compile_filters(filters)
        .map(|_| ())
        .map_err(|e| bad(format!("filters: {e}")))
}

fn check_agg(field: &str, a: Agg) -> Result<(), AlertError> {
    if let Agg::Quantile(q) = a {
        if !(0.0..=1.0).contains(&q) {
            return Err(bad(format!("{field}: quantile {q} is not within 0..=1")));
        }
    }
    Ok(())
}

impl Rule {
    /// Checks the rule; the error names the field at fault.
    pub fn validate(&self) -> Result<(), AlertError> {
        check_name("rule", &self.name)?;
        if !(0..=MAX_WINDOW_MS).contains(&self.for_ms) {
            return Err(bad("for_ms: must be within 0 and 86400000 (1 day)"));
        }
        for h in &self.handlers {
            check_name("handler", h)?;
        }
        match &self.condition {
            Condition::Metric(m) => m.validate(),
            Condition::HostSilent(h) => {
                if !(1..=MAX_WINDOW_MS / 1000).contains(&h.seconds) {
                    return Err(bad("host_silent.seconds: must be within 1 and 86400"));
                }
                check_filters(&h.filters)
            }
            Condition::CheckCritical(c) => {
                if c.check.as_deref() == Some("") {
                    return Err(bad(
                        "check_critical.check: empty (leave it out for every check)",
                    ));
                }
                check_filters(&c.filters)
            }
        }
    }
}

impl MetricCondition {
    fn validate(&self) -> Result<(), AlertError> {
        if self.metric.is_empty() {
            return Err(bad("metric.metric: a metric name is needed"));
        }
        if !(1_000..=MAX_WINDOW_MS).contains(&self.window_ms) {
            return Err(bad("metric.window_ms: must be within 1000 and 86400000"));
        }
        if !self.threshold.is_finite() {
            return Err(bad("metric.threshold: must be a finite number"));
        }
        if self.time_agg == Agg::Merge {
            return Err(bad(
                "metric.time_agg: 'merge' is an aggregation across groups only",
            ));
        }
        if self.group_agg == Agg::Rate {
            return Err(bad(
                "metric.group_agg: 'rate' is an aggregation in time only",
            ));
        }
        check_agg("metric.time_agg", self.time_agg)?;
        check_agg("metric.group_agg", self.group_agg)?;
        for g in &self.group_by {
            if g.is_empty() || RESERVED_TAGS.contains(&g.as_str()) {
                return Err(bad(format!(
                    "metric.group_by: '{g}' cannot be grouped by (empty, or one of rule, state, value, silenced)"
                )));
            }
        }
        check_filters(&self.filters)
    }
}

/// A silence: notifications of the alerts it matches are held back
/// until `until_ms` (their state changes are still recorded, marked
/// `silenced`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// Its id (given, or made by the server).
    #[serde(default)]
    pub id: String,
    /// Only this rule's alerts (None: any rule).
    #[serde(default)]
    pub rule: Option<String>,
    /// Filters on the alert's tags (its group's tags and `rule`); all
    /// must pass.
    #[serde(default)]
    pub matchers: Vec<TagFilter>,
    /// Until when, ms since the epoch.
    pub until_ms: i64,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

impl Silence {
    /// Checks it: a rule or a matcher, valid filters.
    pub fn validate(&self) -> Result<(), AlertError> {
        check_name("silence", &self.id)?;
        if self.rule.is_none() && self.matchers.is_empty() {
            return Err(bad(
                "a silence needs a 'rule' or 'matchers' (it would silence everything)",
            ));
        }
        if let Some(r) = &self.rule {
            check_name("rule", r)?;
        }
        check_filters(&self.matchers)
    }

    /// Whether it holds back an alert of `rule` with `tags` at `now_ms`.
    pub fn matches(&self, rule: &str, tags: &sonde_store::Tags, now_ms: i64) -> bool {
        if now_ms >= self.until_ms || self.rule.as_deref().is_some_and(|r| r != rule) {
            return false;
        }
        sonde_store::eval::compile_filters(&self.matchers)
            .map(|m| sonde_store::eval::matches(&m, tags))
            .unwrap_or(false)
    }
}

//! Evaluation: a rule's current value per group at a given time (a
//! metric query over the window ending then; the latest keepalive or
//! check event per host), and the per-group state machine
//! (nothing -> pending -> firing -> resolved; pending that clears is
//! `inactive`), as plain functions of `now` so tests need no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sonde_store::{EventQuery, Query, Store, TagFilter, Tags};

use crate::rule::{Condition, Rule};
use crate::AlertError;

/// How far back a check-critical rule looks for a check's latest result.
pub const CHECK_LOOKBACK_MS: i64 = 86_400_000;

/// Events read per rule and evaluation at most.
pub const EVENTS_LIMIT: usize = 100_000;

/// A group's state while its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Holds, not yet for `for_ms`.
    Pending,
    /// Held for `for_ms`.
    Firing,
}

/// One alert (a rule's group) that is pending or firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Active {
    /// The rule.
    pub rule: String,
    /// The group's tags.
    pub group: Tags,
    /// Pending or firing.
    pub phase: Phase,
    /// Since when the condition holds (event time, ms).
    pub since_ms: i64,
    /// When it fired (0: not yet).
    pub fired_ms: i64,
    /// The latest value.
    pub value: f64,
    /// Who acknowledged it (None: nobody).
    pub acknowledged_by: Option<String>,
}

/// A group's value now and whether the condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The group's tags.
    pub group: Tags,
    /// Its value (metric: the query's; host silent: seconds silent;
    /// check: 2 critical, 1 warning, 0 ok, 3 other).
    pub value: f64,
    /// Whether the condition holds.
    pub holds: bool,
}

/// The readings of `rule` at `now_ms` (event time).
pub fn read(store: &dyn Store, rule: &Rule, now_ms: i64) -> Result<Vec<Reading>, AlertError> {
    match &rule.condition {
        Condition::Metric(m) => {
            let q = Query {
                metric: m.metric.clone(),
                start_ms: now_ms - m.window_ms,
                end_ms: now_ms,
                step_ms: 0,
                filters: m.filters.clone(),
                group_by: m.group_by.clone(),
                time_agg: m.time_agg,
                group_agg: m.group_agg,
                top: None,
            };
            let a = store.query(&q)?;
            Ok(a.groups
                .into_iter()
                .filter_map(|g| {
                    let v = g.points.last()?.1;
                    Some(Reading {
                        group: g.tags,
                        value: v,
                        holds: m.op.holds(v, m.threshold),
                    })
                })
                .collect())
        }
        Condition::HostSilent(h) => {
            let latest = latest_events(store, "keepalive", &h.filters, 0, now_ms, &["host"])?;
            Ok(latest
                .into_iter()
                .map(|(group, (ts, status))| {
                    let silent = status == "silent";
                    let secs = if silent { (now_ms - ts) / 1000 } else { 0 };
                    Reading {
                        group,
                        value: secs as f64,
                        holds: silent && secs >= h.seconds,
                    }
                })
                .collect())
        }
        Condition::CheckCritical(c) => {
            let mut filters = c.filters.clone();
            if let Some(name) = &c.check {
                filters.push(TagFilter::Eq("check".into(), name.clone()));
            }
            let start = now_ms - CHECK_LOOKBACK_MS;
            let latest =
                latest_events(store, "check", &filters, start, now_ms, &["host", "check"])?;
            Ok(latest
                .into_iter()
                .map(|(group, (_, status))| {
                    let value = match status.as_str() {
                        "critical" => 2.0,
                        "warning" => 1.0,
                        "ok" => 0.0,
                        _ => 3.0,
                    };
                    Reading {
                        group,
                        value,
                        holds: status == "critical",
                    }
                })
                .collect())
        }
    }
}

/// The newest event of `kind` in `[start, now]` per value of the `by`
/// tags: (time, its `status` tag).
fn latest_events(
    store: &dyn Store,
    kind: &str,
    filters: &[TagFilter],
    start_ms: i64,
    now_ms: i64,
    by: &[&str],
) -> Result<BTreeMap<Tags, (i64, String)>, AlertError> {
    let q = EventQuery {
        start_ms,
        end_ms: now_ms.saturating_add(1),
        kinds: vec![kind.into()],
        agent: None,
        filters: filters.to_vec(),
        limit: EVENTS_LIMIT,
    };
    let mut out = BTreeMap::new();
    for e in store.events(&q)? {
        let group: Tags = by
            .iter()
            .map(|k| (k.to_string(), e.tags.get(*k).cloned().unwrap_or_default()))
            .collect();
        let status = e.tags.get("status").cloned().unwrap_or_default();
        // newest first: the first seen per group is its latest
        out.entry(group).or_insert((e.ts_ms, status));
    }
    Ok(out)
}

/// A transition of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Started to hold.
    Pending,
    /// Held for `for_ms` (or at once with `for_ms` 0).
    Firing,
    /// Stopped holding while firing.
    Resolved,
    /// Stopped holding while pending.
    Inactive,
}

impl Transition {
    /// Its name in events.
    pub fn name(self) -> &'static str {
        match self {
            Transition::Pending => "pending",
            Transition::Firing => "firing",
            Transition::Resolved => "resolved",
            Transition::Inactive => "inactive",
        }
    }
}

/// One step of a group's state machine at `now_ms`: the new state (None:
/// nothing active) and the transition, if any.
pub fn step(
    prev: Option<&Active>,
    reading: Option<&Reading>,
    rule: &Rule,
    now_ms: i64,
) -> (Option<Active>, Option<Transition>) {
    let holds = reading.is_some_and(|r| r.holds);
    let value = reading.map_or(f64::NAN, |r| r.value);
    match (prev, holds) {
        (None, false) => (None, None),
        (None, true) => {
            let group = reading.map(|r| r.group.clone()).unwrap_or_default();
            let firing = rule.for_ms == 0;
            let a = Active {
                rule: rule.name.clone(),
                group,
                phase: if firing {
                    Phase::Firing
                } else {
                    Phase::Pending
                },
                since_ms: now_ms,
                fired_ms: if firing { now_ms } else { 0 },
                value,
                acknowledged_by: None,
            };
            let t = if firing {
                Transition::Firing
            } else {
                Transition::Pending
            };
            (Some(a), Some(t))
        }
        (Some(p), true) => {
            let mut a = p.clone();
            a.value = value;
            if a.phase == Phase::Pending && now_ms - a.since_ms >= rule.for_ms {
                a.phase = Phase::Firing;
                a.fired_ms = now_ms;
                return (Some(a), Some(Transition::Firing));
            }
            (Some(a), None)
        }
        (Some(p), false) => {
            let t = match p.phase {
                Phase::Pending => Transition::Inactive,
                Phase::Firing => Transition::Resolved,
            };
            (None, Some(t))
        }
    }
}

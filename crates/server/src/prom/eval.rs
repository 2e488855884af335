//! A [`VecPlan`] evaluated against a store: PromQL's names resolved to
//! the store's (dots shown as `_`), the evaluation times cut into one
//! native [`Query`] (when the window equals the step) or one per time,
//! and the groups turned into labelled series.
//!
//! A point at evaluation time `t` folds the samples in `(t - W, t]`,
//! `W` being the range function's window or, for a bare selector, the
//! lookback (the step of a range query, 5 s for an instant one, or the
//! `lookback_delta` parameter). In store terms that is the bucket
//! `[t - W + 1, t + 1)` (samples sit on whole seconds).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sonde_store::{Agg, Query, Store, StoreError, TagFilter, Tags};

use super::translate::{Grouping, MatchKind, VecPlan};

/// The most points a range query may ask per series (Prometheus's limit).
pub const MAX_POINTS: i64 = 11_000;

/// An evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The request cannot be answered as asked (bad_data).
    #[error("{0}")]
    Bad(String),
    /// The query is valid but its data cannot be combined as asked (a
    /// binary operator's match that is not unique): execution.
    #[error("{0}")]
    Execution(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A metric or tag name as PromQL spells it: every character other than
/// ASCII letters, digits, `_` and `:` becomes `_` (and a leading digit
/// gets a `_` in front).
pub fn prom_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// PromQL's names back to the store's.
#[derive(Debug, Default, Clone)]
pub struct Names {
    metrics: HashMap<String, String>,
    tags: HashMap<String, String>,
}

impl Names {
    /// From the store's metric names and tag names (the first of two
    /// names that read the same in PromQL wins).
    pub fn new<'a>(
        metrics: impl IntoIterator<Item = &'a String>,
        tags: impl IntoIterator<Item = &'a String>,
    ) -> Names {
        let mut n = Names::default();
        for m in metrics {
            n.metrics.entry(prom_name(m)).or_insert_with(|| m.clone());
        }
        for t in tags {
            n.tags.entry(prom_name(t)).or_insert_with(|| t.clone());
        }
        n
    }

    /// The store's metric for a PromQL name.
    pub fn metric(&self, prom: &str) -> Option<&str> {
        self.metrics.get(prom).map(String::as_str)
    }

    /// The store's tag for a PromQL label (unknown labels as they are).
    pub fn tag<'a>(&'a self, label: &'a str) -> &'a str {
        self.tags.get(label).map_or(label, String::as_str)
    }
}

/// When to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// First evaluation time, ms.
    pub start_ms: i64,
    /// Last one (inclusive), ms.
    pub end_ms: i64,
    /// Between them (0: an instant query at `end_ms`).
    pub step_ms: i64,
    /// A bare selector's window.
    pub lookback_ms: i64,
}

impl Times {
    fn points(&self) -> Result<Vec<i64>, EvalError> {
        if self.step_ms <= 0 {
            return Ok(vec![self.end_ms]);
        }
        if self.end_ms < self.start_ms {
            return Err(EvalError::Bad(
                "end timestamp must not be before start time".into(),
            ));
        }
        if (self.end_ms - self.start_ms) / self.step_ms >= MAX_POINTS {
            return Err(EvalError::Bad(format!(
                "exceeded maximum resolution of {MAX_POINTS} points per timeseries: try a larger step"
            )));
        }
        let mut v = Vec::new();
        let mut t = self.start_ms;
        while t <= self.end_ms {
            v.push(t);
            t += self.step_ms;
        }
        Ok(v)
    }
}

/// One result series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its labels (PromQL names).
    pub labels: BTreeMap<String, String>,
    /// (evaluation time ms, value).
    pub points: Vec<(i64, f64)>,
}

/// The store's filters for a plan's matchers.
pub fn filters(plan: &VecPlan, names: &Names) -> Vec<TagFilter> {
    plan.matchers
        .iter()
        .map(|(l, k, v)| {
            let t = names.tag(l).to_string();
            match k {
                MatchKind::Eq => TagFilter::Eq(t, v.clone()),
                MatchKind::Ne => TagFilter::Ne(t, v.clone()),
                MatchKind::Re => TagFilter::Re(t, v.clone()),
                MatchKind::NotRe => TagFilter::NotRe(t, v.clone()),
            }
        })
        .collect()
}

/// The native query for the window `(t - w, t]` cut into buckets of
/// `step` (0: one) from the first evaluation time `t`, with `group_by`
/// resolved. Its points' times are bucket starts: add `w - 1`.
pub fn query(
    plan: &VecPlan,
    metric: &str,
    filters: Vec<TagFilter>,
    group_by: Vec<String>,
    (t0, tn, w, step): (i64, i64, i64, i64),
) -> Query {
    Query {
        metric: metric.to_string(),
        start_ms: t0 - w + 1,
        end_ms: tn + 1,
        step_ms: step,
        filters,
        group_by,
        time_agg: plan.time_agg,
        group_agg: if plan.grouping == Grouping::Series && !plan.histogram {
            Agg::Avg
        } else {
            plan.group_agg
        },
        top: plan.top,
    }
}

/// Evaluates `plan` at `times`.
pub fn eval(
    store: &dyn Store,
    names: &Names,
    plan: &VecPlan,
    times: &Times,
) -> Result<Vec<Series>, EvalError> {
    let points = times.points()?;
    let w = plan.range_ms.unwrap_or(times.lookback_ms).max(1000);
    let Some(metric) = names.metric(&plan.metric) else {
        return Ok(Vec::new());
    };
    let (t0, tn) = (points[0], points[points.len() - 1]);
    let filters = filters(plan, names);
    let group_by = match &plan.grouping {
        Grouping::By(l) => l.iter().map(|l| names.tag(l).to_string()).collect(),
        other => {
            let drop: BTreeSet<String> = match other {
                Grouping::Without(l) => l.iter().map(|l| names.tag(l).to_string()).collect(),
                _ => BTreeSet::new(),
            };
            let mut all = BTreeSet::new();
            for (_, tags) in store.series(Some(metric), &filters, t0 - w + 1, tn + 1)? {
                all.extend(tags.into_keys().filter(|k| !drop.contains(k)));
            }
            all.into_iter().collect()
        }
    };
    let mut out: Vec<(Tags, Vec<(i64, f64)>)> = Vec::new();
    let mut index: HashMap<Tags, usize> = HashMap::new();
    let mut add = |groups: Vec<sonde_store::Group>| {
        for g in groups {
            let i = *index.entry(g.tags.clone()).or_insert_with(|| {
                out.push((g.tags.clone(), Vec::new()));
                out.len() - 1
            });
            out[i]
                .1
                .extend(g.points.iter().map(|&(b, v)| (b + w - 1, v)));
        }
    };
    if times.step_ms > 0 && w == times.step_ms {
        let q = query(plan, metric, filters, group_by, (t0, tn, w, w));
        add(store.query(&q)?.groups);
    } else {
        for &t in &points {
            let q = query(
                plan,
                metric,
                filters.clone(),
                group_by.clone(),
                (t, t, w, 0),
            );
            add(store.query(&q)?.groups);
        }
    }
    let name = plan.keep_name.then(|| plan.metric.clone());
    Ok(out
        .into_iter()
        .map(|(tags, points)| {
            let mut labels: BTreeMap<String, String> = tags
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (prom_name(&k), v))
                .collect();
            if let Some(n) = &name {
                labels.insert("__name__".into(), n.clone());
            }
            Series { labels, points }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_both_ways() {
        assert_eq!(
            prom_name("net.http.request.count"),
            "net_http_request_count"
        );
        assert_eq!(prom_name("container.name"), "container_name");
        assert_eq!(prom_name("9x-y"), "_9x_y");
        let m = vec!["cpu.used.percent".to_string()];
        let t = vec!["container.name".to_string()];
        let n = Names::new(&m, &t);
        assert_eq!(n.metric("cpu_used_percent"), Some("cpu.used.percent"));
        assert_eq!(n.metric("cpu.used.percent"), None);
        assert_eq!(n.tag("container_name"), "container.name");
        assert_eq!(n.tag("other"), "other");
    }

    #[test]
    fn evaluation_times_and_limits() {
        let t = Times {
            start_ms: 0,
            end_ms: 10_000,
            step_ms: 5_000,
            lookback_ms: 5_000,
        };
        assert_eq!(t.points().unwrap(), [0, 5_000, 10_000]);
        let t = Times {
            start_ms: 0,
            end_ms: 100_000_000,
            step_ms: 1_000,
            lookback_ms: 1_000,
        };
        assert!(matches!(t.points(), Err(EvalError::Bad(_))));
        let t = Times {
            start_ms: 5,
            end_ms: 1,
            step_ms: 1_000,
            lookback_ms: 1_000,
        };
        assert!(t.points().is_err());
    }
}

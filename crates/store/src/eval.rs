//! The query semantics as plain functions every engine and the reference
//! evaluator share: bucket arithmetic, folding a series' samples of one
//! bucket ([`Cell`]) by the time aggregation, folding a group's values by
//! the group aggregation, histogram quantiles, `top` and the answer's
//! order. Engines may compute the same in their own language (SQL); what
//! they return must equal what these functions give.

use std::collections::BTreeMap;

use crate::{Agg, Group, Order, Query, TagFilter, Tags, Value};

/// The largest number of points (groups x buckets) a query may return.
pub const MAX_POINTS: usize = 1_000_000;

/// The bucket width of `q` in ms (a step of 0: the whole range).
pub fn step_of(q: &Query) -> i64 {
    if q.step_ms > 0 {
        q.step_ms
    } else {
        (q.end_ms - q.start_ms).max(1)
    }
}

/// How many buckets `q` has.
pub fn bucket_count(q: &Query) -> i64 {
    let step = step_of(q);
    ((q.end_ms - q.start_ms).max(0) + step - 1) / step
}

/// The start of the bucket `ts_ms` falls in, None when outside the range.
pub fn bucket_of(q: &Query, ts_ms: i64) -> Option<i64> {
    if ts_ms < q.start_ms || ts_ms >= q.end_ms {
        return None;
    }
    let step = step_of(q);
    Some(q.start_ms + (ts_ms - q.start_ms) / step * step)
}

/// A bucket's width in seconds, as `Rate` divides by: the step, or less
/// for the last bucket when the range's end cuts it.
pub fn bucket_secs(q: &Query, bucket_start: i64) -> f64 {
    let end = (bucket_start + step_of(q)).min(q.end_ms);
    (end - bucket_start) as f64 / 1000.0
}

/// Checks a query's shape: the range, the step, quantiles in 0..=1,
/// `Merge` only across groups, `Rate` only in time, and the points cap.
pub fn validate(q: &Query) -> Result<(), String> {
    if q.end_ms <= q.start_ms {
        return Err(format!(
            "empty range: end {} <= start {}",
            q.end_ms, q.start_ms
        ));
    }
    if q.step_ms < 0 {
        return Err(format!("negative step {}", q.step_ms));
    }
    for agg in [q.time_agg, q.group_agg] {
        if let Agg::Quantile(p) = agg {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("quantile {p} outside 0..=1"));
            }
        }
    }
    if q.time_agg == Agg::Merge {
        return Err("merge is a group aggregation".into());
    }
    if q.group_agg == Agg::Rate {
        return Err("rate is a time aggregation".into());
    }
    let buckets = bucket_count(q);
    if buckets as u128 > MAX_POINTS as u128 {
        return Err(format!(
            "{buckets} buckets exceed the limit of {MAX_POINTS} points per query; use a larger step"
        ));
    }
    Ok(())
}

/// Checks the points cap once the number of groups is known.
pub fn check_points(q: &Query, groups: usize) -> Result<(), String> {
    let points = groups as u128 * bucket_count(q) as u128;
    if points > MAX_POINTS as u128 {
        return Err(format!(
            "{groups} groups x {} buckets = {points} points exceed the limit of {MAX_POINTS}; \
             filter more, group by fewer tags or use a larger step",
            bucket_count(q)
        ));
    }
    Ok(())
}

/// A compiled tag filter (regexes anchored for a full match).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal.
    Eq(String, String),
    /// Differs.
    Ne(String, String),
    /// Fully matches.
    Re(String, regex::Regex),
    /// Does not fully match.
    NotRe(String, regex::Regex),
}

/// Compiles filters; an invalid regex is the caller's error.
pub fn compile_filters(filters: &[TagFilter]) -> Result<Vec<Matcher>, String> {
    let re = |k: &str, pat: &str| {
        regex::RegexBuilder::new(&format!("^(?:{pat})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("invalid regex for tag {k:?}: {e}"))
    };
    filters
        .iter()
        .map(|f| {
            Ok(match f {
                TagFilter::Eq(k, v) => Matcher::Eq(k.clone(), v.clone()),
                TagFilter::Ne(k, v) => Matcher::Ne(k.clone(), v.clone()),
                TagFilter::Re(k, p) => Matcher::Re(k.clone(), re(k, p)?),
                TagFilter::NotRe(k, p) => Matcher::NotRe(k.clone(), re(k, p)?),
            })
        })
        .collect()
}

/// Whether tags pass every matcher (a missing tag is "").
pub fn matches(m: &[Matcher], tags: &Tags) -> bool {
    let get = |k: &String| tags.get(k).map(String::as_str).unwrap_or("");
    m.iter().all(|m| match m {
        Matcher::Eq(k, v) => get(k) == v,
        Matcher::Ne(k, v) => get(k) != v,
        Matcher::Re(k, r) => r.is_match(get(k)),
        Matcher::NotRe(k, r) => !r.is_match(get(k)),
    })
}

/// The group key of a series' tags.
pub fn group_key(group_by: &[String], tags: &Tags) -> Tags {
    group_by
        .iter()
        .map(|k| (k.clone(), tags.get(k).cloned().unwrap_or_default()))
        .collect()
}

/// One series' (or a merged group's) samples within one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// Samples (scalars) or recorded values (histograms).
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// Scalar values, kept only when a quantile needs them.
    pub values: Vec<f64>,
    /// Merged histogram buckets (upper bound -> count); empty for scalars.
    pub buckets: BTreeMap<u64, u64>,
    /// Scalar values already folded into a roll-up's sketch
    /// ([`sketch_key`] -> count); quantiles then read the sketch.
    pub sketch: BTreeMap<u64, u64>,
    /// Whether the samples were histograms.
    pub histogram: bool,
}

impl Cell {
    /// Adds a sample's value (`keep`: remember scalar values for quantiles).
    pub fn add(&mut self, v: &Value, keep: bool) {
        match v {
            Value::Counter { value } | Value::Gauge { value } => {
                self.add_stats(1, *value, *value, *value);
                if keep {
                    self.values.push(*value);
                }
            }
            Value::Histogram {
                count,
                sum,
                min,
                max,
                buckets,
            } => {
                self.histogram = true;
                if *count > 0 {
                    self.add_stats(*count, *sum, *min, *max);
                }
                for (b, c) in buckets {
                    *self.buckets.entry(*b).or_default() += c;
                }
            }
        }
    }

    /// Adds count, sum, min and max.
    pub fn add_stats(&mut self, count: u64, sum: f64, min: f64, max: f64) {
        if self.count == 0 {
            self.min = min;
            self.max = max;
        } else {
            self.min = self.min.min(min);
            self.max = self.max.max(max);
        }
        self.count += count;
        self.sum += sum;
    }

    /// Merges another cell into this one.
    pub fn merge(&mut self, o: &Cell) {
        if o.count > 0 {
            self.add_stats(o.count, o.sum, o.min, o.max);
        }
        self.values.extend_from_slice(&o.values);
        for (b, c) in &o.buckets {
            *self.buckets.entry(*b).or_default() += c;
        }
        for (b, c) in &o.sketch {
            *self.sketch.entry(*b).or_default() += c;
        }
        self.histogram |= o.histogram;
    }

    /// The time aggregation of this cell over a bucket of `secs` seconds.
    pub fn time_value(&self, agg: Agg, secs: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        Some(match agg {
            Agg::Avg => self.sum / self.count as f64,
            Agg::Sum => self.sum,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Count => self.count as f64,
            Agg::Rate if self.histogram => self.count as f64 / secs,
            Agg::Rate => self.sum / secs,
            Agg::Quantile(q) if self.histogram => {
                hist_quantile(&self.buckets, self.min, self.max, q)?
            }
            Agg::Quantile(q) if self.sketch.is_empty() => {
                let mut v = self.values.clone();
                v.sort_by(f64::total_cmp);
                nearest_rank(&v, q)?
            }
            Agg::Quantile(q) => {
                let mut sk = self.sketch.clone();
                for v in &self.values {
                    *sk.entry(sketch_key(*v)).or_default() += 1;
                }
                sketch_quantile(&sk, self.min, self.max, q)?
            }
            Agg::Merge => return None,
        })
    }
}

/// Nearest-rank quantile of sorted values: the value at rank
/// ceil(q x n) (at least 1).
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

/// A quantile read from histogram buckets: the upper bound of the bucket
/// holding rank ceil(q x count), clamped to the exact min and max.
pub fn hist_quantile(buckets: &BTreeMap<u64, u64>, min: f64, max: f64, q: f64) -> Option<f64> {
    let total: u64 = buckets.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (bound, c) in buckets {
        seen += c;
        if seen >= rank {
            return Some((*bound as f64).clamp(min, max));
        }
    }
    Some(max)
}

/// The group aggregation of one bucket's per-series values (not `Merge`).
pub fn group_value(values: &mut [f64], agg: Agg) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match agg {
        Agg::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Agg::Sum => values.iter().sum(),
        Agg::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Agg::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Agg::Count => values.len() as f64,
        Agg::Quantile(q) => {
            values.sort_by(f64::total_cmp);
            nearest_rank(values, q)?
        }
        Agg::Rate | Agg::Merge => return None,
    })
}

/// Folds per-(group, series, bucket) cells into each group's points: the
/// time aggregation per series then the group aggregation, or, for
/// `Merge`, the group's cells merged first, then the time aggregation.
/// `G` is the group (its tags, or an engine's group number).
pub fn fold_cells<G: Ord + Clone, S: Ord>(
    q: &Query,
    cells: BTreeMap<(G, i64, S), Cell>,
) -> BTreeMap<G, Vec<(i64, f64)>> {
    let mut per: BTreeMap<(G, i64), Vec<f64>> = BTreeMap::new();
    let mut merged: BTreeMap<(G, i64), Cell> = BTreeMap::new();
    for ((g, b, _), cell) in cells {
        if q.group_agg == Agg::Merge {
            merged.entry((g, b)).or_default().merge(&cell);
        } else if let Some(v) = cell.time_value(q.time_agg, bucket_secs(q, b)) {
            per.entry((g, b)).or_default().push(v);
        }
    }
    let mut out: BTreeMap<G, Vec<(i64, f64)>> = BTreeMap::new();
    for ((g, b), cell) in merged {
        if let Some(v) = cell.time_value(q.time_agg, bucket_secs(q, b)) {
            out.entry(g).or_default().push((b, v));
        }
    }
    for ((g, b), mut vals) in per {
        if let Some(v) = group_value(&mut vals, q.group_agg) {
            out.entry(g).or_default().push((b, v));
        }
    }
    out
}

/// Orders groups by tags, or keeps `top`'s N by mean (ties by tags).
pub fn finish(q: &Query, groups: BTreeMap<Tags, Vec<(i64, f64)>>) -> Vec<Group> {
    let mut groups: Vec<Group> = groups
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(tags, mut points)| {
            points.sort_by_key(|p| p.0);
            Group { tags, points }
        })
        .collect();
    if let Some((n, order)) = q.top {
        let mean = |g: &Group| g.points.iter().map(|p| p.1).sum::<f64>() / g.points.len() as f64;
        groups.sort_by(|a, b| {
            let o = mean(a).total_cmp(&mean(b));
            let o = if order == Order::Highest {
                o.reverse()
            } else {
                o
            };
            o.then_with(|| a.tags.cmp(&b.tags))
        });
        groups.truncate(n);
    }
    groups
}

/// The relative error of a quantile read from a value sketch: the
/// sketch keeps a count per logarithmic bucket of width (1+a)/(1-a), and
/// reads a bucket as the value within `a` of all of its values.
pub const SKETCH_ERROR: f64 = 0.01;
const ZERO_KEY: u64 = 1 << 62;
const KEY_OFFSET: i64 = 1 << 20;
/// Magnitudes below this are counted as zero.
const SKETCH_MIN: f64 = 1e-9;

fn gamma_ln() -> f64 {
    ((1.0 + SKETCH_ERROR) / (1.0 - SKETCH_ERROR)).ln()
}

/// The sketch bucket of a value; keys order like the values.
pub fn sketch_key(v: f64) -> u64 {
    let a = v.abs();
    if a.is_nan() || a < SKETCH_MIN {
        return ZERO_KEY;
    }
    let idx = (a.ln() / gamma_ln()).ceil() as i64;
    let k = (idx + KEY_OFFSET).clamp(0, 2 * KEY_OFFSET) as u64 + 1;
    if v > 0.0 {
        ZERO_KEY + k
    } else {
        ZERO_KEY - k
    }
}

/// The value a sketch bucket stands for (within [`SKETCH_ERROR`] of every
/// value in it).
pub fn sketch_value(key: u64) -> f64 {
    if key == ZERO_KEY {
        return 0.0;
    }
    let (k, sign) = if key > ZERO_KEY {
        (key - ZERO_KEY, 1.0)
    } else {
        (ZERO_KEY - key, -1.0)
    };
    let idx = (k - 1) as i64 - KEY_OFFSET;
    let g = gamma_ln().exp();
    sign * 2.0 * (idx as f64 * gamma_ln()).exp() / (g + 1.0)
}

/// Nearest-rank quantile read from a value sketch, clamped to min..=max.
pub fn sketch_quantile(sk: &BTreeMap<u64, u64>, min: f64, max: f64, q: f64) -> Option<f64> {
    let total: u64 = sk.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (k, c) in sk {
        seen += c;
        if seen >= rank {
            return Some(sketch_value(*k).clamp(min, max));
        }
    }
    Some(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_error_is_bounded() {
        for v in [1e-6, 0.5, 1.0, 3.7, 100.0, 12345.678, 9e12, -2.5, -1e6] {
            let back = sketch_value(sketch_key(v));
            assert!(
                ((back - v) / v).abs() <= SKETCH_ERROR * 1.0001,
                "{v} -> {back}"
            );
        }
        assert_eq!(sketch_value(sketch_key(0.0)), 0.0);
        assert!(sketch_key(-5.0) < sketch_key(-1.0) && sketch_key(-1.0) < sketch_key(0.0));
        assert!(sketch_key(0.0) < sketch_key(1.0) && sketch_key(1.0) < sketch_key(5.0));
    }

    #[test]
    fn nearest_rank_and_histograms() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(nearest_rank(&v, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&v, 0.5), Some(2.0));
        assert_eq!(nearest_rank(&v, 0.51), Some(3.0));
        assert_eq!(nearest_rank(&v, 1.0), Some(4.0));
        let b: BTreeMap<u64, u64> = [(10, 2), (20, 2), (40, 1)].into();
        assert_eq!(hist_quantile(&b, 3.0, 33.0, 0.4), Some(10.0));
        assert_eq!(hist_quantile(&b, 3.0, 33.0, 0.8), Some(20.0));
        assert_eq!(hist_quantile(&b, 3.0, 33.0, 1.0), Some(33.0));
    }
}

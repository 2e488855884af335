//! The golden query table every engine runs: the synthetic workload of
//! [`workload`] written through `write_batch`, then each of [`queries`]
//! answered by the engine and by [`reference()`], which
//! must agree per [`check`] (exact for sums, counts, minima and maxima of
//! exact values; 1e-9 relative where a mean or a rate divides).

use crate::{Agg, Answer, Order, Query, TagFilter};

use super::{reference, Workload};

/// The golden workload: 10 hosts x 10 containers x 20 metrics, 40 s.
pub fn workload() -> Workload {
    Workload {
        hosts: 10,
        containers_per_host: 10,
        metrics: 20,
        seconds: 40,
        ..Default::default()
    }
}

/// The scale: 100 hosts x 50 containers x 20 metrics (100,000
/// series, 15 tags each, pods moving between hosts half-way), 40 s: 4M
/// samples, too many to hold with their tags, so [`check_at_scale`]
/// writes them second by second and evaluates the reference per metric.
pub fn full_workload() -> Workload {
    Workload {
        seconds: 40,
        ..Workload::default()
    }
}

/// The golden table over a large workload: every batch of `w` goes to
/// `store`, second by second; then each query of the table is answered
/// by `store` and compared with the reference, which holds one metric's
/// samples at a time. Returns how many queries agreed.
pub fn check_at_scale(w: &Workload, store: &dyn crate::Store) -> Result<usize, String> {
    for t in 0..w.seconds {
        for (agent, seq, samples) in w.batches_at(t) {
            store
                .write_batch(&agent, seq, &samples, &[])
                .map_err(|e| format!("{agent} second {t}: {e}"))?;
        }
    }
    let qs = queries(w);
    let mut metrics: Vec<&str> = qs.iter().map(|q| q.metric.as_str()).collect();
    metrics.sort_unstable();
    metrics.dedup();
    let mut agreed = 0;
    for m in metrics {
        let samples = w.samples_of(m);
        for (i, q) in qs.iter().enumerate().filter(|(_, q)| q.metric == m) {
            let want = reference(&samples, q).map_err(|e| format!("query {i}: reference: {e}"))?;
            let got = store.query(q).map_err(|e| format!("query {i}: {e}"))?;
            check(q, &got, &want).map_err(|e| format!("query {i}: {e}"))?;
            agreed += 1;
        }
    }
    Ok(agreed)
}

/// (metric, start offset s, end offset s, step s, filters, group_by, time, group, top)
type Row = (
    &'static str,
    i64,
    i64,
    i64,
    Vec<TagFilter>,
    &'static [&'static str],
    Agg,
    Agg,
    Option<(usize, Order)>,
);

fn eq(k: &str, v: &str) -> TagFilter {
    TagFilter::Eq(k.into(), v.into())
}
fn ne(k: &str, v: &str) -> TagFilter {
    TagFilter::Ne(k.into(), v.into())
}
fn re(k: &str, v: &str) -> TagFilter {
    TagFilter::Re(k.into(), v.into())
}
fn nre(k: &str, v: &str) -> TagFilter {
    TagFilter::NotRe(k.into(), v.into())
}

/// The query table (one row per query; kept one line each).
#[rustfmt::skip]
fn table() -> Vec<Row> {
    use Agg::*;
    let none = Vec::new;
    vec![
        ("net.http.request.count", 0, 40, 0, none(), &[], Sum, Sum, None),
        ("net.http.request.count", 0, 40, 10, none(), &["namespace"], Sum, Sum, None),
        ("net.http.request.count", 0, 40, 10, none(), &["namespace", "deployment"], Rate, Sum, None),
        ("net.http.request.count", 3, 37, 10, none(), &["cluster", "node"], Sum, Sum, None),
        ("net.bytes.in", 0, 40, 5, vec![eq("namespace", "ns1")], &["pod"], Sum, Sum, None),
        ("net.bytes.out", 0, 40, 0, vec![ne("env", "prod")], &["deployment"], Max, Max, None),
        ("syscall.count", 7, 33, 10, vec![re("host", "host-00[0-4]")], &["host"], Count, Sum, None),
        ("syscall.count", 0, 40, 0, vec![nre("image", "img[12]")], &["image"], Sum, Avg, None),
        ("file.bytes.read", 0, 40, 20, vec![re("pod", ".*-p0000[0-9]")], &["pod", "container"], Min, Min, None),
        ("file.bytes.write", 0, 40, 0, none(), &["team"], Rate, Avg, None),
        ("net.http.error.count", 0, 40, 1, vec![eq("host", "host-003")], &[], Sum, Sum, None),
        ("proc.start.count", 0, 40, 0, none(), &["namespace", "deployment", "pod", "container"], Sum, Count, None),
        ("cpu.ns", 0, 40, 0, none(), &["pod"], Sum, Sum, Some((5, Order::Highest))),
        ("page.faults", 0, 40, 10, none(), &["host"], Rate, Sum, Some((3, Order::Lowest))),
        ("cpu.used.percent", 0, 40, 0, none(), &["host"], Avg, Avg, None),
        ("cpu.used.percent", 0, 40, 10, none(), &["namespace"], Max, Avg, None),
        ("cpu.used.percent", 5, 35, 15, vec![eq("cluster", "cl-1")], &["node"], Avg, Max, None),
        ("cpu.used.percent", 0, 40, 0, none(), &["deployment"], Quantile(0.95), Max, None),
        ("cpu.used.percent", 0, 40, 10, none(), &["namespace"], Avg, Quantile(0.5), None),
        ("memory.used.bytes", 0, 40, 0, none(), &["cluster", "node", "pod"], Max, Sum, None),
        ("memory.used.bytes", 0, 40, 0, vec![ne("namespace", "ns0"), re("version", "v1")], &[], Min, Min, None),
        ("fd.used", 0, 40, 20, none(), &["service"], Sum, Sum, Some((4, Order::Highest))),
        ("thread.count", 11, 29, 0, none(), &["zone"], Count, Sum, None),
        ("net.connections", 0, 40, 0, none(), &["region"], Quantile(0.99), Avg, None),
        ("file.open.count", 0, 40, 0, vec![eq("nosuchtag", "")], &["nosuchtag"], Avg, Sum, None),
        ("net.http.request.time", 0, 40, 0, none(), &["deployment"], Quantile(0.95), Merge, None),
        ("net.http.request.time", 0, 40, 10, none(), &["namespace"], Quantile(0.5), Merge, None),
        ("net.http.request.time", 0, 40, 0, none(), &["pod"], Quantile(0.99), Max, Some((5, Order::Highest))),
        ("net.http.request.time", 0, 40, 0, vec![re("namespace", "ns[23]")], &["namespace"], Avg, Merge, None),
        ("file.io.time", 0, 40, 10, none(), &["host"], Rate, Merge, None),
        ("file.io.time", 0, 40, 0, none(), &["image"], Count, Sum, None),
        ("net.connect.time", 3, 39, 12, none(), &["cluster"], Max, Max, None),
        ("syscall.time", 0, 40, 0, none(), &[], Min, Min, None),
        ("syscall.time", 0, 40, 0, none(), &["team"], Sum, Merge, None),
        ("no.such.metric", 0, 40, 0, none(), &[], Sum, Sum, None),
    ]
}

/// The golden queries over `w` (offsets in seconds from its start).
pub fn queries(w: &Workload) -> Vec<Query> {
    table()
        .into_iter()
        .map(
            |(metric, a, b, step, filters, group_by, time_agg, group_agg, top)| Query {
                metric: metric.into(),
                start_ms: w.ts(a),
                end_ms: w.ts(b),
                step_ms: step * 1000,
                filters,
                group_by: group_by.iter().map(|s| s.to_string()).collect(),
                time_agg,
                group_agg,
                top,
            },
        )
        .collect()
}

fn exact(q: &Query) -> bool {
    let plain = |a: Agg| matches!(a, Agg::Sum | Agg::Count | Agg::Min | Agg::Max);
    plain(q.time_agg) && (plain(q.group_agg) || q.group_agg == Agg::Merge)
}

/// Compares an engine's answer with the reference's: same groups, tags
/// and bucket times, values exact or within 1e-9 relative (see the
/// module doc); a non-empty answer unless the metric does not exist.
pub fn check(q: &Query, got: &Answer, want: &Answer) -> Result<(), String> {
    let ctx = format!("{q:?}");
    if got.groups.len() != want.groups.len() {
        return Err(format!(
            "{ctx}: {} groups, want {}",
            got.groups.len(),
            want.groups.len()
        ));
    }
    if q.metric != "no.such.metric" && want.groups.is_empty() {
        return Err(format!("{ctx}: the reference answer is empty"));
    }
    for (g, e) in got.groups.iter().zip(&want.groups) {
        if g.tags != e.tags || g.points.len() != e.points.len() {
            return Err(format!("{ctx}: group {g:?}, want {e:?}"));
        }
        for (p, x) in g.points.iter().zip(&e.points) {
            let ok = p.0 == x.0
                && if exact(q) {
                    p.1 == x.1
                } else {
                    (p.1 - x.1).abs() <= 1e-9 * x.1.abs().max(1e-12)
                };
            if !ok {
                return Err(format!("{ctx} {:?}: point {p:?}, want {x:?}", g.tags));
            }
        }
    }
    Ok(())
}

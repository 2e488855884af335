//! Golden queries: the synthetic workload written through `write_batch`,
//! then a table of queries answered by DuckStore and by the reference
//! evaluator of sonde-store's test kit, which must agree (exact for sums,
//! counts, minima and maxima of exact values; 1e-9 relative where a mean
//! or a rate divides).

use sonde_store::testkit::{reference, Workload};
use sonde_store::{Agg, Order, Query, Resolution, Store, TagFilter};
use sonde_store_duckdb::{DuckStore, Options};

fn workload() -> Workload {
    Workload {
        hosts: 10,
        containers_per_host: 10,
        metrics: 20,
        seconds: 40,
        ..Default::default()
    }
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

fn exact(q: &Query) -> bool {
    let plain = |a: Agg| matches!(a, Agg::Sum | Agg::Count | Agg::Min | Agg::Max);
    plain(q.time_agg) && (plain(q.group_agg) || q.group_agg == Agg::Merge)
}

#[test]
fn golden_queries_match_the_reference() {
    let w = workload();
    let store = DuckStore::in_memory(Options::default()).unwrap();
    let mut all = Vec::new();
    for (agent, seq, samples) in w.batches() {
        store.write_batch(&agent, seq, &samples, &[]).unwrap();
        all.extend(samples);
    }
    let rows = table();
    assert!(rows.len() >= 30);
    for (i, (metric, a, b, step, filters, group_by, time_agg, group_agg, top)) in
        rows.into_iter().enumerate()
    {
        let q = Query {
            metric: metric.into(),
            start_ms: w.ts(a),
            end_ms: w.ts(b),
            step_ms: step * 1000,
            filters,
            group_by: group_by.iter().map(|s| s.to_string()).collect(),
            time_agg,
            group_agg,
            top,
        };
        let want = reference(&all, &q).unwrap();
        let got = store.query(&q).unwrap();
        assert_eq!(got.resolution, Resolution::Second);
        let ctx = format!("query {i}: {q:?}");
        assert_eq!(got.groups.len(), want.groups.len(), "{ctx}");
        assert!(
            metric == "no.such.metric" || !want.groups.is_empty(),
            "{ctx}: empty"
        );
        for (g, e) in got.groups.iter().zip(&want.groups) {
            assert_eq!(g.tags, e.tags, "{ctx}");
            assert_eq!(g.points.len(), e.points.len(), "{ctx} {:?}", g.tags);
            for (p, x) in g.points.iter().zip(&e.points) {
                assert_eq!(p.0, x.0, "{ctx}");
                if exact(&q) {
                    assert_eq!(p.1, x.1, "{ctx} {:?} at {}", g.tags, p.0);
                } else {
                    let tol = 1e-9 * x.1.abs().max(1e-12);
                    assert!(
                        (p.1 - x.1).abs() <= tol,
                        "{ctx} {:?} at {}: {} vs {}",
                        g.tags,
                        p.0,
                        p.1,
                        x.1
                    );
                }
            }
        }
    }
}

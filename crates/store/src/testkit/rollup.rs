//! The roll-up test every engine runs: the full-resolution answers of a
//! workload, then (a test clock driving `maintain`) the same queries
//! served from the 10 s and 1 min roll-ups, which must match: sums,
//! counts, minima, maxima, means and rates to float precision, histogram
//! percentiles exactly (merged buckets lose nothing), percentiles of
//! counters and gauges within the engine's stated sketch error.

use crate::{Agg, Answer, Query, Resolution, Store};

use super::Workload;

/// The roll-up workload: 4 hosts x 6 containers x 20 metrics, 120 s.
pub fn workload() -> Workload {
    Workload {
        hosts: 4,
        containers_per_host: 6,
        metrics: 20,
        seconds: 120,
        ..Default::default()
    }
}

/// Runs the roll-up test on `store`, opened with a 60 s full-resolution
/// window and 10 s roll-ups kept 1,000 s (a test clock drives
/// `maintain`); `full_rows` counts its full-resolution rows.
pub fn check(store: &dyn Store, full_rows: &dyn Fn() -> u64, sketch_error: f64) {
    let w = workload();
    let close = |q: &Query, got: &Answer, want: &Answer| close(q, got, want, sketch_error);
    for (agent, seq, samples) in w.batches() {
        store.write_batch(&agent, seq, &samples, &[]).unwrap();
    }
    let full10: Vec<Answer> = queries(&w, 10)
        .iter()
        .map(|q| store.query(q).unwrap())
        .collect();
    let full60: Vec<Answer> = queries(&w, 60)
        .iter()
        .map(|q| store.query(q).unwrap())
        .collect();
    assert!(full10
        .iter()
        .all(|a| a.resolution == Resolution::Second && !a.groups.is_empty()));
    let rows = full_rows();

    // Half the range rolled up: the answers mix roll-ups and seconds.
    store.maintain(w.ts(130)).unwrap();
    let left = full_rows();
    assert!(left > 0 && left < rows, "{left} of {rows}");
    for (q, want) in queries(&w, 10).iter().zip(&full10) {
        let got = store.query(q).unwrap();
        assert_eq!(got.resolution, Resolution::TenSeconds);
        close(q, &got, want);
    }
    // Everything rolled up; idempotent.
    store.maintain(w.ts(200)).unwrap();
    store.maintain(w.ts(200)).unwrap();
    assert_eq!(full_rows(), 0);
    for (q, want) in queries(&w, 10).iter().zip(&full10) {
        close(q, &store.query(q).unwrap(), want);
    }
    // Gauge percentiles now come from sketches, not the exact values.
    let p95 = store.query(&queries(&w, 10)[4]).unwrap();
    assert_ne!(p95.groups, full10[4].groups);
    // The 10 s level expired: the 1 min roll-ups serve 1 min steps.
    store.maintain(w.ts(1200)).unwrap();
    for (q, want) in queries(&w, 60).iter().zip(&full60) {
        let got = store.query(q).unwrap();
        assert_eq!(got.resolution, Resolution::Minute);
        close(q, &got, want);
    }
}

/// The roll-up queries over `w`'s whole range, at `step_s` steps.
pub fn queries(w: &Workload, step_s: i64) -> Vec<Query> {
    use Agg::*;
    let rows: [(&str, &[&str], Agg, Agg); 10] = [
        ("net.http.request.count", &["host"], Rate, Sum),
        ("net.http.request.count", &["namespace"], Sum, Sum),
        ("syscall.count", &[], Count, Sum),
        ("cpu.used.percent", &["namespace"], Avg, Avg),
        ("cpu.used.percent", &["deployment"], Quantile(0.95), Max),
        ("memory.used.bytes", &["node"], Quantile(0.5), Quantile(0.9)),
        ("fd.used", &["cluster"], Min, Min),
        (
            "net.http.request.time",
            &["deployment"],
            Quantile(0.95),
            Merge,
        ),
        ("net.http.request.time", &["namespace"], Rate, Merge),
        ("file.io.time", &["host"], Max, Max),
    ];
    rows.iter()
        .map(|(m, g, t, a)| Query {
            metric: m.to_string(),
            start_ms: w.start_ms,
            end_ms: w.ts(w.seconds),
            step_ms: step_s * 1000,
            filters: vec![],
            group_by: g.iter().map(|s| s.to_string()).collect(),
            time_agg: *t,
            group_agg: *a,
            top: None,
        })
        .collect()
}

/// Checks that `got` (served by a roll-up) matches `want` (full
/// resolution): float precision, and `sketch_error` relative for
/// percentiles of counters and gauges (histograms merge exactly).
pub fn close(q: &Query, got: &Answer, want: &Answer, sketch_error: f64) {
    let scalar_quantile = matches!(q.time_agg, Agg::Quantile(_)) && !q.metric.ends_with(".time");
    let tol = if scalar_quantile {
        sketch_error * 1.0001
    } else {
        1e-9
    };
    assert_eq!(got.groups.len(), want.groups.len(), "{q:?}");
    for (g, e) in got.groups.iter().zip(&want.groups) {
        assert_eq!(g.tags, e.tags);
        assert_eq!(g.points.len(), e.points.len(), "{q:?} {:?}", g.tags);
        for (p, x) in g.points.iter().zip(&e.points) {
            assert_eq!(p.0, x.0);
            assert!(
                (p.1 - x.1).abs() <= tol * x.1.abs(),
                "{q:?} {:?} at {}: {} vs {}",
                g.tags,
                p.0,
                p.1,
                x.1
            );
        }
    }
}

/// The long-range workload: 1 host x 2 containers x 20 metrics, 6 hours.
pub fn long_workload() -> Workload {
    Workload {
        hosts: 1,
        containers_per_host: 2,
        metrics: 20,
        seconds: 6 * 3600,
        ..Default::default()
    }
}

/// `w`'s samples of seconds `from..to`, for container `c` only when
/// given, as one batch.
fn span(w: &Workload, from: i64, to: i64, only: Option<usize>) -> Vec<crate::Sample> {
    let mut out = Vec::new();
    for t in from..to {
        for c in (0..w.containers()).filter(|c| only.map_or(true, |o| o == *c)) {
            let tags = w.tags(c, t);
            for (m, (name, _)) in super::METRICS.iter().enumerate().take(w.metrics) {
                out.push(crate::Sample {
                    metric: name.to_string(),
                    tags: tags.clone(),
                    ts_ms: w.ts(t),
                    value: w.value(m, c, t),
                });
            }
        }
    }
    out
}

/// Long ranges from roll-ups while every second is still kept: 6 hours
/// written to `rolled` and to `full` (both opened with the default 6 h
/// window); `rolled` is maintained as of 5 minutes before the end, so
/// 1 min, 5 min, 1 h and whole-range steps are served by the 1 min or
/// 1 h roll-ups plus the full-resolution tail, and must match `full`'s
/// answers (never maintained: every second); then a late batch (seconds
/// already rolled up, from another agent) must be counted in both; then
/// everything rolled up.
pub fn check_long(rolled: &dyn Store, full: &dyn Store, sketch_error: f64) {
    let w = long_workload();
    let both = |agent: &str, seq: u64, samples: &[crate::Sample]| {
        rolled.write_batch(agent, seq, samples, &[]).unwrap();
        full.write_batch(agent, seq, samples, &[]).unwrap();
    };
    for (i, from) in (0..w.seconds).step_by(60).enumerate() {
        both("host-000", i as u64 + 1, &span(&w, from, from + 60, None));
    }
    let compare = |want_res: &[Resolution]| {
        for step in [60, 300, 3600, 0] {
            for q in queries(&w, step) {
                let want = full.query(&q).unwrap();
                assert_eq!(want.resolution, Resolution::Second);
                let got = rolled.query(&q).unwrap();
                let ok = match step {
                    60 | 300 => got.resolution == Resolution::Minute,
                    _ => want_res.contains(&got.resolution),
                };
                assert!(ok, "step {step}: served by {:?}", got.resolution);
                assert!(!got.groups.is_empty());
                close(&q, &got, &want, sketch_error);
            }
        }
    };
    rolled.maintain(w.ts(w.seconds - 300)).unwrap();
    compare(&[Resolution::Hour, Resolution::Minute]);
    // Seconds already rolled up arrive late (another host's spool): a
    // container of a second host.
    let w2 = Workload { hosts: 2, ..w };
    both("host-001", 1, &span(&w2, 1000, 1010, Some(2)));
    compare(&[Resolution::Hour, Resolution::Minute]);
    rolled.maintain(w.ts(w.seconds + 3600)).unwrap();
    compare(&[Resolution::Hour]);
}

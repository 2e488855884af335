//! The bad-input test every engine runs: queries that would scan or
//! return too much, invalid regexes and ill-formed aggregations get
//! `BadQuery` with the limit or the reason in the message; a malformed
//! histogram is refused and nothing of its batch is stored.

use crate::{Agg, Query, Sample, Store, StoreError, TagFilter, Value};

use super::Workload;

fn bad(store: &dyn Store, q: &Query, needle: &str) {
    match store.query(q) {
        Err(StoreError::BadQuery(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("{q:?}: {other:?}"),
    }
}

/// Runs the bad-input checks on an empty `store`.
pub fn check(store: &dyn Store) {
    let w = Workload {
        hosts: 5,
        containers_per_host: 10,
        metrics: 17,
        seconds: 3,
        ..Default::default()
    };
    for (agent, seq, samples) in w.batches() {
        store.write_batch(&agent, seq, &samples, &[]).unwrap();
    }
    let base = Query {
        metric: "cpu.used.percent".into(),
        start_ms: w.start_ms,
        end_ms: w.ts(3),
        step_ms: 0,
        filters: vec![],
        group_by: vec![],
        time_agg: Agg::Avg,
        group_agg: Agg::Sum,
        top: None,
    };
    assert_eq!(store.query(&base).unwrap().groups.len(), 1);
    // A year at 1 ms steps: too many buckets.
    let q = Query {
        end_ms: w.start_ms + 365 * 86_400_000,
        step_ms: 1,
        ..base.clone()
    };
    bad(store, &q, "limit of 1000000");
    // 50 containers x a day of seconds: too many points.
    let q = Query {
        end_ms: w.start_ms + 86_400_000,
        step_ms: 1000,
        group_by: vec!["container_id".into()],
        ..base.clone()
    };
    bad(store, &q, "points exceed the limit");
    // Quantiles over 50 series x a week of seconds: too many cells.
    let q = Query {
        end_ms: w.start_ms + 7 * 86_400_000,
        step_ms: 1000,
        time_agg: Agg::Quantile(0.9),
        group_agg: Agg::Max,
        ..base.clone()
    };
    bad(store, &q, "cells exceed the limit of 5000000");
    let q = Query {
        filters: vec![TagFilter::Re("pod".into(), "(unclosed".into())],
        ..base.clone()
    };
    bad(store, &q, "invalid regex");
    let q = Query {
        filters: vec![TagFilter::NotRe("pod".into(), "a{99999999}".into())],
        ..base.clone()
    };
    bad(store, &q, "invalid regex");
    bad(
        store,
        &Query {
            time_agg: Agg::Quantile(1.5),
            ..base.clone()
        },
        "outside 0..=1",
    );
    bad(
        store,
        &Query {
            time_agg: Agg::Merge,
            ..base.clone()
        },
        "merge",
    );
    bad(
        store,
        &Query {
            group_agg: Agg::Rate,
            ..base.clone()
        },
        "rate",
    );
    bad(
        store,
        &Query {
            end_ms: base.start_ms,
            ..base.clone()
        },
        "empty range",
    );
    // An unknown metric is no error: no groups.
    let q = Query {
        metric: "no.such".into(),
        ..base.clone()
    };
    assert!(store.query(&q).unwrap().groups.is_empty());
    // A histogram with unsorted buckets is refused, and nothing is stored.
    let h = Sample {
        metric: "x".into(),
        tags: Default::default(),
        ts_ms: w.start_ms,
        value: Value::Histogram {
            count: 2,
            sum: 3.0,
            min: 1.0,
            max: 2.0,
            buckets: vec![(2, 1), (1, 1)],
        },
    };
    assert!(matches!(
        store.write_batch("z", 1, &[h], &[]),
        Err(StoreError::BadQuery(_))
    ));
    assert!(!store.last_seqs().unwrap().contains_key("z"));
}

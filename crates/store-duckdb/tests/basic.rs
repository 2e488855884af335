//! The store's basics: atomic batches with dedup, group-by queries,
//! series and tag listings, events, and reopening a database file.

use sonde_store::{
    Agg, Event, EventQuery, Query, Sample, Store, StoreError, TagFilter, Tags, Value,
};
use sonde_store_duckdb::{DuckStore, Options};

fn tags(kv: &[(&str, &str)]) -> Tags {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn gauge(host: &str, pod: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        metric: "cpu".into(),
        tags: tags(&[("host", host), ("pod", pod)]),
        ts_ms,
        value: Value::Gauge { value },
    }
}

fn q(group_by: &[&str], time_agg: Agg, group_agg: Agg) -> Query {
    Query {
        metric: "cpu".into(),
        start_ms: 0,
        end_ms: 4000,
        step_ms: 2000,
        filters: vec![],
        group_by: group_by.iter().map(|s| s.to_string()).collect(),
        time_agg,
        group_agg,
        top: None,
    }
}

#[test]
fn batches_queries_events_and_reopen() {
    let dir = std::env::temp_dir().join(format!("sonde-store-basic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.duckdb");
    {
        let s = DuckStore::open(&path, Options::default()).unwrap();
        let ev = Event {
            ts_ms: 1500,
            agent: "a".into(),
            kind: "check".into(),
            tags: tags(&[("status", "critical")]),
            body: serde_json::json!({"output": "down"}),
        };
        let b1 = [
            gauge("h1", "p1", 1000, 1.0),
            gauge("h1", "p2", 1000, 3.0),
            gauge("h2", "p3", 1000, 10.0),
        ];
        s.write_batch("a", 1, &b1, std::slice::from_ref(&ev))
            .unwrap();
        // A replay is ignored.
        s.write_batch("a", 1, &b1, &[ev]).unwrap();
        let b2 = [gauge("h1", "p1", 2000, 5.0), gauge("h2", "p3", 3000, 20.0)];
        s.write_batch("a", 2, &b2, &[]).unwrap();
        assert_eq!(s.last_seqs().unwrap()["a"], 2);

        let a = s.query(&q(&["host"], Agg::Sum, Agg::Sum)).unwrap();
        assert_eq!(a.groups.len(), 2);
        assert_eq!(a.groups[0].tags, tags(&[("host", "h1")]));
        assert_eq!(a.groups[0].points, vec![(0, 4.0), (2000, 5.0)]);
        assert_eq!(a.groups[1].points, vec![(0, 10.0), (2000, 20.0)]);
        let a = s.query(&q(&[], Agg::Max, Agg::Avg)).unwrap();
        assert_eq!(a.groups[0].points, vec![(0, 14.0 / 3.0), (2000, 12.5)]);
        let a = s.query(&q(&[], Agg::Quantile(0.5), Agg::Max)).unwrap();
        assert_eq!(a.groups[0].points, vec![(0, 10.0), (2000, 20.0)]);
        let mut f = q(&["pod"], Agg::Count, Agg::Sum);
        f.filters = vec![
            TagFilter::Re("pod".into(), "p[12]".into()),
            TagFilter::Ne("host".into(), "h2".into()),
        ];
        let a = s.query(&f).unwrap();
        assert_eq!(a.groups.len(), 2);
        f.filters = vec![TagFilter::Re("pod".into(), "p[".into())];
        assert!(matches!(s.query(&f), Err(StoreError::BadQuery(m)) if m.contains("regex")));

        assert_eq!(s.series(Some("cpu"), &[], 2000, 4000).unwrap().len(), 2);
        assert_eq!(s.tag_names(0, 4000).unwrap(), vec!["host", "pod"]);
        assert_eq!(
            s.tag_values("pod", 0, 2000).unwrap(),
            vec!["p1", "p2", "p3"]
        );
        let evs = s
            .events(&EventQuery {
                start_ms: 0,
                end_ms: 10_000,
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].body["output"], "down");
        s.checkpoint().unwrap();
    }
    let s = DuckStore::open(&path, Options::default()).unwrap();
    assert_eq!(s.last_seqs().unwrap()["a"], 2);
    s.write_batch("a", 3, &[gauge("h1", "p1", 3000, 7.0)], &[])
        .unwrap();
    assert_eq!(s.full_resolution_rows().unwrap(), 6);
    let a = s.query(&q(&["host"], Agg::Sum, Agg::Sum)).unwrap();
    assert_eq!(a.groups[0].points, vec![(0, 4.0), (2000, 12.0)]);
    // maintain compacts the sequence log to one row per agent
    s.maintain(10_000).unwrap();
    s.write_batch("b", 7, &[gauge("h3", "p9", 3000, 1.0)], &[])
        .unwrap();
    drop(s);
    let s = DuckStore::open(&path, Options::default()).unwrap();
    let seqs = s.last_seqs().unwrap();
    assert_eq!((seqs["a"], seqs["b"]), (3, 7));
    // a replayed batch is still ignored after the compaction and reopen
    s.write_batch("a", 3, &[gauge("h1", "p1", 4000, 100.0)], &[])
        .unwrap();
    assert_eq!(s.full_resolution_rows().unwrap(), 7);
    std::fs::remove_dir_all(&dir).unwrap();
}

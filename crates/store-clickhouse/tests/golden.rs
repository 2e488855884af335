//! Golden queries on a two-shard ClickHouse: sonde-store's golden table
//! (the same one DuckStore runs) answered by ClickStore and by the
//! reference evaluator, which must agree; then a replay of every batch
//! (ignored: seq not above the stored one) and a rewrite of every row
//! under fresh sequence numbers (duplicate rows on disk, deduplicated on
//! read) leave every answer unchanged. Also series, tag and event look-ups.

mod common;

use sonde_store::testkit::{golden, reference};
use sonde_store::{Event, EventQuery, Resolution, Store, TagFilter};

#[test]
fn golden_queries_match_the_reference_on_two_shards() {
    let Some(cluster) = common::Cluster::start(2) else {
        return;
    };
    let store = cluster.store("golden");
    let w = golden::workload();
    let mut all = Vec::new();
    let batches = w.batches();
    for (agent, seq, samples) in &batches {
        store.write_batch(agent, *seq, samples, &[]).unwrap();
        all.extend(samples.iter().cloned());
    }
    let queries = golden::queries(&w);
    assert!(queries.len() >= 30);
    let check_all = |what: &str| {
        for (i, q) in queries.iter().enumerate() {
            let want = reference(&all, q).unwrap();
            let got = store.query(q).unwrap();
            assert_eq!(got.resolution, Resolution::Second);
            if let Err(e) = golden::check(q, &got, &want) {
                panic!("{what}: query {i}: {e}");
            }
        }
    };
    check_all("first write");
    // Both shards hold data.
    for url in cluster.urls() {
        let n: u64 = ureq_count(&url, "SELECT count() FROM golden.samples");
        assert!(n > 1000, "{url}: {n} rows");
    }
    // Replayed batches are ignored; rows written again (a retried batch
    // whose seq was not stored) are stored twice but counted once.
    for (agent, seq, samples) in &batches {
        store.write_batch(agent, *seq, samples, &[]).unwrap();
    }
    let other = cluster.store("golden");
    for (agent, seq, samples) in batches.iter().take(200) {
        other.write_batch(agent, seq + 1000, samples, &[]).unwrap();
    }
    let rows: u64 = cluster
        .urls()
        .iter()
        .map(|u| ureq_count(u, "SELECT count() FROM golden.samples"))
        .sum();
    let scalar = all.iter().filter(|s| !s.metric.ends_with(".time")).count() as u64;
    assert!(
        rows > scalar,
        "{rows} rows on disk, {scalar} samples: no duplicates?"
    );
    check_all("after duplicates");
    assert_eq!(store.last_seqs().unwrap()["host-000"], 20 + 1000);

    let s = store
        .series(
            Some("cpu.used.percent"),
            &[TagFilter::Eq("host".into(), "host-001".into())],
            w.ts(0),
            w.ts(40),
        )
        .unwrap();
    let want: std::collections::BTreeSet<_> = all
        .iter()
        .filter(|x| x.metric == "cpu.used.percent" && x.tags["host"] == "host-001")
        .map(|x| x.tags.clone())
        .collect();
    assert_eq!(s.len(), want.len());
    assert!(store
        .tag_names(w.ts(0), w.ts(40))
        .unwrap()
        .contains(&"pod".to_string()));
    assert_eq!(
        store.tag_values("cluster", w.ts(0), w.ts(40)).unwrap(),
        ["cl-0", "cl-1"]
    );

    let ev = |t: i64, kind: &str, status: &str| Event {
        ts_ms: w.ts(t),
        agent: "host-001".into(),
        kind: kind.into(),
        tags: [("status".to_string(), status.to_string())].into(),
        body: serde_json::json!({"t": t}),
    };
    let evs = [
        ev(1, "check", "ok"),
        ev(2, "check", "critical"),
        ev(3, "keepalive", "silent"),
    ];
    store.write_batch("host-001", 5000, &[], &evs).unwrap();
    // A retried batch (new seq, same events) stores nothing twice.
    store.write_batch("host-001", 5001, &[], &evs).unwrap();
    let q = EventQuery {
        start_ms: w.ts(0),
        end_ms: w.ts(40),
        limit: 10,
        ..Default::default()
    };
    let got = store.events(&q).unwrap();
    assert_eq!(
        got.iter().map(|e| e.ts_ms).collect::<Vec<_>>(),
        [w.ts(3), w.ts(2), w.ts(1)]
    );
    let q = EventQuery {
        kinds: vec!["check".into()],
        filters: vec![TagFilter::Eq("status".into(), "critical".into())],
        ..q
    };
    assert_eq!(store.events(&q).unwrap(), vec![evs[1].clone()]);
}

/// The same table at the scale (100 hosts x 50 containers x 20
/// metrics, 4M samples) on two shards.
#[test]
fn golden_queries_match_the_reference_at_full_scale_on_two_shards() {
    let Some(cluster) = common::Cluster::start(2) else {
        return;
    };
    let store = cluster.store("full");
    let w = golden::full_workload();
    let agreed = golden::check_at_scale(&w, &store).unwrap_or_else(|e| panic!("{e}"));
    assert!(agreed >= 30, "{agreed} queries");
}

fn ureq_count(url: &str, sql: &str) -> u64 {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--data-binary", sql, &format!("{url}/")])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

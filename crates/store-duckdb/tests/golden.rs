//! Golden queries: the synthetic workload written through `write_batch`,
//! then sonde-store's golden query table (`testkit::golden`, shared with
//! every engine) answered by DuckStore and by the reference evaluator,
//! which must agree, asked one by one and all at once (`query_many`).

use sonde_store::testkit::{golden, reference};
use sonde_store::{Resolution, Store};
use sonde_store_duckdb::{DuckStore, Options};

#[test]
fn golden_queries_match_the_reference() {
    let w = golden::workload();
    let store = DuckStore::in_memory(Options::default()).unwrap();
    let mut all = Vec::new();
    for (agent, seq, samples) in w.batches() {
        store.write_batch(&agent, seq, &samples, &[]).unwrap();
        all.extend(samples);
    }
    let queries = golden::queries(&w);
    assert!(queries.len() >= 30);
    for (i, q) in queries.iter().enumerate() {
        let want = reference(&all, q).unwrap();
        let got = store.query(q).unwrap();
        assert_eq!(got.resolution, Resolution::Second);
        if let Err(e) = golden::check(q, &got, &want) {
            panic!("query {i}: {e}");
        }
    }
    // all at once: the queries sharing a range and step are fused into
    // one statement, and must give the same answers
    let many = store.query_many(&queries);
    assert_eq!(many.len(), queries.len());
    for (i, (q, got)) in queries.iter().zip(many).enumerate() {
        let want = reference(&all, q).unwrap();
        let got = got.unwrap_or_else(|e| panic!("query {i} among many: {e}"));
        if let Err(e) = golden::check(q, &got, &want) {
            panic!("query {i} among many: {e}");
        }
    }
}

/// The same table at the scale: 100 hosts x 50 containers x 20
/// metrics, 4M samples.
#[test]
fn golden_queries_match_the_reference_at_full_scale() {
    let w = golden::full_workload();
    let store = DuckStore::in_memory(Options::default()).unwrap();
    let agreed = golden::check_at_scale(&w, &store).unwrap_or_else(|e| panic!("{e}"));
    assert!(agreed >= 30, "{agreed} queries");
}

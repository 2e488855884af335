//! Bad input: queries that would scan or return too much, invalid
//! regexes and ill-formed aggregations get BadQuery with the limit or the
//! reason in the message, and nothing is scanned (DuckStore's test, on
//! a two-shard ClickHouse); bad options are refused at open.

use sonde_store::testkit::bad_input;
use sonde_store::StoreError;
use sonde_store_clickhouse::ClickStore;

mod common;

#[test]
fn bad_queries_are_refused_with_the_limit() {
    let Some(cluster) = common::Cluster::start(2) else {
        return;
    };
    let store = cluster.store("bad");
    bad_input::check(&store);
    // Options spliced into SQL must be identifiers; no shard is an error.
    for (db, cl) in [("x; DROP", "sonde"), ("ok", "a-b")] {
        let o = sonde_store_clickhouse::Options {
            database: db.into(),
            cluster: cl.into(),
            ..cluster.options("x")
        };
        assert!(matches!(ClickStore::open(o), Err(StoreError::BadQuery(_))));
    }
    let o = sonde_store_clickhouse::Options {
        shards: vec![],
        ..cluster.options("x")
    };
    assert!(matches!(ClickStore::open(o), Err(StoreError::BadQuery(_))));
    // A wrong password is an engine error that does not show it.
    let o = sonde_store_clickhouse::Options {
        password: "s3cret-pw".into(),
        ..cluster.options("x")
    };
    match ClickStore::open(o) {
        Err(StoreError::Engine(m)) => assert!(!m.contains("s3cret"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
}

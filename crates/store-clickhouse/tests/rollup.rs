//! Roll-ups with a test clock on a two-shard ClickHouse: the same test
//! as DuckStore's (`sonde_store::testkit::rollup`).

use sonde_store::testkit::rollup;
use sonde_store_clickhouse::{ClickStore, SKETCH_ERROR};

mod common;

#[test]
fn rollups_answer_like_full_resolution_on_two_shards() {
    let Some(cluster) = common::Cluster::start(2) else {
        return;
    };
    let opts = sonde_store_clickhouse::Options {
        retention_ms: 60_000,
        rollup_retention_ms: [1_000_000, i64::MAX, i64::MAX],
        ..cluster.options("rollup")
    };
    let store = ClickStore::open(opts).unwrap();
    let rows = || store.full_resolution_rows().unwrap();
    rollup::check(&store, &rows, SKETCH_ERROR);
}

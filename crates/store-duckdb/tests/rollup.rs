//! Roll-ups with a test clock (`sonde_store::testkit::rollup`): once the
//! full-resolution window has passed, answers come from the 10 s (then
//! the 1 min) roll-ups and match the full-resolution answers.

use sonde_store::testkit::rollup;
use sonde_store_duckdb::{DuckStore, Options, SKETCH_ERROR};

#[test]
fn rollups_answer_like_full_resolution() {
    let opts = Options {
        retention_ms: 60_000,
        rollup_retention_ms: [1_000_000, i64::MAX, i64::MAX],
    };
    let store = DuckStore::in_memory(opts).unwrap();
    let rows = || store.full_resolution_rows().unwrap();
    rollup::check(&store, &rows, SKETCH_ERROR);
}

#[test]
fn long_ranges_come_from_rollups_and_match_every_second() {
    let rolled = DuckStore::in_memory(Options::default()).unwrap();
    let full = DuckStore::in_memory(Options::default()).unwrap();
    rollup::check_long(&rolled, &full, SKETCH_ERROR);
}

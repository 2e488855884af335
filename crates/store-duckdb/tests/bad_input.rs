//! Bad input: queries that would scan or return too much, invalid
//! regexes and ill-formed aggregations get BadQuery with the limit or the
//! reason in the message, and nothing is scanned.

use sonde_store::testkit::bad_input;
use sonde_store_duckdb::{DuckStore, Options};

#[test]
fn bad_queries_are_refused_with_the_limit() {
    let store = DuckStore::in_memory(Options::default()).unwrap();
    bad_input::check(&store);
}

//! Arbitrary text as the `time`, `start`, `end` and `step` parameters of
//! the Prometheus query API.
//!
//!     cd crates/server/fuzz && cargo +nightly fuzz run query_params
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_server::prom::{parse_duration, parse_time};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_time(&text);
    if let Ok(ms) = parse_duration(&text) {
        assert!(ms > 0);
    }
});

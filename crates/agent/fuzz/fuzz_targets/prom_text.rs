//! Arbitrary text into the Prometheus text exposition parser (what a
//! scraped endpoint answers): samples or malformed lines, never a panic.
//!
//!     cd crates/agent/fuzz && cargo +nightly fuzz run prom_text
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_agent::scrape::parse_text;

fuzz_target!(|data: &[u8]| {
    let (samples, _bad) = parse_text(&String::from_utf8_lossy(data));
    assert!(samples.len() <= 2_000);
});

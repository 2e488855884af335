//! Arbitrary JSON as an agent batch's records: decoded into samples,
//! events and keepalives, or refused naming the record, never a panic.
//!
//!     cd crates/server/fuzz && cargo +nightly fuzz run records
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_server::decode::decode;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = serde_json::from_slice::<Vec<serde_json::Value>>(data) {
        if let Err(e) = decode("fuzz", 1_700_000_000_000, &records) {
            assert!(e.index < records.len());
        }
    }
});

//! Arbitrary bytes as an agent's connection: the HTTP/1.1 requests the
//! receiver reads, one after another. An error, never a panic, and never
//! a body over the limit.
//!
//!     cd crates/transport/fuzz && cargo +nightly fuzz run http_request
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_transport::fuzzing::read_requests;

fuzz_target!(|data: &[u8]| {
    if let Ok(reqs) = read_requests(data, 1 << 16) {
        for (_first, body) in reqs {
            assert!(body.len() <= 1 << 16);
        }
    }
});

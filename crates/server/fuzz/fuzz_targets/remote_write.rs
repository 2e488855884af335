//! Arbitrary bytes as a Prometheus remote-write body (`POST
//! /api/v1/write`): the snappy body as sent, and the same bytes as the
//! protobuf inside one; decoded into samples or refused, never a panic.
//!
//!     cd crates/server/fuzz && cargo +nightly fuzz run remote_write
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_server::remote::{decode, to_samples};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = decode(data) {
        let _ = to_samples(&req);
    }
    if let Ok(body) = snap::raw::Encoder::new().compress_vec(data) {
        if let Ok(req) = decode(&body) {
            let _ = to_samples(&req);
        }
    }
});

//! Arbitrary bytes as a server's answer to a batch: the HTTP/1.1 framing
//! the sender reads (status line, headers, Content-Length or chunked
//! body), then the `Ack` JSON. An error, never a panic, and never a body
//! over the limit.
//!
//!     cd crates/transport/fuzz && cargo +nightly fuzz run http_answer
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_transport::fuzzing::read_answer;
use sonde_transport::Ack;

fuzz_target!(|data: &[u8]| {
    if let Ok((_status, body, _keep)) = read_answer(data, 1 << 16) {
        assert!(body.len() <= 1 << 16);
        let _ = serde_json::from_slice::<Ack>(&body);
    }
});

//! Arbitrary captured buffers into the HTTP/1.x decoder: the request,
//! host and status parsers, and the decoder pairing requests with
//! responses on a connection.
//!
//!     cd crates/agent/fuzz && cargo +nightly fuzz run http_payload
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_agent::http::{normalize_path, parse_host, parse_request, parse_status};
use sonde_agent::http::{Dir, Http, Protocol};

fuzz_target!(|data: &[u8]| {
    let _ = parse_request(data);
    let _ = parse_host(data);
    let _ = parse_status(data);
    let _ = normalize_path(&String::from_utf8_lossy(data));
    // the first half as the request, the rest as the response
    let (a, b) = data.split_at(data.len() / 2);
    let mut h = Http::new(16);
    let mut out = Vec::new();
    h.on_buffer((1, 3), Dir::In, 1, a, &mut out);
    h.on_buffer((1, 3), Dir::Out, 2, b, &mut out);
});

//! Arbitrary datagrams into the statsd parser: every line a sample or
//! counted malformed, never a panic.
//!
//!     cd crates/agent/fuzz && cargo +nightly fuzz run statsd
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_agent::statsd::{parse_datagram, parse_line};

fuzz_target!(|data: &[u8]| {
    let (samples, _malformed) = parse_datagram(data);
    for s in samples {
        assert!(s.value.is_finite());
    }
    let _ = parse_line(&String::from_utf8_lossy(data));
});

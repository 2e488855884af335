//! Arbitrary UDP payloads into the DNS header and question parser, and
//! into the decoder pairing queries with answers.
//!
//!     cd crates/agent/fuzz && cargo +nightly fuzz run dns
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_agent::dns::{parse, Dns};
use sonde_agent::http::{Dir, Protocol};

fuzz_target!(|data: &[u8]| {
    if let Some(m) = parse(data) {
        assert!(m.name.len() <= 255);
    }
    let mut d = Dns::new(16);
    let mut out = Vec::new();
    d.on_buffer((1, 3), Dir::Out, 1, data, &mut out);
    d.on_buffer((1, 3), Dir::In, 2, data, &mut out);
});

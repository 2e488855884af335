//! Arbitrary plugin output into the Nagios output and perfdata parsers:
//! malformed items are skipped, never a panic.
//!
//!     cd crates/checks/fuzz && cargo +nightly fuzz run perfdata
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_checks::{parse_output, parse_perfdata};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (_status, _long, perf) = parse_output(&text);
    for m in perf.iter().chain(parse_perfdata(&text).iter()) {
        assert!(m.value.map_or(true, f64::is_finite));
    }
});

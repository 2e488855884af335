//! Arbitrary text into the `-p` format parser (after the escapes sysdig
//! allows): a format or an error pointing inside the string, never a
//! panic.
//!
//!     cd crates/fields/fuzz && cargo +nightly fuzz run format
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_fields::{unescape_format, Format};

fuzz_target!(|data: &[u8]| {
    let text = unescape_format(&String::from_utf8_lossy(data));
    match Format::parse(&text) {
        Ok(f) => {
            assert!(f.fields().count() <= text.matches('%').count());
        }
        Err(e) => {
            assert!(e.pos <= text.len());
            let _ = e.to_string();
        }
    }
});

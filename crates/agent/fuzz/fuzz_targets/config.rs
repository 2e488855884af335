//! Arbitrary text into the agent's config parser: a config or an error
//! naming the file, never a panic.
//!
//!     cd crates/agent/fuzz && cargo +nightly fuzz run config
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_agent::Config;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = Config::parse(&String::from_utf8_lossy(data), "fuzz.yaml") {
        let _ = e.to_string();
    }
});

//! Arbitrary text as a PromQL query: parsed and translated into a plan, or
//! refused with a message, never a panic (nor a stack overflow: deep
//! nesting is refused before parsing).
//!
//!     cd crates/server/fuzz && cargo +nightly fuzz run promql
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_server::prom::translate::plan;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = plan(&String::from_utf8_lossy(data)) {
        assert!(!e.0.is_empty());
    }
});

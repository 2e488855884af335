//! Arbitrary bytes into the capture reader: it must drain every block or
//! stop with an error, never panic, hang or allocate without bound.
//!
//!     cd crates/scap/fuzz && cargo +nightly fuzz run read_capture
//!
//! Seed the corpus with the shared traces (gunzipped) for deeper coverage.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same drain function the stable smoke test (tests/fuzz_smoke.rs) uses.
#[path = "../../tests/common/drain.rs"]
mod drain;

fuzz_target!(|data: &[u8]| {
    let _ = drain::drain(data, |_| ());
    let _ = drain::drain_raw(data);
});

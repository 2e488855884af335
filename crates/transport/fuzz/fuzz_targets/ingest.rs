//! Arbitrary bytes as a batch posted to the ingest endpoint: accepted,
//! or refused with a 400 and a JSON error, never a panic.
//!
//!     cd crates/transport/fuzz && cargo +nightly fuzz run ingest
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_transport::{Batch, Ingest, Token};

fuzz_target!(|data: &[u8]| {
    let ing = Ingest::new(vec![Token::new("t")], |_: &Batch| Ok(()));
    let r = ing.handle(Some("Bearer t"), false, data);
    assert!(r.status == 200 || r.status == 400);
});

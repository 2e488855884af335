//! Arbitrary text into the filter parser and compiler, and into the rules
//! loader: accepted or rejected with an error, never a panic.
//!
//!     cd crates/filter/fuzz && cargo +nightly fuzz run parse_filter
//!
//! Seed the corpus with the lines of crates/cli/tests/filters.txt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_filter::rules::Rules;
use sonde_filter::Filter;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Filter::new(&text) {
        Ok(f) => {
            let _ = f.event_types();
        }
        Err(e) => {
            assert!(e.pos <= text.len());
            let _ = e.to_string();
        }
    }
    let mut rules = Rules::new();
    if rules.load_str(&text).is_ok() {
        if let Ok(list) = rules.rules() {
            for r in &list {
                let _ = rules.compile(r);
            }
        }
    }
});

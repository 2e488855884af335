//! Engine rate: events per second on one core for decoding alone, and for
//! decoding plus the state update (no filter, no output).
//!
//! `engine_rate FILE [RUNS]` reads FILE RUNS times (default 3) each way and
//! prints the best rate. Use an uncompressed capture (scripts/bench.sh
//! builds one) so gzip does not dominate.
use std::time::Instant;

use sonde_scap::{Block, FileReader};
use sonde_state::State;

fn run(path: &str, state: bool) -> (u64, f64) {
    let t = Instant::now();
    let mut r = FileReader::open(path.as_ref()).unwrap_or_else(|e| {
        eprintln!("engine_rate: {path}: {e}");
        std::process::exit(2)
    });
    let mut st = State::new();
    let mut n = 0u64;
    loop {
        match r.next_block() {
            Ok(None) => break,
            Ok(Some(Block::Event(ev))) => {
                n += 1;
                if state {
                    st.process(&ev);
                } else {
                    std::hint::black_box(&ev);
                }
            }
            Ok(Some(b)) => {
                if state {
                    st.apply_block(&b);
                }
            }
            Err(e) => {
                eprintln!("engine_rate: {path}: {e}");
                std::process::exit(2)
            }
        }
    }
    std::hint::black_box(&st);
    (n, t.elapsed().as_secs_f64())
}

fn main() {
    let mut a = std::env::args().skip(1);
    let Some(path) = a.next() else {
        eprintln!("usage: engine_rate FILE [RUNS]");
        std::process::exit(2)
    };
    let runs: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    for (label, state) in [("decode", false), ("decode+state", true)] {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..runs {
            let (k, s) = run(&path, state);
            n = k;
            best = best.min(s);
        }
        println!(
            "{label:<13} {n} events in {best:.3} s = {:.2} M events/s",
            n as f64 / best / 1e6
        );
    }
}

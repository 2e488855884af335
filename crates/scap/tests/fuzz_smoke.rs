//! A stable-Rust stand-in for the cargo-fuzz target in `crates/scap/fuzz`:
//! a few thousand deterministic pseudo-random mutations of real traces go
//! through the same drain function. Nothing may panic. SONDE_FUZZ_ITERS
//! (per trace, default 1500) and SONDE_FUZZ_SEED run it longer or elsewhere.

mod common;

use common::drain::{drain, drain_raw};
use common::{load, spans, traces_dir};
use sonde_fuzzkit::{env_num, Rng};

const INTERESTING: [u32; 12] = [
    0,
    1,
    4,
    11,
    12,
    26,
    0x7f,
    0xffff,
    0x1_0000,
    (1 << 30) - 1,
    0x7fff_ffff,
    u32::MAX,
];

/// Applies one to three random mutations to `b`. `starts` are the block
/// starts of the intact file, so many mutations hit the fields that matter.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>, starts: &[usize]) {
    for _ in 0..1 + rng.below(3) {
        if b.len() < 16 {
            return;
        }
        let len = b.len();
        match rng.below(7) {
            // Flip bits in a few bytes anywhere.
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(len);
                    b[i] ^= 1 << rng.below(8);
                }
            }
            // An interesting or random word anywhere.
            1 => {
                let i = rng.below(len - 4);
                let v = if rng.below(2) == 0 {
                    INTERESTING[rng.below(INTERESTING.len())]
                } else {
                    rng.next() as u32
                };
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            // A block field: type, length, or a word of the event header.
            2 | 3 => {
                let s = starts[rng.below(starts.len())];
                let off = [0, 4, 8, 10, 18, 26, 28, 30, 32, 34, 36][rng.below(11)];
                if s + off + 4 <= len {
                    let v = INTERESTING[rng.below(INTERESTING.len())];
                    let v = if rng.below(3) == 0 {
                        v.wrapping_add(rng.below(9) as u32).wrapping_sub(4)
                    } else {
                        v
                    };
                    b[s + off..s + off + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            // Truncate.
            4 => {
                let t = rng.below(len);
                b.truncate(t);
            }
            // Drop or duplicate a chunk.
            5 => {
                let i = rng.below(len);
                let n = 1 + rng.below(64).min(len - i - 1);
                if rng.below(2) == 0 {
                    b.drain(i..i + n);
                } else {
                    let chunk: Vec<u8> = b[i..i + n].to_vec();
                    let at = rng.below(b.len());
                    b.splice(at..at, chunk);
                }
            }
            // A byte run of one value.
            _ => {
                let i = rng.below(len);
                let n = (1 + rng.below(32)).min(len - i);
                let v = [0u8, 0xff, 0x7f, 0x80][rng.below(4)];
                b[i..i + n].fill(v);
            }
        }
    }
}

#[test]
fn mutated_traces_never_panic() {
    let dir = traces_dir();
    // One trace in the old block layout (v1 events, PL v5, FD lists v1) and
    // one in the new (v2 events, PL v9, FD/IF/user lists v2).
    let inputs = ["test_ipv6_client.scap", "falco_psp_write_tmp_test.scap"];
    let per_input = env_num("SONDE_FUZZ_ITERS", 1500);
    let mut rng = Rng::new(env_num("SONDE_FUZZ_SEED", 0x5eed_cafe_f00d_0001) | 1);
    for name in inputs {
        let intact = load(&dir.join(name));
        let starts: Vec<usize> = spans(&intact).iter().map(|s| s.start).collect();
        let (_, res) = drain(&intact, |_| ());
        res.unwrap();
        let (mut failed, mut total) = (0, 0);
        for i in 0..per_input {
            let mut b = intact.clone();
            let state = rng.state();
            mutate(&mut rng, &mut b, &starts);
            let r = std::panic::catch_unwind(|| {
                let (items, res) = drain(&b, |_| ());
                let _ = drain_raw(&b);
                (items.len(), res.map_err(|e| e.to_string()))
            });
            match r {
                Ok((_, Err(msg))) => {
                    assert!(msg.contains("byte offset"), "{name} #{i}: {msg}");
                    failed += 1;
                }
                Ok(_) => {}
                Err(_) => panic!("{name}: mutation #{i} (rng state {state:#x}) panicked"),
            }
            total += 1;
        }
        // Most mutations must be caught; a few land where nothing checks.
        assert!(failed > 0 && failed <= total, "{name}: {failed}/{total}");
    }
}

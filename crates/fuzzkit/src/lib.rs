//! Deterministic stable-Rust fuzzing for sonde's parser tests (a
//! dev-dependency only), the stand-in for the nightly cargo-fuzz targets.
//!
//! It owns:
//!
//! - the generator: [`Rng`], xorshift64*, the same sequence on every run
//!   and machine for a seed;
//! - the mutations of an input: bit flips, truncations, cuts, random bytes,
//!   splices of the seeds and of a test file's interesting bytes
//!   ([`mutate`]);
//! - the run loop ([`Fuzzer::run`]): every 16th input a seed as is, the rest
//!   mutated, a panic re-raised naming the input that escaped, with the
//!   environment knobs `SONDE_FUZZ_SEED` (the run's seed, [`Fuzzer::rng`])
//!   and `SONDE_FUZZ_ITERS` (inputs per parser, [`iters`]).
//!
//! It does not own any parser, nor any property checks: each test file
//! keeps its seeds, its interesting bytes and what must hold of a parse.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// xorshift64*: deterministic, no dependencies.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting at `seed`; a zero seed (where xorshift stays
    /// forever) is taken as 1.
    pub const fn new(seed: u64) -> Self {
        Rng(if seed == 0 { 1 } else { seed })
    }

    /// The generator's state: `Rng::new(r.state())` repeats what `r` gives
    /// from here on.
    pub const fn state(&self) -> u64 {
        self.0
    }

    /// The next number.
    // not an `Iterator`: it never ends, and callers want the number itself
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The number in the environment variable `name`, else `default`; a value
/// that is not a number panics.
pub fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number")),
        Err(_) => default,
    }
}

/// Inputs per parser: `SONDE_FUZZ_ITERS`, 5000 unless set.
pub fn iters() -> usize {
    env_num("SONDE_FUZZ_ITERS", 5000) as usize
}

/// Each string's bytes, as seeds.
pub fn bytes(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// One to four mutations of `b`: a bit flip, a truncation, one of the
/// `interesting` byte strings or a piece of one of the `seeds` spliced in,
/// a cut, a random byte. Either list may be empty.
pub fn mutate(rng: &mut Rng, b: &mut Vec<u8>, seeds: &[Vec<u8>], interesting: &[&[u8]]) {
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        let i = rng.below(len + 1);
        match rng.below(7) {
            0 if len > 0 => {
                let j = rng.below(len);
                b[j] ^= 1 << rng.below(8);
            }
            1 => b.truncate(i),
            2 | 3 if !interesting.is_empty() => {
                let t = interesting[rng.below(interesting.len())];
                b.splice(i..i, t.iter().copied());
            }
            4 if !seeds.is_empty() => {
                let o = &seeds[rng.below(seeds.len())];
                let a = rng.below(o.len() + 1);
                let e = a + rng.below(o.len() - a + 1);
                b.splice(i..i, o[a..e].iter().copied());
            }
            5 if i < len => {
                let n = 1 + rng.below(len - i);
                b.drain(i..i + n);
            }
            _ => b.insert(i, rng.next() as u8),
        }
    }
}

/// What the fuzz runs of one test file share: the seed of its runs unless
/// `SONDE_FUZZ_SEED` is set, and the bytes that break its parsers.
#[derive(Debug, Clone, Copy)]
pub struct Fuzzer {
    /// The run's seed when `SONDE_FUZZ_SEED` is not set.
    pub seed: u64,
    /// Byte strings worth splicing into the inputs.
    pub interesting: &'static [&'static [u8]],
}

impl Fuzzer {
    /// A generator per parser: the run's seed mixed with the parser's salt.
    pub fn rng(&self, salt: u64) -> Rng {
        Rng::new((env_num("SONDE_FUZZ_SEED", self.seed) ^ salt) | 1)
    }

    /// `n` inputs (every 16th a seed as is, the rest mutated) through
    /// `check`; a panic in `check` is raised again naming the input, so it
    /// can be replayed. `seeds` must not be empty.
    pub fn run(
        &self,
        name: &str,
        salt: u64,
        n: usize,
        seeds: &[Vec<u8>],
        mut check: impl FnMut(&[u8]),
    ) {
        assert!(!seeds.is_empty(), "{name}: no seeds");
        let mut rng = self.rng(salt);
        for i in 0..n {
            let mut b = seeds[rng.below(seeds.len())].clone();
            if i % 16 != 0 {
                mutate(&mut rng, &mut b, seeds, self.interesting);
            }
            if catch_unwind(AssertUnwindSafe(|| check(&b))).is_err() {
                panic!("{name}: case {i} failed on b\"{}\"", b.escape_ascii());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_sequence() {
        let take = |mut r: Rng| (0..64).map(|_| r.next()).collect::<Vec<_>>();
        assert_eq!(take(Rng::new(7)), take(Rng::new(7)));
        assert_ne!(take(Rng::new(7)), take(Rng::new(9)));
        // the state resumes where it was taken
        let mut r = Rng::new(42);
        r.next();
        assert_eq!(take(Rng::new(r.state())), take(r.clone()));
        // xorshift64* from 1: the known first values
        let mut r = Rng::new(1);
        let first = [r.next(), r.next(), r.next()];
        assert_eq!(
            first,
            [
                0x47E4_CE4B_896C_DD1D,
                0xABCF_A6A8_E079_651D,
                0xB9D1_0D8F_EB73_1F57
            ]
        );
        assert_eq!(take(Rng::new(0)), take(Rng::new(1)));
        let mut r = Rng::new(3);
        assert!((0..1000).all(|_| r.below(5) < 5));
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn mutate_takes_empty_inputs_and_lists() {
        let mut rng = Rng::new(5);
        let mut changed = 0;
        for _ in 0..2000 {
            let mut b = Vec::new();
            mutate(&mut rng, &mut b, &[], &[]);
            let before = b.clone();
            mutate(&mut rng, &mut b, &[Vec::new()], &[b""]);
            changed += usize::from(b != before);
        }
        assert!(changed > 100, "only {changed} of 2000 changed");
        // what is spliced in comes from the lists
        let mut b = Vec::new();
        for _ in 0..200 {
            mutate(&mut rng, &mut b, &bytes(&["QQ"]), &[b"ZZ"]);
        }
        assert!(b.windows(2).any(|w| w == b"QQ" || w == b"ZZ"), "{b:?}");
    }

    #[test]
    fn run_names_the_input_that_failed() {
        let f = Fuzzer {
            seed: 11,
            interesting: &[b"\xff"],
        };
        let mut seen = 0;
        f.run("quiet", 1, 100, &bytes(&["abc"]), |_| seen += 1);
        assert_eq!(seen, 100);
        // case 0 is the seed itself
        let err = catch_unwind(|| {
            f.run("loud", 2, 100, &bytes(&["a\"b\n"]), |b| {
                assert_ne!(b, b"a\"b\n");
            });
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().expect("a formatted message");
        assert_eq!(msg, "loud: case 0 failed on b\"a\\\"b\\n\"");
    }
}

//! A stable-Rust stand-in for the cargo-fuzz target in `crates/checks/fuzz`:
//! a few thousand deterministic plugin outputs (realistic seeds, then bit
//! flips, truncations, splices and interesting bytes) through the Nagios
//! output and perfdata parsers. Nothing may panic; what parses must be
//! finite and read back the same when written out again. SONDE_FUZZ_ITERS
//! (default 5000) and SONDE_FUZZ_SEED run it longer or elsewhere.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sonde_checks::{parse_output, parse_perfdata, PerfMetric};

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number")),
        Err(_) => default,
    }
}

fn iters() -> usize {
    env_num("SONDE_FUZZ_ITERS", 5000) as usize
}

fn rng(salt: u64) -> Rng {
    Rng((env_num("SONDE_FUZZ_SEED", 0x5eed_c4ec_0000_0001) ^ salt) | 1)
}

/// Bytes that break perfdata parsers.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\n",
    b"|",
    b"'",
    b"''",
    b"=",
    b";",
    b",",
    b" ",
    b"\t",
    b"U",
    b"@",
    b"~",
    b":",
    b"-",
    b"e",
    b"%",
    b"KB",
    b"99999999999999999999999",
    b"1e308",
    b"1e309",
    b"-1e-400",
    b"NaN",
    b"inf",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\xc2\xa0",
];

/// One to four mutations of `b`; `seeds` are spliced from.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        let i = rng.below(len + 1);
        match rng.below(7) {
            0 if len > 0 => {
                let j = rng.below(len);
                b[j] ^= 1 << rng.below(8);
            }
            1 => b.truncate(i),
            2 | 3 => {
                let t = INTERESTING[rng.below(INTERESTING.len())];
                b.splice(i..i, t.iter().copied());
            }
            4 => {
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

const OUTPUTS: &[&str] = &[
    "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968",
    "PING OK - Packet loss = 0%, RTA = 0.80 ms|rta=0.800000ms;200.000000;500.000000;0.000000 pl=0%;40;80;0",
    "LOAD OK - load average: 0.01, 0.05, 0.01|load1=0.010;15.000;30.000;0; load5=0.050;10.000;25.000;0; load15=0,01;5;20;0;",
    "OK - all fine | 'free space'=5.5GB;10:;5:;0;100 'it''s'=3c 'users'=U;@5:10;~:3",
    "HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.001 second response time |time=0.001210s;;;0.000000;10.000000 size=612B;;;0",
    "PROCS OK: 120 processes\nline two of the long output\nline three | procs=120;;;0\nzombies=0;1;5;0",
    "CRITICAL - no perfdata here",
];

/// The perfdata of `m` written as a plugin would.
fn perf_item(m: &PerfMetric) -> String {
    let v = m.value.map_or("U".into(), |v| format!("{v}{}", m.uom));
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    format!(
        "'{}'={v};{};{};{};{}",
        m.label.replace('\'', "''"),
        m.warn.as_deref().unwrap_or(""),
        m.crit.as_deref().unwrap_or(""),
        num(m.min),
        num(m.max)
    )
}

fn check(b: &[u8]) {
    let text = String::from_utf8_lossy(b);
    let (status, _long, perf) = parse_output(&text);
    assert!(!status.contains(['\n', '|']), "{status:?}");
    let words = text.split_whitespace().count();
    assert!(perf.len() <= words.max(1), "{perf:?}");
    for m in &perf {
        assert!(!m.label.is_empty(), "{m:?}");
        assert!(m.value.map_or(true, f64::is_finite), "{m:?}");
        assert!(m.min.map_or(true, f64::is_finite) && m.max.map_or(true, f64::is_finite));
        assert!(m.value.is_some() || m.uom.is_empty(), "{m:?}");
    }
    let direct = parse_perfdata(&text);
    for m in &direct {
        // what a metric says survives being written out and read again,
        // unless its thresholds hold the separators themselves
        let written = perf_item(m);
        let thresholds = [&m.warn, &m.crit].into_iter().flatten();
        if thresholds
            .clone()
            .any(|t| t.contains([';', '=', '\'']) || t.contains(char::is_whitespace))
        {
            continue;
        }
        let back = parse_perfdata(&written);
        assert_eq!(back.as_slice(), std::slice::from_ref(m), "via {written:?}");
    }
}

#[test]
fn plugin_outputs() {
    for s in OUTPUTS {
        let (status, _, perf) = parse_output(s);
        assert!(!status.is_empty());
        assert_eq!(perf.is_empty(), s.starts_with("CRITICAL"), "{s}");
    }
    let (_, long, perf) = parse_output(OUTPUTS[5]);
    assert_eq!((long.lines().count(), perf.len()), (2, 2));
    let seeds: Vec<Vec<u8>> = OUTPUTS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut rng = rng(1);
    for i in 0..iters() {
        let mut b = seeds[rng.below(seeds.len())].clone();
        if i % 16 != 0 {
            mutate(&mut rng, &mut b, &seeds);
        }
        if catch_unwind(AssertUnwindSafe(|| check(&b))).is_err() {
            panic!("perfdata: case {i} failed on b\"{}\"", b.escape_ascii());
        }
    }
}

#[test]
fn huge_outputs_stay_linear() {
    // a plugin gone wrong: megabytes of one item, of quotes, of separators
    for junk in ["a=1;", "'", "=", "| ", "x=1e308KB "] {
        let text = junk.repeat(200_000);
        let t0 = std::time::Instant::now();
        let _ = parse_output(&text);
        assert!(
            t0.elapsed().as_secs() < 5,
            "{junk:?} took {:?}",
            t0.elapsed()
        );
    }
}

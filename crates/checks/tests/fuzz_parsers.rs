//! A stable-Rust stand-in for the cargo-fuzz target in `crates/checks/fuzz`:
//! a few thousand deterministic plugin outputs (realistic seeds, then bit
//! flips, truncations, splices and interesting bytes) through the Nagios
//! output and perfdata parsers. Nothing may panic; what parses must be
//! finite and read back the same when written out again. SONDE_FUZZ_ITERS
//! (default 5000) and SONDE_FUZZ_SEED run it longer or elsewhere.

use sonde_checks::{parse_output, parse_perfdata, PerfMetric};
use sonde_fuzzkit::{bytes, iters, Fuzzer};

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

/// This file's runs: their seed unless SONDE_FUZZ_SEED is set, and
/// [`INTERESTING`].
const FUZZ: Fuzzer = Fuzzer {
    seed: 0x5eed_c4ec_0000_0001,
    interesting: INTERESTING,
};

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
    FUZZ.run("perfdata", 1, iters(), &bytes(OUTPUTS), check);
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

//! A stable-Rust stand-in for the cargo-fuzz target in `crates/fields/fuzz`:
//! a few thousand deterministic `-p` format strings (the default formats
//! and realistic ones, then bit flips, truncations, splices and
//! interesting bytes) through the format parser, and each accepted one
//! rendered for an event. Nothing may panic, an error points inside the
//! string, and a line stays bounded by the widths allowed.
//! SONDE_FUZZ_ITERS (default 5000) and SONDE_FUZZ_SEED run it longer or
//! elsewhere.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sonde_event::{codes, RawEvent};
use sonde_fields::{unescape_format, Ctx, Format, TimeFmt, DEFAULT_FORMAT, MAX_WIDTH};
use sonde_fields::{CONTAINER_FORMAT, K8S_FORMAT, MESOS_FORMAT, TTY_FORMAT};
use sonde_output::RenderOpts;
use sonde_state::State;

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

/// Bytes that break format parsers.
const INTERESTING: &[&[u8]] = &[
    b"%",
    b"*",
    b"[",
    b"]",
    b".",
    b"%%",
    b"\\",
    b"\\n",
    b"\0",
    b"\xff",
    b" ",
    b"0",
    b"65536",
    b"65537",
    b"4294967296",
    b"99999999999",
    b"18446744073709551615",
    b"99999999999999999999999",
    b"evt.arg[",
    b"proc.aname[",
    b"[-1]",
    b"[999999999999]",
    b"\xc3\xa9",
    b"\xe2\x82",
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

const FORMATS: &[&str] = &[
    DEFAULT_FORMAT,
    TTY_FORMAT,
    K8S_FORMAT,
    MESOS_FORMAT,
    CONTAINER_FORMAT,
    "%evt.num %proc.name %fd.name",
    "*%12evt.type|%5thread.tid|%proc.aname[2]|%evt.arg.fd|%evt.arg[0]",
    "%evt.time.s %user.name %proc.cmdline %fd.sip:%fd.sport -> %fd.cip",
    "*[%thread.cgroup[memory]] %k8s.pod.label.app %container.image.repository",
    "plain text, no fields at all",
    "*%20evt.rawarg.res %evt.latency.human\\t%evt.dir\\n",
];

/// Renders `f` for one generic event of an unknown thread.
fn render(f: &Format) -> (bool, Vec<u8>) {
    let st = State::new();
    let ev = RawEvent::from_parts(
        1_700_000_000_000_000_000,
        42,
        codes::GENERIC_E,
        0,
        &[],
        false,
    )
    .unwrap();
    let opts = RenderOpts::default();
    let ctx = Ctx {
        st: &st,
        ev: &ev,
        num: 7,
        first_ts: 1,
        prev_ts: 0,
        opts: &opts,
        time_fmt: TimeFmt::Human,
        lookups: Default::default(),
    };
    let mut out = Vec::new();
    let shown = f.render(&ctx, &mut out);
    (shown, out)
}

fn check(b: &[u8]) {
    let s = String::from_utf8_lossy(b);
    let unescaped = unescape_format(&s);
    assert!(unescaped.len() <= s.len());
    let f = match Format::parse(&unescaped) {
        Ok(f) => f,
        Err(e) => {
            assert!(e.pos <= unescaped.len() && !e.msg.is_empty(), "{e}");
            let _ = e.to_string();
            return;
        }
    };
    let fields = f.fields().count();
    assert!(fields <= unescaped.matches('%').count());
    let (shown, out) = render(&f);
    // a field's text here is short (no thread, no fd): the widths make it long
    assert!(
        out.len() <= unescaped.len() + (fields + 1) * (MAX_WIDTH + 512),
        "a line of {} bytes",
        out.len()
    );
    if fields == 0 {
        assert!(shown);
        let lit = unescaped.strip_prefix('*').unwrap_or(&unescaped);
        assert_eq!(out, lit.as_bytes(), "text without fields is itself");
    }
}

#[test]
fn format_strings() {
    for s in FORMATS {
        let f = Format::parse(&unescape_format(s)).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(render(&f).0 || !s.starts_with('*'), "{s}");
    }
    let seeds: Vec<Vec<u8>> = FORMATS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut rng = Rng((env_num("SONDE_FUZZ_SEED", 0x5eed_f0a7_0000_0001) ^ 1) | 1);
    for i in 0..env_num("SONDE_FUZZ_ITERS", 5000) {
        let mut b = seeds[rng.below(seeds.len())].clone();
        if i % 16 != 0 {
            mutate(&mut rng, &mut b, &seeds);
        }
        if catch_unwind(AssertUnwindSafe(|| check(&b))).is_err() {
            panic!("format: case {i} failed on b\"{}\"", b.escape_ascii());
        }
    }
}

#[test]
fn widths_up_to_the_limit() {
    for w in [0, 1, 80, MAX_WIDTH] {
        let f = Format::parse(&format!("%{w}evt.num")).unwrap();
        let (_, out) = render(&f);
        assert_eq!(out.len(), if w == 0 { 1 } else { w }, "width {w}");
    }
    for w in [MAX_WIDTH + 1, usize::MAX] {
        assert!(Format::parse(&format!("%{w}evt.num")).is_err());
    }
}

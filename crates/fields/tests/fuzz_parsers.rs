//! A stable-Rust stand-in for the cargo-fuzz target in `crates/fields/fuzz`:
//! a few thousand deterministic `-p` format strings (the default formats
//! and realistic ones, then bit flips, truncations, splices and
//! interesting bytes) through the format parser, and each accepted one
//! rendered for an event. Nothing may panic, an error points inside the
//! string, and a line stays bounded by the widths allowed.
//! SONDE_FUZZ_ITERS (default 5000) and SONDE_FUZZ_SEED run it longer or
//! elsewhere.

use sonde_event::{codes, RawEvent};
use sonde_fields::{unescape_format, Ctx, Format, TimeFmt, DEFAULT_FORMAT, MAX_WIDTH};
use sonde_fields::{CONTAINER_FORMAT, K8S_FORMAT, MESOS_FORMAT, TTY_FORMAT};
use sonde_fuzzkit::{bytes, iters, Fuzzer};
use sonde_output::RenderOpts;
use sonde_state::State;

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

/// This file's runs: their seed unless SONDE_FUZZ_SEED is set, and
/// [`INTERESTING`].
const FUZZ: Fuzzer = Fuzzer {
    seed: 0x5eed_f0a7_0000_0001,
    interesting: INTERESTING,
};

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
    FUZZ.run("format", 1, iters(), &bytes(FORMATS), check);
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

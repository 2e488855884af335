//! Rough cost of evaluating a few compiled filters on one event (a
//! benchmark, not a test): `cargo run --release -p sonde-filter --example eval_cost`.

use sonde_event::{codes, RawEvent};
use sonde_fields::{Ctx, TimeFmt};
use sonde_filter::Filter;
use sonde_output::RenderOpts;
use sonde_state::State;

/// An open exit event body returning `fd` for `name`.
fn open_x(fd: i64, name: &str) -> Vec<u8> {
    let mut name = name.as_bytes().to_vec();
    name.push(0);
    let params: Vec<Vec<u8>> = vec![
        fd.to_le_bytes().to_vec(),
        name,
        1u32.to_le_bytes().to_vec(),
        0o644u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        42u64.to_le_bytes().to_vec(),
    ];
    let mut body = Vec::new();
    for p in &params {
        body.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in &params {
        body.extend_from_slice(p);
    }
    body
}

fn main() {
    let body = open_x(3, "/etc/passwd");
    let ev = RawEvent::from_parts(1_000, 100, codes::SYSCALL_OPEN_X, 6, &body, false).unwrap();
    let mut st = State::new();
    st.process(&ev);
    let opts = RenderOpts::default();
    let ctx = Ctx {
        st: &st,
        ev: &ev,
        num: 7,
        first_ts: 1_000,
        prev_ts: 1_000,
        opts: &opts,
        time_fmt: TimeFmt::Human,
        lookups: Default::default(),
    };
    for text in [
        "evt.type in (read, write)",
        "evt.type=open and fd.name startswith /etc",
        "fd.name in (/etc/shadow, /etc/sudoers, /etc/pam.conf) or fd.directory in (/etc/pam.d, /etc/ssh)",
        "evt.type in (open, openat) and evt.is_open_write=true and fd.name pmatch (/etc, /usr/bin)",
        "fd.name regex '/etc/(passwd|shadow)'",
    ] {
        let f = Filter::new(text).unwrap();
        let n = 1_000_000;
        let t = std::time::Instant::now();
        let mut hits = 0;
        for _ in 0..n {
            hits += f.matches(&ctx) as u32;
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        eprintln!("{ns:8.1} ns/event  ({hits} hits)  {text}");
    }
}

//! Builds a large capture from a small one, for benchmarks.
//!
//! `scapgen IN OUT MIN_EVENTS` reads IN (plain or gzip) and writes OUT
//! uncompressed: the section header and the metadata blocks (machine,
//! process, fd, user, interface lists) copied verbatim, then the event
//! blocks repeated as many times as needed to reach MIN_EVENTS, each
//! repetition shifted in time so timestamps keep increasing.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::exit;

use sonde_scap::blocks::{EV, EVF, EVF_V2, EVF_V2_LARGE, EV_INT, EV_V2, EV_V2_LARGE};
use sonde_scap::FileReader;

fn is_event(bt: u32) -> bool {
    matches!(
        bt,
        EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE
    )
}

/// Where the timestamp sits in an event block body.
fn ts_at(bt: u32) -> usize {
    if matches!(bt, EVF | EVF_V2 | EVF_V2_LARGE) {
        6
    } else {
        2
    }
}

fn write_block(w: &mut impl Write, bt: u32, body: &[u8]) -> std::io::Result<()> {
    let total = (body.len() + 12) as u32;
    w.write_all(&bt.to_le_bytes())?;
    w.write_all(&total.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&total.to_le_bytes())
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 4 {
        eprintln!("usage: scapgen IN OUT MIN_EVENTS");
        exit(2);
    }
    let min: u64 = a[3].parse().unwrap_or_else(|_| {
        eprintln!("scapgen: MIN_EVENTS must be a number");
        exit(2)
    });
    let fail = |m: String| -> ! {
        eprintln!("scapgen: {m}");
        exit(2)
    };
    let mut r = FileReader::open(a[1].as_ref()).unwrap_or_else(|e| fail(e.to_string()));
    // Every block after the metadata, in order; `true` marks event blocks.
    let mut head: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut tail: Vec<(u32, Vec<u8>, bool)> = Vec::new();
    let (mut lo, mut hi, mut n) = (u64::MAX, 0u64, 0u64);
    loop {
        match r.next_raw_block() {
            Ok(None) => break,
            Ok(Some((bt, body))) => {
                let ev = is_event(bt);
                if ev {
                    let o = ts_at(bt);
                    let ts = body
                        .get(o..o + 8)
                        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
                        .unwrap_or_else(|| fail("short event block".into()));
                    lo = lo.min(ts);
                    hi = hi.max(ts);
                    n += 1;
                }
                if !ev && tail.is_empty() {
                    head.push((bt, body.to_vec()));
                } else {
                    tail.push((bt, body.to_vec(), ev));
                }
            }
            Err(e) => fail(e.to_string()),
        }
    }
    if n == 0 {
        fail("the capture has no events".into());
    }
    let reps = min.div_ceil(n).max(1);
    let span = hi - lo + 1_000;
    let out = File::create(&a[2]).unwrap_or_else(|e| fail(format!("{}: {e}", a[2])));
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let res = (|| -> std::io::Result<()> {
        for (bt, body) in &head {
            write_block(&mut w, *bt, body)?;
        }
        let mut scratch = Vec::new();
        for rep in 0..reps {
            let shift = span * rep;
            for (bt, body, ev) in &tail {
                if !ev {
                    if rep == 0 {
                        write_block(&mut w, *bt, body)?;
                    }
                    continue;
                }
                scratch.clear();
                scratch.extend_from_slice(body);
                let o = ts_at(*bt);
                let ts = u64::from_le_bytes(scratch[o..o + 8].try_into().unwrap_or_default());
                scratch[o..o + 8].copy_from_slice(&(ts + shift).to_le_bytes());
                write_block(&mut w, *bt, &scratch)?;
            }
        }
        w.flush()
    })();
    if let Err(e) = res {
        fail(format!("{}: {e}", a[2]));
    }
    println!("{} events ({n} x {reps})", n * reps);
}

//! Damaged captures: every shared trace is truncated at many offsets and
//! corrupted at many places. The reader must never panic, must yield every
//! block before the damage exactly as it does from the intact file, and must
//! then stop with an error naming the byte offset of the damaged block.

mod common;

use common::drain::{drain, drain_raw};
use common::{load, spans, traces, Span};
use sonde_scap::blocks::*;
use sonde_scap::Block;

/// What the reader yielded: the stream offset after each block, and a
/// fingerprint of the block precise enough to tell two blocks apart.
type Items = Vec<(u64, u64)>;

fn describe(b: &Block<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match b {
        Block::Event(ev) => {
            (ev.ts, ev.tid, ev.code, ev.cpu, ev.dump_flags, ev.nparams()).hash(&mut h);
            for i in 0..ev.nparams() {
                ev.param(i).hash(&mut h);
            }
        }
        other => format!("{other:?}").hash(&mut h),
    }
    h.finish()
}

fn read(bytes: &[u8]) -> (Items, Result<u64, sonde_scap::Error>) {
    drain(bytes, describe)
}

/// The items of the intact capture that end at or before `offset`.
fn before(intact: &Items, offset: usize) -> &[(u64, u64)] {
    let k = intact.partition_point(|(end, _)| *end as usize <= offset);
    &intact[..k]
}

fn is_event(bt: u32) -> bool {
    matches!(
        bt,
        EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE
    )
}

/// Where the event header starts inside an event block (after block header,
/// cpu, and the flags of flagged blocks).
fn event_at(s: &Span) -> usize {
    s.start
        + 8
        + if matches!(s.block_type, EVF | EVF_V2 | EVF_V2_LARGE) {
            6
        } else {
            2
        }
}

fn has_nparams(bt: u32) -> bool {
    matches!(bt, EV_V2 | EV_V2_LARGE | EVF_V2 | EVF_V2_LARGE)
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Checks a damaged capture whose first damaged byte lies in block `k`.
/// With `must_fail`, the reader must stop with an error at that block;
/// otherwise an error is allowed (at or after the block) but not required.
fn check(
    name: &str,
    what: &str,
    damaged: &[u8],
    intact: &Items,
    blocks: &[Span],
    k: usize,
    must_fail: bool,
) {
    let start = blocks[k].start;
    let (items, res) = read(damaged);
    let expect = before(intact, start);
    assert!(
        items.len() >= expect.len() && items[..expect.len()] == *expect,
        "{name}, {what}: the {} blocks before byte {start} were not all yielded intact \
         (got {} blocks)",
        expect.len(),
        items.len()
    );
    match res {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("byte offset"),
                "{name}, {what}: error does not name an offset: {msg}"
            );
            if must_fail {
                assert_eq!(
                    e.offset as usize, start,
                    "{name}, {what}: error at the wrong offset: {msg}"
                );
                assert_eq!(
                    items.len(),
                    expect.len(),
                    "{name}, {what}: blocks yielded after the damage"
                );
            } else {
                assert!(
                    e.offset as usize >= start,
                    "{name}, {what}: error before the damage: {msg}"
                );
            }
        }
        Ok(_) => assert!(
            !must_fail,
            "{name}, {what}: damage at byte {start} went unnoticed"
        ),
    }
    let _ = drain_raw(damaged);
}

fn trace_name(p: &std::path::Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn intact_traces_read_to_the_end() {
    for path in traces() {
        let bytes = load(&path);
        let blocks = spans(&bytes);
        let (items, res) = read(&bytes);
        let n = res.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(n as usize, items.len());
        assert_eq!(items.last().unwrap().0 as usize, bytes.len());
        assert_eq!(drain_raw(&bytes).unwrap() as usize, blocks.len());
    }
}

/// `next_raw_block` hands out every block body; header + body + trailer
/// rebuilds the decompressed file byte for byte.
#[test]
fn raw_blocks_rebuild_the_file() {
    for path in traces() {
        let bytes = load(&path);
        let mut r = sonde_scap::FileReader::open(&path).unwrap();
        let mut out = Vec::with_capacity(bytes.len());
        while let Some((bt, body)) = r.next_raw_block().unwrap() {
            let total = (body.len() + 12) as u32;
            out.extend_from_slice(&bt.to_le_bytes());
            out.extend_from_slice(&total.to_le_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&total.to_le_bytes());
        }
        assert!(out == bytes, "{}: rebuilt file differs", path.display());
    }
}

#[test]
fn truncated_traces() {
    for path in traces() {
        let name = trace_name(&path);
        let bytes = load(&path);
        let blocks = spans(&bytes);
        let (intact, res) = read(&bytes);
        res.unwrap();
        let first_ev = blocks.iter().position(|s| is_event(s.block_type)).unwrap();
        let last = blocks.len() - 1;
        let mut cuts: Vec<usize> = vec![1, 4, 7, 8, 12, 20, blocks[0].end - 1];
        // Inside the first metadata block of each type: its header, its
        // body, its trailer.
        let mut kinds = Vec::new();
        for s in &blocks[1..first_ev] {
            if kinds.contains(&s.block_type) {
                continue;
            }
            kinds.push(s.block_type);
            cuts.extend([
                s.start + 3,
                s.start + 8 + (s.end - s.start - 12) / 2,
                s.end - 2,
            ]);
        }
        // Inside event blocks: header, event header, parameters, trailer.
        for &k in &[first_ev, (first_ev + last) / 2, last] {
            let s = blocks[k];
            cuts.extend([
                s.start + 5,
                s.start + 8,
                event_at(&s) + 10,
                s.end - 6,
                s.end - 1,
            ]);
        }
        for t in cuts {
            let k = blocks.partition_point(|s| s.end <= t);
            check(
                &name,
                &format!("cut at {t}"),
                &bytes[..t],
                &intact,
                &blocks,
                k,
                true,
            );
        }
        // At block boundaries the rest is a shorter, valid capture.
        for &k in &[1, first_ev, (first_ev + last) / 2, last] {
            let t = blocks[k].start;
            let (items, res) = read(&bytes[..t]);
            res.unwrap_or_else(|e| panic!("{name}: cut at boundary {t}: {e}"));
            assert_eq!(items, before(&intact, t), "{name}: cut at boundary {t}");
        }
        // Empty files and headers cut short are not captures.
        for t in [0, 3] {
            let e = read(&bytes[..t]).1.unwrap_err();
            assert!(e.to_string().contains("byte offset 0"), "{name}: {e}");
        }
    }
}

#[test]
fn corrupted_traces() {
    for path in traces() {
        let name = trace_name(&path);
        let bytes = load(&path);
        let blocks = spans(&bytes);
        let (intact, res) = read(&bytes);
        res.unwrap();
        let first_ev = blocks.iter().position(|s| is_event(s.block_type)).unwrap();
        let last = blocks.len() - 1;
        let mut targets: Vec<usize> = vec![0, first_ev, first_ev + 1, (first_ev + last) / 2, last];
        // The first block of each metadata kind.
        let mut kinds = Vec::new();
        for (k, s) in blocks.iter().enumerate().take(first_ev).skip(1) {
            if !kinds.contains(&s.block_type) {
                kinds.push(s.block_type);
                targets.push(k);
            }
        }
        for &k in &targets {
            let s = blocks[k];
            let total = (s.end - s.start) as u32;
            let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
                let mut b = bytes.clone();
                f(&mut b);
                b
            };
            // Block lengths: each of these must stop the reader at block k.
            for bad in [0, 11, total - 4, total + 4, u32::MAX, (1 << 30) - 1] {
                let b = mutate(&|b| put32(b, s.start + 4, bad));
                check(
                    &name,
                    &format!("block {k} length {bad}"),
                    &b,
                    &intact,
                    &blocks,
                    k,
                    true,
                );
            }
            for bad in [0, total ^ 0x0100_0000, total + 1] {
                let b = mutate(&|b| put32(b, s.end - 4, bad));
                check(
                    &name,
                    &format!("block {k} trailer {bad}"),
                    &b,
                    &intact,
                    &blocks,
                    k,
                    true,
                );
            }
            // A block type nobody knows: skipped or refused, never a panic.
            let b = mutate(&|b| put32(b, s.start, 0x7777));
            check(
                &name,
                &format!("block {k} type"),
                &b,
                &intact,
                &blocks,
                k,
                k == 0,
            );
            // Scribbles over the body: noticed or not, never a panic.
            let body = s.end - 4 - (s.start + 8);
            for at in [0, body / 3, body.saturating_sub(3)] {
                for fill in [0x00u8, 0xff] {
                    let b = mutate(&|b| {
                        let from = s.start + 8 + at;
                        let to = (from + 8).min(s.end - 4);
                        b[from..to].fill(fill);
                    });
                    check(
                        &name,
                        &format!("block {k} body +{at} = {fill:#x}"),
                        &b,
                        &intact,
                        &blocks,
                        k,
                        k == 0 && at == 0,
                    );
                }
            }
            if !is_event(s.block_type) {
                continue;
            }
            // The event header: length, parameter count, parameter lengths.
            let e = event_at(&s);
            for bad in [0, 5, 0xffff_0000] {
                let b = mutate(&|b| put32(b, e + 16, bad));
                check(
                    &name,
                    &format!("block {k} event length {bad}"),
                    &b,
                    &intact,
                    &blocks,
                    k,
                    true,
                );
            }
            let lens_at = if has_nparams(s.block_type) {
                for bad in [33, 0xffff, u32::MAX] {
                    let b = mutate(&|b| put32(b, e + 22, bad));
                    check(
                        &name,
                        &format!("block {k} nparams {bad}"),
                        &b,
                        &intact,
                        &blocks,
                        k,
                        true,
                    );
                }
                e + HEADER
            } else {
                e + HEADER_V1
            };
            let evlen = u32::from_le_bytes(bytes[e + 16..e + 20].try_into().unwrap()) as usize;
            if lens_at + 2 <= e + evlen && !matches!(s.block_type, EV_V2_LARGE | EVF_V2_LARGE) {
                // Only events that have parameters: a length no event can hold.
                let body = &bytes[s.start + 8..s.end - 4];
                let has_params = matches!(
                    sonde_scap::decode_event(body, s.block_type),
                    Ok(Some(ev)) if ev.nparams() > 0
                );
                if has_params {
                    let b = mutate(&|b| put16(b, lens_at, 0xffff));
                    check(
                        &name,
                        &format!("block {k} param length"),
                        &b,
                        &intact,
                        &blocks,
                        k,
                        true,
                    );
                }
            }
        }
    }
}

const HEADER: usize = sonde_event::HEADER_LEN;
const HEADER_V1: usize = sonde_event::HEADER_LEN_V1;

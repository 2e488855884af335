//! Runs of event blocks handed out as the bytes they are in the file, for
//! copies that change nothing (a plain `-w` of a v2 capture): the blocks
//! are checked as [`Reader::next_raw_block`] checks them, and nothing is
//! copied out of the read window.

use std::io::Read;

use super::{event_code_known, le32, v1_event_append_v2, Reader, MAX_BLOCK};
use crate::blocks::{EV, EVF, EVF_V2, EVF_V2_LARGE, EV_INT, EV_V2, EV_V2_LARGE};

/// Consecutive whole v2 event blocks, headers and trailers included.
#[derive(Debug)]
pub struct EventSpan<'a> {
    /// The blocks, byte for byte as in the file.
    pub bytes: &'a [u8],
    /// How many event blocks `bytes` holds.
    pub events: u64,
    /// The timestamp of the first event.
    pub first_ts: u64,
}

/// The length of the v2 event block at the start of `w` when it can be
/// copied as it is: whole in `w`, a known event code, its trailer equal to
/// its header, and a length that is a multiple of 4 (what a writer would
/// produce). None otherwise.
#[inline]
fn copyable(w: &[u8]) -> Option<usize> {
    if w.len() < 8 {
        return None;
    }
    let bt = le32(w, 0);
    if !matches!(bt, EV_V2 | EV_V2_LARGE | EVF_V2 | EVF_V2_LARGE) {
        return None;
    }
    let total = le32(w, 4) as usize;
    if total < 12 || total > MAX_BLOCK as usize || w.len() < total || !total.is_multiple_of(4) {
        return None;
    }
    if le32(w, total - 4) as usize != total {
        return None;
    }
    let body = &w[8..total - 4];
    let pre = if matches!(bt, EVF_V2 | EVF_V2_LARGE) {
        6
    } else {
        2
    };
    // a body too short for its event header goes the slow way, which says so
    if body.len() < pre + sonde_event::HEADER_LEN || !event_code_known(body, bt) {
        return None;
    }
    Some(total)
}

/// The event timestamp in the body of an event block of type
/// `block_type` (v1 or v2: the cpu and, when flagged, the dump flags come
/// first); 0 when the body is too short.
pub fn event_block_ts(block_type: u32, body: &[u8]) -> u64 {
    let pre = if matches!(block_type, EVF | EVF_V2 | EVF_V2_LARGE) {
        6
    } else {
        2
    };
    body.get(pre..pre + 8)
        .map_or(0, |t| u64::from_le_bytes(t.try_into().unwrap_or_default()))
}

/// The timestamp of the whole event block at the start of `w`.
fn block_ts(w: &[u8]) -> u64 {
    event_block_ts(le32(w, 0), w.get(8..).unwrap_or_default())
}

/// The blocks of a run of whole blocks (an [`EventSpan`]'s bytes): each
/// one's type and body. Stops at the first block that is cut short.
pub fn split_blocks(run: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let h = run.get(at..at + 8)?;
        let total = le32(h, 4) as usize;
        let body = run.get(at + 8..(at + total).checked_sub(4)?)?;
        at += total.max(12);
        Some((le32(h, 0), body))
    })
}

impl<R: Read> Reader<R> {
    /// The next run of at most `max` copyable v2 event blocks already in
    /// the read window, consumed; `None` (nothing consumed) when the next
    /// block is anything else, is cut by the window's end, or `max` is 0:
    /// read it with [`Reader::next_raw_block`], which reads more of the
    /// file and reports what is wrong with a block.
    pub fn next_event_span(&mut self, max: u64) -> Option<EventSpan<'_>> {
        if self.pending_section || max == 0 {
            return None;
        }
        let start = self.wpos;
        let w = &self.win[start..self.wend];
        let mut at = 0;
        let mut events = 0;
        while events < max {
            let Some(total) = copyable(&w[at..]) else {
                break;
            };
            at += total;
            events += 1;
        }
        if events == 0 {
            return None;
        }
        let first_ts = block_ts(w);
        self.block_start = self.offset;
        self.wpos += at;
        self.offset += at as u64;
        Some(EventSpan {
            bytes: &self.win[start..start + at],
            events,
            first_ts,
        })
    }
}

/// A v1 event block at the start of `w`, whole and with a matching
/// trailer: its type, length and body.
#[inline]
fn v1_block(w: &[u8]) -> Option<(u32, usize, &[u8])> {
    if w.len() < 8 {
        return None;
    }
    let bt = le32(w, 0);
    if !matches!(bt, EV | EV_INT | EVF) {
        return None;
    }
    let total = le32(w, 4) as usize;
    if total < 12 || total > MAX_BLOCK as usize || w.len() < total {
        return None;
    }
    if le32(w, total - 4) as usize != total {
        return None;
    }
    Some((bt, total, &w[8..total - 4]))
}

impl<R: Read> Reader<R> {
    /// Like [`Reader::next_event_span`] for old (v1) event blocks: the next
    /// run of at most `max` of them already in the read window is rewritten
    /// in the v2 layout, as whole blocks, into `out` (cleared first), and
    /// consumed; returns how many and the first one's timestamp. `None`
    /// (nothing consumed) when the next block is anything else or is not a
    /// well-formed v1 event of a known code.
    pub fn next_v1_span_as_v2(&mut self, max: u64, out: &mut Vec<u8>) -> Option<(u64, u64)> {
        if self.pending_section || max == 0 {
            return None;
        }
        out.clear();
        let w = &self.win[self.wpos..self.wend];
        let (mut at, mut events, mut first_ts) = (0, 0, 0);
        while events < max {
            let Some((bt, total, body)) = v1_block(&w[at..]) else {
                break;
            };
            let start = out.len();
            out.extend_from_slice(&[0; 8]);
            let Some(nbt) = v1_event_append_v2(body, bt, out) else {
                out.truncate(start);
                break;
            };
            while !(out.len() - start).is_multiple_of(4) {
                out.push(0);
            }
            let len = (out.len() - start + 4) as u32;
            out[start..start + 4].copy_from_slice(&nbt.to_le_bytes());
            out[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            if events == 0 {
                first_ts = block_ts(&out[start..]);
            }
            at += total;
            events += 1;
        }
        if events == 0 {
            return None;
        }
        self.block_start = self.offset;
        self.wpos += at;
        self.offset += at as u64;
        Some((events, first_ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;
    use sonde_event::RawEvent;

    /// A capture of `n` events (some flagged), and its bytes after the
    /// header the writer puts first.
    fn capture(n: u64) -> (Vec<u8>, usize) {
        let mut w = Writer::new(Vec::new()).unwrap();
        let head = w.bytes_written() as usize;
        for i in 0..n {
            let data = vec![b'x'; (i % 7) as usize];
            let lens = (data.len() as u16).to_le_bytes();
            let params = [&lens[..], &data].concat();
            let ev = RawEvent::from_parts(1000 + i, 7, 6, 1, &params, false).unwrap();
            w.write_event(&ev, if i % 3 == 0 { 4 } else { 0 }).unwrap();
        }
        w.flush().unwrap();
        (w.inner_ref().clone(), head)
    }

    fn reader(b: Vec<u8>) -> Reader<std::io::Cursor<Vec<u8>>> {
        Reader::new(std::io::Cursor::new(b), false).unwrap()
    }

    /// A source that hands out at most 97 bytes per read, so blocks are
    /// cut at every place by the window's end.
    struct Trickle(std::io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let n = b.len().min(97);
            self.0.read(&mut b[..n])
        }
    }

    /// Everything after the section header, spans as they come and the
    /// other blocks rebuilt from their parts; the event count and the
    /// first span's timestamp.
    fn collect<R: Read>(mut r: Reader<R>) -> (Vec<u8>, u64, Option<u64>) {
        assert!(
            r.next_event_span(10).is_none(),
            "the section header comes first"
        );
        assert!(r.next_raw_block().unwrap().is_some());
        let (mut got, mut events, mut first) = (Vec::new(), 0, None);
        loop {
            if let Some(s) = r.next_event_span(64) {
                assert!(s.events <= 64);
                first.get_or_insert(s.first_ts);
                got.extend_from_slice(s.bytes);
                events += s.events;
                continue;
            }
            match r.next_raw_block().unwrap() {
                None => break,
                Some((bt, body)) => {
                    got.extend_from_slice(&bt.to_le_bytes());
                    got.extend_from_slice(&((body.len() + 12) as u32).to_le_bytes());
                    got.extend_from_slice(body);
                    got.extend_from_slice(&((body.len() + 12) as u32).to_le_bytes());
                    if matches!(bt, EV_V2 | EVF_V2) {
                        events += 1;
                        first.get_or_insert(block_ts(&got[got.len() - body.len() - 12..]));
                    }
                }
            }
        }
        (got, events, first)
    }

    #[test]
    fn spans_are_the_file_bytes_of_whole_blocks() {
        let (file, head) = capture(500);
        let (got, events, first) = collect(reader(file.clone()));
        assert_eq!(got, file[head..]);
        assert_eq!((events, first), (500, Some(1000)));
        let trickle = Trickle(std::io::Cursor::new(file.clone()));
        let (got, events, first) = collect(Reader::new(trickle, false).unwrap());
        assert_eq!(got, file[head..]);
        assert_eq!((events, first), (500, Some(1000)));
    }

    #[test]
    fn a_damaged_block_ends_the_span_before_it() {
        let (mut file, head) = capture(20);
        // the fifth event block's trailer no longer matches its header
        let mut at = head;
        for _ in 0..4 {
            at += le32(&file, at + 4) as usize;
        }
        let total = le32(&file, at + 4) as usize;
        file[at + total - 4] ^= 0x40;
        let mut r = reader(file);
        r.next_raw_block().unwrap();
        // metadata blocks the writer put before the events are not spans
        while r.next_event_span(u64::MAX).is_none() {
            r.next_raw_block().unwrap();
        }
        assert!(r.next_event_span(u64::MAX).is_none());
        assert!(
            r.next_raw_block().is_err(),
            "the slow path names the damage"
        );
    }

    #[test]
    fn unknown_event_codes_are_left_to_the_slow_path() {
        let (mut file, head) = capture(3);
        // the second event's code becomes one no table knows
        let at = head + le32(&file, head + 4) as usize;
        let pre = if le32(&file, at) == EVF_V2 { 6 } else { 2 };
        file[at + 8 + pre + 20..at + 8 + pre + 22].copy_from_slice(&0xfff0u16.to_le_bytes());
        let mut r = reader(file);
        r.next_raw_block().unwrap();
        let first = r.next_event_span(u64::MAX).map(|s| s.events);
        assert_eq!(first, Some(1));
        assert!(r.next_event_span(u64::MAX).is_none());
        assert!(r.next_raw_block().unwrap().is_some());
        assert_eq!(r.next_event_span(u64::MAX).map(|s| s.events), Some(1));
    }
}

//! Decoding on another core: [`DecodeAhead`] runs a [`FileReader`] on a
//! helper thread (block framing, length and trailer checks, event header and
//! parameter-count decoding, the parsing of process, fd, user and interface
//! lists) and hands the results over in batches. The consuming thread only
//! rebuilds each event's view from the batch's bytes, so the state engine,
//! filter and output keep a core to themselves.
//!
//! The order of blocks, what is skipped (events of unknown codes) and the
//! errors (every block before the damage, then the error with its offset)
//! are exactly those of [`Reader::next_block`](crate::Reader::next_block).
//!
//! With a [`SkipTable`], the helper thread leaves out the events a consumer
//! would drop unread (a capture filter's event types): they are checked as
//! any other, but neither copied nor handed over; the next event handed out
//! says how many there were ([`Gap`]).

use rustc_hash::FxHashSet as HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use sonde_event::RawEvent;

use crate::reader::{Block, FileReader};
use crate::{Error, ErrorKind, SectionHeader};

/// Bytes of event data per batch (batches also end after `BATCH_ITEMS`).
const BATCH_BYTES: usize = 256 << 10;
const BATCH_ITEMS: usize = 4 << 10;
/// Batches in flight between the threads.
const DEPTH: usize = 3;

/// Which events the helper thread may leave out, by event code: those a
/// consumer drops unread. Left-out events are still checked (a damaged
/// one ends the stream where it would have); the next event handed out
/// tells how many there were ([`Gap::skipped`]) and, for codes marked so,
/// whether its own thread had one ([`Gap::marked`]).
#[derive(Debug, Clone, Default)]
pub struct SkipTable {
    /// 0: hand out; [`SKIP`]; [`SKIP_MARK`]; [`BY_ID`].
    by_code: Vec<u8>,
    /// For codes marked [`BY_ID`] (generic syscall events, even code the
    /// enter, odd the exit): by the syscall id in the first parameter.
    by_id: [Vec<u8>; 2],
    /// Nothing is left out until an event of another code was handed out.
    opening: Vec<u16>,
}

const SKIP: u8 = 1;
const SKIP_MARK: u8 = 2;
const BY_ID: u8 = 3;

impl SkipTable {
    /// Leaves out events of `code`; with `mark`, the next event of the
    /// same thread handed out has [`Gap::marked`].
    pub fn skip(&mut self, code: u16, mark: bool) {
        set(&mut self.by_code, code, if mark { SKIP_MARK } else { SKIP });
    }

    /// Leaves out events of `code` (a generic syscall event, whose first
    /// parameter is the syscall id) of syscall `id`, with `mark` as in
    /// [`SkipTable::skip`].
    pub fn skip_syscall(&mut self, code: u16, id: u16, mark: bool) {
        set(&mut self.by_code, code, BY_ID);
        let how = if mark { SKIP_MARK } else { SKIP };
        set(&mut self.by_id[code as usize & 1], id, how);
    }

    /// How `ev` is left out: 0 handed out, else [`SKIP`] or [`SKIP_MARK`].
    #[inline]
    pub(crate) fn of(&self, ev: &RawEvent<'_>) -> u8 {
        let c = ev.code as usize;
        match self.by_code.get(c).copied().unwrap_or(0) {
            BY_ID => ev
                .param_u64(0)
                .and_then(|id| self.by_id[c & 1].get(id as usize).copied())
                .unwrap_or(0),
            x => x,
        }
    }

    /// Events of these codes at the start of the stream are handed out
    /// and leave nothing out until another event has been (the consumer
    /// sees the first event that is not one of them).
    pub fn set_opening(&mut self, codes: &[u16]) {
        self.opening = codes.to_vec();
    }

    /// Whether no event is left out.
    pub fn is_empty(&self) -> bool {
        !self.by_code.iter().any(|&x| x != 0)
    }
}

/// Sets `t[i]`, growing `t` with zeros (hand out) as needed.
fn set(t: &mut Vec<u8>, i: u16, v: u8) {
    let i = i as usize;
    if t.len() <= i {
        t.resize(i + 1, 0);
    }
    t[i] = v;
}

/// What the helper thread left out right before an event it hands out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gap {
    /// Events left out since the previous event handed out.
    pub skipped: u32,
    /// An event of a marking code ([`SkipTable::skip`]) of this event's
    /// thread was left out since that thread's previous event handed out.
    pub marked: bool,
}

/// An event decoded on the helper thread: its header fields, and where its
/// parameter lengths and data (back to back) are in the batch's bytes.
struct EventItem {
    ts: u64,
    tid: i64,
    code: u16,
    cpu: u16,
    dump_flags: u32,
    /// (at most `MAX_PARAMS`: checked when decoded)
    nparams: u16,
    large: bool,
    marked: bool,
    skipped: u32,
    start: u32,
    end: u32,
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    events: Vec<EventItem>,
    /// Any other block (these own their data), after how many of the
    /// batch's events it comes.
    others: Vec<(usize, Block<'static>)>,
    /// How the stream ended after these items: `Some(Ok)` at a clean end.
    end: Option<Result<(), Error>>,
    /// Events left out after the last item, before the end.
    tail_skipped: u32,
}

/// A capture file decoded on a helper thread; [`DecodeAhead::next_block`]
/// yields what [`Reader::next_block`](crate::Reader::next_block) would.
pub struct DecodeAhead {
    rx: Receiver<Batch>,
    /// Emptied batches go back to the helper, which reuses their buffers.
    recycle: SyncSender<Batch>,
    cur: Batch,
    /// The next event and the next other block of `cur`.
    next: usize,
    next_other: usize,
    section: SectionHeader,
    compressed: bool,
    finished: bool,
    /// Events left out before blocks handed out by `next_block`, and at
    /// the end (see [`DecodeAhead::skipped_unreported`]).
    unreported: u64,
}

impl DecodeAhead {
    /// Moves `reader` to a helper thread that starts decoding at once.
    pub fn new(reader: FileReader) -> DecodeAhead {
        DecodeAhead::with_skips(reader, SkipTable::default())
    }

    /// As [`DecodeAhead::new`], leaving out the events `skips` names.
    pub fn with_skips(reader: FileReader, skips: SkipTable) -> DecodeAhead {
        let section = reader.section().clone();
        let compressed = reader.is_compressed();
        let (tx, rx) = sync_channel(DEPTH);
        let (recycle, recycled) = sync_channel::<Batch>(DEPTH + 1);
        let spawned = thread::Builder::new()
            .name("sonde-decode".into())
            .spawn(move || decode_loop(reader, tx, recycled, skips));
        let mut me = DecodeAhead {
            rx,
            recycle,
            cur: Batch::default(),
            next: 0,
            next_other: 0,
            section,
            compressed,
            finished: false,
            unreported: 0,
        };
        if let Err(e) = spawned {
            me.cur.end = Some(Err(Error::new(0, ErrorKind::Io(e))));
        }
        me
    }

    /// The (first) section header.
    pub fn section(&self) -> &SectionHeader {
        &self.section
    }

    /// Whether the stream was gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// The next block when it is an event of the current batch (the
    /// common case, without the [`Block`] around it), with what was left
    /// out right before it; None when the next block is anything else or
    /// the batch is used up: then [`DecodeAhead::advance`] or
    /// [`DecodeAhead::next_block`] gives it.
    #[inline]
    pub fn next_event(&mut self) -> Option<(RawEvent<'_>, Gap)> {
        let e = self.cur.events.get(self.next)?;
        if self
            .cur
            .others
            .get(self.next_other)
            .is_some_and(|(at, _)| *at == self.next)
        {
            return None;
        }
        let body = self.cur.bytes.get(e.start as usize..e.end as usize)?;
        // checked on the helper thread already
        let mut ev =
            RawEvent::from_checked_parts(e.ts, e.tid, e.code, u32::from(e.nparams), body, e.large)?;
        ev.cpu = e.cpu;
        ev.dump_flags = e.dump_flags;
        self.next += 1;
        let gap = Gap {
            skipped: e.skipped,
            marked: e.marked,
        };
        Some((ev, gap))
    }

    /// When the current batch is used up and the stream goes on, waits for
    /// the next batch and returns true: its first events then come from
    /// [`DecodeAhead::next_event`], with their gaps. False when a block of
    /// the current batch, or the end, is next: [`DecodeAhead::next_block`].
    pub fn advance(&mut self) -> bool {
        if self.next < self.cur.events.len()
            || self.next_other < self.cur.others.len()
            || self.cur.end.is_some()
            || self.finished
        {
            return false;
        }
        let Ok(b) = self.rx.recv() else {
            return false;
        };
        self.take(b);
        true
    }

    /// Makes `b` the current batch; the emptied one goes back to the helper.
    fn take(&mut self, b: Batch) {
        let old = std::mem::replace(&mut self.cur, b);
        let _ = self.recycle.try_send(old);
        self.next = 0;
        self.next_other = 0;
    }

    /// Events left out that no [`Gap`] reported: those before events that
    /// [`DecodeAhead::next_block`] handed out (a consumer that calls
    /// [`DecodeAhead::advance`] first gets none of those), and those after
    /// the last event once the end was reached.
    pub fn skipped_unreported(&self) -> u64 {
        self.unreported
    }

    /// The next block, `Ok(None)` at a clean end of file. After an error
    /// the reader should not be used again.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, Error> {
        loop {
            if let Some((at, _)) = self.cur.others.get(self.next_other) {
                if *at == self.next {
                    let i = self.next_other;
                    self.next_other += 1;
                    let b = std::mem::replace(
                        &mut self.cur.others[i].1,
                        Block::Skipped { block_type: 0 },
                    );
                    return Ok(Some(b));
                }
            }
            if self.next < self.cur.events.len() {
                break;
            }
            if let Some(end) = self.cur.end.take() {
                self.finished = true;
                self.unreported += u64::from(self.cur.tail_skipped);
                return end.map(|()| None);
            }
            if self.finished {
                return Ok(None);
            }
            let Ok(b) = self.rx.recv() else {
                // the helper is gone without saying how the stream ended
                self.finished = true;
                return Err(Error::new(
                    0,
                    ErrorKind::Io(std::io::Error::other("the decoding thread stopped")),
                ));
            };
            self.take(b);
        }
        let e = &self.cur.events[self.next];
        self.next += 1;
        self.unreported += u64::from(e.skipped);
        let body = &self.cur.bytes[e.start as usize..e.end as usize];
        // checked on the helper thread already: this cannot fail
        let mut ev = RawEvent::from_parts(e.ts, e.tid, e.code, u32::from(e.nparams), body, e.large)
            .map_err(|x| Error::new(0, ErrorKind::Corrupt(x.to_string())))?;
        ev.cpu = e.cpu;
        ev.dump_flags = e.dump_flags;
        Ok(Some(Block::Event(ev)))
    }
}

/// The helper thread's record of what it left out.
struct Skipper {
    table: SkipTable,
    /// The table leaves something out.
    active: bool,
    /// Still in the opening: nothing is left out.
    opening: bool,
    /// Events left out since the last item.
    pending: u32,
    /// Threads with a marking event left out since their last item.
    marked: HashSet<i64>,
    /// The thread last added to `marked` (runs of one thread's events).
    last_marked: Option<i64>,
}

impl Skipper {
    /// The table to decode the next event with (None: hand it out).
    #[inline]
    fn table(&self) -> Option<&SkipTable> {
        if !self.active || self.opening || self.pending == u32::MAX {
            None
        } else {
            Some(&self.table)
        }
    }

    /// An event left out.
    #[inline]
    fn left_out(&mut self, tid: i64, how: u8) {
        self.pending += 1;
        if how == SKIP_MARK && self.last_marked != Some(tid) {
            self.marked.insert(tid);
            self.last_marked = Some(tid);
        }
    }

    /// An event handed out: what was left out before it.
    #[inline(always)]
    fn handed_out(&mut self, tid: i64, code: u16) -> (u32, bool) {
        if self.pending == 0 && !self.opening && self.marked.is_empty() {
            return (0, false);
        }
        self.handed_out_after_gap(tid, code)
    }

    /// [`Skipper::handed_out`] after events were left out (or still in
    /// the opening).
    #[inline(never)]
    fn handed_out_after_gap(&mut self, tid: i64, code: u16) -> (u32, bool) {
        let marked = !self.marked.is_empty() && self.marked.remove(&tid);
        if marked && self.last_marked == Some(tid) {
            self.last_marked = None;
        }
        if self.opening && !self.table.opening.contains(&code) {
            self.opening = false;
        }
        (std::mem::take(&mut self.pending), marked)
    }
}

/// The helper thread: fills batches until the stream ends or breaks.
fn decode_loop(
    mut r: FileReader,
    tx: SyncSender<Batch>,
    recycled: Receiver<Batch>,
    table: SkipTable,
) {
    let mut sk = Skipper {
        opening: !table.is_empty(),
        active: !table.is_empty(),
        table,
        pending: 0,
        marked: HashSet::default(),
        last_marked: None,
    };
    loop {
        let mut b = recycled.try_recv().unwrap_or_default();
        b.bytes.clear();
        b.events.clear();
        b.others.clear();
        b.end = None;
        b.tail_skipped = 0;
        while b.bytes.len() < BATCH_BYTES && b.events.len() + b.others.len() < BATCH_ITEMS {
            let start = b.bytes.len() as u32;
            if let Some(h) = r.next_event_into(&mut b.bytes, sk.table()) {
                if h.skip != 0 {
                    sk.left_out(h.tid, h.skip);
                    continue;
                }
                let (skipped, marked) = sk.handed_out(h.tid, h.code);
                b.events.push(EventItem {
                    ts: h.ts,
                    tid: h.tid,
                    code: h.code,
                    cpu: h.cpu,
                    dump_flags: h.dump_flags,
                    nparams: h.nparams as u16,
                    large: h.large,
                    marked,
                    skipped,
                    start,
                    end: b.bytes.len() as u32,
                });
                continue;
            }
            match r.next_block() {
                Ok(None) => {
                    b.end = Some(Ok(()));
                    break;
                }
                Err(e) => {
                    b.end = Some(Err(e));
                    break;
                }
                Ok(Some(Block::Event(ev))) => {
                    let (skipped, marked) = sk.handed_out(ev.tid, ev.code);
                    let (lens, data, large) = ev.parts();
                    b.bytes.extend_from_slice(lens);
                    b.bytes.extend_from_slice(data);
                    b.events.push(EventItem {
                        ts: ev.ts,
                        tid: ev.tid,
                        code: ev.code,
                        cpu: ev.cpu,
                        dump_flags: ev.dump_flags,
                        nparams: ev.nparams() as u16,
                        large,
                        marked,
                        skipped,
                        start,
                        end: b.bytes.len() as u32,
                    });
                }
                Ok(Some(other)) => b.others.push((b.events.len(), owned(other))),
            }
        }
        let done = b.end.is_some();
        if done {
            b.tail_skipped = std::mem::take(&mut sk.pending);
        }
        if tx.send(b).is_err() || done {
            return;
        }
    }
}

/// A non-event block, which owns its data, with the borrow dropped.
fn owned(b: Block<'_>) -> Block<'static> {
    match b {
        Block::Section(s) => Block::Section(s),
        Block::Machine(m) => Block::Machine(m),
        Block::Threads(t) => Block::Threads(t),
        Block::Fds { tid, fds } => Block::Fds { tid, fds },
        Block::Users(u) => Block::Users(u),
        Block::Ifaces(i) => Block::Ifaces(i),
        Block::Skipped { block_type } => Block::Skipped { block_type },
        // events are copied into the batch by the caller
        Block::Event(_) => Block::Skipped { block_type: 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traces() -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|x| x == "scap"));
        files.sort();
        if files.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "no traces at {}",
                dir.display()
            );
        }
        files
    }

    /// With a skip table: the events handed out are the plain reader's
    /// minus those of skipped codes after the opening, each with the
    /// number left out right before it and whether its thread had a
    /// marked one left out; the count at the end makes up the rest.
    #[test]
    fn leaves_out_what_the_table_names_and_counts_it() {
        let mut seen_skips = 0u64;
        for path in traces() {
            let bytes = std::fs::read(&path).unwrap();
            let Ok(mut plain) =
                FileReader::from_read(Box::new(std::io::Cursor::new(bytes.clone())))
            else {
                continue;
            };
            // a third of the codes by a hash of the code, marking every
            // other one; generic events (codes 0 and 1) by syscall id
            let by = |c: u16| (c.wrapping_mul(7919).is_multiple_of(3), c.is_multiple_of(2));
            let skipped = |ev: &RawEvent<'_>| match ev.code {
                0 | 1 => match ev.param_u64(0) {
                    Some(id) => (id % 3 != 1, id.is_multiple_of(2)),
                    None => (false, false),
                },
                c => by(c),
            };
            let mut table = SkipTable::default();
            for c in 2..sonde_event::EVENTS.len() as u16 {
                if by(c).0 {
                    table.skip(c, by(c).1);
                }
            }
            for id in 0..1000u16 {
                if id % 3 != 1 {
                    table.skip_syscall(0, id, id.is_multiple_of(2));
                    table.skip_syscall(1, id, id.is_multiple_of(2));
                }
            }
            let first = 4u16; // opening: until an event other than code 4
            table.set_opening(&[first]);
            let r = FileReader::from_read(Box::new(std::io::Cursor::new(bytes))).unwrap();
            let mut ahead = DecodeAhead::with_skips(r, table);
            let (mut opening, mut pending) = (true, 0u32);
            let mut marked = std::collections::HashSet::new();
            let mut want = Vec::new();
            while let Ok(Some(b)) = plain.next_block() {
                let Block::Event(ev) = b else { continue };
                let (skip, mark) = skipped(&ev);
                if !opening && skip {
                    pending += 1;
                    if mark {
                        marked.insert(ev.tid);
                    }
                    continue;
                }
                opening &= ev.code == first;
                let m = marked.remove(&ev.tid);
                want.push((format!("{ev:?}"), std::mem::take(&mut pending), m));
            }
            let mut got = Vec::new();
            loop {
                if let Some((ev, gap)) = ahead.next_event() {
                    got.push((format!("{ev:?}"), gap.skipped, gap.marked));
                    continue;
                }
                if ahead.advance() {
                    continue;
                }
                match ahead.next_block() {
                    Ok(Some(Block::Event(ev))) => panic!("{path:?}: event past advance: {ev:?}"),
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            assert_eq!(got.len(), want.len(), "{path:?}");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{path:?} event {i}");
            }
            assert_eq!(ahead.skipped_unreported(), u64::from(pending), "{path:?}");
            seen_skips += want.iter().map(|w| u64::from(w.1)).sum::<u64>();
        }
        assert!(seen_skips > 1000 || traces().is_empty(), "{seen_skips}");
    }

    /// Same blocks, same events, same end as the plain reader, on every
    /// shared trace, whole and cut short.
    #[test]
    fn yields_what_the_reader_yields() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("no traces at {}: skipped", dir.display());
            return;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        {
            let bytes = std::fs::read(path).unwrap();
            for cut in [bytes.len(), bytes.len() * 2 / 3, bytes.len() / 3 + 5] {
                let part = bytes[..cut].to_vec();
                let plain = FileReader::from_read(Box::new(std::io::Cursor::new(part.clone())));
                let ahead = FileReader::from_read(Box::new(std::io::Cursor::new(part)));
                let (Ok(mut plain), Ok(ahead)) = (plain, ahead) else {
                    continue;
                };
                let mut ahead = DecodeAhead::new(ahead);
                let mut n = 0;
                loop {
                    let a = plain.next_block().map(|b| b.map(|b| format!("{b:?}")));
                    let b = ahead.next_block().map(|b| b.map(|b| format!("{b:?}")));
                    match (a, b) {
                        (Ok(None), Ok(None)) => break,
                        (Ok(Some(x)), Ok(Some(y))) => {
                            assert_eq!(x, y, "{path:?} cut {cut} block {n}")
                        }
                        (Err(x), Err(y)) => {
                            assert_eq!(x.to_string(), y.to_string(), "{path:?} cut {cut}");
                            break;
                        }
                        (x, y) => panic!("{path:?} cut {cut} block {n}: {x:?} vs {y:?}"),
                    }
                    n += 1;
                }
            }
        }
    }
}

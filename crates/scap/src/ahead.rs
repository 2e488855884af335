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

/// An event decoded on the helper thread: its header fields, and where its
/// parameter lengths and data (back to back) are in the batch's bytes.
struct EventItem {
    ts: u64,
    tid: i64,
    code: u16,
    cpu: u16,
    dump_flags: u32,
    nparams: u32,
    large: bool,
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
}

impl DecodeAhead {
    /// Moves `reader` to a helper thread that starts decoding at once.
    pub fn new(reader: FileReader) -> DecodeAhead {
        let section = reader.section().clone();
        let compressed = reader.is_compressed();
        let (tx, rx) = sync_channel(DEPTH);
        let (recycle, recycled) = sync_channel::<Batch>(DEPTH + 1);
        let spawned = thread::Builder::new()
            .name("sonde-decode".into())
            .spawn(move || decode_loop(reader, tx, recycled));
        let mut me = DecodeAhead {
            rx,
            recycle,
            cur: Batch::default(),
            next: 0,
            next_other: 0,
            section,
            compressed,
            finished: false,
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
    /// common case, without the [`Block`] around it); None when the next
    /// block is anything else or the batch is used up: then
    /// [`DecodeAhead::next_block`] gives it.
    #[inline]
    pub fn next_event(&mut self) -> Option<RawEvent<'_>> {
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
        let mut ev = RawEvent::from_checked_parts(e.ts, e.tid, e.code, e.nparams, body, e.large)?;
        ev.cpu = e.cpu;
        ev.dump_flags = e.dump_flags;
        self.next += 1;
        Some(ev)
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
            let old = std::mem::replace(&mut self.cur, b);
            let _ = self.recycle.try_send(old);
            self.next = 0;
            self.next_other = 0;
        }
        let e = &self.cur.events[self.next];
        self.next += 1;
        let body = &self.cur.bytes[e.start as usize..e.end as usize];
        // checked on the helper thread already: this cannot fail
        let mut ev = RawEvent::from_parts(e.ts, e.tid, e.code, e.nparams, body, e.large)
            .map_err(|x| Error::new(0, ErrorKind::Corrupt(x.to_string())))?;
        ev.cpu = e.cpu;
        ev.dump_flags = e.dump_flags;
        Ok(Some(Block::Event(ev)))
    }
}

/// The helper thread: fills batches until the stream ends or breaks.
fn decode_loop(mut r: FileReader, tx: SyncSender<Batch>, recycled: Receiver<Batch>) {
    loop {
        let mut b = recycled.try_recv().unwrap_or_default();
        b.bytes.clear();
        b.events.clear();
        b.others.clear();
        b.end = None;
        while b.bytes.len() < BATCH_BYTES && b.events.len() + b.others.len() < BATCH_ITEMS {
            let start = b.bytes.len() as u32;
            if let Some(h) = r.next_event_into(&mut b.bytes) {
                b.events.push(EventItem {
                    ts: h.ts,
                    tid: h.tid,
                    code: h.code,
                    cpu: h.cpu,
                    dump_flags: h.dump_flags,
                    nparams: h.nparams,
                    large: h.large,
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
                    let (lens, data, large) = ev.parts();
                    b.bytes.extend_from_slice(lens);
                    b.bytes.extend_from_slice(data);
                    b.events.push(EventItem {
                        ts: ev.ts,
                        tid: ev.tid,
                        code: ev.code,
                        cpu: ev.cpu,
                        dump_flags: ev.dump_flags,
                        nparams: ev.nparams() as u32,
                        large,
                        start,
                        end: b.bytes.len() as u32,
                    });
                }
                Ok(Some(other)) => b.others.push((b.events.len(), owned(other))),
            }
        }
        let done = b.end.is_some();
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

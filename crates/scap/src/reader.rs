//! Streaming reader: one block at a time, one reused buffer, flat memory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use sonde_event::{RawEvent, HEADER_LEN, HEADER_LEN_V1};

use crate::blocks::*;
use crate::parse::{parse_fdlist, parse_iflist, parse_machine, parse_proclist, parse_userlist};
use crate::{Error, ErrorKind};

mod span;
pub use span::{event_block_ts, split_blocks, EventSpan};

/// Initial size of the read window.
const WINDOW: usize = 1 << 20;

/// Largest block accepted (large-payload event blocks included).
pub const MAX_BLOCK: u32 = 1 << 30;

/// One block of a capture, as the reader hands it out.
#[derive(Debug)]
pub enum Block<'a> {
    /// A section header.
    Section(SectionHeader),
    /// Machine info.
    Machine(MachineInfo),
    /// A process list.
    Threads(Vec<ThreadInfo>),
    /// The fd list of one process.
    Fds {
        /// The process (its main thread).
        tid: i64,
        /// Its fds.
        fds: Vec<FdInfo>,
    },
    /// A user list.
    Users(UserList),
    /// An interface list.
    Ifaces(IfList),
    /// One event.
    Event(RawEvent<'a>),
    /// A block of a type this reader does not know; skipped.
    Skipped {
        /// Its block type.
        block_type: u32,
    },
}

impl Block<'_> {
    /// The metadata this block carries (None for the section header,
    /// events and skipped blocks): what `sonde_state::State` applies.
    pub fn meta(&self) -> Option<sonde_event::meta::MetaRef<'_>> {
        use sonde_event::meta::MetaRef;
        Some(match self {
            Block::Machine(m) => MetaRef::Machine(m),
            Block::Threads(ts) => MetaRef::Threads(ts),
            Block::Fds { tid, fds } => MetaRef::Fds { tid: *tid, fds },
            Block::Users(u) => MetaRef::Users(u),
            Block::Ifaces(i) => MetaRef::Ifaces(i),
            Block::Section(_) | Block::Event(_) | Block::Skipped { .. } => return None,
        })
    }
}

impl sonde_event::meta::AsMeta for Block<'_> {
    fn as_meta(&self) -> Option<sonde_event::meta::MetaRef<'_>> {
        self.meta()
    }
}

/// A streaming `.scap` reader over any byte source; gzip is detected from
/// the first bytes and undone transparently.
pub struct Reader<R> {
    src: R,
    /// Bytes consumed from the (decompressed) stream.
    offset: u64,
    /// Read window: `src` is read in large pieces into `win[wpos..wend]`;
    /// block bodies are handed out as slices of it (no copy, no zeroing).
    win: Vec<u8>,
    wpos: usize,
    wend: usize,
    /// Where the current block's body is: `Some(range)` in the window, or
    /// `None` in `buf`.
    body_at: Option<(usize, usize)>,
    buf: Vec<u8>,
    compressed: bool,
    section: SectionHeader,
    /// Offset of the block being read, for error messages.
    block_start: u64,
    pending_section: bool,
}

/// A reader over a file or a gzip-compressed file.
pub type FileReader = Reader<Box<dyn Read + Send>>;

impl FileReader {
    /// Opens a capture file (plain or gzip).
    pub fn open(path: &Path) -> Result<FileReader, Error> {
        let f = File::open(path).map_err(|e| Error::new(0, ErrorKind::Io(e)))?;
        Self::from_read(Box::new(f))
    }

    /// Reads a capture from a byte stream (plain or gzip).
    pub fn from_read(inner: Box<dyn Read + Send>) -> Result<FileReader, Error> {
        let mut br = BufReader::with_capacity(1 << 20, inner);
        let head = {
            use std::io::BufRead;
            br.fill_buf()
                .map_err(|e| Error::new(0, ErrorKind::Io(e)))?
                .to_vec()
        };
        let (src, compressed): (Box<dyn Read + Send>, bool) = if head.starts_with(&[0x1f, 0x8b]) {
            // Decompress on another core: decoding and state stay on this one.
            let gz = flate2::bufread::MultiGzDecoder::new(br);
            (Box::new(crate::readahead::ReadAhead::new(gz, true)), true)
        } else {
            // Plain files are read straight into the reader's window: the
            // kernel's read-ahead overlaps the disk, and a copying thread
            // would only add a copy (decoding already has a core of its
            // own, see `ahead.rs`). `head` is the buffered start.
            let rest = br.into_inner();
            (Box::new(std::io::Cursor::new(head).chain(rest)), false)
        };
        Reader::new(src, compressed)
    }
}

impl<R: Read> Reader<R> {
    /// Wraps an already-decompressed stream and reads its section header.
    pub fn new(src: R, compressed: bool) -> Result<Reader<R>, Error> {
        let mut r = Reader {
            src,
            offset: 0,
            win: vec![0; WINDOW],
            wpos: 0,
            wend: 0,
            body_at: None,
            buf: Vec::new(),
            compressed,
            section: SectionHeader::default(),
            block_start: 0,
            pending_section: true,
        };
        let mut hdr = [0u8; 8];
        match r.fill(&mut hdr)? {
            8 => {}
            0 => {
                return Err(Error::new(
                    0,
                    ErrorKind::NotCapture("the file is empty".into()),
                ))
            }
            _ => {
                return Err(Error::new(
                    0,
                    ErrorKind::NotCapture("the file is too short".into()),
                ))
            }
        }
        let bt = u32::from_le_bytes(hdr[0..4].try_into().unwrap_or_default());
        if bt != SHB {
            return Err(Error::new(
                0,
                ErrorKind::NotCapture(format!("no section header block (first word {bt:#010x})")),
            ));
        }
        let total = u32::from_le_bytes(hdr[4..8].try_into().unwrap_or_default());
        r.section = r.read_section(total)?;
        Ok(r)
    }

    /// The (first) section header.
    pub fn section(&self) -> &SectionHeader {
        &self.section
    }

    /// Whether the stream was gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Bytes consumed so far from the decompressed stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads more of `src` into the window; 0 at the end of the stream.
    /// The window grows only when it is full of real data, so a corrupt
    /// block length cannot make it allocate more than the file holds.
    fn refill(&mut self) -> Result<usize, Error> {
        if self.wpos == self.wend {
            self.wpos = 0;
            self.wend = 0;
        } else if self.wend == self.win.len() {
            if self.wpos > 0 {
                self.win.copy_within(self.wpos..self.wend, 0);
                self.wend -= self.wpos;
                self.wpos = 0;
            } else {
                let n = self.win.len() * 2;
                self.win.resize(n, 0);
            }
        }
        loop {
            match self.src.read(&mut self.win[self.wend..]) {
                Ok(k) => {
                    self.wend += k;
                    return Ok(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(ErrorKind::Io(e))),
            }
        }
    }

    /// Makes `n` bytes available in the window if the stream has them;
    /// returns how many are available (less than `n` only at the end).
    fn ensure(&mut self, n: usize) -> Result<usize, Error> {
        while self.wend - self.wpos < n {
            if self.refill()? == 0 {
                break;
            }
        }
        Ok((self.wend - self.wpos).min(n))
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let n = self.ensure(out.len())?;
        out[..n].copy_from_slice(&self.win[self.wpos..self.wpos + n]);
        self.wpos += n;
        self.offset += n as u64;
        Ok(n)
    }

    /// Reads the next block's type and total length straight from the
    /// window; `None` at a clean end of the stream.
    #[inline]
    fn block_header(&mut self) -> Result<Option<(u32, u32)>, Error> {
        self.block_start = self.offset;
        let n = self.ensure(8)?;
        if n < 8 {
            self.wpos += n;
            self.offset += n as u64;
            if n == 0 {
                return Ok(None);
            }
            return Err(self.err(ErrorKind::Truncated(format!(
                "block header cut after {n} bytes"
            ))));
        }
        let h = &self.win[self.wpos..self.wpos + 8];
        let bt = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let total = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        self.wpos += 8;
        self.offset += 8;
        Ok(Some((bt, total)))
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.block_start, kind)
    }

    /// The body of the block just read (without header and trailer).
    #[inline]
    fn body(&self) -> &[u8] {
        match self.body_at {
            Some((a, b)) => &self.win[a..b],
            None => &self.buf,
        }
    }

    /// Reads a block's body and trailer, checks the trailer, and leaves the
    /// body in the window (see [`Reader::body`]).
    fn read_body(&mut self, total: u32, block_type: u32) -> Result<(), Error> {
        if !(12..=MAX_BLOCK).contains(&total) {
            return Err(self.err(ErrorKind::Corrupt(format!(
                "block of type {block_type:#x} has impossible length {total}"
            ))));
        }
        let body = total as usize - 8;
        let n = self.ensure(body)?;
        if n < body {
            self.offset += n as u64;
            self.wpos += n;
            return Err(self.err(ErrorKind::Truncated(format!(
                "block of type {block_type:#x} needs {total} bytes, only {} left",
                n + 8
            ))));
        }
        let start = self.wpos;
        let trailer = u32::from_le_bytes(
            self.win[start + body - 4..start + body]
                .try_into()
                .unwrap_or_default(),
        );
        self.wpos += body;
        self.offset += body as u64;
        if trailer != total {
            return Err(self.err(ErrorKind::Corrupt(format!(
                "block of type {block_type:#x}: length {total} in header but {trailer} in trailer"
            ))));
        }
        self.body_at = Some((start, start + body - 4));
        Ok(())
    }

    fn read_section(&mut self, total: u32) -> Result<SectionHeader, Error> {
        self.read_body(total, SHB)?;
        let b = self.body();
        if b.len() < 16 {
            return Err(self.err(ErrorKind::Corrupt("section header too short".into())));
        }
        let magic = u32::from_le_bytes(b[0..4].try_into().unwrap_or_default());
        if magic != SHB_MAGIC {
            return Err(self.err(ErrorKind::NotCapture(format!(
                "bad byte-order magic {magic:#010x} in section header"
            ))));
        }
        Ok(SectionHeader {
            major: u16::from_le_bytes([b[4], b[5]]),
            minor: u16::from_le_bytes([b[6], b[7]]),
            section_length: u64::from_le_bytes(b[8..16].try_into().unwrap_or_default()),
            options: b[16..].to_vec(),
        })
    }

    /// The next block, `Ok(None)` at a clean end of file. After an error the
    /// reader should not be used again.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, Error> {
        if self.pending_section {
            self.pending_section = false;
            return Ok(Some(Block::Section(self.section.clone())));
        }
        loop {
            let Some((bt, total)) = self.block_header()? else {
                return Ok(None);
            };
            if bt == SHB {
                let s = self.read_section(total)?;
                return Ok(Some(Block::Section(s)));
            }
            self.read_body(total, bt)?;
            let at = self.block_start;
            let corrupt = |m: String| Error::new(at, ErrorKind::Corrupt(m));
            match bt {
                EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE => {
                    if !event_code_known(self.body(), bt) {
                        continue; // an event code newer than this build: skip, as libs does
                    }
                    return Ok(decode_event(self.body(), bt)
                        .map_err(corrupt)?
                        .map(Block::Event));
                }
                MI | MI_INT => {
                    return Ok(Some(Block::Machine(
                        parse_machine(self.body()).map_err(corrupt)?,
                    )))
                }
                FDL | FDL_INT | FDL_V2 => {
                    let (tid, fds) = parse_fdlist(self.body(), bt == FDL_V2).map_err(corrupt)?;
                    return Ok(Some(Block::Fds { tid, fds }));
                }
                IL | IL_INT | IL_V2 => {
                    return Ok(Some(Block::Ifaces(
                        parse_iflist(self.body(), bt == IL_V2).map_err(corrupt)?,
                    )))
                }
                UL | UL_INT | UL_V2 => {
                    return Ok(Some(Block::Users(
                        parse_userlist(self.body(), bt == UL_V2).map_err(corrupt)?,
                    )))
                }
                _ => {
                    if let Some(v) = proclist_version(bt) {
                        return Ok(Some(Block::Threads(
                            parse_proclist(self.body(), v).map_err(corrupt)?,
                        )));
                    }
                    return Ok(Some(Block::Skipped { block_type: bt }));
                }
            }
        }
    }
}

/// The header fields of an event block taken by [`Reader::next_event_into`].
pub(crate) struct EventHead {
    pub(crate) ts: u64,
    pub(crate) tid: i64,
    pub(crate) code: u16,
    pub(crate) cpu: u16,
    pub(crate) dump_flags: u32,
    pub(crate) nparams: u32,
    pub(crate) large: bool,
    /// The skip table's entry for the event's code: not 0, the event was
    /// checked but its bytes not copied.
    pub(crate) skip: u8,
}

#[inline(always)]
fn le32(b: &[u8], at: usize) -> u32 {
    // one bounds check, one load
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

#[inline(always)]
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl<R: Read> Reader<R> {
    /// The fast path of [`Reader::next_block`] for the most common block:
    /// when the next block is whole in the read window and is an event block
    /// (v1 or v2) of a known code that decodes cleanly, appends its parameter lengths
    /// and data (back to back) to `out`, consumes the block and returns
    /// its header. Otherwise consumes nothing and returns None: the caller
    /// reads the block with `next_block`, which reports what is wrong.
    /// An event that `skip` leaves out is checked the same way and
    /// consumed, but nothing is appended.
    #[inline]
    pub(crate) fn next_event_into(
        &mut self,
        out: &mut Vec<u8>,
        skip: Option<&crate::SkipTable>,
    ) -> Option<EventHead> {
        if self.pending_section {
            return None;
        }
        let w = &self.win[self.wpos..self.wend];
        if w.len() < 8 {
            return None;
        }
        let bt = le32(w, 0);
        // (flagged, large, v2)
        let (flagged, large, v2) = match bt {
            EV_V2 => (false, false, true),
            EV_V2_LARGE => (false, true, true),
            EVF_V2 => (true, false, true),
            EVF_V2_LARGE => (true, true, true),
            EV => (false, false, false),
            EVF => (true, false, false),
            _ => return None,
        };
        let hlen = if v2 { HEADER_LEN } else { HEADER_LEN_V1 };
        let total = le32(w, 4) as usize;
        if total < 12 || total > MAX_BLOCK as usize || w.len() < total {
            return None;
        }
        if le32(w, total - 4) as usize != total {
            return None;
        }
        let body = &w[8..total - 4];
        let pre = if flagged { 6 } else { 2 };
        if body.len() < pre + hlen {
            return None;
        }
        let cpu = u16::from_le_bytes([body[0], body[1]]);
        let dump_flags = if flagged { le32(body, 2) } else { 0 };
        let e = &body[pre..];
        let ts = le64(e, 0);
        let tid = le64(e, 8) as i64;
        let len = le32(e, 16) as usize;
        let code = u16::from_le_bytes([e[20], e[21]]);
        let info = sonde_event::event_info(code)?;
        if len < hlen || len > e.len() {
            return None;
        }
        let nparams = if v2 {
            le32(e, 22)
        } else {
            // (two v1 event types have a length quirk: the slow path)
            if code == sonde_event::codes::NOTIFICATION_E
                || code == sonde_event::codes::INFRASTRUCTURE_EVENT_E
            {
                return None;
            }
            let max = info.params.len().max(info.old_params.len());
            RawEvent::infer_nparams(&e[hlen..len], max)?
        };
        let ev = RawEvent::from_parts(ts, tid, code, nparams, &e[hlen..len], large).ok()?;
        let skip = skip.map_or(0, |t| t.of(&ev));
        if skip == 0 {
            let (lens, data, _) = ev.parts();
            out.extend_from_slice(&e[hlen..hlen + lens.len() + data.len()]);
        }
        self.block_start = self.offset;
        self.wpos += total;
        self.offset += total as u64;
        Some(EventHead {
            ts,
            tid,
            code,
            cpu,
            dump_flags,
            nparams,
            large,
            skip,
        })
    }
}

impl<R: Read> Reader<R> {
    /// The next block undecoded: its type and its body (the bytes between
    /// the 8-byte block header and the 4-byte trailer), `Ok(None)` at a
    /// clean end of file. The first call returns the section header that
    /// [`Reader::new`] already read, rebuilt byte for byte. Lengths and
    /// trailers are checked as in [`Reader::next_block`]; nothing else is.
    /// Meant for tools that copy or rewrite captures.
    pub fn next_raw_block(&mut self) -> Result<Option<(u32, &[u8])>, Error> {
        if self.pending_section {
            self.pending_section = false;
            let s = &self.section;
            let mut b = Vec::with_capacity(16 + s.options.len());
            b.extend_from_slice(&SHB_MAGIC.to_le_bytes());
            b.extend_from_slice(&s.major.to_le_bytes());
            b.extend_from_slice(&s.minor.to_le_bytes());
            b.extend_from_slice(&s.section_length.to_le_bytes());
            b.extend_from_slice(&s.options);
            self.buf = b;
            self.body_at = None;
            return Ok(Some((SHB, &self.buf)));
        }
        let Some((bt, total)) = self.block_header()? else {
            return Ok(None);
        };
        self.read_body(total, bt)?;
        Ok(Some((bt, self.body())))
    }
}

fn event_code_known(b: &[u8], bt: u32) -> bool {
    let pre = if matches!(bt, EVF | EVF_V2 | EVF_V2_LARGE) {
        6
    } else {
        2
    };
    match b.get(pre + 20..pre + 22) {
        Some(c) => sonde_event::event_info(u16::from_le_bytes([c[0], c[1]])).is_some(),
        None => true, // let decode_event report the short block
    }
}

/// Decodes a block body as [`Reader::next_block`] would (for callers of
/// [`Reader::next_raw_block`]); `Ok(None)` for an event of an unknown code.
pub fn decode_block(body: &[u8], bt: u32) -> Result<Option<Block<'_>>, String> {
    Ok(Some(match bt {
        EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE => {
            if !event_code_known(body, bt) {
                return Ok(None);
            }
            return Ok(decode_event(body, bt)?.map(Block::Event));
        }
        MI | MI_INT => Block::Machine(parse_machine(body)?),
        FDL | FDL_INT | FDL_V2 => {
            let (tid, fds) = parse_fdlist(body, bt == FDL_V2)?;
            Block::Fds { tid, fds }
        }
        IL | IL_INT | IL_V2 => Block::Ifaces(parse_iflist(body, bt == IL_V2)?),
        UL | UL_INT | UL_V2 => Block::Users(parse_userlist(body, bt == UL_V2)?),
        _ => match proclist_version(bt) {
            Some(v) => Block::Threads(parse_proclist(body, v)?),
            None => Block::Skipped { block_type: bt },
        },
    }))
}

/// Rewrites a v1 event block body (no parameter count in the event header)
/// as a v2 body into `out`, without decoding parameters; returns the v2
/// block type. `None` when the body is not a well-formed v1 event of a
/// known code (decode it with [`decode_block`] for the exact error).
pub fn v1_event_to_v2(body: &[u8], bt: u32, out: &mut Vec<u8>) -> Option<u32> {
    out.clear();
    v1_event_append_v2(body, bt, out)
}

/// [`v1_event_to_v2`], appending to `out` (left as it was on `None`).
pub(crate) fn v1_event_append_v2(body: &[u8], bt: u32, out: &mut Vec<u8>) -> Option<u32> {
    let (flagged, new_bt) = match bt {
        EV | EV_INT => (false, EV_V2),
        EVF => (true, EVF_V2),
        _ => return None,
    };
    let pre = if flagged { 6 } else { 2 };
    let e = body.get(pre..)?;
    if e.len() < HEADER_LEN_V1 {
        return None;
    }
    let mut len = u32::from_le_bytes(e[16..20].try_into().ok()?) as usize;
    let code = u16::from_le_bytes([e[20], e[21]]);
    let info = sonde_event::event_info(code)?;
    if code == sonde_event::codes::NOTIFICATION_E
        || code == sonde_event::codes::INFRASTRUCTURE_EVENT_E
    {
        len = len.saturating_sub(3);
    }
    if len < HEADER_LEN_V1 || len > e.len() {
        return None;
    }
    let rest = &e[HEADER_LEN_V1..len];
    let n = RawEvent::infer_nparams(rest, info.params.len().max(info.old_params.len()))?;
    // the block prefix, ts and tid, the new length, code and count, the rest
    let head = pre + 16;
    out.reserve(head + 10 + rest.len());
    out.extend_from_slice(&body[..head]);
    let mut mid = [0u8; 10];
    mid[0..4].copy_from_slice(&((len + 4) as u32).to_le_bytes());
    mid[4..6].copy_from_slice(&code.to_le_bytes());
    mid[6..10].copy_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&mid);
    out.extend_from_slice(rest);
    Some(new_bt)
}

/// Whether an event block body holds an event of a known code.
pub fn event_block_known(body: &[u8], bt: u32) -> bool {
    event_code_known(body, bt)
}

/// Decodes the event in an event block body. `Ok(None)` means the event code
/// is unknown to this build (the block is skipped, as libs does).
pub fn decode_event(b: &[u8], bt: u32) -> Result<Option<RawEvent<'_>>, String> {
    let flagged = matches!(bt, EVF | EVF_V2 | EVF_V2_LARGE);
    let v2 = matches!(bt, EV_V2 | EV_V2_LARGE | EVF_V2 | EVF_V2_LARGE);
    let large = matches!(bt, EV_V2_LARGE | EVF_V2_LARGE);
    let pre = if flagged { 6 } else { 2 };
    let hlen = if v2 { HEADER_LEN } else { HEADER_LEN_V1 };
    if b.len() < pre + hlen {
        return Err(format!("event block too short ({} bytes)", b.len()));
    }
    let cpu = u16::from_le_bytes([b[0], b[1]]);
    let dump_flags = if flagged {
        u32::from_le_bytes(b[2..6].try_into().unwrap_or_default())
    } else {
        0
    };
    let e = &b[pre..];
    let ts = u64::from_le_bytes(e[0..8].try_into().unwrap_or_default());
    let tid = u64::from_le_bytes(e[8..16].try_into().unwrap_or_default()) as i64;
    let mut len = u32::from_le_bytes(e[16..20].try_into().unwrap_or_default()) as usize;
    let code = u16::from_le_bytes([e[20], e[21]]);
    let Some(info) = sonde_event::event_info(code) else {
        return Ok(None);
    };
    let mut ev = if v2 {
        if len < HEADER_LEN || len > e.len() {
            return Err(format!(
                "event length {len} does not fit its block ({} bytes)",
                e.len()
            ));
        }
        let nparams = u32::from_le_bytes(e[22..26].try_into().unwrap_or_default());
        RawEvent::from_parts(ts, tid, code, nparams, &e[HEADER_LEN..len], large)
            .map_err(|x| x.to_string())?
    } else {
        // Old captures: the header has no parameter count, and two event
        // types were written with a length 3 bytes too long.
        if code == sonde_event::codes::NOTIFICATION_E
            || code == sonde_event::codes::INFRASTRUCTURE_EVENT_E
        {
            len = len.saturating_sub(3);
        }
        if len < HEADER_LEN_V1 || len > e.len() {
            return Err(format!(
                "event length {len} does not fit its block ({} bytes)",
                e.len()
            ));
        }
        let body = &e[HEADER_LEN_V1..len];
        let max = info.params.len().max(info.old_params.len());
        let n = RawEvent::infer_nparams(body, max)
            .ok_or_else(|| "cannot work out the parameter count of a v1 event".to_string())?;
        RawEvent::from_parts(ts, tid, code, n, body, false).map_err(|x| x.to_string())?
    };
    ev.cpu = cpu;
    ev.dump_flags = dump_flags;
    Ok(Some(ev))
}

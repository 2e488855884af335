//! The file-writing sink: `-w FILE` (or `-` for stdout), `-z` gzip, and
//! rotation with sysdig's semantics: `-C MB` (size, in millions of bytes),
//! `-W N` (a ring of N files), `-G SEC` (time, strftime patterns in the
//! name), `-e N` (events per file). Each file starts with the state at
//! that moment, so every file reads on its own.
//!
//! With `--filter-proclist` the process and fd lists hold only what the
//! written events refer to: events go to a spool file first, and the
//! metadata is computed once the file is complete.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

use sonde_engine::{Needs, Sink, SinkError, SinkResult};
use sonde_event::RawEvent;
use sonde_scap::layout::{Converter, Encoded, Layout};
use sonde_scap::{ParallelGz, WriteBehind, Writer, DF_STATE_ONLY};
use sonde_state::{Referenced, State};

use crate::filestart::{container_list, with_file_cgroups, write_container_events};

/// What to write and how to cut it into files.
#[derive(Debug, Clone, Default)]
pub struct DumpOpts {
    /// Target path; `-` means standard output.
    pub path: String,
    /// `-z`: gzip the files.
    pub gzip: bool,
    /// `-C`: start a new file once the current one exceeds this many MB (10^6 bytes).
    pub rollover_mb: u64,
    /// `-W`: keep at most this many files, reusing names in a ring.
    pub file_limit: u32,
    /// `-G`: start a new file every this many seconds of event time.
    pub seconds: u64,
    /// `-e`: start a new file after this many events.
    pub events_per_file: u64,
    /// `--filter-proclist`: metadata restricted to what the events reference.
    pub filter_proclist: bool,
    /// Convert to this event layout; `None` writes events as they come.
    pub layout: Option<Layout>,
    /// `-F`: events the capture filter rejects are still written, marked
    /// state-only, when they change state.
    pub fatfile: bool,
}

/// Counts bytes written through it (the on-disk size, after compression).
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(b)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Target = Counting<Box<dyn Write + Send>>;

/// gzip level for -z (zlib's default, as sysdig). `SONDE_GZ_LEVEL` (0-9)
/// overrides it, e.g. 1 for speed over size.
fn gz_level() -> u32 {
    std::env::var("SONDE_GZ_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|l| *l <= 9)
        .unwrap_or(6)
}

enum Out {
    Plain(Writer<Target>),
    /// Compressed on every core, one gzip member per MiB.
    Gz(Writer<ParallelGz>),
}

impl Out {
    fn size(&self) -> u64 {
        match self {
            Out::Plain(w) => w.bytes_written(),
            // what reached the file so far, as gzoffset() in sysdig
            Out::Gz(w) => w.inner_ref().compressed_bytes(),
        }
    }
}

/// One output file being written.
struct Current {
    out: Out,
    /// Where events are spooled when the metadata must wait (filter-proclist).
    spool: Option<(Writer<BufWriter<File>>, PathBuf)>,
    refs: Referenced,
    name: String,
    events: u64,
    start_sec: u64,
    /// The container list to write once the events are known
    /// (filter-proclist): (short id, JSON), and its timestamp.
    containers: Vec<(Vec<u8>, Vec<u8>)>,
    containers_ts: u64,
}

/// The `-w` sink.
pub struct Dumper {
    opts: DumpOpts,
    conv: Option<Converter>,
    converted: Vec<Encoded>,
    cur: Option<Current>,
    index: u32,
    past_names: Vec<String>,
    /// Every file name opened, in order.
    pub files: Vec<String>,
}

fn strftime(pattern: &str, secs: u64) -> String {
    let c = match std::ffi::CString::new(pattern) {
        Ok(c) => c,
        Err(_) => return pattern.to_string(),
    };
    let t = secs as libc::time_t;
    // SAFETY: localtime_r fills our tm; strftime writes at most buf.len() bytes.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&t, &mut tm) };
    let mut buf = vec![0u8; 4096];
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c.as_ptr(),
            &tm,
        )
    };
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

impl Dumper {
    /// A writer that opens its first file at the first event.
    pub fn new(opts: DumpOpts) -> Dumper {
        let conv = opts.layout.map(Converter::new);
        Dumper {
            opts,
            conv,
            converted: Vec::new(),
            cur: None,
            index: 0,
            past_names: Vec::new(),
            files: Vec::new(),
        }
    }

    fn rotating(&self) -> bool {
        self.opts.rollover_mb > 0 || self.opts.seconds > 0 || self.opts.events_per_file > 0
    }

    /// The name of the next file, following sysdig's cycle writer.
    fn next_name(&mut self, ev_secs: u64) -> String {
        if self.opts.file_limit > 0 && self.index >= self.opts.file_limit {
            self.index = 0;
        }
        let base = &self.opts.path;
        let mut name = if self.opts.seconds > 0 {
            if base.contains('%') {
                let n = strftime(base, ev_secs);
                if self.opts.file_limit > 0 {
                    let slot = self.index as usize;
                    if self.past_names.len() <= slot {
                        self.past_names.resize(slot + 1, String::new());
                    }
                    let old = std::mem::replace(&mut self.past_names[slot], n.clone());
                    if !old.is_empty() && old != n {
                        let _ = std::fs::remove_file(&old);
                    }
                }
                n
            } else {
                format!("{base}{}", self.index)
            }
        } else {
            base.clone()
        };
        if self.opts.rollover_mb > 0 {
            let digits = if self.opts.file_limit > 0 {
                self.opts.file_limit.to_string().len()
            } else {
                0
            };
            name = format!("{name}{:0width$}", self.index, width = digits);
        }
        if self.opts.events_per_file > 0 {
            name = format!("{base}{}", self.index);
        }
        self.index += 1;
        name
    }

    fn open(&mut self, st: &State, ts: u64) -> io::Result<()> {
        let ev_secs = ts / 1_000_000_000;
        let name = if self.rotating() {
            self.next_name(ev_secs)
        } else {
            self.opts.path.clone()
        };
        let target: Box<dyn Write + Send> = if name == "-" {
            Box::new(io::stdout())
        } else {
            Box::new(WriteBehind::new(
                crate::replace::create(name.as_ref()).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot create '{name}': {e}"))
                })?,
            ))
        };
        let mut out = if self.opts.gzip {
            Out::Gz(Writer::new(ParallelGz::new(target, gz_level()))?)
        } else {
            Out::Plain(Writer::new(Counting {
                inner: target,
                n: 0,
            })?)
        };
        let spool = if self.opts.filter_proclist {
            let path = std::env::temp_dir().join(format!(
                "sonde-spool-{}-{}",
                std::process::id(),
                self.files.len()
            ));
            let f = File::options()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)?;
            Some((Writer::new(BufWriter::new(f))?, path))
        } else {
            let md = st.metadata(None);
            match &mut out {
                Out::Plain(w) => w.write_metadata(&md)?,
                Out::Gz(w) => w.write_metadata(&md)?,
            }
            None
        };
        self.files.push(name.clone());
        self.cur = Some(Current {
            out,
            spool,
            refs: Referenced::default(),
            name,
            events: 0,
            start_sec: ev_secs,
            containers: Vec::new(),
            containers_ts: 0,
        });
        // a later file of a rotation starts with the containers known (as
        // sysdig's dumper does when it opens a file); the first gets them
        // from the events (live: the engine's container events). With
        // --filter-proclist only those the file's events refer to, once
        // the file is complete.
        if self.files.len() > 1 {
            let list = container_list(st);
            if let Some(c) = self.cur.as_mut() {
                if c.spool.is_some() {
                    c.containers = list;
                    c.containers_ts = ts;
                } else {
                    write_containers(&mut c.out, list.iter().map(|(_, j)| j.as_slice()), ts)?;
                }
            }
        }
        Ok(())
    }

    /// Call before the state engine applies `ev`: starts a new file if the
    /// rotation rules say so, with the state as it is before `ev`.
    pub fn before(&mut self, st: &State, ev: &RawEvent<'_>) -> io::Result<()> {
        let secs = ev.ts / 1_000_000_000;
        let rotate = match &self.cur {
            None => true,
            Some(c) => {
                (self.opts.seconds > 0 && secs.saturating_sub(c.start_sec) >= self.opts.seconds)
                    || (self.opts.rollover_mb > 0
                        && c.out.size() > self.opts.rollover_mb * 1_000_000)
                    || (self.opts.events_per_file > 0 && c.events >= self.opts.events_per_file)
            }
        };
        if rotate {
            self.close_current(st)?;
            self.open(st, ev.ts)?;
        }
        Ok(())
    }

    /// Writes one event, after the state engine applied it; `state_only`
    /// marks events kept only for state (`-F`).
    pub fn event(&mut self, st: &State, ev: &RawEvent<'_>, state_only: bool) -> io::Result<()> {
        // live containers: clone/execve exits carry the cgroups the state
        // engine gave the thread (with the entry that lets a reader of the
        // file find its container)
        with_file_cgroups(st, ev, |e| self.event_as_is(st, e, state_only))
    }

    fn event_as_is(&mut self, st: &State, ev: &RawEvent<'_>, state_only: bool) -> io::Result<()> {
        if self.cur.is_none() {
            self.before(st, ev)?;
        }
        if let Some(conv) = self.conv.as_mut() {
            let mut out = std::mem::take(&mut self.converted);
            out.clear();
            conv.push(ev, &mut out);
            if ev.info().is_some_and(|i| i.name == "procexit") {
                conv.forget(ev.tid);
            }
            for enc in &out {
                if let Some(e) = enc.view() {
                    self.write_one(st, &e, state_only)?;
                }
            }
            self.converted = out;
            return Ok(());
        }
        self.write_one(st, ev, state_only)
    }

    /// The file `events` more events go to (opened at the first, of
    /// time `ts`), with them counted.
    fn counted(&mut self, st: &State, ts: u64, events: u64) -> io::Result<Option<&mut Out>> {
        if self.cur.is_none() {
            self.open(st, ts)?;
        }
        Ok(self.cur.as_mut().map(|c| {
            c.events += events;
            &mut c.out
        }))
    }

    /// Copies an event block as it is (v2 layout), for plain copies with no
    /// rotation, conversion or state-dependent work.
    pub fn raw_event(
        &mut self,
        st: &State,
        block_type: u32,
        body: &[u8],
        ts: u64,
    ) -> io::Result<()> {
        let Some(out) = self.counted(st, ts, 1)? else {
            return Ok(());
        };
        match out {
            Out::Plain(w) => w.write_raw_event_block(block_type, body),
            Out::Gz(w) => w.write_raw_event_block(block_type, body),
        }
    }

    /// Writes whole event blocks as they came (plain-copy mode).
    pub fn raw_events(
        &mut self,
        st: &State,
        blocks: &[u8],
        events: u64,
        first_ts: u64,
    ) -> io::Result<()> {
        let Some(out) = self.counted(st, first_ts, events)? else {
            return Ok(());
        };
        match out {
            Out::Plain(w) => w.write_raw_blocks(blocks, events),
            Out::Gz(w) => w.write_raw_blocks(blocks, events),
        }
    }

    fn write_one(&mut self, st: &State, ev: &RawEvent<'_>, state_only: bool) -> io::Result<()> {
        let Some(c) = self.cur.as_mut() else {
            return Ok(());
        };
        let flags = if state_only {
            DF_STATE_ONLY
        } else {
            ev.dump_flags & !DF_STATE_ONLY
        };
        c.events += 1;
        if let Some((w, _)) = c.spool.as_mut() {
            if !state_only {
                c.refs.note(st, ev.tid);
            }
            return w.write_event(ev, flags);
        }
        match &mut c.out {
            Out::Plain(w) => w.write_event(ev, flags),
            Out::Gz(w) => w.write_event(ev, flags),
        }
    }

    fn close_current(&mut self, st: &State) -> io::Result<()> {
        let Some(mut c) = self.cur.take() else {
            return Ok(());
        };
        if let Some((w, path)) = c.spool.take() {
            // metadata first, then the spooled event blocks, copied verbatim
            let md = st.metadata(Some(&c.refs));
            let mut f = w.into_inner()?.into_inner().map_err(|e| e.into_error())?;
            f.flush()?;
            f.rewind()?;
            let mut skip = [0u8; 28]; // the spool's own section header block
            f.read_exact(&mut skip)?;
            match &mut c.out {
                Out::Plain(w) => w.write_metadata(&md)?,
                Out::Gz(w) => w.write_metadata(&md)?,
            }
            let refs = &c.refs;
            let kept = c
                .containers
                .iter()
                .filter(|(id, _)| refs.containers.contains(id))
                .map(|(_, j)| j.as_slice());
            write_containers(&mut c.out, kept, c.containers_ts)?;
            match &mut c.out {
                Out::Plain(w) => io::copy(&mut f, w.inner_mut()?)?,
                Out::Gz(w) => io::copy(&mut f, w.inner_mut()?)?,
            };
            let _ = std::fs::remove_file(path);
        }
        match c.out {
            Out::Plain(w) => w.into_inner()?.flush()?,
            Out::Gz(w) => w.into_inner()?.flush()?,
        }
        let _ = c.name;
        Ok(())
    }

    /// Completes the last file. If no event was written, the file still
    /// gets its header and metadata so it is a valid, empty capture.
    pub fn finish(&mut self, st: &State) -> io::Result<()> {
        if self.cur.is_none() && self.files.is_empty() {
            self.open(st, 0)?;
        }
        self.close_current(st)
    }
}

impl Dumper {
    fn err(&self, e: io::Error) -> SinkError {
        SinkError::io(format!("cannot write '{}'", self.opts.path), e)
    }
}

impl Sink for Dumper {
    fn needs(&self) -> Needs {
        // each file starts with the state of its moment; filtered process
        // lists, conversion and -F read the state too
        let state = self.rotating()
            || self.opts.filter_proclist
            || self.opts.fatfile
            || self.conv.is_some();
        Needs {
            state,
            // files keep each syscall's enter timestamp
            latency: true,
            writes: true,
            raw_blocks: !state,
            ..Needs::default()
        }
    }

    #[inline]
    fn before(&mut self, st: &State, ev: &RawEvent<'_>) -> SinkResult {
        Dumper::before(self, st, ev).map_err(|e| self.err(e))
    }

    #[inline]
    fn filtered(&mut self, st: &State, ev: &RawEvent<'_>, pass: bool) -> SinkResult {
        let state_only = !pass && self.opts.fatfile && sonde_engine::rules::modifies_state(ev);
        if pass || state_only {
            Dumper::event(self, st, ev, state_only).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    #[inline]
    fn raw_block(&mut self, st: &State, block_type: u32, body: &[u8], ts: u64) -> SinkResult {
        self.raw_event(st, block_type, body, ts)
            .map_err(|e| self.err(e))
    }

    fn raw_blocks(&mut self, st: &State, blocks: &[u8], events: u64, first_ts: u64) -> SinkResult {
        self.raw_events(st, blocks, events, first_ts)
            .map_err(|e| self.err(e))
    }

    fn finish(&mut self, st: &State) -> SinkResult {
        Dumper::finish(self, st).map_err(|e| self.err(e))
    }
}

/// Writes the container events to whichever writer `out` is.
fn write_containers<'j>(
    out: &mut Out,
    jsons: impl Iterator<Item = &'j [u8]>,
    ts: u64,
) -> io::Result<()> {
    match out {
        Out::Plain(w) => write_container_events(w, jsons, ts),
        Out::Gz(w) => write_container_events(w, jsons, ts),
    }
}

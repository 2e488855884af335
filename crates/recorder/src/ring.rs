//! The recorder sink and its handle: the segmented ring of encoded event
//! blocks, the byte cap, triggers picked up on the event thread, and the
//! writing of a capture file (on a thread of its own, so the event loop
//! never waits for the disk).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_engine::{Needs, Sink, SinkError, SinkResult};
use sonde_event::RawEvent;
use sonde_scap::{Writer, DF_STATE_ONLY};
use sonde_sinks::filestart::with_file_cgroups;
use sonde_sinks::FileStart;
use sonde_state::State;

/// How much the recorder keeps.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Event time kept in the ring (at least; up to one segment more).
    pub window: Duration,
    /// Cap on the ring's bytes (encoded events plus each segment's state
    /// tables); whole segments are dropped, oldest first, above it.
    pub max_bytes: usize,
    /// Event time per segment: the granularity of the window's start and
    /// of drops. Each segment carries a copy of the state tables.
    pub segment: Duration,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            window: Duration::from_secs(30),
            max_bytes: 256 << 20,
            segment: Duration::from_secs(1),
        }
    }
}

/// What went wrong with a capture or a request for one.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The recorder is gone (the engine finished or never started).
    #[error("the flight recorder is not running")]
    Closed,
    /// No answer within the time allowed.
    #[error("no capture after {0:?}")]
    Timeout(Duration),
    /// The file could not be written.
    #[error("cannot write '{path}': {source}")]
    Write {
        /// The target file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The control socket failed.
    #[error("control socket '{path}': {source}")]
    Socket {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A request or answer that does not parse, or a refused request.
    #[error("{0}")]
    Protocol(String),
    /// A duration that does not parse.
    #[error("bad duration '{0}' (expected e.g. 500ms, 10s, 2m)")]
    Duration(String),
}

/// A capture written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureReport {
    /// The file written.
    pub path: PathBuf,
    /// Events in the file, as a reader counts them (with the `container`
    /// entries at its start; the state tables are not events).
    pub events: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// Event time of the trigger (the newest event when it was picked up), ns.
    pub trigger_ts: u64,
    /// Event time the file starts at (the start of its first segment), ns.
    pub first_ts: u64,
    /// Event time of the last event in the file, ns.
    pub last_ts: u64,
    /// Event time up to which the file is complete, ns: every recorded
    /// event at or before it is in the file. It reaches `after` past the
    /// trigger even when the host was quiet and `last_ts` stops short.
    pub end_ts: u64,
}

/// The ring's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderStats {
    /// Events in the ring now.
    pub events: u64,
    /// Bytes in the ring now.
    pub bytes: u64,
    /// Segments in the ring now (closed ones plus the one being filled).
    pub segments: u64,
    /// Events dropped because the ring was over its byte cap.
    pub dropped_events: u64,
    /// Events that aged out of the window (the normal case).
    pub expired_events: u64,
    /// Captures written.
    pub captures: u64,
}

/// A trigger waiting to be picked up by the event thread.
struct Request {
    before: Duration,
    after: Duration,
    path: PathBuf,
    reply: Sender<Result<CaptureReport, RecorderError>>,
}

/// The answer to a trigger, once the file is written.
pub struct Pending {
    rx: Receiver<Result<CaptureReport, RecorderError>>,
}

impl Pending {
    /// Waits for the file.
    pub fn wait(self) -> Result<CaptureReport, RecorderError> {
        self.rx.recv().map_err(|_| RecorderError::Closed)?
    }

    /// Waits at most `limit` for the file.
    pub fn wait_timeout(self, limit: Duration) -> Result<CaptureReport, RecorderError> {
        match self.rx.recv_timeout(limit) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(RecorderError::Timeout(limit)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RecorderError::Closed),
        }
    }
}

/// Asks a running [`Recorder`] for captures, from any thread. Clones share
/// the recorder.
#[derive(Clone)]
pub struct RecorderHandle {
    tx: Sender<Request>,
    flag: Arc<AtomicBool>,
    stats: Arc<Mutex<RecorderStats>>,
}

impl RecorderHandle {
    /// Asks for a capture of the events from `before` ahead of the trigger
    /// until `after` past it, in `path`. The trigger's time is the event
    /// time of the newest event when the event thread picks the request
    /// up (at its next event). The window reaches back to the start of the
    /// segment holding `trigger - before`, or as far as the ring goes.
    pub fn trigger(
        &self,
        before: Duration,
        after: Duration,
        path: impl Into<PathBuf>,
    ) -> Result<Pending, RecorderError> {
        let (reply, rx) = mpsc::channel();
        self.tx
            .send(Request {
                before,
                after,
                path: path.into(),
                reply,
            })
            .map_err(|_| RecorderError::Closed)?;
        self.flag.store(true, Ordering::Release);
        Ok(Pending { rx })
    }

    /// The ring's counters now.
    pub fn stats(&self) -> RecorderStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// A closed segment: a complete capture file in memory (section header,
/// state tables, events); `events_off` is where its events start.
struct Segment {
    bytes: Vec<u8>,
    events_off: usize,
    /// `container` events among the state at its start.
    head_events: u64,
    start_ts: u64,
    last_ts: u64,
    events: u64,
}

/// The segment being filled.
struct Open {
    w: Writer<Vec<u8>>,
    events_off: usize,
    head_events: u64,
    start_ts: u64,
    last_ts: u64,
    events: u64,
}

/// A capture between its trigger and its end.
struct Active {
    req: Request,
    trigger_ts: u64,
    until: u64,
    segs: Vec<Arc<Segment>>,
}

/// The flight recorder sink. See the crate documentation.
pub struct Recorder {
    cfg: RecorderConfig,
    segs: VecDeque<Arc<Segment>>,
    cur: Option<Open>,
    ring_bytes: usize,
    ring_events: u64,
    last_ts: u64,
    /// The newest time known to have passed with no event left to come
    /// (the last event's, or the live source's idle watermark).
    now: u64,
    rx: Receiver<Request>,
    flag: Arc<AtomicBool>,
    active: Vec<Active>,
    /// Syscalls the recording may go without ([`Recorder::leave_out`]).
    counted: &'static [&'static str],
    /// Buffers of segments that left the ring, for the next ones: their
    /// memory is mapped and sized already (no page faults, no regrowth).
    spare: Vec<Vec<u8>>,
    stats: Arc<Mutex<RecorderStats>>,
    dropped: u64,
    expired: u64,
    captures: u64,
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Recorder {
    /// A recorder and the handle that triggers it.
    pub fn new(cfg: RecorderConfig) -> (Recorder, RecorderHandle) {
        let (tx, rx) = mpsc::channel();
        let flag = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(RecorderStats::default()));
        let handle = RecorderHandle {
            tx,
            flag: flag.clone(),
            stats: stats.clone(),
        };
        let rec = Recorder {
            cfg,
            segs: VecDeque::new(),
            cur: None,
            ring_bytes: 0,
            ring_events: 0,
            last_ts: 0,
            now: 0,
            rx,
            flag,
            active: Vec::new(),
            counted: &[],
            spare: Vec::new(),
            stats,
            dropped: 0,
            expired: 0,
            captures: 0,
        };
        (rec, handle)
    }

    /// Lets the recording go without these syscalls' events: in live
    /// capture the kernel may then count them instead of sending them,
    /// when every other sink only counts them too
    /// ([`Needs::counted`](sonde_engine::Needs::counted)).
    pub fn leave_out(&mut self, syscalls: &'static [&'static str]) {
        self.counted = syscalls;
    }

    /// Bytes one segment may grow to before it is cut early.
    fn segment_cap(&self) -> usize {
        (self.cfg.max_bytes / 8).max(64 << 10)
    }

    /// Starts a segment with the state tables of `st` at `ts`.
    fn open(&mut self, st: &State, ts: u64) -> io::Result<()> {
        let buf = self.spare.pop().unwrap_or_default();
        let mut w = Writer::new(buf)?;
        FileStart::of(st).write(&mut w, ts)?;
        let events_off = usize::try_from(w.bytes_written()).unwrap_or(usize::MAX);
        let head_events = w.events_written();
        self.cur = Some(Open {
            w,
            events_off,
            head_events,
            start_ts: ts,
            last_ts: ts,
            events: 0,
        });
        Ok(())
    }

    /// Closes the open segment into the ring (and into every capture
    /// under way), then drops what the window and the byte cap exclude.
    fn close(&mut self) -> io::Result<()> {
        let Some(o) = self.cur.take() else {
            return Ok(());
        };
        let bytes = o.w.into_inner()?;
        let seg = Arc::new(Segment {
            events_off: o.events_off,
            head_events: o.head_events,
            start_ts: o.start_ts,
            last_ts: o.last_ts,
            events: o.events,
            bytes,
        });
        self.ring_bytes += seg.bytes.len();
        self.ring_events += seg.events;
        for a in &mut self.active {
            a.segs.push(seg.clone());
        }
        self.segs.push_back(seg);
        let horizon = self.last_ts.saturating_sub(ns(self.cfg.window));
        while let Some(f) = self.segs.front() {
            let over = self.ring_bytes > self.cfg.max_bytes;
            // a segment ending before the window's start is no longer needed
            let old = self.segs.len() > 1 && f.last_ts < horizon;
            if !over && !old {
                break;
            }
            if over {
                self.dropped += f.events;
            } else {
                self.expired += f.events;
            }
            self.ring_bytes -= f.bytes.len();
            self.ring_events -= f.events;
            if let Some(seg) = self.segs.pop_front().and_then(Arc::into_inner) {
                // (unless a capture under way still holds it)
                if self.spare.len() < SPARE_SEGMENTS {
                    let mut b = seg.bytes;
                    b.clear();
                    self.spare.push(b);
                }
            }
        }
        Ok(())
    }

    fn publish(&self) {
        if let Ok(mut s) = self.stats.lock() {
            let open = self.cur.as_ref();
            *s = RecorderStats {
                events: self.ring_events + open.map_or(0, |o| o.events),
                bytes: (self.ring_bytes as u64) + open.map_or(0, |o| o.w.bytes_written()),
                segments: self.segs.len() as u64 + u64::from(open.is_some()),
                dropped_events: self.dropped,
                expired_events: self.expired,
                captures: self.captures,
            };
        }
    }

    /// Takes the requests waiting: each starts a capture at the newest
    /// event time, with the closed segments that reach back far enough.
    fn pick_up(&mut self) {
        self.flag.store(false, Ordering::Relaxed);
        while let Ok(req) = self.rx.try_recv() {
            let trigger_ts = self.last_ts.max(self.now);
            let start = trigger_ts.saturating_sub(ns(req.before));
            let first = self
                .segs
                .iter()
                .rposition(|s| s.start_ts <= start)
                .unwrap_or(0);
            let segs = self.segs.iter().skip(first).cloned().collect();
            self.active.push(Active {
                until: trigger_ts.saturating_add(ns(req.after)),
                req,
                trigger_ts,
                segs,
            });
        }
    }

    /// Hands the captures whose time is up (all with `all`) to writer threads.
    fn complete(&mut self, now: u64, all: bool) {
        let (done, rest): (Vec<Active>, Vec<Active>) = std::mem::take(&mut self.active)
            .into_iter()
            .partition(|a| all || now >= a.until);
        self.active = rest;
        for a in done {
            self.captures += 1;
            let end_ts = a.until.min(now.max(a.trigger_ts));
            std::thread::spawn(move || {
                let r = write_capture(&a.req.path, &a.segs, a.trigger_ts, end_ts);
                let _ = a.req.reply.send(r);
            });
        }
    }

    fn err(e: io::Error) -> SinkError {
        SinkError::io("flight recorder", e)
    }
}

/// Buffers of old segments kept for new ones ([`Recorder::spare`]).
const SPARE_SEGMENTS: usize = 2;

/// Writes the first segment whole (header, tables, events) and the
/// events of the others.
fn write_capture(
    path: &Path,
    segs: &[Arc<Segment>],
    trigger_ts: u64,
    end_ts: u64,
) -> Result<CaptureReport, RecorderError> {
    let werr = |source| RecorderError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(werr)?);
    let mut bytes = 0u64;
    let mut events = 0u64;
    if segs.is_empty() {
        // nothing recorded yet: still a valid, empty capture
        let w = Writer::new(Vec::new()).map_err(werr)?;
        let b = w.into_inner().map_err(werr)?;
        out.write_all(&b).map_err(werr)?;
        bytes += b.len() as u64;
    }
    for (i, s) in segs.iter().enumerate() {
        let part = if i == 0 {
            events += s.head_events;
            &s.bytes[..]
        } else {
            &s.bytes[s.events_off..]
        };
        out.write_all(part).map_err(werr)?;
        bytes += part.len() as u64;
        events += s.events;
    }
    out.flush().map_err(werr)?;
    Ok(CaptureReport {
        path: path.to_path_buf(),
        events,
        bytes,
        trigger_ts,
        first_ts: segs.first().map_or(0, |s| s.start_ts),
        last_ts: segs.last().map_or(0, |s| s.last_ts),
        end_ts,
    })
}

impl Sink for Recorder {
    fn needs(&self) -> Needs {
        Needs {
            // each segment starts with the state tables
            state: true,
            // files keep each syscall's enter timestamp
            latency: true,
            writes: true,
            counted: self.counted,
            ..Needs::default()
        }
    }

    fn before(&mut self, st: &State, ev: &RawEvent<'_>) -> SinkResult {
        let picked = self.flag.load(Ordering::Acquire);
        if picked {
            self.pick_up();
        }
        let due = self.active.iter().any(|a| ev.ts > a.until);
        let cut = match &self.cur {
            None => true,
            Some(o) => {
                due || picked
                    || ev.ts.saturating_sub(o.start_ts) >= ns(self.cfg.segment)
                    || o.w.bytes_written() as usize >= self.segment_cap()
            }
        };
        if cut {
            self.close().map_err(Self::err)?;
            if due {
                self.complete(ev.ts, false);
            }
            self.open(st, ev.ts).map_err(Self::err)?;
            self.publish();
        }
        Ok(())
    }

    fn filtered(&mut self, st: &State, ev: &RawEvent<'_>, pass: bool) -> SinkResult {
        if !pass {
            return Ok(());
        }
        if self.cur.is_none() {
            self.open(st, ev.ts).map_err(Self::err)?;
        }
        let Some(o) = self.cur.as_mut() else {
            return Ok(());
        };
        with_file_cgroups(st, ev, |e| {
            o.w.write_event(e, e.dump_flags & !DF_STATE_ONLY)
        })
        .map_err(Self::err)?;
        o.events += 1;
        o.last_ts = o.last_ts.max(ev.ts);
        self.last_ts = self.last_ts.max(ev.ts);
        Ok(())
    }

    /// A quiet live host: time still passes, so captures waiting for their
    /// `after` end on the watermark, and triggers are picked up.
    fn idle(&mut self, ts: u64, _st: &State) -> SinkResult {
        self.now = self.now.max(ts);
        if self.flag.load(Ordering::Acquire) {
            self.pick_up();
        }
        if self.active.iter().any(|a| ts > a.until) {
            self.close().map_err(Self::err)?;
            self.complete(ts, false);
            self.publish();
        }
        Ok(())
    }

    fn finish(&mut self, _st: &State) -> SinkResult {
        if self.flag.load(Ordering::Acquire) {
            self.pick_up();
        }
        self.close().map_err(Self::err)?;
        self.complete(self.last_ts.max(self.now), true);
        self.publish();
        Ok(())
    }
}

/// Parses `500ms`, `10s`, `2m`, `1h`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, RecorderError> {
    let t = s.trim();
    let bad = || RecorderError::Duration(s.to_string());
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    let secs = v * mult;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e999s").is_err());
    }
}

//! The recorder over a capture file: the window a trigger selects, the
//! byte cap, and files that sonde and sysdig read.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use sonde_engine::{Config, Engine, Needs, Sink, SinkResult, Source};
use sonde_event::RawEvent;
use sonde_recorder::{Pending, Recorder, RecorderConfig, RecorderHandle};
use sonde_state::State;

fn trace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/traces/syslog_net.scap")
}

/// Forwards to the recorder and triggers it at the `at`-th event.
struct TriggerAt {
    rec: Recorder,
    handle: RecorderHandle,
    at: usize,
    seen: usize,
    before: Duration,
    after: Duration,
    path: PathBuf,
    pending: std::sync::mpsc::Sender<(u64, Pending)>,
}

impl Sink for TriggerAt {
    fn needs(&self) -> Needs {
        self.rec.needs()
    }
    fn before(&mut self, st: &State, ev: &RawEvent<'_>) -> SinkResult {
        self.seen += 1;
        if self.seen == self.at {
            let p = self
                .handle
                .trigger(self.before, self.after, &self.path)
                .unwrap();
            self.pending.send((ev.ts, p)).unwrap();
        }
        self.rec.before(st, ev)
    }
    fn filtered(&mut self, st: &State, ev: &RawEvent<'_>, pass: bool) -> SinkResult {
        self.rec.filtered(st, ev, pass)
    }
    fn finish(&mut self, st: &State) -> SinkResult {
        self.rec.finish(st)
    }
}

fn run(
    cfg: RecorderConfig,
    at: usize,
    before: Duration,
    after: Duration,
    path: &std::path::Path,
) -> (RecorderHandle, u64, sonde_recorder::CaptureReport) {
    let (rec, handle) = Recorder::new(cfg);
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = TriggerAt {
        rec,
        handle: handle.clone(),
        at,
        seen: 0,
        before,
        after,
        path: path.to_path_buf(),
        pending: tx,
    };
    let mut engine = Engine::new(Config::default());
    engine.add_sink(Box::new(sink));
    engine.run(Source::open_file(&trace()).unwrap()).unwrap();
    drop(engine);
    let (ts, p) = rx.recv().unwrap();
    let report = p.wait_timeout(Duration::from_secs(20)).unwrap();
    (handle, ts, report)
}

/// A trigger in the middle of the file: the capture starts at the segment
/// holding `trigger - before`, ends past `trigger + after`, and both
/// readers see the same events.
#[test]
fn trigger_writes_the_window_around_it() {
    let dir = common::tmpdir("window");
    let path = dir.join("mid.scap");
    let all = common::sonde_read(&trace(), &[]);
    assert!(all.len() > 100);
    let cfg = RecorderConfig {
        window: Duration::from_secs(3600),
        max_bytes: 64 << 20,
        segment: Duration::from_micros(100),
    };
    let before = Duration::from_micros(400);
    let after = Duration::from_micros(300);
    let (handle, _ts, report) = run(cfg, 70, before, after, &path);
    let got = common::sonde_read(&path, &[]);
    assert_eq!(got.len() as u64, report.events, "{report:?}");
    let start = report.trigger_ts - before.as_nanos() as u64;
    let end = report.trigger_ts + after.as_nanos() as u64;
    // the window's events are all there, and nothing from far outside it
    let want: Vec<u64> = all
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= start && *t <= end)
        .collect();
    let times: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
    for t in &want {
        assert!(times.contains(t), "event at {t} missing from the capture");
    }
    // what precedes the window is the rest of its first segment only
    assert!(
        times
            .iter()
            .filter(|t| **t < start)
            .all(|t| *t >= report.first_ts && *t < report.first_ts + 100_000),
        "starts too early: {report:?}"
    );
    assert!(times.len() < all.len(), "the whole file was written");
    assert!(times.iter().any(|t| *t < report.trigger_ts));
    assert!(times.iter().any(|t| *t > report.trigger_ts));
    assert_eq!(handle.stats().captures, 1);
    if common::have_sysdig() {
        let out = common::sysdig(&path, &["-p", "%evt.num %evt.rawtime"]);
        let lines = out.lines().count();
        // sysdig hides nothing in this trace: every event is a line
        assert_eq!(lines as u64, report.events, "{out}");
    } else {
        common::sysdig(&path, &[]);
    }
}

/// A ring over its byte cap drops its oldest segments and counts their
/// events; what is left still makes a readable file.
#[test]
fn byte_cap_drops_oldest_and_counts() {
    let dir = common::tmpdir("cap");
    let path = dir.join("capped.scap");
    let cfg = RecorderConfig {
        window: Duration::from_secs(3600),
        max_bytes: 12 << 10,
        segment: Duration::from_micros(50),
    };
    let (handle, _ts, report) = run(cfg, 120, Duration::from_secs(10), Duration::ZERO, &path);
    let s = handle.stats();
    assert!(s.dropped_events > 0, "{s:?}");
    assert!(s.bytes <= 12 << 10, "{s:?}");
    let got = common::sonde_read(&path, &[]);
    assert_eq!(got.len() as u64, report.events);
    assert!(report.events > 0 && report.events < 120, "{report:?}");
    // what is left is one run of the trace's events, intact (later
    // segments are written into the buffers of the dropped ones)
    let all: Vec<u64> = common::sonde_read(&trace(), &[])
        .iter()
        .map(|e| e.0)
        .collect();
    let times: Vec<u64> = got.iter().map(|e| e.0).collect();
    assert!(
        all.windows(times.len()).any(|w| w == times.as_slice()),
        "not a run of the trace: {times:?}"
    );
    common::sysdig(&path, &[]);
}

/// Triggers at the `at`-th event, then at the next one tells the recorder
/// the host went quiet until well past `after`: the capture is written
/// then, on the idle watermark, before any later event or the end.
struct QuietAfter {
    rec: Recorder,
    handle: RecorderHandle,
    at: usize,
    seen: usize,
    path: PathBuf,
    report: Option<sonde_recorder::CaptureReport>,
    out: std::sync::mpsc::Sender<sonde_recorder::CaptureReport>,
}

impl Sink for QuietAfter {
    fn needs(&self) -> Needs {
        self.rec.needs()
    }
    fn before(&mut self, st: &State, ev: &RawEvent<'_>) -> SinkResult {
        self.seen += 1;
        if self.seen == self.at {
            let after = Duration::from_secs(3600);
            let p = self.handle.trigger(Duration::ZERO, after, &self.path);
            self.rec.before(st, ev)?;
            self.rec.filtered(st, ev, true)?;
            // an idle beat short of `after` ends nothing ...
            self.rec.idle(ev.ts + 1_000_000_000, st)?;
            let p = p.unwrap();
            self.rec.idle(ev.ts + 3_600_000_000_000 + 1, st)?;
            // ... one past it writes the file now, not at the end
            let r = p.wait_timeout(Duration::from_secs(20)).unwrap();
            self.out.send(r.clone()).unwrap();
            self.report = Some(r);
            return Ok(());
        }
        self.rec.before(st, ev)
    }
    fn filtered(&mut self, st: &State, ev: &RawEvent<'_>, pass: bool) -> SinkResult {
        if self.seen == self.at {
            return Ok(());
        }
        self.rec.filtered(st, ev, pass)
    }
    fn finish(&mut self, st: &State) -> SinkResult {
        self.rec.finish(st)
    }
}

/// A quiet live host: no event comes after the trigger, yet the capture
/// ends `after` past it on the idle watermark, complete up to there.
#[test]
fn idle_beats_end_a_capture_on_a_quiet_host() {
    let dir = common::tmpdir("idle");
    let path = dir.join("quiet.scap");
    let (rec, handle) = Recorder::new(RecorderConfig::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = QuietAfter {
        rec,
        handle: handle.clone(),
        at: 50,
        seen: 0,
        path: path.clone(),
        report: None,
        out: tx,
    };
    let mut engine = Engine::new(Config::default());
    engine.add_sink(Box::new(sink));
    engine.run(Source::open_file(&trace()).unwrap()).unwrap();
    let report = rx
        .try_recv()
        .expect("the capture was written on the idle beat");
    assert_eq!(report.end_ts, report.trigger_ts + 3_600_000_000_000);
    assert!(
        report.last_ts < report.trigger_ts + 1_000_000_000,
        "{report:?}"
    );
    let got = common::sonde_read(&path, &[]);
    assert_eq!(got.len() as u64, report.events, "{report:?}");
    assert!(got.len() >= 50, "the events up to the trigger: {report:?}");
    assert_eq!(handle.stats().captures, 1);
}

//! The flight recorder on live capture: a marked workload runs, a capture
//! is asked for through the control socket, and the file holds the marked
//! events from before the trigger and some from after; sysdig reads it.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sonde_engine::{Config, Engine};
use sonde_recorder::control::{request_capture, ControlServer};
use sonde_recorder::{Recorder, RecorderConfig};

/// A child process (the capturing process itself is not captured) opens
/// `marker` (which does not exist) 40 times over about a second.
fn touch_for(marker: &str) {
    let script = format!(
        "i=0; while [ $i -lt 40 ]; do cat {marker} 2>/dev/null; sleep 0.02; i=$((i+1)); done"
    );
    let st = std::process::Command::new("sh")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(st.code().is_some());
}

#[test]
fn live_capture_holds_events_from_before_the_trigger() {
    if let Err(e) = sonde_probe::check_support() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: live capture is required: {e}"
        );
        eprintln!("live_capture_holds_events_from_before_the_trigger: skipped: {e}");
        return;
    }
    let dir = common::tmpdir("live");
    let out: PathBuf = dir.join("flight.scap");
    let sock = dir.join("run/agent.sock");
    let pid = std::process::id();
    let before_mark = format!("/nonexistent/sonde-rec-before-{pid}");
    let after_mark = format!("/nonexistent/sonde-rec-after-{pid}");

    let (rec, handle) = Recorder::new(RecorderConfig {
        window: Duration::from_secs(20),
        max_bytes: 128 << 20,
        segment: Duration::from_secs(1),
    });
    let server = ControlServer::start(&sock, handle.clone()).unwrap();
    let mode = std::fs::metadata(&sock).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let mut engine = Engine::new(Config::default());
    engine.add_sink(Box::new(rec));
    let src = engine.open_live().expect("live capture opens");
    let stop = engine.stop_handle();

    let (b, a, o, s) = (
        before_mark.clone(),
        after_mark.clone(),
        out.clone(),
        sock.clone(),
    );
    let work = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        touch_for(&b);
        std::thread::sleep(Duration::from_millis(1500));
        let t0 = Instant::now();
        // the client: what `sonde agent capture --before 10s --after 3s -w FILE` calls
        let asker = std::thread::spawn(move || {
            request_capture(&s, Duration::from_secs(10), Duration::from_secs(3), &o)
        });
        touch_for(&a);
        let r = asker.join().unwrap();
        let took = t0.elapsed();
        stop.stop();
        (r, took)
    });
    let report = engine.run(src).unwrap();
    let (capture, took) = work.join().unwrap();
    drop(server);
    assert!(!sock.exists(), "the socket is removed when the server goes");
    let capture = capture.expect("the capture is written");
    eprintln!(
        "capture {capture:?} in {took:?}; engine {report:?}; ring {:?}",
        handle.stats()
    );
    // `after` runs on event time from the newest event at the trigger,
    // which trails the wall clock by the probe's buffering
    assert!(
        took >= Duration::from_millis(2800),
        "returned before `after` elapsed: {took:?}"
    );
    // complete up to `after` past the trigger, even if the host went quiet
    assert!(
        capture.end_ts >= capture.trigger_ts + 3_000_000_000,
        "{capture:?}"
    );
    assert!(capture.last_ts <= capture.end_ts, "{capture:?}");
    assert!(took < Duration::from_secs(15), "capture took {took:?}");

    let evs = common::sonde_read(&capture.path, &[&before_mark, &after_mark]);
    assert_eq!(evs.len() as u64, capture.events);
    let before_hits: Vec<u64> = evs.iter().filter(|(_, h)| h[0]).map(|(t, _)| *t).collect();
    let after_hits: Vec<u64> = evs.iter().filter(|(_, h)| h[1]).map(|(t, _)| *t).collect();
    assert!(
        before_hits.len() >= 20,
        "{} marked events before",
        before_hits.len()
    );
    assert!(before_hits.iter().all(|t| *t < capture.trigger_ts));
    assert!(!after_hits.is_empty(), "no marked event after the trigger");
    assert!(after_hits.iter().any(|t| *t > capture.trigger_ts));
    assert!(evs.iter().all(|(t, _)| *t <= capture.last_ts));

    if common::have_sysdig() || std::env::var("CI").is_ok_and(|v| v == "true") {
        let filter = format!("fd.name contains sonde-rec- and fd.name contains {pid}");
        let text = common::sysdig(
            Path::new(&capture.path),
            &["-p", "%evt.type %fd.name", &filter],
        );
        let nb = text.lines().filter(|l| l.contains(&before_mark)).count();
        let na = text.lines().filter(|l| l.contains(&after_mark)).count();
        assert!(nb >= 20, "sysdig sees {nb} marked events before:\n{text}");
        assert!(na > 0, "sysdig sees no marked event after");
    }
}

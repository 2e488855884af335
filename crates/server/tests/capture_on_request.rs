//! A capture asked of a live agent through the server: a marked workload
//! runs on this host, then `POST /api/v1/captures` asks the agent (live
//! capture, flight recorder on) for the seconds before and after; the
//! request rides on the answer to the agent's next batch, the agent
//! uploads the file, the `capture` events say `requested` then `stored`,
//! and the downloaded file reads in sonde with the marked events from
//! before the request. Credentials are checked both ways.
//!
//! Capture on alert: a check on the agent turns critical once the
//! workload has run; a `check_critical` rule with a capture action fires,
//! and the capture it asks for, tagged with the rule, holds the marked
//! events from before the alert fired.
//!
//! Needs root and live capture (target/release/sonde); under `CI=true`
//! their absence fails the test.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::live::{self, wait_capturing, wait_host, Agent};
use common::*;
use serde_json::json;

fn ready() -> bool {
    live::ready("capture_on_request", &[], &[])
}

/// The `capture` events of `id`, oldest first.
fn states(s: &Server, id: &str, from_ms: i64) -> Vec<String> {
    let (st, j) = s.get(&format!("/api/v1/events?kind=capture&start={from_ms}"));
    assert_eq!(st, 200, "{j}");
    let mut v: Vec<(i64, String)> = j["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"]["id"] == id)
        .map(|e| {
            let state = e["tags"]["state"].as_str().unwrap_or("").to_string();
            (e["ts_ms"].as_i64().unwrap_or(0), state)
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, s)| s).collect()
}

/// A live agent with its flight recorder, sending to `s`.
fn start_agent(s: &Server, pki: &Pki, dir: &Path, extra: &[&str]) -> Agent {
    let sock = dir.join("ctl.sock");
    let mut args = vec!["-M", "120", "--recorder-window", "30", "--keepalive", "1"];
    args.extend_from_slice(extra);
    args.extend(["--control-socket", sock.to_str().unwrap()]);
    live::start_agent(s, pki, dir, "cap-host", &args)
}

/// Runs `cat` on `marker` (which does not exist) `n` times.
fn touch(marker: &str, n: u32) {
    let script = format!("for i in $(seq {n}); do cat {marker} 2>/dev/null; done; true");
    let st = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(st.success());
}

/// How many events of `file` name `marker`, as sonde reads it.
fn marked(file: &Path, marker: &str) -> usize {
    live::marked_lines(file, "%fd.name", marker).len()
}

/// Downloads capture `id` into `file`.
fn download(s: &Server, id: &str, file: &Path) {
    let path = format!("/api/v1/captures/{id}");
    let (code, bytes) = https_bytes(&s.tls, s.port, "GET", &path, Some(API_TOKEN), None).unwrap();
    assert_eq!(code, 200);
    std::fs::write(file, &bytes).unwrap();
}

/// Credentials both ways, and a bad span.
fn refusals(s: &Server) {
    let (code, _) = s
        .try_req(
            "POST",
            "/api/v1/captures",
            Some(AGENT_TOKEN),
            Some(("application/json", b"{}")),
        )
        .unwrap();
    assert_eq!(code, 401, "an agent token cannot ask");
    let (code, _) = s
        .try_req(
            "POST",
            "/api/v1/agent/captures/0123456789abcdef01234567",
            Some(API_TOKEN),
            Some(("application/octet-stream", b"x")),
        )
        .unwrap();
    assert_eq!(code, 401, "an API token cannot upload");
    let (code, j) = s.post_json(
        "/api/v1/captures",
        &json!({"host": "cap-host", "before_s": 9999}),
    );
    assert_eq!(code, 400, "{j}");
    let (code, _) = s.get("/api/v1/captures/ffffffffffffffffffffffff");
    assert_eq!(code, 404);
}

#[test]
fn capture_from_a_live_agent_holds_the_seconds_before_the_request() {
    if !ready() {
        return;
    }
    let dir = tmpdir("capture");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let from_ms = now_s() * 1000 - 2000;
    let agent = start_agent(&s, &pki, &dir, &[]);
    wait_host(&s, "cap-host", "ok");
    wait_capturing(&s);
    let marker = format!("/nonexistent/sonde-cap-before-{}", std::process::id());
    touch(&marker, 30);
    std::thread::sleep(Duration::from_millis(1500));
    refusals(&s);
    let (code, j) = s.post_json(
        "/api/v1/captures",
        &json!({"host": "cap-host", "before_s": 15, "after_s": 2, "reason": "test"}),
    );
    assert_eq!(code, 202, "{j}");
    let id = j["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let st = states(&s, &id, from_ms);
        if st.last().map(String::as_str) == Some("stored") {
            assert_eq!(st, ["requested", "stored"]);
            break;
        }
        assert!(
            !st.iter().any(|x| x == "failed"),
            "the capture failed: {st:?}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no capture stored: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let path = format!("/api/v1/captures/{id}");
    let (code, _) = s.try_req("GET", &path, Some(AGENT_TOKEN), None).unwrap();
    assert_eq!(code, 401, "an agent token cannot read");
    let file = dir.join("got.scap");
    download(&s, &id, &file);
    let n = marked(&file, &marker);
    assert!(n >= 30, "{n} marked events from before the request");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_alert_fires_and_its_capture_holds_the_seconds_before() {
    if !ready() {
        return;
    }
    let dir = tmpdir("alertcap");
    let pki = pki(&dir);
    let s = alerting_server(&pki, &dir);
    let trigger = dir.join("trigger");
    let checks = format!(
        "- name: disk\n  command: \"if [ -e {} ]; then echo broken; exit 2; fi; echo fine\"\n  interval: 0.5\n",
        trigger.display()
    );
    let checks_file = dir.join("checks.yaml");
    std::fs::write(&checks_file, checks).unwrap();
    let from_ms = now_s() * 1000 - 2000;
    let extra = ["--checks", checks_file.to_str().unwrap()];
    let agent = start_agent(&s, &pki, &dir, &extra);
    wait_host(&s, "cap-host", "ok");
    wait_capturing(&s);
    let rule = json!({
        "name": "disk-broken",
        "condition": {"check_critical": {"check": "disk"}},
        "for_ms": 0,
        "actions": [{"capture": {"seconds_before": 15, "seconds_after": 1}}]
    });
    let (code, j) = s.post_json("/api/v1/alerts/rules", &rule);
    assert_eq!(code, 201, "{j}");
    let marker = format!("/nonexistent/sonde-alert-before-{}", std::process::id());
    touch(&marker, 25);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&trigger, "x").unwrap();
    // the alert fires, then its capture is asked for and stored
    let t0 = Instant::now();
    let q = format!("/api/v1/events?kind=capture&tag=rule=disk-broken&start={from_ms}");
    let id = loop {
        let (code, j) = s.get(&q);
        assert_eq!(code, 200, "{j}");
        let evs = j["events"].as_array().cloned().unwrap_or_default();
        assert!(!evs.iter().any(|e| e["tags"]["state"] == "failed"), "{j}");
        if let Some(e) = evs.iter().find(|e| e["tags"]["state"] == "stored") {
            assert!(e["tags"]["alert_ts_ms"].is_string(), "{e}");
            break e["body"]["id"].as_str().unwrap().to_string();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no capture for the alert: {j}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let (_, h) = s.get("/api/v1/alerts/history?rule=disk-broken");
    assert!(h.to_string().contains("firing"), "{h}");
    let file = dir.join("alert.scap");
    download(&s, &id, &file);
    let n = marked(&file, &marker);
    assert!(n >= 25, "{n} marked events from before the alert");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

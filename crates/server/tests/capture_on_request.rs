//! A capture asked of a live agent through the server: a marked workload
//! runs on this host, then `POST /api/v1/captures` asks the agent (live
//! capture, flight recorder on) for the seconds before and after; the
//! request rides on the answer to the agent's next batch, the agent
//! uploads the file, the `capture` events say `requested` then `stored`,
//! and the downloaded file reads in sonde with the marked events from
//! before the request. Credentials are checked both ways.
//!
//! Needs root and live capture (target/release/sonde); under `CI=true`
//! their absence fails the test.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn sonde() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("sonde")
}

fn ready() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let why = if !root {
        "needs root"
    } else if !sonde().is_file() {
        "needs target/release/sonde (cargo build --release -p sonde)"
    } else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: capture_on_request {why}"
    );
    eprintln!("capture_on_request: skipped: {why}");
    false
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

#[test]
fn capture_from_a_live_agent_holds_the_seconds_before_the_request() {
    if !ready() {
        return;
    }
    let dir = tmpdir("capture");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    std::fs::write(dir.join("agent.token"), AGENT_TOKEN).unwrap();
    let from_ms = now_s() * 1000 - 2000;
    let mut agent = Command::new(sonde())
        .args([
            "agent",
            "-M",
            "120",
            "--agent-id",
            "cap-host",
            "--recorder-window",
            "30",
        ])
        .arg("--control-socket")
        .arg(dir.join("ctl.sock"))
        .arg("--server")
        .arg(format!("https://127.0.0.1:{}", s.port))
        .arg("--ca")
        .arg(&pki.ca)
        .arg("--token-file")
        .arg(dir.join("agent.token"))
        .arg("--spool-dir")
        .arg(dir.join("spool"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        let (_, j) = s.get("/api/v1/hosts");
        let ok = j["hosts"].as_array().is_some_and(|h| {
            h.iter()
                .any(|h| h["agent"] == "cap-host" || h["host"] == "cap-host")
        });
        if ok {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "the agent never reached the server: {j}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let marker = format!("/nonexistent/sonde-cap-before-{}", std::process::id());
    let st = Command::new("sh")
        .args([
            "-c",
            &format!("for i in $(seq 30); do cat {marker} 2>/dev/null; done; true"),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(1500));

    // credentials: the API token cannot upload, the agent token cannot ask or read
    let (st, _) = s.post_json("/api/v1/captures", &json!({"host": "cap-host"}));
    assert_eq!(st, 202, "a request with the default span is accepted");
    let (code, _) = s
        .try_req(
            "POST",
            "/api/v1/captures",
            Some(AGENT_TOKEN),
            Some(("application/json", b"{}")),
        )
        .unwrap();
    assert_eq!(code, 401);
    let (code, _) = s
        .try_req(
            "POST",
            "/api/v1/agent/captures/0123456789abcdef01234567",
            Some(API_TOKEN),
            Some(("application/octet-stream", b"x")),
        )
        .unwrap();
    assert_eq!(code, 401);
    let (code, j) = s.post_json(
        "/api/v1/captures",
        &json!({"host": "cap-host", "before_s": 9999}),
    );
    assert_eq!(code, 400, "{j}");

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
    let (code, _) = s
        .try_req(
            "GET",
            &format!("/api/v1/captures/{id}"),
            Some(AGENT_TOKEN),
            None,
        )
        .unwrap();
    assert_eq!(code, 401, "an agent token cannot read");
    let (code, bytes) = https_bytes(
        &s.tls,
        s.port,
        "GET",
        &format!("/api/v1/captures/{id}"),
        Some(API_TOKEN),
        None,
    )
    .unwrap();
    assert_eq!(code, 200);
    let file = dir.join("got.scap");
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new(sonde())
        .arg("-r")
        .arg(&file)
        .args(["-p", "%fd.name", &format!("fd.name={marker}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&marker))
        .count();
    assert!(
        n >= 30,
        "{n} marked events from before the request in the capture"
    );
    let (code, _) = s.get("/api/v1/captures/ffffffffffffffffffffffff");
    assert_eq!(code, 404);
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

//! Alerts and captures in the web UI, live: the real `sonde-server`
//! (alerts evaluated every second) fed by a real `sonde agent` (live
//! capture, flight recorder on) on this machine; Playwright drives
//! Debian's headless Chromium (web/tests/alerts.spec.ts). An editor
//! creates a rule on the `syscall.errors` of a podman container, with a
//! capture action; once the rule exists this test starts the workload of
//! the container (started before the agent, so the agent names it, and
//! idle until then), a loop opening a missing file; the page shows the
//! rule firing, the
//! editor acknowledges and silences it, follows the history's link to the
//! capture and downloads it through the page. The file, read by
//! `sonde -r`, holds the container's opens of that file from before the
//! alert fired. A viewer cannot create a rule (403); without a session,
//! nothing (401). Screenshots of the new pages go to target/ui-screenshots.
//!
//! Needs root, live capture (target/release/sonde), podman, crun and
//! Chromium; under `CI=true` a missing one fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::podman::{image, Container};
use common::*;
use serde_json::json;

const EDITOR: &str = "ed:editor-pa55word";
const VIEWER: &str = "val:viewer-pa55word";
const RULE: &str = "ctr-errors";

fn sonde() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("sonde")
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn ready() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let missing: Vec<&str> = ["podman", "crun", "unshare", "tar"]
        .into_iter()
        .filter(|t| !which(t))
        .collect();
    let why = if !root {
        "needs root".to_string()
    } else if !sonde().is_file() {
        "needs target/release/sonde (cargo build --release -p sonde)".to_string()
    } else if !missing.is_empty() {
        format!("needs {missing:?}")
    } else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: web_alerts {why}"
    );
    eprintln!("web_alerts: skipped: {why}");
    false
}

/// A live agent with a 30 s flight recorder, sending to `s`.
fn start_agent(s: &Server, pki: &Pki, dir: &Path) -> Child {
    std::fs::write(dir.join("agent.token"), AGENT_TOKEN).unwrap();
    Command::new(sonde())
        .args(["agent", "-M", "300", "--agent-id", "ui-host"])
        .args(["--recorder-window", "30", "--keepalive", "1"])
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
        .unwrap()
}

/// Waits until `cond` holds, for at most `secs`.
fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The raw times (ns) of the events of `file` on `marker`, as sonde reads it.
fn marked_times(file: &Path, marker: &str) -> Vec<i64> {
    let out = Command::new(sonde())
        .arg("-r")
        .arg(file)
        .args(["-p", "%evt.rawtime %fd.name", &format!("fd.name={marker}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn make_user(s: &Server, who: &str, role: &str) {
    let (name, pw) = who.split_once(':').unwrap();
    let (st, r) = s.post_json(
        "/api/v1/users",
        &json!({"name": name, "password": pw, "role": role}),
    );
    assert_eq!(st, 201, "{r}");
}

#[test]
fn an_alert_created_in_the_ui_fires_and_its_capture_downloads() {
    if !ready() {
        return;
    }
    need_chromium();
    let dir = tmpdir("webalerts");
    let pki = pki(&dir);
    std::fs::write(
        dir.join("alerts.json"),
        r#"{"interval_s": 1, "delay_ms": 500}"#,
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.arg("--alerts-config").arg(dir.join("alerts.json"));
    let s = Server::start_with(cmd, &pki, free_port(), &dir.join("data"));
    make_user(&s, EDITOR, "editor");
    make_user(&s, VIEWER, "viewer");
    image(&dir);
    // the container blocks (no syscall fails) on opening the `ctl/go`
    // FIFO until the test writes to it, then opens the marker in a loop
    let name = format!("sonde-ui-errs-{}", std::process::id());
    let marker = format!("/nonexistent/sonde-ui-marker-{}", std::process::id());
    let ctl = dir.join("ctl");
    std::fs::create_dir_all(&ctl).unwrap();
    let st = Command::new("mkfifo").arg(ctl.join("go")).status().unwrap();
    assert!(st.success(), "mkfifo");
    let script = format!(
        "touch /ctl/ready; cat /ctl/go >/dev/null; \
         while true; do cat {marker} 2>/dev/null; sleep 0.02; done"
    );
    let ctr = Container::run(&name, &script, &ctl);
    wait_for("the container never started", 60, || {
        ctl.join("ready").exists()
    });
    let mut agent = start_agent(&s, &pki, &dir);
    wait_for("the agent never reached the server", 40, || {
        let (_, j) = s.get("/api/v1/hosts");
        j["hosts"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["agent"] == "ui-host"))
    });
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let run = playwright(
        "alerts.spec.ts",
        s.port,
        &[
            ("SONDE_EDITOR", EDITOR.to_string()),
            ("SONDE_VIEWER", VIEWER.to_string()),
            ("SONDE_CONTAINER", name.clone()),
            ("SONDE_OUT", out.display().to_string()),
        ],
    );
    // the workload starts once the page has created the rule
    wait_for("the page never created the rule", 60, || {
        s.get(&format!("/api/v1/alerts/rules/{RULE}")).0 == 200
    });
    let (_, r) = s.get(&format!("/api/v1/alerts/rules/{RULE}"));
    assert_eq!(r["actions"][0]["capture"]["seconds_before"], 20.0, "{r}");
    std::fs::write(ctl.join("go"), "go\n").unwrap();
    finish(run);
    drop(ctr);

    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("alert.json")).unwrap()).unwrap();
    let fired_ns = meta["fired_ms"].as_i64().unwrap() * 1_000_000;
    let times = marked_times(&out.join("alert.scap"), &marker);
    let before = times.iter().filter(|&&t| t < fired_ns).count();
    println!(
        "capture: {} opens of the marker, {before} before the firing",
        times.len()
    );
    assert!(
        before >= 20,
        "{before} marked events from before the firing"
    );
    // the capture's file needs a session or a token
    let path = format!("/api/v1/captures/{}", meta["id"].as_str().unwrap());
    assert_eq!(s.req("GET", &path, None, None).0, 401);
    assert_eq!(s.req("GET", &path, Some(AGENT_TOKEN), None).0, 401);
    assert_shots(&[
        "alerts",
        "alerts-silenced",
        "alerts-viewer",
        "captures",
        "events-alerts",
    ]);
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

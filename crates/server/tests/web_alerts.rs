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

use std::path::Path;
use std::process::Command;

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::live::{self, wait_for, wait_host};
use common::podman::{image, Container};
use common::*;

const EDITOR: &str = "ed:editor-pa55word";
const VIEWER: &str = "val:viewer-pa55word";
const RULE: &str = "ctr-errors";

fn ready() -> bool {
    live::ready("web_alerts", &["podman", "crun", "unshare", "tar"], &[])
}

/// The raw times (ns) of the events of `file` on `marker`, as sonde reads it.
fn marked_times(file: &Path, marker: &str) -> Vec<i64> {
    live::marked_lines(file, "%evt.rawtime %fd.name", marker)
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn an_alert_created_in_the_ui_fires_and_its_capture_downloads() {
    if !ready() {
        return;
    }
    need_chromium();
    let dir = tmpdir("webalerts");
    let pki = pki(&dir);
    let s = alerting_server(&pki, &dir);
    make_user(&s, EDITOR, "editor", None);
    make_user(&s, VIEWER, "viewer", None);
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
        ctl.join("ready").exists().then_some(())
    });
    // a live agent with a 30 s flight recorder
    let args = ["-M", "300", "--recorder-window", "30", "--keepalive", "1"];
    let agent = live::start_agent(&s, &pki, &dir, "ui-host", &args);
    wait_host(&s, "ui-host", "ok");
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
        (s.get(&format!("/api/v1/alerts/rules/{RULE}")).0 == 200).then_some(())
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
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

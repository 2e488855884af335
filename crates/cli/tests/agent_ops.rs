//! `sonde agent` end to end with its operations side: a live agent sends
//! its metrics, check results and keepalives over TLS (token) to a
//! receiver started here; `sonde agent capture` asks it, through its
//! control socket, for the flight recorder's window, and the file holds
//! a marked workload from before the trigger, readable by sysdig 0.29.3.
#![cfg(feature = "live")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sonde_transport::receiver::Receiver;
use sonde_transport::{server_config, Batch, Ingest, Token};

type Got = Arc<Mutex<Vec<serde_json::Value>>>;

/// A CA (PEM, for the agent) and a server chain and key (for the receiver).
fn pki(
    dir: &Path,
) -> (
    std::path::PathBuf,
    Arc<sonde_transport::rustls::ServerConfig>,
) {
    let t = sonde_livetest::test_pki("agent");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &t.ca_pem).unwrap();
    let tls = server_config(
        vec![t.server_der.into()],
        sonde_transport::rustls::pki_types::PrivateKeyDer::Pkcs8(t.server_key_der.into()),
        None,
    )
    .unwrap();
    (ca_path, tls)
}

fn wait_for(secs: u64, f: impl FnMut() -> bool) -> bool {
    let (within, every) = (Duration::from_secs(secs), Duration::from_millis(100));
    sonde_livetest::eventually(within, every, f)
}

#[test]
fn live_agent_sends_metrics_checks_and_keepalives_and_records_before_a_trigger() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if let Err(e) = sonde_probe::check_support() {
        assert!(!ci, "CI=true: live capture is required: {e}");
        eprintln!("skipped: {e}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-agent-ops-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, tls) = pki(&dir);
    let got: Got = Arc::default();
    let g = got.clone();
    let ingest = Arc::new(Ingest::new(
        vec![Token::new("s3cret-token")],
        move |b: &Batch| {
            g.lock().unwrap().extend(b.records.iter().cloned());
            Ok(())
        },
    ));
    let rx = Receiver::start("127.0.0.1:0", tls, ingest).unwrap();
    std::fs::write(dir.join("token"), "s3cret-token\n").unwrap();
    std::fs::write(
        dir.join("checks.yaml"),
        "- name: disk\n  command: \"echo 'DISK CRITICAL - full | used=97%;80;90;0;100'; exit 2\"\n  interval: 1\n  timeout: 5\n",
    )
    .unwrap();
    let sock = dir.join("ctl.sock");
    let agent = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("agent")
        .arg("--server")
        .arg(format!("https://127.0.0.1:{}", rx.local_addr().port()))
        .arg("--ca")
        .arg(&ca)
        .arg("--token-file")
        .arg(dir.join("token"))
        .arg("--spool-dir")
        .arg(dir.join("spool"))
        .arg("--checks")
        .arg(dir.join("checks.yaml"))
        .args([
            "--keepalive",
            "1",
            "--recorder-window",
            "8",
            "--agent-id",
            "agent-ops-test",
        ])
        .arg("--control-socket")
        .arg(&sock)
        // a loaded machine may take a while to start the probe: the
        // agent is stopped with SIGTERM once the capture is written
        .args(["-M", "60", "--stdout"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // metrics reach the receiver once the probe runs
    let metric = |v: &serde_json::Value| v.get("name").is_some() && v.get("tags").is_some();
    assert!(
        wait_for(30, || got.lock().unwrap().iter().any(metric)),
        "no metric series reached the receiver"
    );
    // a marked workload, then the trigger
    let marker = dir.join(format!("marker-{}", std::process::id()));
    for _ in 0..5 {
        let _ = std::fs::read(&marker);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let rec = dir.join("rec.scap");
    let cap = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["agent", "capture", "--before", "5s", "--after", "1s", "-w"])
        .arg(&rec)
        .arg("--control-socket")
        .arg(&sock)
        .output()
        .unwrap();
    assert!(
        cap.status.success(),
        "sonde agent capture: {}",
        String::from_utf8_lossy(&cap.stderr)
    );
    // a few more keepalives, then a clean stop (it says it leaves)
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: kill(2) on the child's pid, which this test still owns.
    unsafe { libc::kill(agent.id() as libc::pid_t, libc::SIGTERM) };
    let out = agent.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "agent: {stderr}");
    assert!(
        !stderr.contains("s3cret-token"),
        "the token is never printed"
    );
    // the marked opens happened before the trigger and are in the file
    let filter = format!(
        "fd.name contains {}",
        marker.file_name().unwrap().to_str().unwrap()
    );
    for bin in [env!("CARGO_BIN_EXE_sonde"), "sysdig"] {
        let o = Command::new(bin)
            .arg("-r")
            .arg(&rec)
            .args(["-p", "%evt.num %evt.type %fd.name"])
            .arg(&filter)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{bin} reads the recording");
        assert!(
            text.lines().count() >= 5,
            "{bin}: the marked opens before the trigger:\n{text}"
        );
    }
    // the check's critical result on stdout and at the receiver, with perfdata
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"critical\"") && stdout.contains("DISK CRITICAL"));
    let got = got.lock().unwrap();
    let events: Vec<&serde_json::Value> = got
        .iter()
        .filter(|v| v["kind"] == "event")
        .map(|v| &v["event"])
        .collect();
    let check = events
        .iter()
        .find(|e| e["kind"] == "check")
        .expect("a check result at the receiver");
    assert_eq!(check["status"], "critical");
    assert!(check["perfdata"].to_string().contains("used"), "{check}");
    let keepalives: Vec<_> = events.iter().filter(|e| e["kind"] == "keepalive").collect();
    assert!(keepalives.len() >= 3, "keepalives: {}", keepalives.len());
    assert!(
        keepalives.last().is_some_and(|k| k["leaving"] == true),
        "the last keepalive says the agent left cleanly"
    );
    assert!(
        got.iter().filter(|v| metric(v)).count() > 50,
        "metric series"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

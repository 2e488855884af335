//! What the tests with a real `sonde agent` on this machine share: whether
//! they can run (root, target/release/sonde, tools; under `CI=true` a
//! missing one fails the test), the agent sending to a test server, and
//! polling until something holds.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Pki, Server, AGENT_TOKEN};
use sonde_livetest::{skip, which};

/// The `sonde` binary built beside this test (target/release/sonde).
pub fn sonde() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("sonde")
}

/// Whether test suite `name` can run: as root, with target/release/sonde,
/// every tool of `tools` on the PATH and every file of `files`. Under
/// `CI=true` a missing one fails the test; elsewhere it is skipped (false).
pub fn ready(name: &str, tools: &[&str], files: &[&str]) -> bool {
    let root = sonde_livetest::is_root();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    let absent: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !Path::new(f).is_file())
        .collect();
    let why = if !root {
        "needs root".to_string()
    } else if !sonde().is_file() {
        "needs target/release/sonde (cargo build --release -p sonde)".to_string()
    } else if !missing.is_empty() {
        format!("needs {missing:?}")
    } else if !absent.is_empty() {
        format!("needs {absent:?}")
    } else {
        return true;
    };
    skip(name, &why)
}

/// A running `sonde agent`, killed on drop.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A live `sonde agent` with id `id` and the flags `args`, sending to `s`
/// with the agent token (written to `dir`/agent.token), spooling in
/// `dir`/spool.
pub fn start_agent(s: &Server, pki: &Pki, dir: &Path, id: &str, args: &[&str]) -> Agent {
    std::fs::write(dir.join("agent.token"), AGENT_TOKEN).unwrap();
    let child = Command::new(sonde())
        .args(["agent", "--agent-id", id])
        .args(args)
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
    Agent(child)
}

/// Polls `f` every 300 ms until it gives a value; fails with `what` after
/// `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, f: impl FnMut() -> Option<T>) -> T {
    sonde_livetest::wait_for(
        what,
        Duration::from_secs(secs),
        Duration::from_millis(300),
        f,
    )
}

/// The status of the host whose agent is `agent` on `s` ("" if none).
pub fn host_status(s: &Server, agent: &str) -> String {
    let (_, h) = s.get("/api/v1/hosts");
    h["hosts"]
        .as_array()
        .and_then(|hs| hs.iter().find(|x| x["agent"] == agent))
        .and_then(|x| x["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Waits (40 s at most) until the host of `agent` is `status` on `s`.
pub fn wait_host(s: &Server, agent: &str, status: &str) {
    wait_for(
        &format!("the host of agent {agent} never became {status}"),
        40,
        || (host_status(s, agent) == status).then_some(()),
    );
}

/// Waits (40 s at most) until `s` holds the agent's syscall metrics: its
/// probe is attached and events flow (a keepalive alone goes out before
/// the probe loads, which can take seconds on a loaded machine).
pub fn wait_capturing(s: &Server) {
    wait_for("no syscall metrics from the agent", 40, || {
        let (_, m) = s.get("/api/v1/metrics");
        let names = m["metrics"].as_array().cloned().unwrap_or_default();
        names
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.starts_with("syscall.")))
            .then_some(())
    });
}

/// The lines `sonde -r file -p format fd.name=marker` prints that name
/// `marker`.
pub fn marked_lines(file: &Path, format: &str, marker: &str) -> Vec<String> {
    let out = Command::new(sonde())
        .arg("-r")
        .arg(file)
        .args(["-p", format, &format!("fd.name={marker}")])
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
        .map(str::to_string)
        .collect()
}

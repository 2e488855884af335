//! End to end: a real `sonde agent` (target/release/sonde, live capture,
//! as root) sends its seconds over TLS to a real `sonde-server`; a podman
//! container runs a small python HTTP server and a busy loop; curl on the
//! host makes N requests. A query by the container's name through
//! `/api/v1/metrics/query` returns its CPU (above zero) and its
//! server-side HTTP request count (exactly N, as the agent counts every
//! request it sees), and the host shows `ok`, then `deregistered` once the
//! agent stops cleanly.
//!
//! Needs root, BPF, podman, crun, unshare, python3 and curl; under
//! `CI=true` a missing one fails the test.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::live::{self, sonde, wait_host};
use common::podman::{image, Container};
use common::*;
use serde_json::json;
use sonde_livetest::{curl_status as curl, wait_port};

const WEB: &str = r#"
import sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer
def busy():
    while True:
        end = time.time() + 0.05
        while time.time() < end:
            pass
        time.sleep(0.05)
threading.Thread(target=busy, daemon=True).start()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn ready() -> bool {
    let tools = ["podman", "crun", "unshare", "curl", "tar"];
    live::ready("agent_e2e", &tools, &["/usr/bin/python3"])
}

fn total(
    s: &Server,
    metric: &str,
    name: &str,
    extra: &[(&str, &str)],
    time_agg: &str,
    from_ms: i64,
) -> f64 {
    let mut filters = vec![
        json!({"eq": ["container.name", name]}),
        json!({"eq": ["scope", "container"]}),
    ];
    filters.extend(extra.iter().map(|(k, v)| json!({"eq": [k, v]})));
    let q = json!({"metric": metric, "start_ms": from_ms, "end_ms": now_s() * 1000 + 1000, "step_ms": 0,
        "filters": filters, "time_agg": time_agg, "group_agg": "sum"});
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    match st {
        200 => a["groups"][0]["points"][0][1].as_f64().unwrap_or(0.0),
        404 => 0.0, // no such metric yet
        _ => panic!("{q}: {st} {a}"),
    }
}

/// `sonde server` without a sonde-server beside it: a clear error, exit 2.
#[test]
fn sonde_server_without_the_server_binary() {
    assert!(
        sonde().is_file(),
        "{} is missing: build the workspace (cargo build --release)",
        sonde().display()
    );
    let dir = tmpdir("alone");
    let alone = dir.join("sonde");
    std::fs::copy(sonde(), &alone).unwrap();
    let out = Command::new(&alone)
        .args(["server", "--help"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sonde-server binary is not installed next to sonde"),
        "{err}"
    );
    let out = Command::new(sonde())
        .args(["server", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--agent-token-file"));
    let out = Command::new(sonde())
        .args([
            "server",
            "--cert",
            "/nonexistent",
            "--key",
            "/x",
            "--api-token-file",
            "/y",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad flag exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn agent_to_server_query_by_container_name() {
    if !ready() {
        return;
    }
    let dir = tmpdir("e2e");
    let pki = pki(&dir);
    // through `sonde server`, which runs the sonde-server beside it
    let mut cmd = Command::new(sonde());
    cmd.arg("server");
    let s = Server::start_with(cmd, &pki, free_port(), &dir.join("data"));
    image(&dir);
    std::fs::write(dir.join("web.py"), WEB).unwrap();
    let name = format!("sonde-server-web-{}", std::process::id());
    let port = free_port();
    let from_ms = now_s() * 1000 - 2000;
    let web = Container::spawn(
        &name,
        &format!("--network host -v {}:/srv:ro", dir.display()),
        &format!("/usr/bin/python3 /srv/web.py {port}"),
    );
    wait_port(port, Duration::from_secs(30));
    let args = ["-M", "120", "--keepalive", "1", "--recorder-window", "0"];
    let agent = live::start_agent(&s, &pki, &dir, "e2e-host", &args);
    let pid = agent.0.id();
    wait_host(&s, "e2e-host", "ok");
    std::thread::sleep(Duration::from_secs(1)); // the probe is up by now
    let n = 25;
    for _ in 0..n {
        assert_eq!(curl(&format!("http://127.0.0.1:{port}/hello")), 200);
    }
    // the seconds of the requests reach the server within a few seconds
    let want = f64::from(n);
    let reqs = || {
        let server = [("side", "server")];
        total(&s, "http.requests", &name, &server, "sum", from_ms)
    };
    let t0 = Instant::now();
    let mut got = 0.0;
    while t0.elapsed() < Duration::from_secs(20) {
        got = reqs();
        if got >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    got = got.max(reqs());
    assert_eq!(
        got, want,
        "HTTP requests of container {name} through the server"
    );
    let cpu = total(&s, "cpu.user", &name, &[], "max", from_ms)
        + total(&s, "cpu.system", &name, &[], "max", from_ms);
    eprintln!("agent_e2e: {name}: {got} HTTP requests (made {n}), CPU user+system max {cpu}");
    assert!(cpu > 0.0, "CPU of the busy container: {cpu}");
    // a clean stop deregisters the host
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    wait_host(&s, "e2e-host", "deregistered");
    drop(agent);
    drop(web);
    let _ = std::fs::remove_dir_all(&dir);
}

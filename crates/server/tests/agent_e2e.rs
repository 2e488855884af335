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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const IMAGE: &str = "localhost/sonde-server-test:v1";

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

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn ready() -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let missing: Vec<&str> = ["podman", "crun", "unshare", "curl", "tar"]
        .into_iter()
        .filter(|t| !which(t))
        .collect();
    let ok = root && missing.is_empty() && Path::new("/usr/bin/python3").exists();
    if !ok {
        assert!(
            !ci,
            "agent_e2e: needs root ({root}), tools (missing {missing:?}) and python3 under CI"
        );
        eprintln!("agent_e2e: skipped: root {root}, missing {missing:?}");
    }
    ok
}

/// The `sonde` binary built beside this test (target/release/sonde).
fn sonde() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("sonde");
    assert!(
        p.is_file(),
        "{} is missing: build the workspace (cargo build --release)",
        p.display()
    );
    p
}

fn private(script: &str) -> Command {
    let full = format!("umount /sys/fs/cgroup/unified 2>/dev/null; {script}");
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &full]);
    c
}

fn run_private(script: &str) {
    let out = private(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An empty root with links into /usr (mounted from the host at run time).
fn image(dir: &Path) {
    let root = dir.join("rootfs");
    for d in [
        "usr", "etc", "srv", "tmp", "proc", "sys", "dev", "run", "var",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (l, t) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        let _ = std::os::unix::fs::symlink(t, root.join(l));
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    let tar = dir.join("img.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    run_private(&format!(
        "podman import {} {IMAGE} >/dev/null",
        tar.display()
    ));
}

struct Cleanup(Vec<Child>, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = private(&format!(
            "podman rm -f -t 1 {} >/dev/null 2>&1; true",
            self.1
        ))
        .status();
    }
}

fn curl(url: &str) -> u16 {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

fn host(s: &Server, agent: &str) -> String {
    let (_, h) = s.get("/api/v1/hosts");
    h["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["agent"] == agent)
        .map(|x| x["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
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
    let sonde = sonde();
    let dir = tmpdir("e2e");
    let pki = pki(&dir);
    // through `sonde server`, which runs the sonde-server beside it
    let mut cmd = Command::new(&sonde);
    cmd.arg("server");
    let s = Server::start_with(cmd, &pki, free_port(), &dir.join("data"));
    image(&dir);
    std::fs::write(dir.join("web.py"), WEB).unwrap();
    std::fs::write(dir.join("agent.token"), AGENT_TOKEN).unwrap();
    let name = format!("sonde-server-web-{}", std::process::id());
    let port = free_port();
    let from_ms = now_s() * 1000 - 2000;
    let web = private(&format!(
        "podman run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         --name {name} -v /usr:/usr:ro -v {}:/srv:ro {IMAGE} /usr/bin/python3 /srv/web.py {port}",
        dir.display()
    ))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut clean = Cleanup(vec![web], name.clone());
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the container never listened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let agent = Command::new(&sonde)
        .args([
            "agent",
            "-M",
            "120",
            "--agent-id",
            "e2e-host",
            "--keepalive",
            "1",
            "--recorder-window",
            "0",
        ])
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
    let pid = agent.id();
    clean.0.push(agent);
    let t0 = Instant::now();
    while host(&s, "e2e-host") != "ok" {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "the agent never reached the server: {}",
            host(&s, "e2e-host")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1)); // the probe is up by now
    let n = 25;
    for _ in 0..n {
        assert_eq!(curl(&format!("http://127.0.0.1:{port}/hello")), 200);
    }
    // the seconds of the requests reach the server within a few seconds
    let want = f64::from(n);
    let t0 = Instant::now();
    let mut got = 0.0;
    while t0.elapsed() < Duration::from_secs(20) {
        got = total(
            &s,
            "http.requests",
            &name,
            &[("side", "server")],
            "sum",
            from_ms,
        );
        if got >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    got = got.max(total(
        &s,
        "http.requests",
        &name,
        &[("side", "server")],
        "sum",
        from_ms,
    ));
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
    let t0 = Instant::now();
    while host(&s, "e2e-host") != "deregistered" {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "never deregistered: {}",
            host(&s, "e2e-host")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(clean);
    let _ = std::fs::remove_dir_all(&dir);
}

//! `sonde agent` live, with real podman containers (from an image imported
//! from a minimal root filesystem; `/usr` of the host mounted read-only for
//! python):
//!
//! - HTTP: a small python server of ours in a container (host network)
//!   answers `/ok` (200), `/missing` (404) and `/slow` (200 after 300 ms);
//!   curl on the host drives a known number of each. The container's
//!   server-side series count them by status class, carry the container's
//!   name and image, and the latencies land within the stated tolerance
//!   (`/slow`: 300 ms to +50 %; `/ok`: under 100 ms). A response sent with
//!   no request is counted as malformed; `/metrics` serves the same
//!   counters in the Prometheus text format.
//! - statsd: a process in a `--network none` container sends a counter, a
//!   timer and a gauge to 127.0.0.1:8125 (sendto, send on a connected
//!   socket, write) plus a malformed line; the series carry that
//!   container's tags, whatever the payload claims.
//!
//! Needs root, BPF, podman, crun, python3 and curl; under `CI=true` a
//! missing one fails.
#![cfg(feature = "live")]

mod agent_common;
mod live_common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agent_common::*;
use live_common::{private, run_private, Running};
use sonde_livetest::{curl_status as curl, free_port, wait_port};

static SERIAL: Mutex<()> = Mutex::new(());

const IMAGE: &str = "localhost/sonde-agent-test:v1";

fn ready(name: &str) -> bool {
    live_common::ready(name, &["podman", "crun", "unshare", "curl", "tar"])
        && Path::new("/usr/bin/python3").exists()
}

/// The test image: an empty root with the usual links into /usr (mounted
/// from the host at run time), imported once.
fn image(dir: &Path) {
    sonde_livetest::import_usr_image(dir, IMAGE);
}

fn podman_args(name: &str, net: &str, dir: &Path) -> String {
    format!(
        "podman run --rm --network {net} --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         --name {name} -v /usr:/usr:ro -v {}:/srv:ro {IMAGE}",
        dir.display()
    )
}

/// A running `sonde agent --stdout`.
struct Agent(Running);

impl Agent {
    /// Starts the agent and waits for its first second (the probe is up).
    fn start(extra: &[&str]) -> Agent {
        let run = Running::spawn(
            Command::new(sonde())
                .args(["agent", "--stdout", "-M", "90"])
                .args(extra),
        );
        let t0 = Instant::now();
        while run.count() == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the agent printed nothing in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Agent(run)
    }

    /// Stops it (SIGINT) and returns its series.
    fn stop(self) -> Vec<Line> {
        let (lines, _) = self.0.stop("sonde agent");
        parse_lines(&lines.join("\n"))
    }
}

const SERVER: &str = r#"
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(0.3)
        code = 404 if self.path.startswith("/missing") else 200
        body = b"hello\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

/// The merged latency histogram (count, min, max) of `lines`.
fn latency(lines: &[&Line]) -> (u64, u64, u64) {
    let count = lines.iter().map(|l| l["count"].as_u64().unwrap()).sum();
    let min = lines
        .iter()
        .map(|l| l["min"].as_u64().unwrap())
        .min()
        .unwrap_or(0);
    let max = lines
        .iter()
        .map(|l| l["max"].as_u64().unwrap())
        .max()
        .unwrap_or(0);
    (count, min, max)
}

fn prometheus_text(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn http_in_a_container() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("http_in_a_container") {
        return;
    }
    let dir = tmpdir("http");
    image(&dir);
    std::fs::write(dir.join("server.py"), SERVER).unwrap();
    let name = format!("sonde-agent-web-{}", std::process::id());
    let port = free_port();
    let prom = free_port();
    let _ = run_private(&format!("podman rm -f {name} >/dev/null 2>&1; true"));
    let mut server = private(&format!(
        "{} /usr/bin/python3 /srv/server.py {port}",
        podman_args(&name, "host", &dir)
    ))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_port(port, Duration::from_secs(20));
    let agent = Agent::start(&["--prometheus", &format!("127.0.0.1:{prom}")]);
    let (n_ok, n_missing, n_slow) = (20, 10, 5);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..n_ok {
        assert_eq!(curl(&format!("{base}/ok")), 200);
    }
    for _ in 0..n_missing {
        assert_eq!(curl(&format!("{base}/missing")), 404);
    }
    for _ in 0..n_slow {
        assert_eq!(curl(&format!("{base}/slow")), 200);
    }
    // a response with no request: malformed
    {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
    }
    std::thread::sleep(Duration::from_millis(2500));
    let metrics = prometheus_text(prom);
    let lines = agent.stop();
    let _ = run_private(&format!("podman rm -f -t 1 {name} >/dev/null 2>&1; true"));
    let _ = server.kill();
    let _ = server.wait();

    let ctr = [
        ("scope", "container"),
        ("container.name", name.as_str()),
        ("side", "server"),
    ];
    let reqs = select(&lines, "http.requests", &ctr);
    assert!(!reqs.is_empty(), "no container HTTP series");
    for l in &reqs {
        assert_eq!(tag(l, "container.image"), Some(IMAGE), "{l}");
        assert_eq!(tag(l, "container.image.tag"), Some("v1"), "{l}");
        assert!(tag(l, "container.id").is_some_and(|i| i.len() == 12), "{l}");
    }
    let class = |c: &str| {
        let mut w = ctr.to_vec();
        w.push(("http.status_class", c));
        total(&select(&lines, "http.requests", &w))
    };
    assert_eq!(class("2xx"), f64::from(n_ok + n_slow), "2xx");
    assert_eq!(class("4xx"), f64::from(n_missing), "4xx");
    let mut w = ctr.to_vec();
    w.push(("http.path", "/missing"));
    assert_eq!(
        total(&select(&lines, "http.requests", &w)),
        f64::from(n_missing)
    );
    // latency: /slow sleeps 300 ms (tolerance +50 %), /ok answers at once (< 100 ms)
    let path = |p: &'static str| {
        let mut w = ctr.to_vec();
        w.push(("http.path", p));
        latency(&select(&lines, "http.latency", &w))
    };
    let (n, min, max) = path("/slow");
    assert_eq!(n, n_slow as u64);
    assert!(
        min >= 300_000_000 && max < 450_000_000,
        "/slow latency {min}..{max} ns"
    );
    let (n, _, max) = path("/ok");
    assert_eq!(n, n_ok as u64);
    assert!(max < 100_000_000, "/ok max latency {max} ns");
    // the process series name the server
    let p = select(
        &lines,
        "http.requests",
        &[("scope", "process"), ("container.name", name.as_str())],
    );
    assert!(
        p.iter().all(|l| tag(l, "proc.name") == Some("python3")),
        "{p:?}"
    );
    // auto-discovery: the container's listening port serves http
    let port_s = port.to_string();
    let info = select(
        &lines,
        "app.info",
        &[
            ("scope", "container"),
            ("container.name", name.as_str()),
            ("net.port", port_s.as_str()),
        ],
    );
    assert!(!info.is_empty(), "no app.info for the server's port");
    let last = info.last().unwrap();
    assert_eq!(tag(last, "app.protocol"), Some("http"), "{last}");
    assert!(
        tag(last, "app.exe").is_some_and(|e| e.starts_with("python3")),
        "{last}"
    );
    assert!(
        total(&select(
            &lines,
            "sonde.http.malformed",
            &[("scope", "host")]
        )) >= 1.0
    );
    // the agent's own cost
    assert!(!select(&lines, "sonde.agent.rss", &[]).is_empty());
    assert!(!select(&lines, "sonde.agent.drops", &[]).is_empty());
    // the container's other metrics
    assert!(
        total(&select(
            &lines,
            "net.bytes",
            &[("scope", "container"), ("container.name", name.as_str())]
        )) > 0.0
    );
    // Prometheus: the same counters, accumulated
    let want = format!("container_name=\"{name}\"");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sonde_http_requests_total{")
                && l.contains(&want)
                && l.contains("status_class=\"4xx\"")),
        "no 4xx counter of the container in /metrics:\n{metrics}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const SENDER: &str = r#"
import os, socket, time
# something bound to the port, so the connected socket gets no ICMP refusals
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 8125))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("127.0.0.1", 8125))
for i in range(3):
    u.sendto(b"app.jobs:2|c|#team:x,container.name:evil", ("127.0.0.1", 8125))
    c.send(b"app.job_time:250|ms")
    os.write(c.fileno(), b"app.queue:7|g\nthis is not statsd")
    time.sleep(0.2)
"#;

#[test]
fn statsd_from_a_container_without_network() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("statsd_from_a_container_without_network") {
        return;
    }
    let dir = tmpdir("statsd");
    image(&dir);
    std::fs::write(dir.join("sender.py"), SENDER).unwrap();
    let name = format!("sonde-agent-statsd-{}", std::process::id());
    let agent = Agent::start(&[]);
    run_private(&format!(
        "{} /usr/bin/python3 /srv/sender.py",
        podman_args(&name, "none", &dir)
    ));
    std::thread::sleep(Duration::from_millis(1500));
    let lines = agent.stop();

    let ctr = [("scope", "container"), ("container.name", name.as_str())];
    let jobs = select(&lines, "app.jobs", &ctr);
    let all_jobs = select(&lines, "app.jobs", &[]);
    assert_eq!(total(&jobs), 6.0, "app.jobs: {all_jobs:?}");
    for l in &jobs {
        assert_eq!(tag(l, "team"), Some("x"), "{l}");
        assert_eq!(tag(l, "container.image"), Some(IMAGE), "{l}");
    }
    // the payload's container.name is never trusted
    assert!(select(&lines, "app.jobs", &[("container.name", "evil")]).is_empty());
    let t = select(&lines, "app.job_time", &ctr);
    assert_eq!(latency(&t), (3, 250_000_000, 250_000_000), "timer: {t:?}");
    let g = select(&lines, "app.queue", &ctr);
    assert!(
        !g.is_empty() && g.iter().all(|l| l["value"] == 7.0),
        "gauge: {g:?}"
    );
    let p = select(
        &lines,
        "app.jobs",
        &[("scope", "process"), ("container.name", name.as_str())],
    );
    assert!(
        !p.is_empty() && p.iter().all(|l| tag(l, "proc.name") == Some("python3")),
        "{p:?}"
    );
    assert_eq!(total(&select(&lines, "sonde.statsd.malformed", &ctr)), 3.0);
    let _ = std::fs::remove_dir_all(dir);
}

/// 3,000 `epoll_wait`s on a bad fd (EBADF) and 2,000 that time out at once.
const WAITER: &str = r#"
import ctypes, os, select
libc = ctypes.CDLL(None, use_errno=True)
for _ in range(3000):
    libc.syscall(232, -1, None, 1, 0)
ep = select.epoll()
buf = ctypes.create_string_buffer(64)
for _ in range(2000):
    libc.syscall(232, ep.fileno(), buf, 1, 0)
"#;

/// The waits the agent only counts (epoll, poll, futex, sleeps) are
/// counted in the kernel, with no event: a process's errors come out as
/// the events give them (`--all-events`), and the agent says how many
/// calls the kernel counted.
#[test]
fn waits_are_counted_in_the_kernel() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !live_common::ready("waits_are_counted_in_the_kernel", &["python3"]) {
        return;
    }
    let run = |extra: &[&str]| {
        let agent = Agent::start(extra);
        let out = Command::new("python3")
            .args(["-c", WAITER])
            .spawn()
            .unwrap();
        let pid = out.id().to_string();
        let st = out.wait_with_output().unwrap().status;
        assert!(st.success(), "the waiter failed: {st}");
        std::thread::sleep(Duration::from_millis(1500));
        let lines = agent.stop();
        let errors: Vec<Line> = select(&lines, "syscall.errors", &[("proc.pid", &pid)])
            .into_iter()
            // (python's own EBADFs are of other categories)
            .filter(|l| tag(l, "error.errno") == Some("EBADF"))
            .filter(|l| tag(l, "error.category") == Some("other"))
            .cloned()
            .collect();
        let counted = total(&select(&lines, "sonde.agent.kernel_counted", &[]));
        (errors, counted)
    };
    let (kernel, counted) = run(&[]);
    let (events, none) = run(&["--all-events"]);
    assert!(counted >= 5000.0, "kernel-counted calls: {counted}");
    assert_eq!(none, 0.0, "--all-events counts nothing in the kernel");
    let sum = |ls: &[Line]| total(&ls.iter().collect::<Vec<_>>());
    assert_eq!(sum(&kernel), 3000.0, "{kernel:?}");
    assert_eq!(sum(&events), 3000.0, "{events:?}");
    // the same series, tags and all (but the pid: two processes)
    let tags = |ls: &[Line]| {
        let mut t: Vec<String> = ls
            .iter()
            .map(|l| {
                let mut t = l["tags"].clone();
                t.as_object_mut().unwrap().remove("proc.pid");
                t.to_string()
            })
            .collect();
        t.sort();
        t.dedup();
        t
    };
    assert_eq!(tags(&kernel), tags(&events));
}

/// An HTTP server with a Prometheus endpoint in a container without
/// network, and a client in it that makes it seen as HTTP.
const EXPORTER: &str = r#"
import threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            body = b'# TYPE jobs_done counter\njobs_done{queue="mail",scope="evil"} 7\nup 1\n'
        else:
            body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", 8080), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
for i in range(3):
    urllib.request.urlopen("http://127.0.0.1:8080/").read()
    time.sleep(0.2)
time.sleep(6)
"#;

#[test]
fn prometheus_endpoint_in_a_container_is_discovered_and_scraped() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("prometheus_endpoint_in_a_container_is_discovered_and_scraped") {
        return;
    }
    let dir = tmpdir("scrape");
    image(&dir);
    std::fs::write(dir.join("exporter.py"), EXPORTER).unwrap();
    let conf = dir.join("agent.yaml");
    std::fs::write(&conf, "scrape:\n  enabled: true\n  interval_s: 1\n").unwrap();
    let name = format!("sonde-agent-scrape-{}", std::process::id());
    let agent = Agent::start(&["--config", conf.to_str().unwrap()]);
    run_private(&format!(
        "{} /usr/bin/python3 /srv/exporter.py",
        podman_args(&name, "none", &dir)
    ));
    let lines = agent.stop();

    let ctr = [("scope", "container"), ("container.name", name.as_str())];
    let mut info = ctr.to_vec();
    info.push(("net.port", "8080"));
    let found = select(&lines, "app.info", &info);
    assert!(
        found.iter().any(|l| tag(l, "app.protocol") == Some("http")),
        "no app.info with http on 8080: {found:?}"
    );
    // scraped inside the container's network namespace, tagged from the
    // event stream: the payload's scope label is dropped
    let jobs = select(&lines, "jobs_done", &ctr);
    assert!(!jobs.is_empty(), "jobs_done was not scraped");
    for l in &jobs {
        assert_eq!(l["value"], 7.0, "{l}");
        assert_eq!(tag(l, "queue"), Some("mail"), "{l}");
        assert_eq!(tag(l, "net.port"), Some("8080"), "{l}");
        assert_eq!(tag(l, "container.image"), Some(IMAGE), "{l}");
    }
    let p = select(
        &lines,
        "up",
        &[("scope", "process"), ("container.name", name.as_str())],
    );
    assert!(
        !p.is_empty() && p.iter().all(|l| tag(l, "proc.name") == Some("python3")),
        "{p:?}"
    );
    assert!(select(&lines, "jobs_done", &[("scope", "host")]).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

/// A DNS server and a resolver-like client in one container: 12 names
/// answered, 5 unknown (NXDOMAIN), each query waiting for its answer.
const DNS: &str = r#"
import socket, struct, threading
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 53))
def serve():
    while True:
        q, peer = srv.recvfrom(512)
        rcode = 3 if b"missing" in q else 0
        srv.sendto(q[:2] + struct.pack(">H", 0x8180 | rcode) + q[4:], peer)
threading.Thread(target=serve, daemon=True).start()
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("127.0.0.1", 53))
def ask(i, name):
    labels = b"".join(bytes([len(l)]) + l for l in name.encode().split(b"."))
    c.send(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", 1, 1))
    a = c.recv(512)
    assert a[:2] == struct.pack(">H", i)
for i in range(12):
    ask(i + 1, "ok%d.sonde.test" % i)
for i in range(5):
    ask(100 + i, "missing%d.sonde.test" % i)
"#;

/// DNS from payloads: the container's client and server sides count
/// every query with its type, response code and name, and time them.
#[test]
fn dns_in_a_container() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("dns_in_a_container") {
        return;
    }
    let dir = tmpdir("dns");
    image(&dir);
    std::fs::write(dir.join("dns.py"), DNS).unwrap();
    let name = format!("sonde-agent-dns-{}", std::process::id());
    let agent = Agent::start(&[]);
    run_private(&format!(
        "{} /usr/bin/python3 /srv/dns.py",
        podman_args(&name, "none", &dir)
    ));
    std::thread::sleep(Duration::from_millis(1500));
    let lines = agent.stop();

    for side in ["client", "server"] {
        let sel = |extra: &[(&str, &str)]| {
            let mut t = vec![
                ("scope", "container"),
                ("container.name", name.as_str()),
                ("side", side),
            ];
            t.extend_from_slice(extra);
            total(&select(&lines, "dns.requests", &t))
        };
        assert_eq!(
            sel(&[]),
            17.0,
            "{side}: {:?}",
            select(&lines, "dns.requests", &[])
        );
        assert_eq!(sel(&[("dns.rcode", "NOERROR"), ("dns.qtype", "A")]), 12.0);
        assert_eq!(sel(&[("dns.rcode", "NXDOMAIN")]), 5.0);
        assert_eq!(sel(&[("dns.name", "missing3.sonde.test")]), 1.0);
        let lat = select(
            &lines,
            "dns.latency",
            &[
                ("scope", "container"),
                ("container.name", name.as_str()),
                ("side", side),
            ],
        );
        let (count, min, max) = latency(&lat);
        assert_eq!(count, 17, "{side} latency: {lat:?}");
        assert!(min > 0 && max < 5_000_000_000, "{side}: {min}..{max} ns");
    }
    let _ = std::fs::remove_dir_all(dir);
}

//! The topology map's edges carry the HTTP requests that went over them,
//! with real components: the real `sonde-server` fed by a real `sonde
//! agent` (live capture) on this machine, and two podman containers
//! sharing one network namespace: `edgesrv-*` runs a Python HTTP server
//! answering each request with the status and after the delay it asks
//! for, `edgecli-*` makes N requests over a few keep-alive connections
//! (known statuses: 200, 404, 503; one in ten slow) and writes what it
//! measured to a file. Through the API, the edge from the client
//! container to the server container (at the container level, and with
//! the map drilled into the host) reports exactly N requests, the 5xx
//! and 4xx counts the client got, and a p95 within tolerance of the p95
//! the client measured; the server container's node served the same N.
//! Then Playwright (web/tests/topology_http.spec.ts)
//! checks the edge's label and tooltip on the topology page and saves a
//! screenshot (target/ui-screenshots/topology-edges.png).
//!
//! Needs root, live capture (target/release/sonde), podman, crun,
//! python3 and Chromium; under `CI=true` a missing one fails the test.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::live::{ready, start_agent, wait_for};
use common::podman::{image, Container};
use common::*;
use serde_json::Value as J;

const ADMIN_PW: &str = "admin-pa55word";
/// Requests the client makes, and how many share one connection.
const N: usize = 60;
const PER_CONN: usize = 10;

const SERVER_PY: &str = r#"
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the body right after the headers: no Nagle wait for the client's
    # delayed ack (the agent times the request to the answer's first write)
    disable_nagle_algorithm = True
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        time.sleep(int(q["ms"][0]) / 1000.0)
        body = b"answer\n"
        self.send_response(int(q["code"][0]))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
open("/ctl/srv.ready", "w").close()
srv.serve_forever()
"#;

/// Request i: 503 when i % 6 == 0, 404 when i % 6 == 3, else 200; 50 ms
/// when i % 10 == 9, else 5 ms. Waits first, so the agent knows the
/// container's name before its first connection.
const CLIENT_PY: &str = r#"
import http.client, json, os, sys, time
port, n, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
time.sleep(5)
out, c = [], None
for i in range(n):
    if i % per == 0:
        if c is not None:
            c.close()
        c = http.client.HTTPConnection("127.0.0.1", port)
    ms = 50 if i % 10 == 9 else 5
    code = 503 if i % 6 == 0 else 404 if i % 6 == 3 else 200
    t0 = time.monotonic()
    c.request("GET", "/r?ms=%d&code=%d" % (ms, code))
    r = c.getresponse()
    r.read()
    out.append([r.status, (time.monotonic() - t0) * 1000.0])
c.close()
with open("/ctl/client.tmp", "w") as f:
    json.dump(out, f)
os.rename("/ctl/client.tmp", "/ctl/client.json")
time.sleep(600)
"#;

/// A podman container named `name` running `cmd` with the network `net`
/// and `ctl` at /ctl, removed on drop.
fn ctr(name: &str, net: &str, cmd: &str, ctl: &Path) -> Container {
    let args = format!("--network={net} -v {}:/ctl", ctl.display());
    Container::spawn(name, &args, cmd)
}

/// The p95 of `v` by nearest rank (the store's rule).
fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((0.95 * v.len() as f64).ceil() as usize).max(1);
    v[rank - 1]
}

/// The edge `from` -> `to` of the map at `path`, once it carries HTTP.
fn http_edge(s: &Server, path: &str, from: &str, to: &str) -> Option<J> {
    let (st, g) = s.get(path);
    assert_eq!(st, 200, "{path}: {g}");
    let e = g["edges"]
        .as_array()?
        .iter()
        .find(|e| e["from"] == from && e["to"] == to)?
        .clone();
    (e["http"]["requests"].as_f64()? >= N as f64).then_some(e)
}

/// The edge reports the client's requests: all N, its 5xx and 4xx, and
/// a p95 within 15% (+ 2 ms) of what it measured.
fn check_edge(e: &J, fives: usize, fours: usize, want_p95_ms: f64) {
    let h = &e["http"];
    assert_eq!(h["requests"].as_f64(), Some(N as f64), "{e}");
    assert_eq!(h["errors"].as_f64(), Some(fives as f64), "{e}");
    assert_eq!(h["client_errors"].as_f64(), Some(fours as f64), "{e}");
    let got = h["p95_ms"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (got - want_p95_ms).abs() <= want_p95_ms * 0.15 + 2.0,
        "p95 {got} ms, the client measured {want_p95_ms} ms: {e}"
    );
    assert!(
        e["connections"].as_u64() >= Some((N / PER_CONN) as u64),
        "{e}"
    );
}

#[test]
fn edges_carry_the_http_requests_that_went_over_them() {
    if !ready(
        "topology_http",
        &["podman", "crun", "unshare", "tar"],
        &["/usr/bin/python3"],
    ) {
        return;
    }
    need_chromium();
    let dir = tmpdir("topohttp");
    let pki = pki(&dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.env("SONDE_ADMIN_PASSWORD", ADMIN_PW);
    let s = Server::start_with(cmd, &pki, free_port(), &dir.join("data"));
    image(&dir);
    let ctl = dir.join("ctl");
    std::fs::create_dir_all(&ctl).unwrap();
    std::fs::write(ctl.join("srv.py"), SERVER_PY).unwrap();
    std::fs::write(ctl.join("cli.py"), CLIENT_PY).unwrap();
    // a live agent without a flight recorder
    let agent = start_agent(
        &s,
        &pki,
        &dir,
        "edges-host",
        &["-M", "300", "--recorder-window", "0", "--keepalive", "1"],
    );
    wait_for("the agent never reported", 60, || {
        let (st, h) = s.get("/api/v1/hosts");
        (st == 200 && h.to_string().contains("edges-host")).then_some(())
    });
    let port = free_port();
    let id = std::process::id();
    let (srv_name, cli_name) = (format!("edgesrv-{id}"), format!("edgecli-{id}"));
    let srv = ctr(
        &srv_name,
        "none",
        &format!("/usr/bin/python3 /ctl/srv.py {port}"),
        &ctl,
    );
    wait_for("the server container never started", 60, || {
        ctl.join("srv.ready").exists().then_some(())
    });
    let cli = ctr(
        &cli_name,
        &format!("container:{srv_name}"),
        &format!("/usr/bin/python3 /ctl/cli.py {port} {N} {PER_CONN}"),
        &ctl,
    );
    let got: Vec<(u16, f64)> = wait_for("the client never finished", 90, || {
        let t = std::fs::read_to_string(ctl.join("client.json")).ok()?;
        serde_json::from_str(&t).ok()
    });
    assert_eq!(got.len(), N);
    let fives = got.iter().filter(|r| r.0 == 503).count();
    let fours = got.iter().filter(|r| r.0 == 404).count();
    assert_eq!((fives, fours), (10, 10), "{got:?}");
    let want = p95(got.iter().map(|r| r.1).collect());
    println!("client: {N} requests, 5xx {fives}, 4xx {fours}, p95 {want:.2} ms");

    // the containers' map, then drilled into the host
    let flat = "/api/v1/topology?level=container.name&range_ms=900000";
    let t0 = Instant::now();
    let e = wait_for("no edge with all the requests", 60, || {
        http_edge(&s, flat, &cli_name, &srv_name)
    });
    println!("edge after {:.1} s: {e}", t0.elapsed().as_secs_f64());
    check_edge(&e, fives, fours, want);
    // the server's node: the same requests served, each counted once
    // (not for its host, container and process each)
    let (_, g) = s.get(flat);
    let node = g["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == srv_name.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no node {srv_name}: {g}"));
    let served = node["requests_per_s"].as_f64().unwrap() * 900.0;
    assert!((served - N as f64).abs() < 1e-6, "{node}");
    let host = {
        let (_, g) = s.get("/api/v1/topology?level=host.hostname&range_ms=900000");
        let nodes = g["nodes"].as_array().cloned().unwrap_or_default();
        let n = nodes.iter().find(|n| n["kind"] == "group").cloned();
        n.and_then(|n| n["id"].as_str().map(str::to_string))
            .expect("the host's node")
    };
    let drilled = format!(
        "/api/v1/topology?level=container.name&scope=host.hostname%3D{host}&range_ms=900000"
    );
    let d = http_edge(&s, &drilled, &cli_name, &srv_name).expect("the drilled edge");
    check_edge(&d, fives, fours, want);
    assert_eq!(d["http"], e["http"]);

    let out = finish(playwright(
        "topology_http.spec.ts",
        s.port,
        &[
            ("SONDE_ADMIN_PASSWORD", ADMIN_PW.to_string()),
            ("SONDE_HOST", host),
            ("SONDE_SRV", srv_name),
            ("SONDE_CLI", cli_name),
            ("SONDE_REQUESTS", N.to_string()),
        ],
    ));
    assert!(out.status.success());
    assert_shots(&["topology-edges"]);
    drop(cli);
    drop(srv);
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

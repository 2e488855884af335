//! Explore down to processes and the live tables, with a real agent: the
//! real `sonde-server` fed by a real `sonde agent` (live capture) on this
//! machine, and a podman container labelled as a Kubernetes pod
//! (namespace, deployment, pod) running a known process, `livewrk` (a
//! copy of perl) that talks to itself over a loopback TCP connection.
//! Through the API: the container's live `procs` table (asked of the
//! agent through its batches' acknowledgements, run on its event stream
//! filtered to the container) lists `livewrk` and none of the host's
//! other processes, and its `connections` table lists the connection; a
//! bad view or scope gives 400 with the reason, an unknown host 404, an
//! agent's token or no credentials 401, a team user outside the
//! container's namespace 403. Then Playwright (web/tests/live.spec.ts),
//! as a viewer: Explore drills namespace > deployment > pod > container >
//! process, finds `livewrk`, opens the container's Live page and switches
//! its view, with screenshots in target/ui-screenshots.
//!
//! Needs root, live capture (target/release/sonde), podman, crun and
//! Chromium; under `CI=true` a missing one fails the test.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::live::{self, wait_for};
use common::podman::{image, Container};
use common::*;
use serde_json::{json, Value as J};

const ADMIN_PW: &str = "admin-pa55word";
const VIEWER: &str = "val:viewer-pa55word";
const OUTSIDER: &str = "tom:outsider-pa55word";
const NS: &str = "livens";
const DEP: &str = "live-web";
const POD: &str = "live-web-7f9c-x2";
const PROC: &str = "livewrk";

fn ready() -> bool {
    let tools = ["podman", "crun", "unshare", "tar"];
    live::ready("web_live", &tools, &["/usr/bin/perl"])
}

/// The workload: `livewrk` listening on 127.0.0.1:`port`, and its child
/// sending to it every 50 ms on a new connection each second (so the
/// agent, started later, sees connections made in the container's
/// network namespace).
fn workload(ctl: &Path, port: u16) {
    std::fs::copy("/usr/bin/perl", ctl.join(PROC)).unwrap();
    let script = format!(
        r#"use IO::Socket::INET;
my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => {port},
    Listen => 5, ReuseAddr => 1) or die "listen: $!";
open(my $f, ">", "/ctl/ready"); close($f);
if (fork() == 0) {{
    while (1) {{
        my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => {port}) or die "connect: $!";
        for (1 .. 20) {{ syswrite($c, "x" x 1000); select(undef, undef, undef, 0.05); }}
        close($c);
    }}
}}
while (my $a = $srv->accept) {{
    my $buf;
    while (sysread($a, $buf, 4096)) {{}}
    close($a);
}}
"#
    );
    std::fs::write(ctl.join("work.pl"), script).unwrap();
}

/// The session cookie of `who` (`user:password`).
fn session(s: &Server, who: &str) -> String {
    let (user, pw) = who.split_once(':').unwrap();
    login(s, user, pw)
}

fn get_as(s: &Server, cookie: &str, path: &str) -> (u16, String) {
    let (st, _, b) = https_raw(&s.tls, s.port, "GET", path, &[("Cookie", cookie)], None).unwrap();
    (st, b)
}

/// The process series of `livewrk`: its container's tags.
fn find_process(s: &Server) -> Option<J> {
    let now = now_s() * 1000;
    let q = json!({
        "metric": "cpu.user", "start_ms": now - 120_000, "end_ms": now + 1000, "step_ms": 0,
        "time_agg": "avg", "group_agg": "sum",
        "filters": [{"eq": ["scope", "process"]}, {"eq": ["proc.name", PROC]}],
        "group_by": ["host.hostname", "container.id", "container.name", "k8s.ns.name",
                     "k8s.deployment.name", "k8s.pod.name", "proc.pid"],
    });
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    if st != 200 {
        return None;
    }
    let g = a["groups"].as_array()?.first()?.clone();
    Some(g["tags"].clone())
}

/// Polls the live table until a row satisfies `want`; that row.
fn live_row(s: &Server, path: &str, what: &str, want: impl Fn(&J) -> bool) -> J {
    let mut last = J::Null;
    let t0 = Instant::now();
    loop {
        let (st, a) = s.get(path);
        assert_eq!(st, 200, "{path}: {a}");
        if let Some(r) = a["sample"]["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| want(r)))
        {
            return r.clone();
        }
        last = if a["sample"].is_null() { last } else { a };
        assert!(
            t0.elapsed() < Duration::from_secs(45),
            "{what}: never in {path}; last sample: {last}"
        );
        std::thread::sleep(Duration::from_millis(1000));
    }
}

fn text(r: &J) -> String {
    r.to_string()
}

/// The API's rules: credentials, bad input, teams.
fn refusals(s: &Server, host: &str, ctr: &str) {
    let path = format!("/api/v1/live?host={host}&view=procs&container={ctr}");
    assert_eq!(s.req("GET", &path, None, None).0, 401);
    assert_eq!(s.req("GET", &path, Some(AGENT_TOKEN), None).0, 401);
    let (st, e) = s.get(&format!("/api/v1/live?host={host}&view=nope"));
    assert_eq!(st, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("unknown view 'nope'"),
        "{e}"
    );
    let (st, e) = s.get(&format!(
        "/api/v1/live?host={host}&view=procs&container=zz%20or%201"
    ));
    assert_eq!(st, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("bad scope"), "{e}");
    let (st, e) = s.get("/api/v1/live?host=no-such-host&view=procs");
    assert_eq!(st, 404, "{e}");
    // a team that is not given the container's namespace
    let team = json!({"namespaces": ["elsewhere"]}).to_string();
    let (st, r) = s.req(
        "PUT",
        "/api/v1/teams/others",
        Some(API_TOKEN),
        Some(("application/json", team.as_bytes())),
    );
    assert_eq!(st, 200, "{r}");
    make_user(s, OUTSIDER, "viewer", Some("others"));
    let tom = session(s, OUTSIDER);
    let (st, b) = get_as(s, &tom, &path);
    assert_eq!(st, 403, "{b}");
    let (st, b) = get_as(s, &tom, &format!("/api/v1/live?host={host}&view=procs"));
    assert_eq!(st, 403, "a host's table holds every namespace: {b}");
}

#[test]
fn explore_reaches_processes_and_live_tables_come_from_the_agent() {
    if !ready() {
        return;
    }
    need_chromium();
    let dir = tmpdir("weblive");
    let pki = pki(&dir);
    let s = admin_server(&pki, &dir, ADMIN_PW);
    make_user(&s, VIEWER, "viewer", None);
    image(&dir);
    let ctl = dir.join("ctl");
    std::fs::create_dir_all(&ctl).unwrap();
    let port = free_port();
    workload(&ctl, port);
    let labels = format!(
        "--label io.kubernetes.pod.namespace={NS} --label io.kubernetes.pod.name={POD} \
         --label sonde.k8s/deployment.name={DEP}"
    );
    let cname = format!("sonde-live-{}", std::process::id());
    let ctr = Container::run_with(
        &cname,
        &labels,
        &format!("exec /ctl/{PROC} /ctl/work.pl"),
        &ctl,
    );
    wait_for("the container never started", 60, || {
        ctl.join("ready").exists().then_some(())
    });
    // a live agent, no flight recorder
    let args = ["-M", "300", "--recorder-window", "0", "--keepalive", "1"];
    let agent = live::start_agent(&s, &pki, &dir, "live-host", &args);
    let tags = wait_for("no process series of the workload", 60, || find_process(&s));
    println!("workload's process series: {tags}");
    assert_eq!(tags["k8s.ns.name"], NS, "{tags}");
    assert_eq!(tags["k8s.deployment.name"], DEP, "{tags}");
    let host = tags["host.hostname"].as_str().unwrap().to_string();
    let id = tags["container.id"].as_str().unwrap().to_string();

    // the container's processes: the workload's, and nothing else
    let procs = format!("/api/v1/live?host={host}&view=procs&container={id}");
    let t0 = Instant::now();
    let row = live_row(&s, &procs, "livewrk in procs", |r| text(r).contains(PROC));
    println!(
        "first procs row of livewrk after {:.1} s: {row}",
        t0.elapsed().as_secs_f64()
    );
    let (_, a) = s.get(&procs);
    let rows = a["sample"]["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| !text(r).contains("sonde")),
        "another process in the container's table: {a}"
    );
    let conns = format!("/api/v1/live?host={host}&view=connections&container={id}");
    let row = live_row(&s, &conns, "the loopback connection", |r| {
        r["k"]
            .as_str()
            .is_some_and(|k| k.contains(&format!(":{port}")))
    });
    println!("connections row: {row}");
    refusals(&s, &host, &id);

    let out = finish(playwright(
        "live.spec.ts",
        s.port,
        &[
            ("SONDE_VIEWER", VIEWER.to_string()),
            ("SONDE_NS", NS.to_string()),
            ("SONDE_DEP", DEP.to_string()),
            ("SONDE_POD", POD.to_string()),
            (
                "SONDE_CTR",
                tags["container.name"].as_str().unwrap_or("").to_string(),
            ),
            ("SONDE_PROC", PROC.to_string()),
            ("SONDE_LIVE_PORT", port.to_string()),
        ],
    ));
    assert!(out.status.success());
    assert_shots(&["explore-processes", "live-procs", "live-connections"]);
    drop(ctr);
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

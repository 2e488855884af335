//! `sonde agent -r FILE`: the metrics of a capture, on its clock. The
//! HTTP transactions it counts agree with sysdig's `httplog` chisel on the
//! shared traces and on a capture of nginx and curl recorded now; two
//! replays print the same bytes; explicit tags reach every series; a bad
//! configuration or `--tag` exits with 2 and names the key.

mod agent_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use agent_common::*;
use sonde_livetest::free_port;

fn scap_files() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(traces_dir())
        .expect("shared traces")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no traces in {}", traces_dir().display());
    v
}

#[test]
fn http_agrees_with_httplog_on_shared_traces() {
    if !have("http_agrees_with_httplog_on_shared_traces", &["sysdig"]) {
        return;
    }
    let mut seen = 0;
    for f in scap_files() {
        // a trace sysdig cannot read, compared with the one holding the same events
        let oracle = match f.file_name().and_then(|n| n.to_str()) {
            Some("curl_google_comments.scap") => f.with_file_name("curl_google.scap"),
            _ => f.clone(),
        };
        let want = httplog(&oracle);
        let (_, lines) = replay(&f, &[]);
        let got = agent_http(&lines);
        assert_eq!(got, want, "{}: agent vs httplog", f.display());
        seen += want.values().sum::<u64>();
    }
    // curl_google.scap holds one GET
    assert!(seen >= 1, "no HTTP transaction in the shared traces");
}

#[test]
fn replay_is_deterministic() {
    for f in scap_files() {
        let (a, lines) = replay(&f, &[]);
        let (b, _) = replay(&f, &[]);
        assert_eq!(a, b, "{}: two replays differ", f.display());
        assert!(!lines.is_empty(), "{}: no series", f.display());
        // every second has the agent's own event count, on the capture's clock
        assert!(!select(&lines, "sonde.agent.events", &[("scope", "host")]).is_empty());
        for l in &lines {
            assert!(l["ts"].as_u64().unwrap() > 1_000_000_000, "ts: {l}");
            assert!(tag(l, "scope").is_some(), "no scope: {l}");
        }
    }
}

#[test]
fn explicit_tags_reach_every_series() {
    let dir = tmpdir("tags");
    let cfg = dir.join("agent.yaml");
    std::fs::write(
        &cfg,
        "tags:\n  env: ci\n  team: obs\nlimits:\n  max_series: 100000\n",
    )
    .unwrap();
    let f = traces_dir().join("curl_google.scap");
    let (_, lines) = replay(
        &f,
        &["--config", cfg.to_str().unwrap(), "--tag", "team=core"],
    );
    assert!(!lines.is_empty());
    for l in &lines {
        assert_eq!(tag(l, "env"), Some("ci"), "{l}");
        // --tag wins over the file
        assert_eq!(tag(l, "team"), Some("core"), "{l}");
        assert_eq!(tag(l, "host.hostname"), Some("ip-10-0-0-79"), "{l}");
    }
    // process series carry the process
    let curl = select(
        &lines,
        "syscall.count",
        &[("scope", "process"), ("proc.name", "curl")],
    );
    assert!(!curl.is_empty(), "no curl process series");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn series_cap_is_counted() {
    let dir = tmpdir("cap");
    let cfg = dir.join("agent.yaml");
    std::fs::write(&cfg, "limits:\n  max_series: 12\n").unwrap();
    let f = traces_dir().join("curl_google.scap");
    let (_, lines) = replay(&f, &["--config", cfg.to_str().unwrap()]);
    let dropped = total(&select(&lines, "sonde.agent.series_dropped", &[]));
    assert!(dropped > 0.0, "a cap of 12 series dropped nothing");
    let _ = std::fs::remove_dir_all(dir);
}

fn exit_of(args: &[&str]) -> (i32, String) {
    let out = Command::new(sonde()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tmpdir("badcfg");
    let f = traces_dir().join("curl_google.scap");
    let f = f.to_str().unwrap();
    for (text, key) in [
        ("limits:\n  max_seriez: 10\n", "max_seriez"),
        ("limits:\n  max_series: many\n", "limits.max_series"),
        ("tags: [1, 2]\n", "tags"),
        ("snaplen: 5\n", "snaplen"),
        ("colour: blue\n", "colour"),
    ] {
        let cfg = dir.join("bad.yaml");
        std::fs::write(&cfg, text).unwrap();
        let (code, err) = exit_of(&["agent", "-r", f, "--config", cfg.to_str().unwrap()]);
        assert_eq!(code, 2, "{text:?}: {err}");
        assert!(
            err.contains(key),
            "{text:?}: error does not name {key}: {err}"
        );
    }
    let (code, err) = exit_of(&["agent", "-r", f, "--config", "/nonexistent/agent.yaml"]);
    assert_eq!(code, 2, "{err}");
    let (code, err) = exit_of(&["agent", "-r", f, "--tag", "novalue"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("novalue"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

fn nginx_conf(dir: &Path, port: u16) -> std::path::PathBuf {
    let conf = dir.join("nginx.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
              fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
              server {{\n  listen 127.0.0.1:{port};\n  location = /ok {{ return 200 \"ok\\n\"; }}\n\
               location = /created {{ return 201 \"made\\n\"; }}\n  location / {{ return 404; }}\n }}\n}}\n"
        ),
    )
    .unwrap();
    conf
}

/// Waits until `port` accepts connections.
fn wait_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

/// nginx and curl captured live with `sonde -w`, then read by the agent
/// and by sysdig's httplog: the same transactions.
#[cfg(feature = "live")]
#[test]
fn http_agrees_with_httplog_on_recorded_capture() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root under CI"
        );
        eprintln!("skipped: needs root");
        return;
    }
    if !have(
        "http_agrees_with_httplog_on_recorded_capture",
        &["sysdig", "nginx", "curl"],
    ) {
        return;
    }
    let dir = tmpdir("rec");
    let port = free_port();
    let conf = nginx_conf(&dir, port);
    let mut nginx = Command::new(which("nginx").unwrap())
        .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port);
    let cap = dir.join("cap.scap");
    let mut sonde = Command::new(sonde())
        .args([
            "-w",
            cap.to_str().unwrap(),
            "-s",
            "1024",
            "proc.name in (nginx, curl)",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the probe attaches in well under this
    std::thread::sleep(Duration::from_secs(3));
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..5 {
        // several requests per connection (keep-alive), as httplog pairs them
        let st = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
            ])
            .arg(format!("{base}/ok"))
            .arg(format!("{base}/missing"))
            .arg(format!("{base}/created"))
            .arg(format!("{base}/ok"))
            .status()
            .unwrap();
        assert!(st.success());
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(sonde.id() as i32, libc::SIGINT) };
    let st = sonde.wait().unwrap();
    let _ = nginx.kill();
    let _ = nginx.wait();
    assert!(st.success(), "sonde -w failed");
    let want = httplog(&cap);
    let (_, lines) = replay(&cap, &[]);
    let got = agent_http(&lines);
    assert_eq!(got, want, "agent vs httplog on {}", cap.display());
    // both sides of every request: 20 requests, client and server
    let n: u64 = want.values().sum();
    assert_eq!(n, 40, "httplog saw {want:?}");
    let url = format!("127.0.0.1:{port}/missing");
    assert_eq!(want.get(&(">".into(), "GET".into(), url, 404)), Some(&5));
    let _ = std::fs::remove_dir_all(dir);
}

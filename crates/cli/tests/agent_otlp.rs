//! `sonde agent --otlp URL`: what reaches an OTLP/HTTP receiver that
//! decodes with OpenTelemetry's own protobuf definitions (Python's
//! `opentelemetry-proto`, installed by `.ci/install-deps` in
//! /opt/sonde-py) is, point for point, what `--stdout` prints in the same
//! run: same names, tags, timestamps and values; the kinds map to delta
//! sums, gauges and histograms; a receiver that answers 503 first loses
//! nothing; the headers reach it and are never printed; a bad URL or
//! header exits with 2.

mod agent_common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use agent_common::*;

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("SONDE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/sonde-py/bin/python3"));
    let ok = Command::new(&p)
        .args(["-c", "import opentelemetry.proto.collector.metrics.v1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{}: no opentelemetry-proto under CI (run .ci/install-deps)",
        p.display()
    );
    eprintln!("skipped: {} has no opentelemetry-proto", p.display());
    None
}

struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Receiver {
    fn start(py: &Path, out: PathBuf, statuses: &[&str]) -> Receiver {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/receiver.py");
        let mut child = Command::new(py)
            .arg(script)
            .arg(&out)
            .args(statuses)
            .stdout(Stdio::piped())
            .spawn()
            .expect("receiver");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port = first.trim().parse().expect("receiver port");
        Receiver { child, port, out }
    }

    fn rows(mut self) -> Vec<serde_json::Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        parse_lines(&std::fs::read_to_string(&self.out).unwrap_or_default())
    }
}

type Key = (String, String, u64);

fn key(name: &str, tags: &serde_json::Value, ts: u64) -> Key {
    let t: BTreeMap<&str, &str> = tags
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    (name.to_string(), format!("{t:?}"), ts)
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// Checks one stdout line against the receiver's point.
fn check(line: &serde_json::Value, p: &serde_json::Value, ts: u64) {
    let kind = p["kind"].as_str().unwrap();
    match line["type"].as_str().unwrap() {
        "counter" => {
            assert_eq!(kind, "sum", "{line}");
            assert_eq!(p["monotonic"], true);
            assert_eq!(p["temporality"], 1, "delta");
            assert_eq!(p["start"].as_u64(), Some(ts - 1_000_000_000));
            assert!(
                same(
                    line["value"].as_f64().unwrap(),
                    p["value"].as_f64().unwrap()
                ),
                "{line} vs {p}"
            );
        }
        "gauge" => {
            assert_eq!(kind, "gauge", "{line}");
            let want = line["value"].as_f64().unwrap_or(f64::NAN);
            assert!(
                same(want, p["value"].as_f64().unwrap_or(f64::NAN)),
                "{line} vs {p}"
            );
        }
        "histogram" => {
            assert_eq!(kind, "histogram", "{line}");
            assert_eq!(p["unit"], "ns");
            assert_eq!(p["count"], line["count"], "{line} vs {p}");
            assert!(same(
                line["sum"].as_f64().unwrap(),
                p["sum"].as_f64().unwrap()
            ));
            let b: Vec<u64> = p["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(b.len(), p["bounds"].as_array().unwrap().len() + 1);
            assert_eq!(
                b.iter().sum::<u64>(),
                line["count"].as_u64().unwrap(),
                "{p}"
            );
        }
        t => panic!("unknown type {t}"),
    }
}

#[test]
fn otlp_points_equal_the_json_lines_of_the_same_run() {
    let Some(py) = python() else { return };
    let mut files: Vec<_> = std::fs::read_dir(traces_dir())
        .expect("shared traces")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    files.sort();
    let dir = tmpdir("otlp");
    let mut total = 0;
    for (i, f) in files.iter().enumerate() {
        // the first request of every run is refused with 503: retried, not lost
        let rx = Receiver::start(&py, dir.join(format!("{i}.jsonl")), &["503"]);
        let out = Command::new(sonde())
            .args(["agent", "--stdout", "-r"])
            .arg(f)
            .arg("--otlp")
            .arg(format!("http://127.0.0.1:{}", rx.port))
            .args(["--otlp-header", "api-key=s3cret-key"])
            .env("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", f.display());
        assert!(
            !stderr.contains("s3cret"),
            "a header value was printed: {stderr}"
        );
        let lines = parse_lines(&String::from_utf8(out.stdout).unwrap());
        let rows = rx.rows();
        let requests: Vec<_> = rows.iter().filter(|r| r.get("request").is_some()).collect();
        assert!(
            rows.iter().all(|r| r.get("error").is_none()),
            "{}: {rows:?}",
            f.display()
        );
        assert!(requests.len() >= 2, "{}: a retry was expected", f.display());
        for r in &requests {
            assert_eq!(r["request"], "/v1/metrics");
            assert_eq!(r["content_type"], "application/json");
            assert_eq!(r["api_key"], "s3cret-key");
            assert_eq!(r["tenant"], "t1");
        }
        let mut points: BTreeMap<Key, &serde_json::Value> = BTreeMap::new();
        for p in rows.iter().filter(|r| r.get("kind").is_some()) {
            assert_eq!(p["resource"]["service.name"], "sonde-agent");
            assert_eq!(p["scope"], "sonde-agent");
            let k = key(
                p["name"].as_str().unwrap(),
                &p["attrs"],
                p["time"].as_u64().unwrap(),
            );
            assert!(
                points.insert(k, p).is_none(),
                "{}: a point came twice: {p}",
                f.display()
            );
        }
        assert_eq!(
            points.len(),
            lines.len(),
            "{}: points vs lines",
            f.display()
        );
        for l in &lines {
            let ts = l["ts_ns"].as_u64().unwrap();
            let k = key(l["name"].as_str().unwrap(), &l["tags"], ts);
            let p = points
                .get(&k)
                .unwrap_or_else(|| panic!("{}: no OTLP point for {l}", f.display()));
            check(l, p, ts);
        }
        total += lines.len();
    }
    assert!(total > 100, "only {total} series in the shared traces");
}

#[test]
fn bad_otlp_flags_exit_2() {
    let f = traces_dir().join("curl_google.scap");
    for (args, want) in [
        (vec!["--otlp", "ftp://127.0.0.1:4318"], "bad OTLP URL"),
        (
            vec![
                "--otlp",
                "http://127.0.0.1:4318",
                "--otlp-header",
                "novalue",
            ],
            "expected KEY=VALUE",
        ),
        (
            vec!["--otlp", "http://127.0.0.1:4318", "--otlp-header", "k=a\nb"],
            "bad OTLP header",
        ),
        (
            vec![
                "--otlp",
                "https://127.0.0.1:4318",
                "--otlp-ca",
                "/nonexistent/ca.pem",
            ],
            "OTLP TLS",
        ),
    ] {
        let out = Command::new(sonde())
            .args(["agent", "--stdout", "-r"])
            .arg(&f)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

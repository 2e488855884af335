//! What the `sonde agent` tests share: running the agent, reading its JSON
//! lines, summing series, and sysdig's `httplog` as the oracle.
#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One series of one second, as `--stdout` prints it.
pub type Line = serde_json::Value;

pub fn sonde() -> &'static str {
    env!("CARGO_BIN_EXE_sonde")
}

pub use sonde_livetest::which;

/// Under CI a missing tool fails the test; elsewhere it is skipped.
pub fn have(name: &str, tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| which(t).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{name}: missing {missing:?} under CI"
    );
    eprintln!("{name}: skipped: missing {missing:?}");
    false
}

pub fn traces_dir() -> PathBuf {
    std::env::var_os("SONDE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"))
}

pub fn tmpdir(tag: &str) -> PathBuf {
    sonde_livetest::tmpdir("agent", tag)
}

/// Parses `--stdout` output.
pub fn parse_lines(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// `sonde agent -r FILE --stdout`: its lines (the run must succeed).
pub fn replay(file: &Path, extra: &[&str]) -> (String, Vec<Line>) {
    let out = Command::new(sonde())
        .args(["agent", "-r"])
        .arg(file)
        .arg("--stdout")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sonde agent -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines = parse_lines(&text);
    (text, lines)
}

pub fn tag<'a>(l: &'a Line, k: &str) -> Option<&'a str> {
    l["tags"][k].as_str()
}

/// The series named `name` whose tags include every pair of `want`.
pub fn select<'a>(lines: &'a [Line], name: &str, want: &[(&str, &str)]) -> Vec<&'a Line> {
    lines
        .iter()
        .filter(|l| l["name"] == name)
        .filter(|l| want.iter().all(|(k, v)| tag(l, k) == Some(*v)))
        .collect()
}

/// The sum of the counter values (or histogram counts) of `lines`.
pub fn total(lines: &[&Line]) -> f64 {
    lines
        .iter()
        .map(|l| {
            l["value"]
                .as_f64()
                .or_else(|| l["count"].as_f64())
                .unwrap_or(0.0)
        })
        .sum()
}

/// One HTTP transaction as httplog prints it: direction, method, url, status.
pub type Tx = (String, String, String, u64);

/// `sysdig -r FILE -c httplog`, as transactions with their counts.
pub fn httplog(file: &Path) -> BTreeMap<Tx, u64> {
    let out = Command::new("sysdig")
        .arg("-r")
        .arg(file)
        .args(["-c", "httplog"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sysdig: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        // DATE TIME DIR method=M url=U response_code=C latency=..
        let f: Vec<&str> = l.split_whitespace().collect();
        let get = |k: &str| {
            f.iter()
                .find_map(|x| x.strip_prefix(k))
                .unwrap_or_else(|| panic!("no {k} in {l:?}"))
                .to_string()
        };
        let tx = (
            f[2].to_string(),
            get("method="),
            get("url="),
            get("response_code=").parse().unwrap(),
        );
        *m.entry(tx).or_default() += 1;
    }
    m
}

/// The agent's host-scope `http.requests` as httplog's transactions
/// (client side `>`, server side `<`; url = host + path).
pub fn agent_http(lines: &[Line]) -> BTreeMap<Tx, u64> {
    let mut m = BTreeMap::new();
    for l in select(lines, "http.requests", &[("scope", "host")]) {
        let dir = match tag(l, "side") {
            Some("client") => ">",
            Some("server") => "<",
            _ => "<NA>",
        };
        let url = format!(
            "{}{}",
            tag(l, "http.host").unwrap_or(""),
            tag(l, "http.path").unwrap_or("")
        );
        let tx = (
            dir.to_string(),
            tag(l, "http.method").unwrap_or("").to_string(),
            url,
            tag(l, "http.status").unwrap_or("0").parse().unwrap(),
        );
        *m.entry(tx).or_default() += l["value"].as_f64().unwrap() as u64;
    }
    m
}

//! The top-table chisels under `-j`: sonde's bundled topscalls,
//! topscalls_time and httptop print the JSON document sysdig 0.29.3's
//! print (sample time, rows, columns) on every shared trace. sysdig's
//! key order comes from a Lua hash walk and changes between runs, so the
//! documents are compared by their parts, not byte for byte.

mod trace_common;

use std::path::PathBuf;
use std::process::Command;

use trace_common::{oracle_ready, scap_files, traces_dir};

fn traces() -> Vec<PathBuf> {
    let mut v = scap_files(&traces_dir()).unwrap_or_default();
    // sysdig cannot read this one (it holds the same events as curl_google)
    v.retain(|p| !p.ends_with("curl_google_comments.scap"));
    v
}

fn sysdig_ready() -> bool {
    oracle_ready("sysdig")
}

/// The parts of a top table's JSON document: the time, the rows (the
/// rows tied with the last one reduced to their value) and the columns
/// (each as its sorted `"key":value` members, or `null`).
#[derive(Debug, PartialEq)]
struct Doc {
    ts: String,
    rows: Vec<String>,
    cols: Vec<Vec<String>>,
}

fn member<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim()
        .strip_prefix(&format!("\"{key}\":"))
        .map(|v| v.trim_end_matches(','))
}

fn parse(text: &str) -> Doc {
    let mut ts = String::new();
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(v) = member(line, "ts") {
            ts = v.to_string();
        } else if let Some(v) = member(line, "data") {
            let inner = v.trim_start_matches('[').trim_end_matches(']');
            rows = inner
                .split("],[")
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect();
        } else if let Some(v) = member(line, "info") {
            // `"info":[{` or `"info":[null,{`
            if v.contains("null") {
                cols.push(vec!["null".to_string()]);
            }
            cur = Some(Vec::new());
        } else if line.trim().starts_with('}') && cur.is_some() {
            let mut c = cur.take().unwrap_or_default();
            c.sort();
            cols.push(c);
            if line.contains("null") {
                cols.push(vec!["null".to_string()]);
            }
            if line.contains('{') {
                cur = Some(Vec::new());
            }
        } else if let Some(c) = cur.as_mut() {
            c.push(line.trim().trim_end_matches(',').to_string());
        }
    }
    // rows tied with the last one: the cut picks among them at random
    let last = rows
        .last()
        .and_then(|r| r.rsplit(',').next())
        .map(str::to_string);
    let mut rows: Vec<String> = rows
        .into_iter()
        .map(|r| match &last {
            Some(l) if r.rsplit(',').next() == Some(l.as_str()) => l.clone(),
            _ => r,
        })
        .collect();
    rows.sort();
    Doc { ts, rows, cols }
}

fn run(prog: &str, trace: &std::path::Path, chisel: &str, args: Option<&str>) -> String {
    let mut cmd = Command::new(prog);
    cmd.env("TZ", "UTC")
        .arg("-j")
        .arg("-r")
        .arg(trace)
        .args(["-c", chisel]);
    if let Some(a) = args {
        cmd.arg(a);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{prog} -j -c {chisel} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn top_tables_in_json_match_sysdig() {
    if !sysdig_ready() {
        return;
    }
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let mut differ = Vec::new();
    let mut compared = 0;
    for trace in traces() {
        for (chisel, args) in [
            ("topscalls", None),
            ("topscalls_time", None),
            ("httptop", None),
            ("httptop", Some("time")),
        ] {
            let expected = parse(&run("sysdig", &trace, chisel, args));
            assert!(!expected.ts.is_empty() && expected.cols.len() == 3);
            if parse(&run(sonde, &trace, chisel, args)) != expected {
                differ.push(format!("{chisel} {args:?} on {}", trace.display()));
            }
            compared += 1;
        }
    }
    assert!(compared > 0, "no traces");
    assert!(differ.is_empty(), "-j output differs: {differ:#?}");
}

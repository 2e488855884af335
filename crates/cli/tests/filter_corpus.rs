//! The filter corpus (tests/filters.txt) on every shared trace: the event
//! numbers sonde selects must be those sysdig 0.29.3 selects.
//!
//! sysdig's selections are stored in tests/filters.expected, so the test
//! runs without sysdig. Regenerate them (sysdig 0.29.3 on the PATH) with
//! `SONDE_REGEN_FILTERS=1 cargo test -p sonde --test filter_corpus`.
//! Lines `SONDE => SYSDIG` use syntax sysdig rejects: sonde runs SONDE and
//! must select what sysdig selects for SYSDIG.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
}

fn here(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// (sonde filter, sysdig filter)
fn corpus() -> Vec<(String, String)> {
    std::fs::read_to_string(here("filters.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(" => ") {
            Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
            None => (l.trim().to_string(), l.trim().to_string()),
        })
        .collect()
}

/// Event numbers as compact ranges: `1-5,7,9-20`.
fn ranges(nums: &[u64]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < nums.len() {
        let start = nums[i];
        let mut end = start;
        while i + 1 < nums.len() && nums[i + 1] == end + 1 {
            i += 1;
            end = nums[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

/// Runs a sysdig-compatible binary; None when it fails.
fn select(bin: &str, trace: &Path, filter: &str) -> Option<Vec<u64>> {
    let out = Command::new(bin)
        .arg("-r")
        .arg(trace)
        .arg("-p")
        .arg("%evt.num")
        .arg(filter)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(|l| l.trim().parse::<u64>().ok())
        .collect::<Option<Vec<u64>>>()
}

fn traces() -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(traces_dir()) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    v
}

fn regenerate(corpus: &[(String, String)]) {
    let mut out = String::from(
        "# sysdig 0.29.3's selections for tests/filters.txt (trace, filter, event numbers).\n\
         # Regenerate: SONDE_REGEN_FILTERS=1 cargo test -p sonde --test filter_corpus\n",
    );
    for t in traces() {
        let name = t.file_name().unwrap().to_string_lossy().to_string();
        // traces sysdig cannot read to the end are left out
        if select("sysdig", &t, "evt.num>0").is_none() {
            continue;
        }
        for (_, sysdig_filter) in corpus {
            let nums = select("sysdig", &t, sysdig_filter)
                .unwrap_or_else(|| panic!("sysdig rejects '{sysdig_filter}'"));
            out.push_str(&format!("{name}\t{sysdig_filter}\t{}\n", ranges(&nums)));
        }
    }
    std::fs::write(here("filters.expected"), out).unwrap();
}

/// (trace, sysdig filter) pairs where sonde's field extraction still
/// differs from sysdig's, with the reason; reported, not failed.
const KNOWN: &[(&str, &str, &str)] = &[];

#[test]
fn filters_select_what_sysdig_selects() {
    let corpus = corpus();
    assert!(corpus.len() >= 200, "only {} filters", corpus.len());
    if std::env::var_os("SONDE_REGEN_FILTERS").is_some() {
        regenerate(&corpus);
    }
    let Ok(expected) = std::fs::read_to_string(here("filters.expected")) else {
        panic!("tests/filters.expected is missing: regenerate it");
    };
    let mut want: BTreeMap<(String, String), String> = BTreeMap::new();
    for l in expected.lines().filter(|l| !l.starts_with('#')) {
        let mut it = l.splitn(3, '\t');
        let (Some(t), Some(f), Some(r)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        want.insert((t.to_string(), f.to_string()), r.to_string());
    }
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let (mut same, mut known, mut compared) = (0, 0, 0);
    let mut failures = Vec::new();
    for t in traces() {
        let name = t.file_name().unwrap().to_string_lossy().to_string();
        for (sonde_filter, sysdig_filter) in &corpus {
            let Some(w) = want.get(&(name.clone(), sysdig_filter.clone())) else {
                continue;
            };
            compared += 1;
            let got = match select(sonde, &t, sonde_filter) {
                Some(n) => ranges(&n),
                None => "error".to_string(),
            };
            if &got == w {
                same += 1;
            } else if KNOWN
                .iter()
                .any(|(kt, kf, _)| *kt == name && kf == sysdig_filter)
            {
                known += 1;
            } else {
                failures.push(format!(
                    "{name}: `{sonde_filter}`\n  sysdig: {w}\n  sonde:  {got}"
                ));
            }
        }
    }
    eprintln!(
        "filter corpus: {} filters, {compared} (trace, filter) runs, {same} identical, {known} known differences",
        corpus.len()
    );
    if traces().is_empty() {
        eprintln!("no traces found: skipped");
        return;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

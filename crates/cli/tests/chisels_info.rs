//! `sonde -i NAME` of every bundled chisel (the names in
//! `chisels/bundled.txt`) prints what `sysdig -i NAME` prints: the same
//! description, category and arguments. Each of those names is a chisel
//! sonde bundles (so the golden test of `chisels.rs` compares sonde's own
//! chisel, not sysdig's file found further along the search path).

mod trace_common;

use std::process::Command;

use trace_common::oracle_ready;

fn sysdig_ready() -> bool {
    oracle_ready("sysdig")
}

fn info(prog: &str, name: &str) -> String {
    let out = Command::new(prog)
        .args(["-i", name])
        .env("SONDE_CHISEL_DIR", "")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bundled_chisel_info_matches_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: chisel info test skipped");
        return;
    }
    let mut names: Vec<&str> = include_str!("chisels/bundled.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(' ').find(|w| !w.starts_with('-')))
        .collect();
    names.push("around");
    names.sort();
    names.dedup();
    let bundled: Vec<&str> = sonde_chisel::bundled::chisels().map(|(n, _)| *n).collect();
    let missing: Vec<&&str> = names.iter().filter(|n| !bundled.contains(n)).collect();
    assert!(missing.is_empty(), "not bundled: {missing:?}");
    // every bundled chisel, listed in the golden cases or not
    names.extend(bundled.iter().filter(|n| **n != "table_generator"));
    names.sort();
    names.dedup();
    let mut differ = Vec::new();
    for name in &names {
        let expected = info("sysdig", name);
        assert!(!expected.is_empty(), "sysdig -i {name} printed nothing");
        if info(env!("CARGO_BIN_EXE_sonde"), name) != expected {
            differ.push(*name);
        }
    }
    assert!(differ.is_empty(), "-i differs from sysdig's for {differ:?}");
}

//! The chisels that export events to a file (`around`, and the dump of
//! `spy_logs`/`spy_syslog`) through `sysdig.run_app`: the file sonde's
//! bundled `around` writes holds exactly the events sysdig 0.29.3 itself
//! selects with the same `evt.around` filter on the original trace, and
//! sysdig reads it. (sysdig's own `around` writes a file its reader
//! rejects on these traces, so the oracle is its filter, not its chisel.)

mod trace_common;

use std::path::Path;
use std::process::Command;

use trace_common::{oracle_ready, traces_dir};

fn sysdig_ready() -> bool {
    oracle_ready("sysdig")
}

/// Standard output of `prog ARGS` (with TZ=UTC); panics on failure.
fn run(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .env("TZ", "UTC")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ROW: &str = "%evt.rawtime %thread.tid %evt.type %evt.dir";

fn around_case(trace: &Path, filter: &str, range_ms: u32) {
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let dir = std::env::temp_dir().join(format!("sonde-around-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("around.scap");
    let _ = std::fs::remove_file(&dump);
    let t = trace.to_str().unwrap();
    let d = dump.to_str().unwrap();
    let printed = run(
        sonde,
        &["-r", t, "-c", "around", &format!("{d} {range_ms}"), filter],
    );
    // what the chisel prints per match is what sysdig's prints
    let oracle = run(
        "sysdig",
        &["-r", t, "-p", "%evt.time %proc.name(%thread.tid)", filter],
    );
    let matches: Vec<&str> = oracle.lines().collect();
    assert!(!matches.is_empty(), "{filter} matches nothing in {t}");
    let ours: Vec<&str> = printed.lines().take(matches.len()).collect();
    assert_eq!(ours, matches);
    assert!(
        printed.contains(&format!(
            "\nSaving events around {} syslog entries to {d}\n",
            matches.len()
        )),
        "{printed}"
    );
    // the dump holds what sysdig's own filter selects around the matches
    let marks = run(
        "sysdig",
        &[
            "-r",
            t,
            "-p",
            &format!("(evt.around[%evt.rawtime]={range_ms} and thread.tid=%thread.tid)"),
            filter,
        ],
    );
    let around = marks.lines().collect::<Vec<_>>().join(" or ");
    let expected = run("sysdig", &["-r", t, "-p", ROW, &around]);
    let got = run("sysdig", &["-r", d, "-p", ROW]);
    assert!(!expected.is_empty());
    assert_eq!(
        got, expected,
        "events of {d} differ from sysdig's selection"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn around_writes_the_events_around_each_match() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: around export test skipped");
        return;
    }
    let dir = traces_dir();
    around_case(&dir.join("falco_cat_write.scap"), "evt.type=open", 10);
    around_case(
        &dir.join("curl_google.scap"),
        "evt.type=connect and evt.dir=<",
        1,
    );
}

#[test]
fn around_needs_a_filter() {
    let trace = traces_dir().join("falco_cat_write.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("-r")
        .arg(&trace)
        .args(["-c", "around", "/nonexistent/x.scap"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("no filter specified"));
    assert_ne!(out.status.code(), Some(0));
}

//! Golden test: `sonde -r TRACE FLAGS` must print exactly what the oracle,
//! sysdig 0.29.3, prints for the same trace and flags (both with TZ=UTC).
//!
//! Traces come from `$SONDE_TRACES` (default `shared/traces` beside the
//! repository). A trace
//! sysdig cannot read is compared against the output for the trace it was
//! derived from when known (`curl_google_comments.scap` holds the events of
//! `curl_google.scap` behind a section header with options), and skipped
//! otherwise. Without sysdig or without traces the test says so and skips.
//! Known sysdig bugs are listed in `golden-allowlist.txt` (`trace | flags |
//! reason`).

mod trace_common;

use std::path::Path;
use std::process::Command;

use trace_common::{
    assert_all_same, on_every_core, scap_files, sysdig_available, traces_dir, Outcome,
};

const FLAG_SETS: &[&[&str]] = &[
    &[],
    &["-j"],
    &["-pc"],
    &["-pk"],
    &["-pm"],
    &["-pp"],
    &["-t", "a"],
    &["-t", "r"],
    &["-A"],
    &["-x"],
    &["-D"],
    &["-X"],
    &["-b"],
    &["-t", "d"],
    &["-t", "D"],
    &["-v"],
    &["-S"],
    &["-n", "500", "-S"],
    &["-j", "-A"],
    &["-j", "-D"],
    &["-j", "-pc"],
    &["-j", "-x"],
    // without `*`, events with a missing field are skipped in JSON too
    &["-j", "-p", "%evt.num %user.shell %fd.name"],
    &[
        "-p",
        "%evt.num %5evt.cpu %12proc.name %3evt.type %evt.arg.fd",
    ],
    &[
        "-p",
        "*%evt.num %evt.arg.fd %evt.res %thread.vtid [%container.name]",
    ],
    &["-j", "-p", "*%evt.num %evt.res %evt.latency %evt.arg.fd"],
    &["-p", "%evt.num %fd.name"],
    &["-p", r"%evt.num\t%evt.type\n%evt.cpu \\ \q"],
    &["-S", "-p", r"\e[01;32m%evt.num\e[00m %evt.type"],
    &[
        "-p",
        "*%evt.num %fd.num %fd.name %fd.typechar %fd.type %fd.directory %fd.filename %fd.l4proto",
    ],
    &["-p", "*%evt.num %fd.sip %fd.cip %fd.sport %fd.cport"],
    &["-p", "*%evt.num %proc.pid %proc.ppid %proc.exe %proc.args %proc.cmdline %proc.exeline"],
    &["-p", "*%evt.num %proc.cwd %proc.pname %proc.pcmdline %proc.aname[2] %proc.apid[1]"],
    &["-p", "*%evt.num %proc.vpid %proc.sid %proc.tty %thread.ismain %proc.fdlimit"],
    &["-p", "*%evt.num %user.uid %user.name %group.name %user.loginuid %user.homedir"],
    &["-p", "*%evt.num %evt.latency %evt.rawres %evt.failed %evt.category %evt.buflen"],
    &["-p", "*%evt.num %evt.time %evt.datetime %evt.rawtime %evt.reltime %evt.deltatime"],
    &["-p", "*%evt.num %evt.is_io %evt.is_io_read %evt.buffer %evt.args"],
    &["-p", "*%evt.num %evt.arg[0] %evt.arg.res %evt.rawarg.res %evt.arg.name"],
    &[
        "-j",
        "-p",
        "*%evt.num %evt.time %evt.reltime %evt.deltatime %evt.failed %thread.ismain %fd.num %evt.buflen %proc.tty %evt.rawres",
    ],
];

/// Traces sysdig cannot read, and the trace holding the same events.
const SAME_AS: &[(&str, &str)] = &[("curl_google_comments.scap", "curl_google.scap")];

struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(prog: &str, trace: &Path, flags: &[&str]) -> Run {
    let out = Command::new(prog)
        .env("TZ", "UTC")
        .arg("-r")
        .arg(trace)
        .args(flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    Run {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn allowlist() -> Vec<(String, String)> {
    let text = include_str!("golden-allowlist.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split('|').map(str::trim);
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// A short unified-style diff around the first difference.
fn first_diff(expected: &[u8], got: &[u8]) -> String {
    let e: Vec<&[u8]> = expected.split(|&c| c == b'\n').collect();
    let g: Vec<&[u8]> = got.split(|&c| c == b'\n').collect();
    let Some(first) = (0..e.len().max(g.len())).find(|&i| e.get(i) != g.get(i)) else {
        return "(no line differs)".into();
    };
    let from = first.saturating_sub(2);
    let mut s = format!(
        "@@ line {} (sysdig {} lines, sonde {} lines) @@\n",
        first + 1,
        e.len(),
        g.len()
    );
    let show = |l: &[u8]| {
        let t = String::from_utf8_lossy(l);
        if t.len() > 300 {
            format!(
                "{}…",
                &t[..t.char_indices().nth(300).map_or(t.len(), |(i, _)| i)]
            )
        } else {
            t.into_owned()
        }
    };
    for l in &e[from..first] {
        s += &format!(" {}\n", show(l));
    }
    for l in e.iter().skip(first).take(3) {
        s += &format!("-{}\n", show(l));
    }
    for l in g.iter().skip(first).take(3) {
        s += &format!("+{}\n", show(l));
    }
    s
}

/// Runs every flag set on one trace.
fn compare_trace(
    dir: &Path,
    trace: &Path,
    sonde: &str,
    allowed: &[(String, String)],
) -> Vec<Outcome> {
    let name = trace.file_name().unwrap().to_string_lossy().into_owned();
    let reference = SAME_AS
        .iter()
        .find(|(t, _)| *t == name)
        .map(|(_, r)| dir.join(r))
        .unwrap_or_else(|| trace.to_path_buf());
    let mut out = Vec::new();
    for flags in FLAG_SETS {
        let label = flags.join(" ");
        let expected = run("sysdig", &reference, flags);
        if !expected.ok {
            eprintln!(
                "NOTE: sysdig cannot read {} {label}: {}",
                reference.display(),
                expected.stderr.lines().last().unwrap_or("")
            );
            out.push(Outcome::Skipped);
            continue;
        }
        let got = run(sonde, trace, flags);
        if got.stdout == expected.stdout {
            out.push(Outcome::Same);
            continue;
        }
        if allowed.iter().any(|(t, f)| *t == name && *f == label) {
            eprintln!("NOTE: {name} [{label}] differs (allow-listed)");
            continue;
        }
        out.push(Outcome::Differs(format!(
            "{name} [{label}]: sonde {}\n{}{}",
            if got.ok { "succeeded" } else { "failed" },
            first_diff(&expected.stdout, &got.stdout),
            if got.stderr.is_empty() {
                String::new()
            } else {
                format!("sonde stderr: {}\n", got.stderr.trim_end())
            }
        )));
    }
    out
}

#[test]
fn first_diff_shows_the_first_differing_lines() {
    let d = first_diff(b"a\nb\nc\nd\n", b"a\nb\nX\nd\n");
    assert!(d.starts_with("@@ line 3 "), "{d}");
    assert!(d.contains(" b\n-c\n-d\n"), "{d}");
    assert!(d.contains("+X\n+d\n"), "{d}");
}

#[test]
fn sonde_prints_what_sysdig_prints() {
    if !sysdig_available() {
        eprintln!("NOTE: sysdig is not installed: golden comparison skipped");
        return;
    }
    let dir = traces_dir();
    let traces = match scap_files(&dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "NOTE: no traces in {}: {e}: golden comparison skipped",
                dir.display()
            );
            return;
        }
    };
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let allowed = allowlist();
    let results = on_every_core(&traces, |t| compare_trace(&dir, t, sonde, &allowed));
    assert_all_same("golden", "case(s)", "\n", results);
}

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

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn traces_dir() -> PathBuf {
    std::env::var_os("SONDE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"))
}

fn sysdig_available() -> bool {
    Command::new("sysdig")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

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

enum Outcome {
    Same,
    Skipped,
    Differs(String),
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
    let mut traces: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "scap"))
            .collect(),
        Err(e) => {
            eprintln!(
                "NOTE: no traces in {}: {e}: golden comparison skipped",
                dir.display()
            );
            return;
        }
    };
    traces.sort();
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let allowed = allowlist();
    // one worker per core, each taking whole traces
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Outcome> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                sc.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(trace) = traces.get(i) else { break };
                        out.extend(compare_trace(&dir, trace, sonde, &allowed));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let (mut failures, mut passed, mut skipped) = (Vec::new(), 0usize, 0usize);
    for r in results {
        match r {
            Outcome::Same => passed += 1,
            Outcome::Skipped => skipped += 1,
            Outcome::Differs(msg) => failures.push(msg),
        }
    }
    eprintln!(
        "golden: {passed} identical, {} different, {skipped} skipped",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} case(s) differ from sysdig:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

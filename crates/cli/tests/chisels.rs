//! Golden test of the chisel API: every chisel of sysdig's package that
//! runs on capture files (`chisels/cases.txt`), used in place from
//! `/usr/share/sysdig/chisels`, on every shared trace: `sonde -r TRACE -c
//! DIR/NAME.lua ARGS` must print what `sysdig -r TRACE -c NAME ARGS`
//! prints (both with TZ=UTC). `chisels/allowlist.txt` names the chisels
//! that cannot match, with the reason. Without sysdig the test skips,
//! unless `CI=true`, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

const SYSDIG_CHISELS: &str = "/usr/share/sysdig/chisels";

/// Traces sysdig cannot read, and the trace holding the same events.
const SAME_AS: &[(&str, &str)] = &[("curl_google_comments.scap", "curl_google.scap")];

fn traces_dir() -> PathBuf {
    std::env::var_os("SONDE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"))
}

fn sysdig_ready() -> bool {
    let ok = Command::new("sysdig")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        && Path::new(SYSDIG_CHISELS).is_dir();
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: sysdig 0.29.3 and {SYSDIG_CHISELS} are required by this test");
    }
    ok
}

fn cases() -> Vec<(String, Option<String>)> {
    parse_cases(include_str!("chisels/cases.txt"))
}

fn parse_cases(text: &str) -> Vec<(String, Option<String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(' ') {
            Some((n, a)) => (n.to_string(), Some(a.to_string())),
            None => (l.to_string(), None),
        })
        .collect()
}

fn allowlist() -> Vec<(String, String)> {
    include_str!("chisels/allowlist.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut p = l.split('|').map(str::trim);
            Some((p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect()
}

fn run(prog: &str, trace: &Path, chisel: &str, args: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(prog);
    cmd.env("TZ", "UTC")
        .arg("-r")
        .arg(trace)
        .arg("-c")
        .arg(chisel);
    if let Some(a) = args {
        cmd.arg(a);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The first column of a line (its value in a top-N table).
fn key(line: &str) -> &str {
    line.split(' ').next().unwrap_or("")
}

/// The output with runs of lines sharing their first column sorted;
/// with `cut`, the last run of each block reduced to its values.
fn normalize(text: &str, cut: bool) -> Vec<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        if !lines[i].trim().is_empty() {
            while j < lines.len() && !lines[j].trim().is_empty() && key(lines[j]) == key(lines[i]) {
                j += 1;
            }
        }
        let last = lines.get(j).is_none_or(|l| l.trim().is_empty());
        let mut run: Vec<String> = if cut && last && !lines[i].trim().is_empty() {
            lines[i..j].iter().map(|l| key(l).to_string()).collect()
        } else {
            lines[i..j].iter().map(|l| l.to_string()).collect()
        };
        run.sort();
        out.extend(run);
        i = j;
    }
    out
}

fn same(expected: &str, got: &str, mode: Option<&str>) -> bool {
    if expected == got {
        return true;
    }
    if normalize(expected, false) == normalize(got, false)
        || normalize(expected, true) == normalize(got, true)
    {
        return true;
    }
    if mode == Some("unordered") {
        let mut e: Vec<&str> = expected.split('\n').collect();
        let mut g: Vec<&str> = got.split('\n').collect();
        e.sort();
        g.sort();
        return e == g;
    }
    false
}

fn traces() -> Vec<PathBuf> {
    let dir = traces_dir();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("no traces in {}", dir.display());
        return Vec::new();
    };
    let mut traces: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    traces.sort();
    traces
}

/// The trace sysdig reads in place of `trace`.
fn oracle_trace(trace: &Path) -> PathBuf {
    let fname = trace.file_name().and_then(|f| f.to_str()).unwrap_or("");
    SAME_AS
        .iter()
        .find(|(t, _)| *t == fname)
        .map(|(_, o)| traces_dir().join(o))
        .unwrap_or_else(|| trace.to_path_buf())
}

#[test]
fn bundled_chisels_match_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: bundled chisel golden test skipped");
        return;
    }
    let traces = traces();
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let (mut matched, mut no_oracle) = (0, 0);
    let mut failures = Vec::new();
    let allow = allowlist();
    for (name, args) in parse_cases(include_str!("chisels/bundled.txt")) {
        // only an order sysdig leaves undefined is forgiven here
        let mode = allow
            .iter()
            .find(|(n, m)| *n == name && m == "unordered")
            .map(|(_, m)| m.as_str());
        for trace in &traces {
            let (ok, expected) = run("sysdig", &oracle_trace(trace), &name, args.as_deref());
            if !ok {
                no_oracle += 1;
                continue;
            }
            let (_, got) = run(sonde, trace, &name, args.as_deref());
            if same(&expected, &got, mode) {
                matched += 1;
            } else {
                failures.push(format!("{name} {args:?} on {}", trace.display()));
            }
        }
    }
    eprintln!(
        "bundled chisels x traces: {matched} match sysdig, {no_oracle} sysdig cannot run, {} differ",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "outputs differ from sysdig's: {failures:#?}"
    );
}

#[test]
fn sysdig_chisels_match_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig or {SYSDIG_CHISELS} missing: chisel golden test skipped");
        return;
    }
    let traces = traces();
    let allow = allowlist();
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let (mut matched, mut allowed, mut no_oracle) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, args) in cases() {
        let mode = allow
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m.as_str());
        if mode == Some("skip") {
            allowed += traces.len();
            continue;
        }
        let file = format!("{SYSDIG_CHISELS}/{name}.lua");
        for trace in &traces {
            let fname = trace.file_name().and_then(|f| f.to_str()).unwrap_or("");
            let (ok, expected) = run("sysdig", &oracle_trace(trace), &name, args.as_deref());
            if !ok {
                no_oracle += 1;
                continue;
            }
            let (_, got) = run(sonde, trace, &file, args.as_deref());
            if same(&expected, &got, mode) {
                matched += 1;
                if mode.is_some() {
                    allowed += 1;
                }
            } else {
                failures.push(format!("{name} on {fname}"));
            }
        }
    }
    eprintln!(
        "chisels x traces: {matched} match sysdig ({allowed} of them or others allowlisted), \
         {no_oracle} sysdig cannot run, {} differ",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "outputs differ from sysdig's: {failures:#?}"
    );
}

#[test]
fn chisel_error_names_file_and_line_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("sonde-chisel-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.lua");
    std::fs::write(
        &bad,
        "description = 'x'\nshort_description = 'x'\ncategory = 'x'\nargs = {}\nfunction on_event(\n  return true\nend\n",
    )
    .unwrap();
    let trace = traces_dir().join("falco_cat_write.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("-r")
        .arg(&trace)
        .arg("-c")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("broken.lua:6:"), "no file and line in: {err}");
    // a run-time error names the chisel and the line too
    let rt = dir.join("runtime.lua");
    std::fs::write(
        &rt,
        "description = 'x'\nshort_description = 'x'\ncategory = 'x'\nargs = {}\nfunction on_event()\n  local t = nil\n  return t.x\nend\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("-r")
        .arg(&trace)
        .arg("-c")
        .arg(&rt)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("runtime.lua:7:"), "no file and line in: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chisel_list_matches_sysdig() {
    if !Path::new(SYSDIG_CHISELS).is_dir() {
        return;
    }
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/sysdig-chisels.txt");
    let Ok(expected) = std::fs::read_to_string(&reference) else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("-cl")
        .env("SONDE_CHISEL_DIR", "")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

//! Golden test of the chisel API: every chisel of sysdig's package that
//! runs on capture files (`chisels/cases.txt`), used in place from
//! `/usr/share/sysdig/chisels`, on every shared trace: `sonde -r TRACE -c
//! DIR/NAME.lua ARGS` must print what `sysdig -r TRACE -c NAME ARGS`
//! prints (both with TZ=UTC). `chisels/allowlist.txt` names the chisels
//! that cannot match, with the reason. sonde's bundled chisels
//! (`chisels/bundled.txt`, optional leading sysdig flags such as `-pc`) are
//! compared the same way; the terminal chisels run on a pseudo-terminal
//! and udp_extract's files are compared too. Without sysdig the test skips,
//! unless `CI=true`, where that is a failure.

mod trace_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use trace_common::{oracle_ready, traces_dir};

const SYSDIG_CHISELS: &str = "/usr/share/sysdig/chisels";

/// Traces sysdig cannot read, and the trace holding the same events.
const SAME_AS: &[(&str, &str)] = &[("curl_google_comments.scap", "curl_google.scap")];

fn sysdig_ready() -> bool {
    let ok = oracle_ready("sysdig") && Path::new(SYSDIG_CHISELS).is_dir();
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: {SYSDIG_CHISELS} is required by this test");
    }
    ok
}

/// One case: sysdig flags (leading words starting with `-`, e.g. `-pc`),
/// the chisel and its argument string.
struct Case {
    flags: Vec<String>,
    name: String,
    args: Option<String>,
}

fn cases() -> Vec<Case> {
    parse_cases(include_str!("chisels/cases.txt"))
}

fn parse_cases(text: &str) -> Vec<Case> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|mut l| {
            let mut flags = Vec::new();
            while l.starts_with('-') {
                let (f, rest) = l.split_once(' ').unwrap_or((l, ""));
                flags.push(f.to_string());
                l = rest.trim_start();
            }
            let (name, args) = match l.split_once(' ') {
                Some((n, a)) => (n.to_string(), Some(a.to_string())),
                None => (l.to_string(), None),
            };
            Case { flags, name, args }
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

fn run(prog: &str, trace: &Path, case: &Case, chisel: &str) -> (bool, String) {
    let mut cmd = Command::new(prog);
    cmd.env("TZ", "UTC")
        .args(&case.flags)
        .arg("-r")
        .arg(trace)
        .arg("-c")
        .arg(chisel);
    if let Some(a) = &case.args {
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

/// The last tab-separated column of a line (the value in a `print(k, v)`
/// table such as fdcount_by's), or the whole line when it has no tab.
fn last_key(line: &str) -> &str {
    line.rsplit('\t').next().unwrap_or("")
}

/// The output with runs of lines sharing their first column sorted;
/// with `cut`, the last run of each block reduced to its values.
fn normalize(text: &str, cut: bool) -> Vec<String> {
    normalize_by(text, cut, key)
}

fn normalize_by(text: &str, cut: bool, key: fn(&str) -> &str) -> Vec<String> {
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
    // tables printed as `key<TAB>value`: ties are runs of the last column
    if expected.contains('\t')
        && normalize_by(expected, false, last_key) == normalize_by(got, false, last_key)
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
    for case in parse_cases(include_str!("chisels/bundled.txt")) {
        // only an order sysdig leaves undefined is forgiven here
        let mode = allow
            .iter()
            .find(|(n, m)| *n == case.name && m == "unordered")
            .map(|(_, m)| m.as_str());
        for trace in &traces {
            let (ok, expected) = run("sysdig", &oracle_trace(trace), &case, &case.name);
            if !ok {
                no_oracle += 1;
                continue;
            }
            let (_, got) = run(sonde, trace, &case, &case.name);
            if same(&expected, &got, mode) {
                matched += 1;
            } else {
                failures.push(format!(
                    "{:?} {} {:?} on {}",
                    case.flags,
                    case.name,
                    case.args,
                    trace.display()
                ));
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
    for case in cases() {
        let name = &case.name;
        let mode = allow
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.as_str());
        if mode == Some("skip") {
            allowed += traces.len();
            continue;
        }
        let file = format!("{SYSDIG_CHISELS}/{name}.lua");
        for trace in &traces {
            let fname = trace.file_name().and_then(|f| f.to_str()).unwrap_or("");
            let (ok, expected) = run("sysdig", &oracle_trace(trace), &case, name);
            if !ok {
                no_oracle += 1;
                continue;
            }
            let (_, got) = run(sonde, trace, &case, &file);
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

/// A chisel is loaded once, when the command line names it (as sysdig
/// does): its top level runs once, and the rest of the line (`-pc`, `-j`)
/// reaches what it calls from `on_init` on. Compared with sysdig.
#[test]
fn a_chisel_loads_once_and_its_init_sees_the_whole_line() {
    let dir = std::env::temp_dir().join(format!("sonde-chisel-once-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lua = dir.join("once.lua");
    std::fs::write(
        &lua,
        "description = 'x'\nshort_description = 'x'\ncategory = 'x'\nargs = {}\n\
         print('top level')\n\
         function on_init()\n  print('init', sysdig.is_print_container_data(), sysdig.get_output_format())\n  return true\nend\n\
         function on_capture_end()\n  print('end')\n  return true\nend\n",
    )
    .unwrap();
    let trace = traces_dir().join("falco_cat_write.scap");
    let run = |prog: &str| {
        let out = Command::new(prog)
            .args(["-pc", "-j", "-r"])
            .arg(&trace)
            .arg("-c")
            .arg(&lua)
            .output()
            .unwrap_or_else(|e| panic!("running {prog}: {e}"));
        assert!(
            out.status.success(),
            "{prog}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let got = run(env!("CARGO_BIN_EXE_sonde"));
    assert_eq!(got, "top level\ninit\ttrue\tjson\nend\n");
    if oracle_ready("sysdig") {
        assert_eq!(run("sysdig"), got, "sysdig prints otherwise");
    }
    let _ = std::fs::remove_dir_all(&dir);
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

/// The chisels that draw on a terminal (they refuse to run without one):
/// run under `script` on a 100x30 pseudo-terminal, sonde's bundled chisel
/// and sysdig's file run by sonde against `sysdig -c NAME`, on every trace.
const TTY_CASES: &[(&str, Option<&str>)] = &[
    ("spectrogram", None),
    ("spectrogram", Some("100")),
    ("subsecoffset", None),
    ("subsecoffset", Some("100")),
];

/// What `prog -r trace -c chisel args` writes to a 100x30 terminal.
fn run_on_tty(prog: &str, trace: &Path, chisel: &str, args: Option<&str>) -> Vec<u8> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = format!(
        "stty cols 100 rows 30; {} -r {} -c {}",
        quote(prog),
        quote(&trace.display().to_string()),
        quote(chisel)
    );
    if let Some(a) = args {
        cmd.push(' ');
        cmd.push_str(&quote(a));
    }
    let out = Command::new("script")
        .env("TZ", "UTC")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (bsdutils) runs");
    // sysdig resets the colours at exit on a terminal, outside the stdio
    // buffer the chisel prints through, so the reset lands wherever that
    // buffer was flushed; sonde's chisel runner does not write it: drop it
    let mut text = out.stdout;
    if let Some(at) = text.windows(5).position(|w| w == b"\x1b[00m") {
        text.drain(at..at + 5);
    }
    text
}

#[test]
fn tty_chisels_match_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: terminal chisel test skipped");
        return;
    }
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let (mut matched, mut drawn, mut failures) = (0, 0, Vec::new());
    for trace in traces() {
        for (name, args) in TTY_CASES {
            let expected = run_on_tty("sysdig", &oracle_trace(&trace), name, *args);
            // a heat-map row is 100 cells of colour codes
            if expected.len() > 1000 {
                drawn += 1;
            }
            let file = format!("{SYSDIG_CHISELS}/{name}.lua");
            for chisel in [name.to_string(), file] {
                if run_on_tty(sonde, &trace, &chisel, *args) == expected {
                    matched += 1;
                } else {
                    failures.push(format!("{chisel} {args:?} on {}", trace.display()));
                }
            }
        }
    }
    eprintln!("terminal chisels x traces: {matched} match sysdig ({drawn} drawings)");
    assert!(drawn >= 20, "sysdig drew heat maps for only {drawn} cases");
    assert!(failures.is_empty(), "differ from sysdig: {failures:#?}");
}

/// The files under `dir`, by relative path, with their contents.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// udp_extract writes one file per UDP fd under ./udp_dump_files: the
/// files sonde writes (bundled chisel, and sysdig's file run by sonde)
/// must be those sysdig writes, on every trace.
#[test]
fn udp_extract_matches_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: udp_extract test skipped");
        return;
    }
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let base = std::env::temp_dir().join(format!("sonde-udp-extract-{}", std::process::id()));
    let (mut with_files, mut failures) = (0, Vec::new());
    let file = format!("{SYSDIG_CHISELS}/udp_extract.lua");
    for trace in traces() {
        let run_in = |prog: &str, chisel: &str, tag: &str, t: &Path| {
            let dir = base.join(tag);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let out = Command::new(prog)
                .current_dir(&dir)
                .arg("-r")
                .arg(t)
                .args(["-c", chisel])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{prog} -c {chisel} failed on {}",
                t.display()
            );
            // sysdig's chisel also runs the Windows `md DIR 2> nul`, which
            // leaves a file named `nul` on Linux: not part of the output
            let _ = std::fs::remove_file(dir.join("nul"));
            (out.stdout, tree(&dir))
        };
        let expected = run_in("sysdig", "udp_extract", "sysdig", &oracle_trace(&trace));
        if !expected.1.is_empty() {
            with_files += 1;
        }
        for (tag, chisel) in [("bundled", "udp_extract"), ("file", file.as_str())] {
            if run_in(sonde, chisel, tag, &trace) != expected {
                failures.push(format!("{chisel} on {}", trace.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&base);
    assert!(with_files >= 2, "no trace gave sysdig UDP data to extract");
    assert!(failures.is_empty(), "differ from sysdig: {failures:#?}");
}

/// Table chisels under `-j` print dkjson's indented JSON; sysdig's key
/// order follows its Lua hash walk and changes from run to run, so both
/// outputs go through `jq -S` (sorted keys, rows of equal value sorted).
/// Cases whose top-N cut falls among ties are left out (which of the tied
/// rows make the cut changes from run to run in sysdig).
const JSON_CASES: &[(&str, Option<&str>)] = &[
    ("topprocs_net", None),
    ("topconns", None),
    ("topprocs_errors", None),
    ("topfiles_time", None),
    ("fdtime_by", Some("fd.name")),
    ("fdbytes_by", Some("proc.name")),
];

/// `prog -j -r trace -c chisel args`, canonicalised by jq.
fn run_json(prog: &str, trace: &Path, chisel: &str, args: Option<&str>) -> String {
    let mut cmd = Command::new(prog);
    cmd.env("TZ", "UTC").arg("-j").arg("-r").arg(trace);
    cmd.args(["-c", chisel]).args(args);
    let out = cmd.output().expect("runs");
    let mut jq = Command::new("jq")
        .args(["-S", "-s", "map(.data |= sort)"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("jq (in .ci/install-deps) runs");
    use std::io::Write;
    jq.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let done = jq.wait_with_output().unwrap();
    assert!(done.status.success(), "{prog} -j -c {chisel}: not JSON");
    String::from_utf8_lossy(&done.stdout).into_owned()
}

#[test]
fn json_tables_match_sysdig() {
    if !sysdig_ready() {
        eprintln!("sysdig missing: JSON table test skipped");
        return;
    }
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let (mut rows, mut failures) = (0, Vec::new());
    for trace in traces() {
        for (name, args) in JSON_CASES {
            let expected = run_json("sysdig", &oracle_trace(&trace), name, *args);
            rows += expected.matches("\"data\": [\n      [").count();
            let file = format!("{SYSDIG_CHISELS}/{name}.lua");
            for chisel in [name.to_string(), file] {
                if run_json(sonde, &trace, &chisel, *args) != expected {
                    failures.push(format!("{chisel} {args:?} on {}", trace.display()));
                }
            }
        }
    }
    assert!(rows >= 10, "only {rows} JSON tables with rows");
    assert!(failures.is_empty(), "differ from sysdig: {failures:#?}");
}

/// An interval chisel whose filter is bound to event types passes the
/// other events over (`Sink::wants`), yet its `on_interval` fires at the
/// same times, with the same deltas, as when every event reaches it (a
/// filter that reads every event).
#[test]
fn interval_chisels_fire_alike_when_events_pass_them_by() {
    let dir = std::env::temp_dir().join(format!("sonde-interval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |filter: &str, tag: &str| -> String {
        let file = dir.join(format!("{tag}.lua"));
        let text = format!(
            "description = 'x'; short_description = 'x'; category = 'x'; args = {{}}\n\
             local n = 0\n\
             function on_init() chisel.set_filter('{filter}'); chisel.set_interval_ns(7000000); return true end\n\
             function on_event() n = n + 1; return true end\n\
             function on_interval(s, ns, delta) print(s .. '.' .. ns .. ' ' .. delta .. ' ' .. n); return true end\n"
        );
        std::fs::write(&file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .arg("-r")
            .arg(traces_dir().join("curl_google.scap"))
            .arg("-c")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let typed = run("evt.type=close", "typed");
    let every = run("evt.type=close or evt.num<0", "every");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(typed.lines().count() > 10, "{typed}");
    assert_eq!(typed, every);
}

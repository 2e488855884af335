//! A live stress capture read by sysdig 0.29.3 and by sonde: `sonde -w`
//! records a workload (`stress/workload.py`, run through a copy of
//! python3 with a name of the test's) that races clone/exec/exit (threads
//! and forks exiting at once, parents' clone exits before their children's
//! events), uses unconnected datagram sockets (sendto/sendmsg with
//! addresses, then connect), relative paths (`.`, `..`, `./x`), odd fd
//! types (pipe, eventfd, memfd, timerfd, signalfd, inotify, epoll, unix
//! sockets, bpf) and IPv6 sockets. The file is read back with the default
//! output, `-p` formats over the process and fd fields, and filters over
//! networks, fd types and an event type no table has; every line must be
//! the same in both readers.
//!
//! Needs root, BPF, python3 and sysdig; otherwise it says why and passes,
//! except under `CI=true`, where it fails.
#![cfg(feature = "live")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ready() -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let why = if unsafe { libc::geteuid() } != 0 {
        Some("needs root".to_string())
    } else if let Err(e) = sonde_probe::check_support() {
        Some(e.to_string())
    } else if Command::new("sysdig").arg("--version").output().is_err() {
        Some("sysdig is not installed".to_string())
    } else if !Path::new(PYTHON).is_file() {
        Some(format!("{PYTHON} is not installed"))
    } else {
        None
    };
    match why {
        Some(w) => {
            assert!(!ci, "live stress capture: {w} (CI)");
            eprintln!("live stress capture: skipped: {w}");
            false
        }
        None => true,
    }
}

/// The system's python3 (a copy of the binary itself, not a shim that
/// looks its name up).
const PYTHON: &str = "/usr/bin/python3";

/// Records the workload into `out` (a few rounds while the probe runs).
fn record(dir: &Path, out: &Path, tag: &str) {
    let py = dir.join(format!("stress{tag}"));
    std::fs::copy(PYTHON, &py).unwrap();
    let tru = dir.join(format!("true{tag}"));
    std::fs::copy("/bin/true", &tru).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stress/workload.py");
    let filter = format!("proc.name in (stress{tag}, true{tag})");
    let child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["-M", "8", "-w", out.to_str().unwrap(), &filter])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut rounds = 0;
    while Instant::now() < deadline {
        let o = Command::new(&py)
            .arg(&script)
            .arg(&work)
            .arg(&tru)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "the workload runs: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        rounds += 1;
        std::thread::sleep(Duration::from_millis(150));
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "sonde -w: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(rounds >= 3, "{rounds} rounds of the workload");
}

fn run(bin: &str, file: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .unwrap()
}

/// Lines that differ between sonde's and sysdig's reading with `args`
/// (at most 5, with their line numbers), and sysdig's output.
fn differences(file: &Path, args: &[&str]) -> (Vec<String>, String) {
    let ours = run(env!("CARGO_BIN_EXE_sonde"), file, args);
    let theirs = run("sysdig", file, args);
    assert_eq!(
        ours.status.success(),
        theirs.status.success(),
        "{args:?}: sonde {} / sysdig {}",
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
    let a = String::from_utf8_lossy(&ours.stdout).into_owned();
    let b = String::from_utf8_lossy(&theirs.stdout).into_owned();
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut d = Vec::new();
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i).copied(), lb.get(i).copied());
        if x != y && d.len() < 5 {
            d.push(format!(
                "{args:?} line {}:\n  sonde:  {}\n  sysdig: {}",
                i + 1,
                x.unwrap_or("<none>"),
                y.unwrap_or("<none>")
            ));
        }
    }
    if la.len() != lb.len() && d.len() < 5 {
        d.push(format!("{args:?}: {} lines vs {}", la.len(), lb.len()));
    }
    (d, b)
}

#[test]
fn a_live_stress_capture_reads_the_same_in_sysdig() {
    if !ready() {
        return;
    }
    let tag = format!("{}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("sonde-stress-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stress.scap");
    record(&dir, &file, &tag);

    let mut diffs = Vec::new();
    let (d, plain) = differences(&file, &[]);
    diffs.extend(d);
    // the capture holds every class it is meant to exercise
    let want = [
        ("threads", "CLONE_THREAD"),
        ("forks", "< clone res=0"),
        ("exec", "> execve filename="),
        ("exits", "> procexit"),
        ("datagram sendto", "> sendto fd="),
        ("datagram sendmsg", "> sendmsg fd="),
        ("connect after sends", "< connect res=0 tuple=127.0.0.1:"),
        ("IPv6 socket", "(<6>"),
        ("relative path ./x", "name=./x("),
        ("relative path ..", "name=../x("),
        ("relative path .", "name=.("),
        ("pipe", "(<p>)"),
        ("eventfd", "(<e>)"),
        ("timerfd", "(<t>)"),
        ("signalfd", "(<s>)"),
        ("inotify", "(<i>)"),
        ("unix socketpair", "< socketpair res=0"),
        ("unix socket", "(<u>"),
    ];
    for (what, s) in want {
        assert!(plain.contains(s), "the capture has no {what} ({s:?})");
    }
    let formats = [
        "*%evt.num %evt.type %evt.dir %proc.name %proc.pname %proc.ppid %thread.tid %proc.pid %proc.vpid %thread.vtid %proc.exe %proc.args",
        "*%evt.num %fd.num %fd.name %fd.type %fd.typechar %fd.is_server %evt.category %evt.failed",
        "*%evt.num %fd.sip %fd.cip %fd.sport %fd.cport %fd.lip %fd.rip %fd.lport %fd.rport %fd.l4proto %fd.sockfamily",
        "*%evt.num %fd.directory %fd.filename %evt.args",
    ];
    for f in formats {
        diffs.extend(differences(&file, &["-p", f]).0);
    }
    let filters = [
        "fd.snet=127.0.0.0/8",
        "fd.cnet=127.0.0.0/24",
        "fd.snet=::1",
        "fd.cnet=::1",
        "fd.net=::",
        "fd.snet=7f00:0:ff00::",
        "fd.snet!=::1",
        "fd.snet in (::1, 10.0.0.0/8)",
        "fd.type=ipv6",
        "fd.is_server=true",
        "fd.is_server=false and fd.l4proto=udp",
        "fd.typechar in (u, e, t, s, i, p)",
        "fd.type in (signalfd, timerfd, inotify, event, memfd, bpf, pipe, unix)",
        "fd.num=-1",
        "fd.name contains ->",
        "fd.directory contains sub",
        "proc.pname contains stress",
        "evt.type in (clone, execve, procexit) and proc.ppid>0",
    ];
    for f in filters {
        diffs.extend(differences(&file, &["-p", "*%evt.num %fd.name %proc.name", f]).0);
    }
    // an event type no table has: a warning, nothing selected, exit 0 (as
    // Falco treats rules; sysdig 0.29.3 itself refuses the filter, a
    // difference on purpose: rules written for newer tables keep working)
    let o = run(env!("CARGO_BIN_EXE_sonde"), &file, &["evt.type=openat3"]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("openat3"));
    let o = run("sysdig", &file, &["evt.type=openat3"]);
    assert!(!o.status.success() && o.stdout.is_empty());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

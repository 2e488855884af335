//! `sonde` without `-r`: live capture. Needs root and BPF support; without
//! them the run must fail with one clear line.
#![cfg(feature = "live")]

mod live_common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use live_common::{probe_ok, tmpdir};

fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

/// A failing open of a marker file is captured, filtered and printed; -n stops.
#[test]
fn live_capture_prints_filtered_events() {
    if !probe_ok("live_capture_prints_filtered_events") {
        return;
    }
    let marker = format!("/nonexistent/sonde-cli-{}", std::process::id());
    let filter = format!("evt.type=openat and fd.name contains {marker}");
    // until the probe is up, these opens go unseen: keep trying
    let out = sonde_while(&["-n", "1", &filter], || {
        let _ = std::fs::File::open(&marker);
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("< openat fd=-2(ENOENT)"), "{out}");
    assert!(lines[0].contains(&format!("name={marker} ")), "{out}");
}

/// Without privileges: exit code 1 and one line saying what is missing.
#[test]
fn live_capture_without_root_says_why() {
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    // SAFETY: no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let out = if !root {
        sonde().args(["-n", "1"]).output().unwrap()
    } else if setpriv.exists() {
        Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_sonde"))
            .args(["-n", "1"])
            .output()
            .unwrap()
    } else {
        eprintln!("live_capture_without_root_says_why: skipped: no setpriv to drop root");
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("sonde: live capture needs root"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A live capture written with -w reads in sysdig 0.29.3 with exactly the
/// lines sonde prints for it, with process and fd names present.
#[test]
fn live_capture_written_reads_the_same_in_sysdig() {
    if !probe_ok("live_capture_written_reads_the_same_in_sysdig") {
        return;
    }
    if Command::new("sysdig").arg("--version").output().is_err() {
        eprintln!("live_capture_written_reads_the_same_in_sysdig: skipped: sysdig not installed");
        return;
    }
    let dir = tmpdir("cli", "livew");
    // a workload with a name of its own: a copy of cat reading a marker file
    let comm = format!("sw{}", std::process::id() % 100000);
    let exe = dir.join(&comm);
    std::fs::copy("/bin/cat", &exe).unwrap();
    let marker = dir.join("marker.txt");
    std::fs::write(&marker, b"hello from the workload\n").unwrap();
    // and a shell of its own building a pipeline: pipe/pipe2, dup2 and
    // friends, events newer than sysdig 0.29's table when written as they come
    let comm2 = format!("sh{}", std::process::id() % 100000);
    let sh = dir.join(&comm2);
    std::fs::copy("/bin/sh", &sh).unwrap();
    let out = dir.join("live.scap");
    let mut child = sonde()
        .args([
            "-M",
            "6",
            "-w",
            out.to_str().unwrap(),
            &format!("proc.name in ({comm}, {comm2})"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // run the workload repeatedly while the probe starts up
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let _ = Command::new(&exe)
            .arg(&marker)
            .stdout(Stdio::null())
            .status();
        let _ = Command::new(&sh)
            .args([
                "-c",
                &format!(
                    "{} {} | {} 2>&1 >/dev/null",
                    exe.display(),
                    marker.display(),
                    exe.display()
                ),
            ])
            .stdout(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let read = |cmd: &str| {
        let o = Command::new(if cmd == "sonde" {
            env!("CARGO_BIN_EXE_sonde")
        } else {
            "sysdig"
        })
        .env("TZ", "UTC")
        .args(["-r", out.to_str().unwrap()])
        .output()
        .unwrap();
        assert!(
            o.status.success(),
            "{cmd} cannot read the live capture: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (ours, theirs) = (read("sonde"), read("sysdig"));
    assert!(!ours.is_empty(), "events were captured");
    if ours != theirs {
        let first = ours.lines().zip(theirs.lines()).position(|(a, b)| a != b);
        panic!(
            "sysdig reads the capture differently at line {first:?}:\nsonde:  {:?}\nsysdig: {:?}",
            first.and_then(|i| ours.lines().nth(i)),
            first.and_then(|i| theirs.lines().nth(i))
        );
    }
    let m = marker.to_str().unwrap();
    assert!(theirs.contains(&format!(" {comm} (")), "process name shown");
    // the shell's pipeline, as sysdig 0.29 names the events
    assert!(
        theirs.contains(&format!(" {comm2} (")) && theirs.contains(" < pipe res=0 fd1="),
        "pipe shown by sysdig:\n{theirs}"
    );
    assert!(
        theirs.contains(" < dup res="),
        "dup2 shown by sysdig as dup"
    );
    assert!(
        theirs.contains(&format!("(<f>{m})")),
        "fd name of the marker shown:\n{theirs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A syscall flood into a deliberately tiny ring: events are dropped, the
/// drops are counted and reported, and the flooding process is unharmed.
#[test]
fn a_tiny_ring_drops_counts_and_reports() {
    if !probe_ok("a_tiny_ring_drops_counts_and_reports") {
        return;
    }
    let mut child = sonde()
        .args([
            "--ring-size",
            "64K",
            "-M",
            "5",
            "-p",
            "%evt.num %evt.type %evt.args",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // let the probe attach, then flood: 1-byte reads and writes
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let dd = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=1000000"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = started.elapsed();
    assert!(dd.success(), "the flooding process finished unharmed");
    assert!(
        took < Duration::from_secs(30),
        "the flood was not held back ({took:?})"
    );
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "sonde failed: {err}");
    let line = err
        .lines()
        .find(|l| l.contains("events dropped"))
        .unwrap_or_else(|| panic!("no drop report in: {err}"));
    let n: u64 = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count in: {line}"));
    assert!(n > 0, "{line}");
}

/// -U COMM: the named process's events are dropped in the kernel, others pass.
#[test]
fn suppressed_comm_is_dropped() {
    if !probe_ok("suppressed_comm_is_dropped") {
        return;
    }
    let dir = tmpdir("cli", "supp");
    let id = std::process::id() % 100000;
    let (hidden, shown) = (format!("hid{id}"), format!("shw{id}"));
    for n in [&hidden, &shown] {
        std::fs::copy("/bin/cat", dir.join(n)).unwrap();
    }
    let filter = format!("proc.name in ({hidden}, {shown}) and evt.type in (openat, open)");
    let child = sonde()
        .args(["-U", &hidden, "-M", "5", "-p", "%proc.name", &filter])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        for n in [&hidden, &shown] {
            let _ = Command::new(dir.join(n))
                .arg("/etc/hostname")
                .stdout(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l == shown),
        "events of {shown} pass: {text}"
    );
    assert!(
        !text.lines().any(|l| l == hidden),
        "events of {hidden} are dropped: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A process that was already running, with a file already open, before the
/// capture started: its reads show its name and the file's name.
#[test]
fn already_running_process_is_named() {
    if !probe_ok("already_running_process_is_named") {
        return;
    }
    use std::io::Write;
    let dir = tmpdir("cli", "prior");
    let name = format!("pri{}", std::process::id() % 100000);
    let sh = dir.join(&name);
    std::fs::copy("/bin/sh", &sh).unwrap();
    let marker = dir.join("opened-before.txt");
    std::fs::write(&marker, b"one\ntwo\nthree\n").unwrap();
    // opens the file on fd 3, then waits for a line on stdin before reading it
    let script = format!(
        "exec 3<{}; read go; while read -r l <&3; do :; done; sleep 1",
        marker.display()
    );
    let mut prior = spawn_copied(
        Command::new(&sh)
            .args(["-c", &script])
            .stdin(Stdio::piped()),
    );
    std::thread::sleep(Duration::from_millis(300));
    let filter = format!("proc.name={name} and evt.type=read and evt.dir=<");
    let child = sonde()
        .args(["-M", "5", &filter])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    prior.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = prior.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let m = marker.to_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains(&format!(" {name} (")) && l.contains(&format!("(<f>{m})"))),
        "a read of the already-open file, named, by the named process:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Spawns a program the test just copied. While another test thread forks,
/// its child holds the copy's write fd open until it execs, and running the
/// copy fails with ETXTBSY ("Text file busy"): retry a while.
fn spawn_copied(cmd: &mut Command) -> std::process::Child {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return r.unwrap(),
        }
    }
}

/// Runs sonde with `args` until it stops by itself (-n), doing `work` every
/// 50 ms meanwhile (the probe takes a moment to attach); returns stdout.
fn sonde_while(args: &[&str], mut work: impl FnMut()) -> String {
    let mut child = sonde()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        work();
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sonde {args:?} did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "sonde failed: {err}");
    out
}

/// Syscalls with handlers of their own render with all their parameters:
/// a failing mkdir, a datagram sent and received (data and tuples).
#[test]
fn live_capture_renders_syscall_parameters() {
    if !probe_ok("live_capture_renders_syscall_parameters") {
        return;
    }
    let marker = format!("/nonexistent/sonde-cli-mkdir-{}", std::process::id());
    let out = sonde_while(
        &[
            "-n",
            "1",
            &format!("evt.type=mkdir and evt.arg.path={marker}"),
        ],
        || {
            let _ = std::fs::create_dir(&marker);
        },
    );
    assert!(
        out.contains(&format!("< mkdir res=-2(ENOENT) path={marker} mode=1FF")),
        "{out}"
    );

    let data = format!("sonde-cli-udp-{}", std::process::id());
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_nonblocking(true).unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (rport, sport) = (
        rx.local_addr().unwrap().port(),
        tx.local_addr().unwrap().port(),
    );
    let out = sonde_while(
        &[
            "-n",
            "2",
            &format!("evt.type in (sendto, recvfrom) and evt.buffer contains {data}"),
        ],
        || {
            tx.send_to(data.as_bytes(), rx.local_addr().unwrap())
                .unwrap();
            let mut buf = [0u8; 64];
            while rx.recv_from(&mut buf).is_ok() {}
        },
    );
    let tuple = format!("tuple=127.0.0.1:{sport}->127.0.0.1:{rport}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains(&format!("< sendto res={} data={data} ", data.len()))
            && lines[0].contains(&format!("size={} {tuple}", data.len())),
        "{out}"
    );
    assert!(
        lines[1].contains(&format!(
            "< recvfrom res={} data={data} {tuple} ",
            data.len()
        )) && lines[1].contains("size=64"),
        "{out}"
    );
    // the datagram sockets are named after the tuple they sent/received
    let named = format!("(<4u>127.0.0.1:{sport}->127.0.0.1:{rport})");
    assert!(
        lines[0].contains(&named) && lines[1].contains(&named),
        "{out}"
    );
}

/// Syscall latencies are measured when a format or a filter reads them
/// (otherwise the probe skips the enter timestamps).
#[test]
fn live_capture_measures_latency_when_asked() {
    if !probe_ok("live_capture_measures_latency_when_asked") {
        return;
    }
    let pid = std::process::id();
    let getppid = || {
        for _ in 0..10 {
            // SAFETY: no arguments, cannot fail.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
    };
    let filter = format!("evt.type=getppid and proc.pid={pid}");
    let out = sonde_while(
        &["-n", "5", "-p", "%evt.type %evt.latency", &filter],
        getppid,
    );
    let lats: Vec<u64> = out
        .lines()
        .map(|l| {
            let (ty, lat) = l.split_once(' ').unwrap();
            assert_eq!(ty, "getppid", "{out}");
            lat.parse().unwrap()
        })
        .collect();
    assert_eq!(lats.len(), 5, "{out}");
    assert!(lats.iter().all(|&l| l > 0 && l < 1_000_000_000), "{out}");
    // named only by the filter
    let out = sonde_while(
        &["-n", "3", &format!("{filter} and evt.latency>0")],
        getppid,
    );
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// Context switches are captured when the filter asks for them.
#[test]
fn live_capture_switches_when_asked() {
    if !probe_ok("live_capture_switches_when_asked") {
        return;
    }
    let out = sonde_while(&["-n", "1", "evt.type=switch"], || {
        std::thread::sleep(Duration::from_millis(1));
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("> switch next="), "{out}");
    assert!(lines[0].contains(" vm_swap="), "{out}");
}

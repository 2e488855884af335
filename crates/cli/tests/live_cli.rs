//! `sonde` without `-r`: live capture. Needs root and BPF support; without
//! them the run must fail with one clear line.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

/// A failing open of a marker file is captured, filtered and printed; -n stops.
#[test]
fn live_capture_prints_filtered_events() {
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("live_capture_prints_filtered_events: skipped: {e}");
        return;
    }
    let marker = format!("/nonexistent/sonde-cli-{}", std::process::id());
    let mut child = sonde()
        .args([
            "-n",
            "1",
            &format!("evt.type=openat and fd.name contains {marker}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        // until the probe is up, these opens go unseen: keep trying
        let _ = std::fs::File::open(&marker);
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "sonde did not stop after -n 1");
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
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("live_capture_written_reads_the_same_in_sysdig: skipped: {e}");
        return;
    }
    if Command::new("sysdig").arg("--version").output().is_err() {
        eprintln!("live_capture_written_reads_the_same_in_sysdig: skipped: sysdig not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-livew-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // a workload with a name of its own: a copy of cat reading a marker file
    let comm = format!("sw{}", std::process::id() % 100000);
    let exe = dir.join(&comm);
    std::fs::copy("/bin/cat", &exe).unwrap();
    let marker = dir.join("marker.txt");
    std::fs::write(&marker, b"hello from the workload\n").unwrap();
    let out = dir.join("live.scap");
    let mut child = sonde()
        .args([
            "-M",
            "6",
            "-w",
            out.to_str().unwrap(),
            &format!("proc.name={comm}"),
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
    assert!(
        theirs.contains(&format!("(<f>{m})")),
        "fd name of the marker shown:\n{theirs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

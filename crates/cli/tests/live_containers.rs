//! Live capture with real containers (podman and crun from a busybox
//! rootfs, with this host kind's two workarounds: no cgroup2 `unified`
//! mount in the runtime's mount namespace, explicit ulimits): events carry
//! the container's id, name, image and labels; host processes are `host`;
//! a crun container without an engine gets its id and type; a churn of 50
//! short-lived containers is attributed and leaves nothing in the table;
//! a runtime socket that answers after 5 s never holds events up; a `-w`
//! file carries the container events (read back by sonde and sysdig).
//!
//! Needs root, BPF, podman, crun and busybox; otherwise it says why and
//! passes, except under `CI=true`, where missing tools fail it.
#![cfg(feature = "live")]

mod live_common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use live_common::{busybox_rootfs, run_private, which, Running};

/// The tests run one at a time: containers and captures would mix.
static SERIAL: Mutex<()> = Mutex::new(());

fn ready(name: &str) -> bool {
    live_common::ready(name, &["podman", "crun", "busybox", "unshare"])
}

fn tmpdir(tag: &str) -> PathBuf {
    live_common::tmpdir("lc", tag)
}

fn rootfs(dir: &Path) -> PathBuf {
    busybox_rootfs(dir, &["sh", "echo", "sleep", "cat", "true"])
}

fn podman_run(root: &Path, extra: &str, cmd: &str) -> String {
    run_private(&format!(
        "podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         {extra} --rootfs {} /bin/sh -c '{cmd}'",
        root.display()
    ))
}

/// A running `sonde` that was up before the workload started.
struct Capture {
    run: Running,
    marker: String,
}

impl Capture {
    /// Starts `sonde ARGS FILTER` (the filter also lets a marker open
    /// through), gives the probe time to attach and opens the marker;
    /// [`Capture::stop`] checks that the marker was seen (the capture was
    /// up before the workload).
    fn start(args: &[&str], filter: &str, env: &[(&str, &str)]) -> Capture {
        let marker = format!("/nonexistent/sonde-lc-{}", std::process::id());
        let filter = format!("({filter}) or (evt.type=openat and fd.name={marker})");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde"));
        cmd.args(args).arg(&filter);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let c = Capture {
            run: Running::spawn(&mut cmd),
            marker,
        };
        std::thread::sleep(Duration::from_secs(3));
        c.mark();
        c
    }

    fn mark(&self) {
        for _ in 0..3 {
            let _ = std::fs::File::open(&self.marker);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (SIGINT) and returns its stdout lines and stderr.
    fn stop(self) -> (Vec<String>, String) {
        std::thread::sleep(Duration::from_millis(300));
        let (lines, err) = self.run.stop("sonde");
        assert!(
            lines.iter().any(|l| l.contains(&self.marker)),
            "the capture was not up after 3 s:\n{}\n{err}",
            lines.join("\n")
        );
        (lines, err)
    }
}

/// `*`: print events whose fields are not all set (host threads have no
/// image). busybox's sh runs `cat` in-process, so the tests look for the
/// open of a file rather than for an execve.
const FMT: &str = "*%proc.name %container.id %container.name %container.image %fd.name";

/// A named, labelled podman container: its events carry id, name, image
/// and type; host processes are `host`; the `-w` file carries the
/// container events, and sonde and sysdig read the same names back.
#[test]
fn podman_container_live_and_written() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("podman_container_live_and_written") {
        return;
    }
    let dir = tmpdir("web");
    let root = rootfs(&dir);
    let name = format!("sonde-web-{}", std::process::id());
    let file = dir.join("cap.scap");
    let file_s = file.to_str().unwrap().to_string();
    let cap = Capture::start(
        &["-v", "-w", &file_s, "-p", FMT],
        // everything the container does goes to the file (its clone and
        // execve events tell a reader its threads' cgroups)
        "container.id!=host or (evt.type=openat and evt.dir=< and fd.name=/etc/hostname)",
        &[],
    );
    // the sleep leaves time for the lookup before `cat` runs
    podman_run(
        &root,
        &format!("--name {name} --label app=demo"),
        "sleep 2; cat /etc/hostname >/dev/null",
    );
    let _ = Command::new("cat").arg("/etc/hostname").output();
    let (lines, err) = cap.stop();
    let text = lines.join("\n");
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(&format!(" {name} ")) && l.ends_with(" /etc/hostname"))
        .collect();
    assert!(!ours.is_empty(), "no open in the container:\n{text}\n{err}");
    let f: Vec<&str> = ours[0].split(' ').collect();
    assert_eq!(f[1].len(), 12, "{text}");
    // a --rootfs container has no image: <NA>, as for sysdig
    assert!(!f[3].is_empty(), "{text}");
    assert_eq!(f[4], "/etc/hostname", "{text}");
    let id = f[1].to_string();
    let host: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("cat host "))
        .collect();
    assert!(!host.is_empty(), "{text}");
    assert!(err.contains("Containers: "), "{err}");

    // the file: container events with the name, image and labels
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["-r", &file_s, "-p", "%evt.arg.json", "evt.type=container"])
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains(&format!("\"name\":\"{name}\"")), "{json}");
    assert!(json.contains(&format!("\"id\":\"{id}\"")), "{json}");
    assert!(json.contains("\"labels\":{\"app\":\"demo\""), "{json}");
    assert!(json.contains("\"type\":11"), "{json}");
    let read_back = |bin: &str| {
        let out = Command::new(bin)
            .args([
                "-r",
                &file_s,
                "-p",
                "*%container.id %container.name %fd.name",
                "container.id!=host and evt.type=openat and evt.dir=<",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let want = format!("{id} {name} /etc/hostname");
    let sonde = read_back(env!("CARGO_BIN_EXE_sonde"));
    assert!(sonde.lines().any(|l| l == want), "sonde -r: {sonde}");
    if which("sysdig").is_some() {
        let sysdig = read_back("sysdig");
        eprintln!("sysdig -r: {sysdig}");
        assert!(sysdig.lines().any(|l| l == want), "sysdig -r: {sysdig}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crun container without an engine: its id (the name) and type.
#[test]
fn crun_container_gets_id_and_type() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("crun_container_gets_id_and_type") {
        return;
    }
    let dir = tmpdir("crun");
    let root = rootfs(&dir);
    let cid = format!("sonde-crun-{}", std::process::id());
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let st = Command::new("crun")
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .unwrap();
    assert!(st.success());
    let spec = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    let spec = spec
        .replacen("\"terminal\": true", "\"terminal\": false", 1)
        .replacen(
            "\"sh\"",
            "\"/bin/sh\", \"-c\", \"sleep 1; cat /etc/hostname\"",
            1,
        )
        .replacen(
            "\"path\": \"rootfs\"",
            &format!("\"path\": \"{}\"", root.display()),
            1,
        );
    std::fs::write(bundle.join("config.json"), spec).unwrap();
    let cap = Capture::start(
        &["-p", "*%container.id %fd.name %evt.arg.json"],
        "(evt.type=openat and evt.dir=< and fd.name=/etc/hostname) or evt.type=container",
        &[],
    );
    run_private(&format!(
        "crun run -b {} {cid} </dev/null >/dev/null 2>&1",
        bundle.display()
    ));
    let (lines, err) = cap.stop();
    let _ = Command::new("crun").args(["delete", "-f", &cid]).output();
    let text = lines.join("\n");
    assert!(
        lines.contains(&format!("{cid} /etc/hostname <NA>")),
        "{text}\n{err}"
    );
    // its type: CT_CUSTOM (sysdig has no name for plain runc/crun)
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("\"id\":\"{cid}\"")) && l.contains("\"type\":5")),
        "{text}\n{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// 50 short-lived containers: each one attributed, none left in the table.
#[test]
fn container_churn_leaves_nothing_behind() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("container_churn_leaves_nothing_behind") {
        return;
    }
    let dir = tmpdir("churn");
    let root = rootfs(&dir);
    let cap = Capture::start(
        &["-v", "-p", "*%container.id %fd.name"],
        "evt.type=openat and evt.dir=< and fd.name=/etc/hostname",
        &[],
    );
    let n = 50;
    let mut ids = Vec::new();
    for i in 0..n {
        let cidfile = dir.join(format!("cid-{i}"));
        podman_run(
            &root,
            &format!("--cidfile {}", cidfile.display()),
            "cat /etc/hostname >/dev/null",
        );
        ids.push(std::fs::read_to_string(&cidfile).unwrap().trim()[..12].to_string());
    }
    std::thread::sleep(Duration::from_secs(1));
    // containers others run on this machine may be in the table too
    let others = Command::new("sh")
        .args(["-c", "podman ps -q | wc -l"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let (lines, err) = cap.stop();
    let text = lines.join("\n");
    for id in &ids {
        assert!(
            lines.iter().any(|l| l == &format!("{id} /etc/hostname")),
            "{id} not attributed:\n{text}"
        );
    }
    let summary = err
        .lines()
        .find(|l| l.starts_with("Containers: "))
        .unwrap_or_else(|| panic!("{err}"));
    let in_table: u64 = summary
        .rsplit(", ")
        .next()
        .and_then(|t| t.strip_suffix(" in table"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    eprintln!("{summary} ({others} other containers running)");
    assert!(in_table <= others, "{summary}; {others} others running");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A docker API socket that accepts and answers nothing for 5 s: events
/// keep flowing while the lookup waits.
#[test]
fn slow_runtime_socket_never_holds_events() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("slow_runtime_socket_never_holds_events") {
        return;
    }
    let dir = tmpdir("slow");
    let root = rootfs(&dir);
    let sock = dir.join("slow.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut c) = c else { break };
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(5));
                let _ = std::io::Write::write_all(
                    &mut c,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                );
            });
        }
    });
    let host = format!("unix://{}", sock.display());
    // -n: sonde ends after the container's open, the marker opens and
    // the host opens below; had a lookup held the loop, it could not end
    // before the socket's 5 s
    let marker = format!("/nonexistent/sonde-slow-{}", std::process::id());
    let slow = format!("sonde-slow-{}", std::process::id());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["-v", "-n", "12", "-p", "*%container.id %fd.name"])
        .arg(format!(
            "evt.type=openat and evt.dir=< and (fd.name=/etc/hostname or fd.name={marker})"
        ))
        .env("DOCKER_HOST", &host)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let mut ctr = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "umount /sys/fs/cgroup/unified 2>/dev/null; podman run --rm --network=none \
             --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name {slow} --rootfs {} \
             /bin/sh -c 'cat /etc/hostname >/dev/null; sleep 8'",
            root.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // the container's open happens within a few seconds of the start
    std::thread::sleep(Duration::from_secs(3));
    let t = Instant::now();
    let status = loop {
        let _ = std::fs::File::open(&marker);
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "sonde did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = t.elapsed();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0", &slow])
        .output();
    let _ = ctr.wait();
    assert!(status.success(), "{out}");
    eprintln!("12 events in {took:?} while the runtime socket stalls:\n{out}");
    assert!(
        out.lines()
            .any(|l| !l.starts_with("host ") && l.ends_with(" /etc/hostname")),
        "the container was not seen: {out}"
    );
    assert!(took < Duration::from_secs(2), "events held up: {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

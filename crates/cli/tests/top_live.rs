//! `sonde top` live: the Processes view shows a busy loop's CPU use; the
//! Files view finds a file a workload writes, with its bytes; the Containers view lists a running podman container by
//! name; the K8s views fill in from an API server's watches (namespace
//! and pod of a podman container served as a pod). Needs root, BPF, and
//! for the container tests podman, crun and
//! busybox (with this host kind's workarounds, as `live_containers.rs`);
//! otherwise it says why and passes, except under `CI=true`.
#![cfg(feature = "live")]

mod live_common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use live_common::{busybox_rootfs, ready};

/// The tests run one at a time: two captures at once would slow both.
static SERIAL: Mutex<()> = Mutex::new(());

/// A running `sonde top --raw`: its output lines as they come.
struct Top {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Top {
    fn start(args: &[&str]) -> Top {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .arg("top")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        Top { child, lines }
    }

    /// Waits until a line satisfies `ok`; fails with the output.
    fn wait(&self, what: &str, secs: u64, ok: impl Fn(&[String]) -> bool) {
        let t0 = Instant::now();
        loop {
            {
                let l = self.lines.lock().unwrap();
                if ok(&l) {
                    return;
                }
                if t0.elapsed() > Duration::from_secs(secs) {
                    let tail: Vec<&String> = l.iter().rev().take(40).collect();
                    panic!("timed out waiting for {what}; last lines: {tail:#?}");
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Top {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[test]
fn live_files_view_shows_a_written_file_with_its_bytes() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("live_files_view", &[]) {
        return;
    }
    let path = std::env::temp_dir().join(format!("sonde-top-live-{}.dat", std::process::id()));
    let p = path.to_str().unwrap().to_string();
    let filter = format!("fd.name contains {p}");
    let top = Top::start(&["--raw", "-v", "files", "-d", "500", &filter]);
    // the capture runs once samples come (the first is always empty)
    top.wait("samples", 30, |l| samples(l) >= 2);
    std::fs::write(&path, vec![b'x'; 1000]).unwrap();
    let want = p.clone();
    top.wait("the written file", 20, move |l| {
        l.iter().any(|r| r.trim_end().ends_with(&want))
    });
    let lines = top.lines.lock().unwrap().clone();
    let row = lines
        .iter()
        .find(|r| r.trim_end().ends_with(&p))
        .unwrap()
        .clone();
    // BYTES IN, BYTES OUT, OPS, OPENS, ERRORS, FILENAME
    let f: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(f.len(), 6, "{row}");
    assert_eq!(f[0], "0", "bytes read: {row}");
    assert_eq!(f[1], "1000", "bytes written: {row}");
    assert!(
        f[2].parse::<u64>().unwrap() >= 2,
        "open, write, close: {row}"
    );
    assert_eq!(f[4], "0", "errors: {row}");
    drop(top);
    let _ = std::fs::remove_file(&path);
}

/// The Processes view's CPU column on a live capture: a busy loop (no
/// system calls: its CPU use comes from the procinfo events alone) shows
/// the share of a core it really had (from its `/proc` ticks over the
/// same time; most of a core on a quiet host), a sleeping process near 0.
#[test]
fn live_procs_view_shows_a_busy_loop_cpu() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("live_procs_cpu", &["sh", "sleep"]) {
        return;
    }
    let mut busy = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let pid = busy.id().to_string();
    let mut idle = Command::new("sleep").arg("60").spawn().unwrap();
    let idle_pid = idle.id().to_string();
    let top = Top::start(&["--raw", "-v", "procs", "-d", "1000"]);
    top.wait("samples", 30, |l| samples(l) >= 2);
    let (t0, ticks0) = (Instant::now(), ticks(&pid));
    top.wait("four more samples", 30, |l| samples(l) >= 6);
    let had = (ticks(&pid) - ticks0) as f64 / t0.elapsed().as_secs_f64();
    let lines = top.lines.lock().unwrap().clone();
    let cpu = cpu_of(&lines, &pid);
    let best = cpu.iter().cloned().fold(0.0, f64::max);
    assert!(
        had > 20.0,
        "the busy loop ran {had:.0}% of a core: too busy a host"
    );
    assert!(cpu.iter().all(|&c| c <= 100.0), "{cpu:?}");
    assert!(
        best > 50.0 || best > had * 0.7,
        "busy loop at {best}% (it had {had:.0}% of a core): {cpu:?}"
    );
    let idle_cpu = cpu_of(&lines, &idle_pid);
    assert!(!idle_cpu.is_empty(), "no row for the sleeping process");
    assert!(idle_cpu.iter().all(|&c| c < 5.0), "{idle_cpu:?}");
    for c in [&mut idle, &mut busy] {
        let _ = c.kill();
        let _ = c.wait();
    }
    drop(top);
}

/// The CPU column of the Processes view rows of `pid` (`--raw`: PID PPID
/// CPU USER TH VIRT RES FILE NET Command).
fn cpu_of(l: &[String], pid: &str) -> Vec<f64> {
    l.iter()
        .map(|r| r.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 10 && f[0] == pid)
        .filter_map(|f| f[2].parse::<f64>().ok())
        .collect()
}

/// User and system clock ticks a process used (`/proc/PID/stat`).
fn ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// How many samples the lines hold.
fn samples(l: &[String]) -> usize {
    l.iter()
        .filter(|x| x.as_str() == "----------------------")
        .count()
}

fn rootfs(dir: &Path) -> PathBuf {
    busybox_rootfs(dir, &["sh", "sleep", "cat", "true"])
}

#[test]
fn live_containers_view_lists_a_podman_container_by_name() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready(
        "live_containers_view",
        &["podman", "crun", "busybox", "unshare"],
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-top-ctr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = rootfs(&dir);
    let name = format!("sonde-top-ctr-{}", std::process::id());
    let top = Top::start(&["--raw", "-v", "containers", "-d", "500"]);
    top.wait("samples", 30, |l| samples(l) >= 2);
    // a container that reads a file every 100 ms for 6 s
    let script = format!(
        "umount /sys/fs/cgroup/unified 2>/dev/null; podman run --rm --network=none \
         --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name {name} --rootfs {} \
         /bin/sh -c 'i=0; while [ $i -lt 60 ]; do cat /etc/hostname >/dev/null 2>&1; sleep 0.1; i=$((i+1)); done'",
        root.display()
    );
    let mut ctr = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let want = name.clone();
    top.wait("the container's row", 40, move |l| {
        l.iter()
            .any(|r| r.trim_end().ends_with(&format!(" {want}")))
    });
    let lines = top.lines.lock().unwrap().clone();
    let row = lines
        .iter()
        .find(|r| r.trim_end().ends_with(&format!(" {name}")))
        .unwrap();
    // ... ID NAME: the container's 12-digit id before its name
    let f: Vec<&str> = row.split_whitespace().collect();
    let id = f[f.len() - 2];
    assert_eq!(id.len(), 12, "{row}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{row}");
    let _ = ctr.wait();
    drop(top);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-k`/`--kubeconfig` reach the views: the K8s Pods and K8s Namespaces
/// views list the pod and namespace a running podman container belongs to
/// (the API server is `sonde_k8s::testserver`).
#[cfg(feature = "k8s")]
#[test]
fn live_k8s_views_list_the_pod_and_namespace_of_a_container() {
    use sonde_k8s::testserver::{Server, ServerOptions};
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("live_k8s_views", &["podman", "crun", "busybox", "unshare"]) {
        return;
    }
    let dir = live_common::tmpdir("top-k8s", "views");
    let root = rootfs(&dir);
    let srv = Server::start(ServerOptions {
        token: Some("top-token".into()),
        ..ServerOptions::default()
    });
    live_common::cluster::cluster(&srv);
    let name = format!("sonde-top-k8s-{}", std::process::id());
    let id = live_common::run_private(&format!(
        "podman create --name {name} --network=none --ulimit nofile=1024:1024 \
         --ulimit nproc=1024:1024 --rootfs {} /bin/sh -c \
         'i=0; while [ $i -lt 250 ]; do cat /etc/hostname >/dev/null; sleep 0.1; i=$((i+1)); done'",
        root.display()
    ))
    .trim()
    .to_string();
    srv.put(&live_common::cluster::pod("test-node", &id));
    let mut ctr = live_common::private(&format!("podman start -a {id}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kc = srv.kubeconfig();
    for (view, want) in [
        ("kubernetes_pods", ["pod-cart-1", "cart-5f6-x7k2p", "shop"]),
        ("kubernetes_namespaces", ["ns-shop", "shop", "env:test"]),
    ] {
        let top = Top::start(&[
            "--raw",
            "-v",
            view,
            "-d",
            "500",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--node-name",
            "test-node",
        ]);
        top.wait(&format!("{view}: the pod's row"), 40, |l| {
            l.iter()
                .any(|r| want.iter().all(|w| r.split_whitespace().any(|f| f == *w)))
        });
        drop(top);
    }
    let _ = ctr.kill();
    let _ = ctr.wait();
    let _ = Command::new("podman").args(["rm", "-f", &id]).output();
    let _ = std::fs::remove_dir_all(&dir);
}

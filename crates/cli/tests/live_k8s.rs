//! Live capture joined to Kubernetes: a real podman container (busybox
//! rootfs, this host kind's workarounds) is the container of a pod served
//! by the test HTTPS endpoint (`sonde_k8s::testserver`: pod status
//! container id = the podman id, in a deployment's replicaset, selected
//! by a service). `sonde --kubeconfig ... --node-name ...` prints the
//! container's events with `k8s.pod.name`, `k8s.ns.name`,
//! `k8s.deployment.name`; the `-w` file shows the same fields read back
//! with no endpoint, and sysdig 0.29.3 reads it without error. A hanging
//! endpoint does not hold events up.
#![cfg(feature = "k8s")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use sonde_k8s::testserver::{Server, ServerOptions};

mod live_common;
use live_common::cluster::{cluster, pod};
use live_common::{busybox_rootfs, run_private, Running};

static SERIAL: Mutex<()> = Mutex::new(());

fn ready(name: &str) -> bool {
    live_common::ready(name, &["podman", "crun", "busybox", "unshare", "sysdig"])
}

fn rootfs(dir: &Path) -> PathBuf {
    busybox_rootfs(dir, &["sh", "sleep", "cat"])
}

/// A running `sonde`, given 3 s to attach its probe.
struct Capture(Running);

impl Capture {
    fn start(args: &[&str]) -> Capture {
        let run = Running::spawn(Command::new(env!("CARGO_BIN_EXE_sonde")).args(args));
        std::thread::sleep(Duration::from_secs(3));
        Capture(run)
    }

    fn stop(self) -> (Vec<String>, String) {
        std::thread::sleep(Duration::from_millis(300));
        self.0.stop("sonde")
    }
}

const FMT: &str = "*%container.id %k8s.pod.name %k8s.ns.name %k8s.deployment.name %k8s.rs.name %k8s.svc.name %k8s.pod.ip %k8s.node.name %k8s.node.label.zone %fd.name";
const FILTER: &str = "evt.type=openat and evt.dir=< and fd.name=/etc/hostname";

#[test]
fn podman_container_in_a_served_pod() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("podman_container_in_a_served_pod") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-k8s-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = rootfs(&dir);
    let srv = Server::start(ServerOptions {
        token: Some("live-token".into()),
        ..ServerOptions::default()
    });
    cluster(&srv);
    let name = format!("sonde-k8s-{}", std::process::id());
    let id = run_private(&format!(
        "podman create --name {name} --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         --rootfs {} /bin/sh -c 'sleep 1; cat /etc/hostname >/dev/null'",
        root.display()
    ))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64, "{id}");
    // the pod runs on this node, its container is the podman one
    srv.put(&pod("test-node", &id));
    let file = dir.join("k8s.scap");
    let file_s = file.to_str().unwrap().to_string();
    let kc = srv.kubeconfig();
    let cap = Capture::start(&[
        "-v",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--node-name",
        "test-node",
        // everything the container does goes to the file (its clone and
        // execve events tell a reader its threads' cgroups)
        "-w",
        &file_s,
        "-p",
        FMT,
        "container.id!=host",
    ]);
    run_private(&format!("podman start -a {id}"));
    let (lines, err) = cap.stop();
    let _ = Command::new("podman").args(["rm", "-f", &id]).output();
    let text = lines.join("\n");
    let short = &id[..12];
    let want = format!(
        "{short} cart-5f6-x7k2p shop cart cart-5f6 cart-svc 10.88.0.7 test-node z1 /etc/hostname"
    );
    assert!(lines.contains(&want), "want {want}:\n{text}\n{err}");
    assert!(err.contains("Kubernetes watch pods: watching"), "{err}");
    drop(srv);

    // the capture, read back with no endpoint
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["-r", &file_s, "-p", FMT, FILTER])
        .output()
        .unwrap();
    let back = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(back.lines().any(|l| l == want), "sonde -r:\n{back}");
    // -pk: sysdig's Kubernetes format names the pod
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["-r", &file_s, "-pk", FILTER])
        .output()
        .unwrap();
    let pk = String::from_utf8_lossy(&out.stdout);
    assert!(
        pk.lines()
            .any(|l| l.contains(&format!(" cart-5f6-x7k2p ({short}) "))),
        "-pk:\n{pk}"
    );
    // sysdig 0.29.3 reads the file (the metadata is container labels)
    let out = Command::new("sysdig")
        .args([
            "-r",
            &file_s,
            "-p",
            "%container.id %k8s.pod.name %fd.name",
            FILTER,
        ])
        .output()
        .unwrap();
    let sd = String::from_utf8_lossy(&out.stdout);
    eprintln!("sysdig -r: {sd}");
    assert!(
        out.status.success(),
        "sysdig: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sd.lines()
            .any(|l| l.starts_with(short) && l.ends_with(" /etc/hostname")),
        "sysdig:\n{sd}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An API server that never answers holds no event up: the capture runs
/// and stops on time, and says where the watches stand.
#[test]
fn hanging_api_server_never_holds_events() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !ready("hanging_api_server_never_holds_events") {
        return;
    }
    let srv = Server::start(ServerOptions::default());
    srv.hang(true);
    let t = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args([
            "-v",
            "--kubeconfig",
            srv.kubeconfig().to_str().unwrap(),
            "-M",
            "3",
            "-p",
            "%proc.name",
            "evt.type=openat and fd.name=/etc/hostname",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..5 {
        let _ = Command::new("cat").arg("/etc/hostname").output();
    }
    let out = out.wait_with_output().unwrap();
    let took = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.lines().filter(|l| *l == "cat").count() >= 5,
        "{stdout}\n{stderr}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        stderr.contains("Kubernetes watch pods: listing"),
        "{stderr}"
    );
    assert!(srv.requests().0 >= 10, "every watch asked");
}

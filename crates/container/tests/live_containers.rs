//! Live: real podman and crun containers from a busybox rootfs (with the
//! two workarounds of this host kind: no cgroup2 `unified` mount in the
//! runtime's mount namespace, explicit ulimits). A named, labelled podman
//! container is identified from /proc/PID/cgroup and resolved through
//! libpod's state on disk and through the Docker-compatible API of
//! `podman system service`; a crun container gets its id and type; a run
//! of short-lived containers is resolved and forgotten.
//!
//! Needs root, podman, crun and busybox; otherwise it says why and passes,
//! except under `CI=true`, where missing tools fail it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_container::{
    identify_pid, identify_proc_cgroup, DockerApi, Libpod, OciBundles, Resolver, ResolverConfig,
    Runtime, Source,
};
use sonde_livetest::{busybox_rootfs, crun_bundle, run_private, tmpdir};

fn ready(name: &str) -> bool {
    sonde_livetest::require(name, &["podman", "crun", "busybox", "unshare"])
}

fn rootfs(dir: &Path) -> PathBuf {
    busybox_rootfs(dir, &["sh", "echo", "sleep", "cat", "true"])
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Removes the container and the service (and the temp dir) at the end,
/// even when an assertion fails.
struct Cleanup {
    podman: String,
    crun: String,
    service: Option<Child>,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.podman])
            .output();
        let _ = Command::new("crun")
            .args(["kill", &self.crun, "KILL"])
            .output();
        std::thread::sleep(Duration::from_millis(100));
        let _ = Command::new("crun")
            .args(["delete", "-f", &self.crun])
            .output();
        if let Some(c) = &mut self.service {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn podman_and_crun_containers() {
    if !ready("podman_and_crun_containers") {
        return;
    }
    let me = std::process::id();
    let dir = tmpdir("ctr", "live");
    let mut clean = Cleanup {
        podman: format!("sonde-web-{me}"),
        crun: format!("sonde-crun-{me}"),
        service: None,
        dir: dir.clone(),
    };
    let root = rootfs(&dir);
    let name = clean.podman.clone();

    // a named, labelled podman container
    let id = run_private(&format!(
        "podman run -d --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         --name {name} --label app=demo --label tier=web --rootfs {} \
         /bin/sh -c 'trap exit TERM; sleep 60 & wait'",
        root.display()
    ))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let pid = sh(&format!(
        "podman inspect {name} --format '{{{{.State.Pid}}}}'"
    ));
    let image = sh(&format!(
        "podman inspect {name} --format '{{{{.ImageName}}}}'"
    ));
    let image_id = sh(&format!("podman inspect {name} --format '{{{{.Image}}}}'"));
    let cg = std::fs::read(format!("/proc/{pid}/cgroup")).unwrap();
    let ident = identify_proc_cgroup(&cg).expect("podman container identified");
    assert_eq!(
        (ident.id.as_str(), ident.runtime),
        (id.as_str(), Runtime::Podman)
    );
    assert_eq!(ident.short_id(), &id[..12]);
    assert_eq!(identify_pid(pid.parse().unwrap()).as_ref(), Some(&ident));

    // (a) libpod state on disk
    let deadline = Instant::now() + Duration::from_secs(2);
    let info = Libpod::default()
        .lookup(&ident.id, ident.runtime, deadline)
        .unwrap()
        .expect("libpod knows the container");
    assert_eq!(info.name, name);
    assert_eq!(info.label("app"), Some("demo"));
    assert_eq!(info.label("tier"), Some("web"));
    assert_eq!(info.image, image);
    assert_eq!(info.image_id, image_id);
    assert_eq!(info.runtime.as_str(), "podman");
    assert!(!info.privileged);

    // (b) the Docker-compatible API of `podman system service`
    let sock = dir.join("api.sock");
    clean.service = Some(
        Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", sock.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let api = DockerApi::new(&sock);
    let info = api
        .lookup(
            &ident.id,
            ident.runtime,
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap()
        .expect("the API knows the container");
    assert_eq!(info.id, id);
    assert_eq!(info.name, name);
    assert_eq!(info.label("app"), Some("demo"));
    assert_eq!(info.image, image);
    assert_eq!(info.runtime, Runtime::Podman);
    assert!(api
        .lookup(
            &"0".repeat(64),
            Runtime::Podman,
            Instant::now() + Duration::from_secs(5)
        )
        .unwrap()
        .is_none());

    // the resolver over both
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(api), Arc::new(Libpod::default())];
    let mut r = Resolver::new(sources, &ResolverConfig::default());
    assert!(r.request(&ident));
    let got = r.wait(Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].info.as_ref().unwrap().name, name);
    assert!(r.reasons().is_empty(), "{:?}", r.reasons());

    crun_container(&clean.crun, &dir, &root);

    // and this process is on the host
    let me_cg = std::fs::read("/proc/self/cgroup").unwrap();
    assert_eq!(identify_proc_cgroup(&me_cg), None);
    assert_eq!(identify_pid(std::process::id()), None);
    drop(clean);
}

/// A plain crun container gets its id and type, and its bundle is found.
fn crun_container(cid: &str, dir: &Path, root: &Path) {
    // a plain crun container: id and type
    let bundle = dir.join("bundle");
    crun_bundle(&bundle, root, "\"/bin/sleep\", \"60\"");
    run_private(&format!(
        "crun run -d -b {} {cid} </dev/null >/dev/null 2>&1",
        bundle.display()
    ));
    let state = sh(&format!("crun state {cid}"));
    let st: serde_json::Value = serde_json::from_str(&state).unwrap();
    let cpid = st["pid"].as_u64().unwrap();
    let cg = std::fs::read(format!("/proc/{cpid}/cgroup")).unwrap();
    let ident = identify_proc_cgroup(&cg).expect("crun container identified");
    assert_eq!((ident.id.as_str(), ident.runtime), (cid, Runtime::Runc));
    let info = OciBundles::default()
        .lookup(
            &ident.id,
            ident.runtime,
            Instant::now() + Duration::from_secs(2),
        )
        .unwrap()
        .expect("crun's state names the bundle");
    assert_eq!(info.id, cid);
    assert_eq!(info.runtime.as_str(), "runc");
}

/// Removes the named podman containers at the end.
struct Containers(Vec<String>, PathBuf);

impl Drop for Containers {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("podman")
                .args(["rm", "-f", "-t", "0"])
                .args(&self.0)
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Short-lived containers one after another: each is identified and
/// resolved by name through libpod's state, and forgetting them empties
/// the resolver's cache.
#[test]
fn churn_of_short_lived_containers() {
    if !ready("churn_of_short_lived_containers") {
        return;
    }
    const N: usize = 8;
    let me = std::process::id();
    let dir = tmpdir("ctr", "churn");
    let root = rootfs(&dir);
    let mut made = Containers(Vec::new(), dir.clone());
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(Libpod::default())];
    let mut r = Resolver::new(sources, &ResolverConfig::default());
    let mut want = Vec::new();
    for i in 0..N {
        let name = format!("sonde-churn-{me}-{i}");
        let id = run_private(&format!(
            "podman run -d --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
             --name {name} --label n={i} --rootfs {} /bin/sh -c 'trap exit TERM; sleep 30 & wait'",
            root.display()
        ))
        .trim()
        .to_string();
        made.0.push(name.clone());
        let pid = sh(&format!(
            "podman inspect {name} --format '{{{{.State.Pid}}}}'"
        ));
        let ident = identify_pid(pid.parse().unwrap()).expect("identified");
        assert_eq!(ident.id, id);
        assert!(r.request(&ident));
        want.push((id, name));
    }
    let end = Instant::now() + Duration::from_secs(10);
    while r.pending() > 0 && Instant::now() < end {
        r.wait(Duration::from_millis(50));
    }
    for (i, (id, name)) in want.iter().enumerate() {
        let got = r.get(id).and_then(|g| g.info.as_ref()).expect("resolved");
        assert_eq!(&got.name, name);
        assert_eq!(got.label("n"), Some(i.to_string().as_str()));
    }
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0"])
        .args(&made.0)
        .output();
    made.0.clear();
    for (id, _) in &want {
        r.forget(id);
    }
    assert_eq!((r.cached(), r.pending(), r.dropped()), (0, 0, 0));
}

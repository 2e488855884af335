//! The `cgroups` parameter of execve events, live, on real containers: a
//! crun container's process carries its `/<ID>` cgroup, a podman
//! container's its `/libpod_parent/libpod-<id>` cgroup, in the v1
//! controllers of a hybrid host (where the v2 path is the root for every
//! task), and a host process the paths /proc/self/cgroup shows.
//!
//! Needs root, BPF support, crun, podman and busybox; otherwise it says why
//! and passes, except under `CI=true`, where missing tools fail it.

use std::process::Command;
use std::time::{Duration, Instant};

use sonde_event::codes as c;
use sonde_livetest::{busybox_rootfs, crun_bundle, run_private, tmpdir};
use sonde_probe::{Config, Event, Probe};

/// Parameter `name` of an event, as bytes.
fn param(e: &Event, name: &str) -> Vec<u8> {
    let raw = e.raw();
    let info = raw.info().expect("known event");
    let i = info.params.iter().position(|p| p.name == name).unwrap();
    raw.param(i).unwrap().to_vec()
}

/// The `cgroups` entries of an event as `controller=path` strings.
fn cgroups(e: &Event) -> Vec<String> {
    param(e, "cgroups")
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Whether the test can run; fails when it cannot under CI (but for BPF
/// support, which skips it).
fn ready(name: &str) -> bool {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 || sonde_probe::check_support().is_err() {
        eprintln!("{name}: skipped: live capture needs root and BPF support");
        return false;
    }
    sonde_livetest::require(name, &["crun", "podman", "busybox", "unshare"])
}

/// Captures execve exits while `work` runs, until `done` holds for the
/// events so far or 10 s pass.
fn capture(work: impl FnOnce(), done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let cfg = Config {
        syscalls: Some(vec![libc::SYS_execve as u32]),
        ..Config::default()
    };
    let mut probe = Probe::open(&cfg).expect("probe loads");
    work();
    let mut evs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !done(&evs) {
        let got = probe.poll(Duration::from_millis(5)).unwrap();
        evs.extend(
            got.into_iter()
                .filter(|e| e.raw().code == c::SYSCALL_EXECVE_19_X),
        );
    }
    evs
}

/// The execve exit of `/bin/echo` whose args contain `marker`.
fn exec_with<'a>(evs: &'a [Event], marker: &str) -> Option<&'a Event> {
    evs.iter().find(|e| {
        let a = param(e, "args");
        if !param(e, "exe").starts_with(b"/bin/echo") {
            return false;
        }
        a.windows(marker.len()).any(|w| w == marker.as_bytes())
    })
}

#[test]
fn container_cgroups_in_execve() {
    if !ready("container_cgroups_in_execve") {
        return;
    }
    let me = std::process::id();
    let dir = tmpdir("cgroups", "live");
    let root = busybox_rootfs(&dir, &["sh", "echo", "sleep", "cat", "true"]);

    // crun, with a bundle of its own
    let bundle = dir.join("bundle");
    let crun_marker = format!("cruncg{me}");
    crun_bundle(&bundle, &root, &format!("\"/bin/echo\", \"{crun_marker}\""));
    let crun_id = format!("sonde-cg-{me}");
    let podman_marker = format!("podmancg{me}");
    let podman_name = format!("sonde-cg-{me}");
    let host_marker = format!("hostcg{me}");

    let evs = capture(
        || {
            let _ = run_private(&format!("crun run -b {} {crun_id}", bundle.display()));
            let _ = run_private(&format!(
                "podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
                 --name {podman_name} --rootfs {} /bin/echo {podman_marker}",
                root.display()
            ));
            assert!(Command::new("/bin/echo")
                .arg(&host_marker)
                .status()
                .unwrap()
                .success());
        },
        |evs| exec_with(evs, &host_marker).is_some(),
    );
    let _ = std::fs::remove_dir_all(&dir);

    let crun = exec_with(&evs, &crun_marker).expect("crun container's execve captured");
    let cg = cgroups(crun);
    let want = format!("memory=/{crun_id}");
    assert!(
        cg.contains(&want),
        "crun container cgroups {cg:?} lack {want}"
    );

    let podman = exec_with(&evs, &podman_marker).expect("podman container's execve captured");
    let cg = cgroups(podman);
    let libpod = cg
        .iter()
        .find(|e| e.starts_with("memory=/libpod_parent/libpod-"))
        .unwrap_or_else(|| panic!("podman container cgroups {cg:?} lack libpod"));
    let id = &libpod["memory=/libpod_parent/libpod-".len()..];
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{libpod}"
    );

    // a host process: the same v1 paths as /proc/self/cgroup
    let host = exec_with(&evs, &host_marker).expect("host execve captured");
    let cg = cgroups(host);
    let proc = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    for line in proc.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        for ctrl in ctrls.split(',') {
            if ["memory", "pids", "cpu", "cpuset", "devices", "freezer"].contains(&ctrl) {
                let want = format!("{ctrl}={path}");
                assert!(cg.contains(&want), "host cgroups {cg:?} lack {want}");
            }
        }
    }
}

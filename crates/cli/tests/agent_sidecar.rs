//! `sonde agent --sidecar` where BPF is not allowed: inside a podman
//! container (default capabilities and seccomp: no `bpf()`), the plain
//! agent fails and says what to use instead; the sidecar reports the
//! container's own processes (its pid namespace, nothing of the host), the
//! ports listening in its network namespace and its cgroup's memory, every
//! series marked `sonde.reduced=true`.

use std::path::{Path, PathBuf};

mod live_common;
use live_common::{busybox_rootfs, private, tmpdir};

/// The sonde binary and the shared libraries it loads, under `root`.
fn install_sonde(root: &Path) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sonde"));
    std::fs::copy(&bin, root.join("sonde")).unwrap();
    let out = std::process::Command::new("ldd")
        .arg(&bin)
        .output()
        .unwrap();
    assert!(out.status.success(), "ldd");
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match l.split_once("=>") {
            Some((_, r)) => r.split_whitespace().next(),
            None => l.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        let Some(p) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let dst = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        // (follow the link: the file itself)
        std::fs::copy(p, &dst).unwrap();
    }
    root.join("sonde")
}

fn series(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn tag<'a>(s: &'a serde_json::Value, k: &str) -> Option<&'a str> {
    s["tags"][k].as_str()
}

#[test]
fn sidecar_in_an_unprivileged_container() {
    if !live_common::ready(
        "sidecar_in_an_unprivileged_container",
        &["podman", "crun", "busybox", "unshare", "ldd"],
    ) {
        return;
    }
    let dir = tmpdir("agent-sidecar", "ctr");
    let root = busybox_rootfs(&dir, &["sh", "sleep", "nc", "cat"]);
    install_sonde(&root);
    let name = format!("sonde-sidecar-{}", std::process::id());
    let run = |script: &str| {
        let cmd = format!(
            "podman run --rm --name {name} --hostname sidecar-test --network=none \
             --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
             --rootfs {} /bin/sh -c '{script}'",
            root.display()
        );
        private(&cmd).output().unwrap()
    };

    // without BPF the plain agent stops, naming the sidecar mode
    let plain = run("/sonde agent --stdout -M 1");
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(!plain.status.success(), "the plain agent ran: {err}");
    assert!(err.contains("--sidecar"), "{err}");

    let out = run("sleep 30 & nc -l -p 8080 & sleep 0.5; \
         /sonde agent --sidecar --stdout --tag team=shop -M 3");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("sidecar mode"), "{err}");
    let all = series(&text);
    assert!(all.len() > 10, "{text}\n{err}");
    for s in &all {
        assert_eq!(tag(s, "sonde.reduced"), Some("true"), "{s}");
        assert_eq!(tag(s, "host.hostname"), Some("sidecar-test"), "{s}");
        assert_eq!(tag(s, "team"), Some("shop"), "{s}");
    }
    // only the container's processes: its pid namespace
    let names: std::collections::BTreeSet<&str> =
        all.iter().filter_map(|s| tag(s, "proc.name")).collect();
    assert!(names.contains("sleep"), "{names:?}");
    assert!(names.contains("sonde"), "{names:?}");
    for n in &names {
        assert!(
            ["sh", "sleep", "nc", "sonde"].contains(n),
            "a host process: {n}"
        );
    }
    let rss_of_sleep = all
        .iter()
        .find(|s| s["name"] == "memory.rss" && tag(s, "proc.name") == Some("sleep"));
    assert!(
        rss_of_sleep.is_some_and(|s| s["value"].as_f64().unwrap_or(0.0) > 0.0),
        "{text}"
    );
    // its network namespace: the listening port, the loopback counters
    assert!(
        all.iter()
            .any(|s| s["name"] == "net.listening" && tag(s, "net.port") == Some("8080")),
        "{text}"
    );
    assert!(all.iter().any(|s| s["name"] == "net.bytes"), "{text}");
    // its cgroup: the container's memory
    assert!(
        all.iter().any(|s| s["name"] == "memory.usage"
            && tag(s, "scope") == Some("container")
            && s["value"].as_f64().unwrap_or(0.0) > 0.0),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

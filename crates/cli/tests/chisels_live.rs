//! Chisels on live capture: spy_users finds the commands a shell runs
//! while it captures; topprocs_cpu (bundled, and sysdig's own file) finds
//! a process burning a CPU; a chisel's sysdig.set_snaplen reaches the
//! probe. Needs root and BPF support (skipped without them).
#![cfg(feature = "live")]

mod live_common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use live_common::{busybox_rootfs, private, probe_ok, tmpdir, which};

/// The tests run one at a time: their CPU burners would compete.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

/// Runs `sonde args` (which must succeed) while `bash -c script` runs
/// beside it; the pid of that bash and sonde's stdout.
fn sonde_beside(script: &str, args: &[&str]) -> (u32, String) {
    let mut bg = Command::new("bash").arg("-c").arg(script).spawn().unwrap();
    let pid = bg.id();
    let out = sonde_ok(args);
    let _ = bg.kill();
    let _ = bg.wait();
    (pid, out)
}

/// Runs `sonde args`, which must succeed; its stdout.
fn sonde_ok(args: &[&str]) -> String {
    let out = sonde()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A chisel of `text` in a fresh folder for test `tag`: the folder, the file.
fn chisel_file(tag: &str, file: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = tmpdir("chisel", tag);
    let chisel = dir.join(file);
    std::fs::write(&chisel, text).unwrap();
    (dir, chisel)
}

#[test]
fn spy_users_sees_a_live_shell() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("spy_users_sees_a_live_shell") {
        return;
    }
    let marker = format!("sonde-chisel-live-{}", std::process::id());
    let (_, text) = sonde_beside(
        &format!("for i in $(seq 1 25); do /bin/echo {marker} >/dev/null; sleep 0.2; done"),
        &["-M", "3", "-c", "spy_users"],
    );
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("/bin/echo {marker}"))),
        "the shell's commands are missing:\n{text}"
    );
}

/// The CPU% topprocs_cpu (`chisel`: bundled, or sysdig's file) gives a
/// process burning a CPU live, in the best of its tables.
fn live_cpu_of_burner(chisel: &str, filter: Option<&str>) -> f64 {
    let mut args = vec!["-M", "4", "-c", chisel];
    args.extend(filter);
    let (pid, text) = sonde_beside(
        "end=$((SECONDS+6)); while [ $SECONDS -lt $end ]; do :; done",
        &args,
    );
    let pid = pid.to_string();
    // one table per second (after a screen clear: live output redraws)
    assert!(
        text.matches("CPU%                Process             PID")
            .count()
            >= 2,
        "no tables:\n{text}"
    );
    // rows: CPU% (padded to 20), process name (padded to 20), pid
    text.split(['\n', '\x1b'])
        .filter_map(|l| {
            let (cpu, rest) = l.split_once('%')?;
            let row_pid = rest.split_whitespace().last()?;
            (row_pid == pid).then(|| cpu.trim().parse::<f64>().ok())?
        })
        .fold(0.0, f64::max)
}

#[test]
fn topprocs_cpu_finds_a_cpu_burner_live() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("topprocs_cpu_finds_a_cpu_burner_live") {
        return;
    }
    // procinfo events (thread CPU ticks), read from /proc each second of
    // event time: a busy loop uses most of a CPU even on a loaded machine
    for chisel in ["topprocs_cpu", "/usr/share/sysdig/chisels/topprocs_cpu.lua"] {
        if chisel.starts_with('/') && !std::path::Path::new(chisel).exists() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true: {chisel} is missing"
            );
            continue;
        }
        let cpu = live_cpu_of_burner(chisel, None);
        eprintln!("{chisel}: the busy loop at {cpu}% at best");
        assert!(cpu >= 15.0, "{chisel}: the busy loop got {cpu}% at best");
    }
}

/// On a quiet host (here: a capture filter that lets no syscall through,
/// and a busy loop that makes none) time still passes for a chisel: the
/// live capture's idle beats bring its procinfo events and intervals, as
/// sysdig's driver timer does.
#[test]
fn topprocs_cpu_runs_on_a_quiet_host() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("topprocs_cpu_runs_on_a_quiet_host") {
        return;
    }
    let cpu = live_cpu_of_burner("topprocs_cpu", Some("evt.type=procinfo"));
    assert!(cpu >= 15.0, "the busy loop got {cpu}% at best");
}

/// Any chisel's `on_interval` fires live while no event reaches it (the
/// capture filter lets no syscall through): idle beats move its clock.
#[test]
fn on_interval_fires_on_a_quiet_host() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("on_interval_fires_on_a_quiet_host") {
        return;
    }
    let (dir, chisel) = chisel_file(
        "tick",
        "tick.lua",
        "description = \"ticks\"\nshort_description = \"ticks\"\ncategory = \"misc\"\n\
         args = {}\nfunction on_init() chisel.set_interval_s(1) return true end\n\
         function on_event() return true end\n\
         function on_interval(s, ns, delta) print(\"tick \" .. s .. \" \" .. delta) return true end\n",
    );
    let text = sonde_ok(&[
        "-M",
        "4",
        "-c",
        chisel.to_str().unwrap(),
        "evt.type=procinfo",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let ticks: Vec<(u64, f64)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("tick ")?.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
        })
        .collect();
    assert!(ticks.len() >= 2, "no intervals on a quiet host:\n{text}");
    // one a second, each a second after the one before (the first has no delta)
    for w in ticks.windows(2) {
        assert!(w[1].0 > w[0].0, "intervals out of order: {ticks:?}");
        assert!(
            (0.5e9..2.5e9).contains(&w[1].1),
            "delta of {}: {ticks:?}",
            w[1].1
        );
    }
}

/// A chisel's `sysdig.set_snaplen` reaches the live probe: writes of 600
/// bytes arrive whole (the default snaplen would cut them at 80).
#[test]
fn chisel_snaplen_reaches_the_probe() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("chisel_snaplen_reaches_the_probe") {
        return;
    }
    let (dir, chisel) = chisel_file(
        "snaplen",
        "longest_write.lua",
        r#"description = "x"
short_description = "x"
category = "x"
args = {}
local f
local best = 0
function on_init()
	f = chisel.request_field("evt.rawarg.data")
	sysdig.set_snaplen(1000)
	chisel.set_filter("proc.name=tr and evt.type=write and evt.dir=<")
	return true
end
function on_event()
	local d = evt.field(f)
	if d and #d > best then best = #d end
	return true
end
function on_capture_end()
	print("longest " .. best)
end
"#,
    );
    let (_, text) = sonde_beside(
        "for i in $(seq 1 40); do head -c 600 /dev/zero | tr '\\0' x >/dev/null; sleep 0.1; done",
        &["-M", "2", "-c", chisel.to_str().unwrap()],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(text.trim(), "longest 600");
}

/// A podman container (busybox rootfs, this host kind's workarounds: no
/// cgroup2 `unified` mount in podman's mount namespace, explicit ulimits)
/// burning a CPU: topcontainers_cpu names it with most of a CPU.
#[test]
fn topcontainers_cpu_finds_a_busy_container_live() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !probe_ok("topcontainers_cpu_finds_a_busy_container_live") {
        return;
    }
    let tools = ["podman", "busybox", "unshare"];
    if let Some(t) = tools.iter().find(|t| which(t).is_none()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {t} is missing"
        );
        eprintln!("topcontainers_cpu_finds_a_busy_container_live: skipped: no {t}");
        return;
    }
    let dir = tmpdir("chisel", "ctr-cpu");
    // podman mounts the container's /etc/hostname over the rootfs's
    let rootfs = busybox_rootfs(&dir, &["sh"]);
    let name = format!("sonde-burn-{}", std::process::id());
    let mut ctr = private(&format!(
        "podman run --rm --network=none \
         --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name {name} --rootfs {} \
         /bin/sh -c 'while :; do :; done'",
        rootfs.display()
    ))
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let text = sonde_ok(&["-M", "4", "-c", "topcontainers_cpu"]);
    // lscontainers reads the table at the first event: the container that
    // was running at start is there with its runtime and name
    let listed = sonde_ok(&["-M", "2", "-c", "lscontainers"]);
    let id = Command::new("podman")
        .args(["inspect", "--format", "{{.Id}}", &name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0", &name])
        .output();
    let _ = ctr.kill();
    let _ = ctr.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let best = text
        .split(['\n', '\x1b'])
        .filter_map(|l| {
            let (cpu, rest) = l.split_once('%')?;
            (rest.trim() == name).then(|| cpu.trim().parse::<f64>().ok())?
        })
        .fold(0.0, f64::max);
    eprintln!("topcontainers_cpu: {name} at {best}% at best");
    assert!(
        best >= 15.0,
        "container {name} got {best}% at best:\n{text}"
    );
    // sysdig 0.29.3's chisel API names podman's type "unknown" (as
    // sonde's does); the container has no image (--rootfs)
    let row = listed
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == name));
    assert!(
        id.len() >= 12 && row.is_some_and(|r| r.split_whitespace().any(|w| w == &id[..12])),
        "lscontainers does not list {name} ({id}) by name and id:\n{listed}"
    );
}

//! Chisels on live capture: spy_users finds the commands a shell runs
//! while it captures; topprocs_cpu (bundled, and sysdig's own file) finds
//! a process burning a CPU; a chisel's sysdig.set_snaplen reaches the
//! probe. Needs root and BPF support (skipped without them).
#![cfg(feature = "live")]

use std::process::{Command, Stdio};

/// The tests run one at a time: their CPU burners would compete.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

#[test]
fn spy_users_sees_a_live_shell() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("spy_users_sees_a_live_shell: skipped: {e}");
        return;
    }
    let marker = format!("sonde-chisel-live-{}", std::process::id());
    let mut shell = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "for i in $(seq 1 25); do /bin/echo {marker} >/dev/null; sleep 0.2; done"
        ))
        .spawn()
        .unwrap();
    let out = sonde()
        .args(["-M", "3", "-c", "spy_users"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = shell.kill();
    let _ = shell.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let mut busy = Command::new("bash")
        .arg("-c")
        .arg("end=$((SECONDS+6)); while [ $SECONDS -lt $end ]; do :; done")
        .spawn()
        .unwrap();
    let pid = busy.id().to_string();
    let out = sonde()
        .args(["-M", "4", "-c", chisel])
        .args(filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = busy.kill();
    let _ = busy.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("topprocs_cpu_finds_a_cpu_burner_live: skipped: {e}");
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
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("topprocs_cpu_runs_on_a_quiet_host: skipped: {e}");
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
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("on_interval_fires_on_a_quiet_host: skipped: {e}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-tick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chisel = dir.join("tick.lua");
    std::fs::write(
        &chisel,
        "description = \"ticks\"\nshort_description = \"ticks\"\ncategory = \"misc\"\n\
         args = {}\nfunction on_init() chisel.set_interval_s(1) return true end\n\
         function on_event() return true end\n\
         function on_interval(s, ns, delta) print(\"tick \" .. s .. \" \" .. delta) return true end\n",
    )
    .unwrap();
    let out = sonde()
        .args(["-M", "4", "-c"])
        .arg(&chisel)
        .arg("evt.type=procinfo")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("chisel_snaplen_reaches_the_probe: skipped: {e}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-snaplen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chisel = dir.join("longest_write.lua");
    std::fs::write(
        &chisel,
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
    )
    .unwrap();
    let mut writer = Command::new("bash")
        .arg("-c")
        .arg("for i in $(seq 1 40); do head -c 600 /dev/zero | tr '\\0' x >/dev/null; sleep 0.1; done")
        .spawn()
        .unwrap();
    let out = sonde()
        .args(["-M", "2", "-c"])
        .arg(&chisel)
        .output()
        .unwrap();
    let _ = writer.kill();
    let _ = writer.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.trim(), "longest 600");
}

/// A podman container (busybox rootfs, this host kind's workarounds: no
/// cgroup2 `unified` mount in podman's mount namespace, explicit ulimits)
/// burning a CPU: topcontainers_cpu names it with most of a CPU.
#[test]
fn topcontainers_cpu_finds_a_busy_container_live() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("topcontainers_cpu_finds_a_busy_container_live: skipped: {e}");
        return;
    }
    let tools = ["podman", "busybox", "unshare"];
    if let Some(t) = tools.iter().find(|t| !on_path(t)) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {t} is missing"
        );
        eprintln!("topcontainers_cpu_finds_a_busy_container_live: skipped: no {t}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-ctr-cpu-{}", std::process::id()));
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let busybox = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v busybox"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::copy(busybox.trim(), bin.join("busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", bin.join("sh")).unwrap();
    // podman mounts the container's /etc/hostname over this file
    std::fs::create_dir_all(dir.join("rootfs/etc")).unwrap();
    std::fs::write(dir.join("rootfs/etc/hostname"), "rootfs\n").unwrap();
    let name = format!("sonde-burn-{}", std::process::id());
    let script = format!(
        "umount /sys/fs/cgroup/unified 2>/dev/null; podman run --rm --network=none \
         --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name {name} --rootfs {} \
         /bin/sh -c 'while :; do :; done'",
        dir.join("rootfs").display()
    );
    let mut ctr = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = sonde()
        .args(["-M", "4", "-c", "topcontainers_cpu"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0", &name])
        .output();
    let _ = ctr.kill();
    let _ = ctr.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

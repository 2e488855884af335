//! Chisels on live capture: spy_users finds the commands a shell runs
//! while it captures; topprocs_cpu prints its table every second. Needs
//! root and BPF support (skipped without them).
#![cfg(feature = "live")]

use std::process::{Command, Stdio};

fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

#[test]
fn spy_users_sees_a_live_shell() {
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

#[test]
fn topprocs_cpu_prints_tables_live() {
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("topprocs_cpu_prints_tables_live: skipped: {e}");
        return;
    }
    let mut busy = Command::new("bash")
        .arg("-c")
        .arg("end=$((SECONDS+4)); while [ $SECONDS -lt $end ]; do :; done")
        .spawn()
        .unwrap();
    let out = sonde()
        .args(["-M", "3", "-c", "topprocs_cpu"])
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
    // one table per second of event time; the rows need procinfo events,
    // which the live probe does not emit yet
    assert!(
        text.matches("CPU%                Process             PID")
            .count()
            >= 1,
        "no table:\n{text}"
    );
}

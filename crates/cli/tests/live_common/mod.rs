//! What the live tests with containers share: whether this machine can
//! run them (root, BPF, tools; under `CI=true` a missing piece fails the
//! test instead of skipping it), a busybox root file system, scripts in a
//! private mount namespace (this host kind's podman/crun workaround: no
//! cgroup2 `unified` mount), and a running `sonde` whose stdout lines are
//! collected as they come.
#![allow(dead_code, unused_imports)]

#[cfg(feature = "k8s")]
pub mod cluster;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub use sonde_livetest::{busybox_rootfs, private, run_private, tmpdir, which};

/// Skips test `name` (returns false) unless it runs as root with BPF
/// support and every tool in `tools`; under `CI=true` it fails instead.
pub fn ready(name: &str, tools: &[&str]) -> bool {
    if !sonde_livetest::is_root() {
        return sonde_livetest::skip(name, "needs root");
    }
    if let Err(e) = sonde_probe::check_support() {
        return sonde_livetest::skip(name, &e.to_string());
    }
    sonde_livetest::require(name, tools)
}

/// Whether live capture works here (root, BPF); if not, test `name` is
/// skipped (false) with the reason, or fails under `CI=true`.
pub fn probe_ok(name: &str) -> bool {
    match sonde_probe::check_support() {
        Ok(()) => true,
        Err(e) => sonde_livetest::skip(name, &e.to_string()),
    }
}

/// A running program whose stdout lines are collected as they come (a
/// pipe is block buffered: most arrive at the end) and whose stderr is
/// read when it stops. Killed if dropped.
pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `cmd` with piped stdout and stderr.
    pub fn spawn(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                l2.lock().unwrap().push(line);
            }
        });
        Running {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// How many lines came so far.
    pub fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Stops it with SIGINT, checks that it exited with success and
    /// returns its stdout lines and stderr (`what` names it in failures).
    pub fn stop(mut self, what: &str) -> (Vec<String>, String) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let st = self.child.wait().unwrap();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        assert!(st.success(), "{what}: {st}: {err}");
        (std::mem::take(&mut *self.lines.lock().unwrap()), err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

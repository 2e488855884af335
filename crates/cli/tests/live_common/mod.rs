//! What the live tests with containers share: whether this machine can
//! run them (root, BPF, tools; under `CI=true` a missing piece fails the
//! test instead of skipping it), a busybox root file system, scripts in a
//! private mount namespace (this host kind's podman/crun workaround: no
//! cgroup2 `unified` mount), and a running `sonde` whose stdout lines are
//! collected as they come.
#![allow(dead_code)]

#[cfg(feature = "k8s")]
pub mod cluster;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// `tool` on the PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Skips test `name` (returns false) unless it runs as root with BPF
/// support and every tool in `tools`; under `CI=true` it fails instead.
pub fn ready(name: &str, tools: &[&str]) -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(!ci, "{name}: needs root under CI");
        eprintln!("{name}: skipped: needs root");
        return false;
    }
    if let Err(e) = sonde_probe::check_support() {
        assert!(!ci, "{name}: {e}");
        eprintln!("{name}: skipped: {e}");
        return false;
    }
    let missing: Vec<&&str> = tools.iter().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        assert!(!ci, "{name}: missing {missing:?} under CI");
        eprintln!("{name}: skipped: missing {missing:?}");
        return false;
    }
    true
}

/// A fresh, empty directory for test `tag` of suite `suite`.
pub fn tmpdir(suite: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-{suite}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A root file system under `dir` with busybox and links for `applets`.
pub fn busybox_rootfs(dir: &Path, applets: &[&str]) -> PathBuf {
    let root = dir.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(which("busybox").unwrap(), bin.join("busybox")).unwrap();
    for a in applets {
        std::os::unix::fs::symlink("busybox", bin.join(a)).unwrap();
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/hostname"), "rootfs\n").unwrap();
    root
}

/// `script` in a private mount namespace without the cgroup2 `unified`
/// mount (crun refuses hybrid cgroups otherwise).
pub fn private(script: &str) -> Command {
    let full = format!("umount /sys/fs/cgroup/unified 2>/dev/null; {script}");
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &full]);
    c
}

/// Runs [`private`]`(script)`, which must succeed; its stdout.
pub fn run_private(script: &str) -> String {
    let out = private(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

//! Podman containers for the live tests (see /work/shared/containers.md):
//! commands run in a private mount namespace without the cgroup2 mount
//! crun refuses, an image holding only links into the host's /usr
//! (bind-mounted read-only at run time), and a container removed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The image [`image`] makes.
pub const IMAGE: &str = "localhost/sonde-server-ui-test:v1";

/// `sh -c script` in a private mount namespace without cgroup2.
pub fn private(script: &str) -> Command {
    let full = format!("umount /sys/fs/cgroup/unified 2>/dev/null; {script}");
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &full]);
    c
}

/// Imports [`IMAGE`]: an empty root with links into /usr.
pub fn image(dir: &Path) {
    let root = dir.join("rootfs");
    for d in ["usr", "etc", "tmp", "proc", "sys", "dev", "run", "var"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (l, t) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        let _ = std::os::unix::fs::symlink(t, root.join(l));
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let tar = dir.join("img.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let out = private(&format!(
        "podman import {} {IMAGE} >/dev/null",
        tar.display()
    ))
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "podman import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running container, removed on drop.
pub struct Container {
    /// Its name.
    pub name: String,
    child: Child,
}

impl Container {
    /// Runs `sh -c script` in a new container of [`IMAGE`] named `name`,
    /// with the host's `ctl` folder at `/ctl`.
    pub fn run(name: &str, script: &str, ctl: &Path) -> Container {
        Container::run_with(name, "", script, ctl)
    }

    /// As [`Container::run`], with more `podman run` arguments (labels).
    #[allow(dead_code)]
    pub fn run_with(name: &str, args: &str, script: &str, ctl: &Path) -> Container {
        let child = private(&format!(
            "podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
             --name {name} {args} -v /usr:/usr:ro -v {}:/ctl {IMAGE} /bin/sh -c '{script}'",
            ctl.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        Container {
            name: name.into(),
            child,
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = private(&format!(
            "podman rm -f -t 1 {} >/dev/null 2>&1; true",
            self.name
        ))
        .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

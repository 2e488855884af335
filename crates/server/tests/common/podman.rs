//! Podman containers for the live tests (see /work/shared/containers.md):
//! commands run in a private mount namespace without the cgroup2 mount
//! crun refuses, an image holding only links into the host's /usr
//! (bind-mounted read-only at run time), and a container removed on drop.

use std::path::Path;
use std::process::{Child, Stdio};

/// The image [`image`] makes.
pub const IMAGE: &str = "localhost/sonde-server-ui-test:v1";

pub use sonde_livetest::private;

/// Imports [`IMAGE`]: an empty root with links into /usr.
pub fn image(dir: &Path) {
    sonde_livetest::import_usr_image(dir, IMAGE);
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
        let args = format!("--network=none {args} -v {}:/ctl", ctl.display());
        Container::spawn(name, &args, &format!("/bin/sh -c '{script}'"))
    }

    /// Runs `cmd` in a new container of [`IMAGE`] named `name`, with the
    /// host's /usr and the `podman run` arguments `args` (network, mounts).
    pub fn spawn(name: &str, args: &str, cmd: &str) -> Container {
        let child = private(&format!(
            "podman run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
             --name {name} {args} -v /usr:/usr:ro {IMAGE} {cmd}"
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

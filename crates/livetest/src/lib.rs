//! What sonde's live integration tests share (a dev-dependency only):
//!
//! - whether a test can run: root, tools on the PATH; under `CI=true` a
//!   missing piece fails the test, elsewhere it is skipped with the reason
//!   ([`require`], [`skip`]);
//! - this host kind's container workarounds: scripts in a private mount
//!   namespace without the cgroup2 `unified` mount that crun refuses
//!   ([`private`], [`run_private`]), a busybox root file system
//!   ([`busybox_rootfs`]), a podman image whose root only links into the
//!   host's /usr, bind-mounted at run time ([`import_usr_image`]), and a
//!   crun bundle ([`crun_bundle`]);
//! - small things every such test needs: a fresh folder ([`tmpdir`]), a free
//!   port ([`free_port`]), polling until something holds ([`wait_for`]) and
//!   test certificates ([`test_pki`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `tool` on the PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the tests run under `CI=true`.
pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Test `name` cannot run for `why`: under `CI=true` that fails it;
/// elsewhere it says so and gives false (skip).
pub fn skip(name: &str, why: &str) -> bool {
    assert!(!under_ci(), "CI=true: {name} {why}");
    eprintln!("{name}: skipped: {why}");
    false
}

/// Whether test `name` can run: as root, with every tool of `tools` on the
/// PATH (see [`skip`] for what happens when it cannot).
pub fn require(name: &str, tools: &[&str]) -> bool {
    if !is_root() {
        return skip(name, "needs root");
    }
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if !missing.is_empty() {
        return skip(name, &format!("needs {missing:?}"));
    }
    true
}

/// A fresh, empty folder for test `tag` of suite `suite`.
pub fn tmpdir(suite: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-{suite}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A TCP port free on 127.0.0.1 a moment ago and never handed out before
/// in this process: the tests of one binary start their servers at the
/// same time, and the kernel may give a port that was just probed and
/// released to the next probe (two servers of one test binary were once
/// given the same port, and the second could not listen).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.1");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Polls `f` every `every` until it gives a value; fails with `what` once
/// `within` has passed.
pub fn wait_for<T>(
    what: &str,
    within: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < within, "{what}");
        std::thread::sleep(every);
    }
}

/// Polls `f` every `every` until it holds (true) or `within` has passed
/// (false).
pub fn eventually(within: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(every);
    }
    false
}

/// `sh -c script` in a private mount namespace without the cgroup2
/// `unified` mount (crun refuses hybrid cgroups otherwise).
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

/// A root file system under `dir` (`dir`/rootfs) with busybox and links to
/// it for `applets`, and an /etc/hostname for podman to mount over.
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

/// Imports podman image `image` made in `dir`: an empty root whose /bin,
/// /lib, /lib64 and /sbin link into /usr (to be bind-mounted read-only
/// from the host at run time), with a root user and group.
pub fn import_usr_image(dir: &Path, image: &str) {
    let root = dir.join("rootfs");
    for d in [
        "usr", "etc", "srv", "tmp", "proc", "sys", "dev", "run", "var",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (l, t) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        let _ = std::os::unix::fs::symlink(t, root.join(l));
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    let tar = dir.join("img.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success(), "tar of the image's root");
    run_private(&format!(
        "podman import {} {image} >/dev/null",
        tar.display()
    ));
}

/// A crun bundle in `bundle` (made by `crun spec`) running `args` (JSON
/// strings, e.g. `"/bin/echo", "x"`) without a terminal in `rootfs`.
pub fn crun_bundle(bundle: &Path, rootfs: &Path, args: &str) {
    std::fs::create_dir_all(bundle).unwrap();
    let st = Command::new("crun")
        .arg("spec")
        .current_dir(bundle)
        .status()
        .unwrap();
    assert!(st.success(), "crun spec");
    let path = bundle.join("config.json");
    let spec = std::fs::read_to_string(&path).unwrap();
    let spec = spec
        .replacen("\"terminal\": true", "\"terminal\": false", 1)
        .replacen("\"sh\"", args, 1)
        .replacen(
            "\"path\": \"rootfs\"",
            &format!("\"path\": \"{}\"", rootfs.display()),
            1,
        );
    std::fs::write(&path, spec).unwrap();
}

/// The HTTP status `curl` gets for `url` (0 when it gets none).
pub fn curl_status(url: &str) -> u16 {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

/// Waits until something listens on 127.0.0.1:`port` (`within` at most).
pub fn wait_port(port: u16, within: Duration) {
    wait_for(
        &format!("nothing listened on {port}"),
        within,
        Duration::from_millis(100),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
}

/// A test CA, a server certificate for `localhost` and 127.0.0.1, and a
/// client certificate, each as PEM and DER (keys in PKCS#8).
pub struct TestPki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// The server's certificate, PEM.
    pub server_pem: String,
    /// The server's certificate, DER.
    pub server_der: Vec<u8>,
    /// The server's key, PEM.
    pub server_key_pem: String,
    /// The server's key, DER.
    pub server_key_der: Vec<u8>,
    /// The client's certificate, DER.
    pub client_der: Vec<u8>,
    /// The client's key, DER.
    pub client_key_der: Vec<u8>,
}

/// Fresh certificates: the client's common name is `client_cn`.
pub fn test_pki(client_cn: &str) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "sonde test CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let srv = p.signed_by(&key, &ca, &ca_key).unwrap();
    let ckey = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, client_cn);
    let client = p.signed_by(&ckey, &ca, &ca_key).unwrap();
    TestPki {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        server_pem: srv.pem(),
        server_der: srv.der().to_vec(),
        server_key_pem: key.serialize_pem(),
        server_key_der: key.serialize_der(),
        client_der: client.der().to_vec(),
        client_key_der: ckey.serialize_der(),
    }
}

//! Playwright (from web/node_modules) driving Debian's headless Chromium
//! against a running server: the Node it needs, the spec runner, and the
//! screenshots folder (target/ui-screenshots).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The first Node >= 20.19 (as the build script looks for it).
pub fn node() -> PathBuf {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(n) = std::env::var_os("SONDE_NODE") {
        cands.push(n.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        cands.extend(std::env::split_paths(&path).map(|d| d.join("node")));
    }
    cands.extend(["/usr/local/bin/node", "/usr/bin/node"].map(PathBuf::from));
    for c in cands {
        let Ok(out) = Command::new(&c).arg("--version").output() else {
            continue;
        };
        let v = String::from_utf8_lossy(&out.stdout);
        let mut it = v.trim().trim_start_matches('v').split('.');
        let maj: u32 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let min: u32 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        if (maj, min) >= (20, 19) {
            return c;
        }
    }
    panic!("no Node.js >= 20.19 for Playwright (.ci/install-deps)");
}

/// crates/server/web.
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// target/ui-screenshots (next to the test's tmp folder).
pub fn screenshot_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("ui-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Fails unless Debian's chromium is installed.
pub fn need_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing (.ci/install-deps installs it)"
    );
}

/// Starts Playwright on one spec file (under web/tests) against the
/// server on `port`, with `env` added; its output is piped.
pub fn playwright(spec: &str, port: u16, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(node());
    cmd.arg(web_dir().join("node_modules/@playwright/test/cli.js"))
        .args(["test", "--reporter=line", &format!("tests/{spec}")])
        .current_dir(web_dir())
        .env("SONDE_URL", format!("https://localhost:{port}"))
        .env("SONDE_SCREENSHOTS", screenshot_dir())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("running playwright")
}

/// Waits for a Playwright run and fails the test with its output if it failed.
pub fn finish(child: Child) -> Output {
    let out = child.wait_with_output().expect("waiting for playwright");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "playwright failed:\n{text}");
    out
}

/// Fails unless each page's screenshot was saved and is not empty.
pub fn assert_shots(pages: &[&str]) {
    for page in pages {
        let p = screenshot_dir().join(format!("{page}.png"));
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 5_000, "{} missing or empty", p.display());
    }
}

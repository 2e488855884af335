//! Builds the web UI (`web/`, Vite) with Node >= 20.19 into a cache folder
//! keyed by the sources' hash (so `cargo clippy` and `cargo build` share
//! one npm build), and writes `$OUT_DIR/web_assets.rs`: every built file
//! as `(path, bytes)` through `include_bytes!`, embedded in the binary.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources whose change rebuilds the UI.
const INPUTS: [&str; 6] = [
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn fail(msg: &str) -> ! {
    eprintln!("\nsonde-server build: {msg}\n");
    std::process::exit(1);
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        files(&p, out);
    }
}

/// `node --version` as (major, minor), if it runs.
fn node_version(node: &Path) -> Option<(u32, u32)> {
    let out = Command::new(node).arg("--version").output().ok()?;
    let v = String::from_utf8_lossy(&out.stdout);
    let mut it = v.trim().trim_start_matches('v').split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The first Node >= 20.19: `$SONDE_NODE`, then the PATH, then the usual
/// install folders (Debian's own node is 18, too old for Vite).
fn find_node() -> PathBuf {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(n) = std::env::var_os("SONDE_NODE") {
        cands.push(n.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        cands.extend(std::env::split_paths(&path).map(|d| d.join("node")));
    }
    for d in [
        "/usr/local/bin",
        "/opt/node/bin",
        "/opt/nodejs/bin",
        "/usr/bin",
    ] {
        cands.push(Path::new(d).join("node"));
    }
    let mut seen = Vec::new();
    for c in cands {
        match node_version(&c) {
            Some(v) if v >= (20, 19) => return c,
            Some(v) => seen.push(format!("{} is {}.{}", c.display(), v.0, v.1)),
            None => {}
        }
    }
    fail(&format!(
        "the web UI needs Node.js >= 20.19 (Vite); found {}. Install Node 20 or set SONDE_NODE=/path/to/node",
        if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
    ))
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let web = manifest.join("web");
    println!("cargo:rerun-if-env-changed=SONDE_NODE");
    let mut inputs = Vec::new();
    for i in INPUTS {
        println!("cargo:rerun-if-changed=web/{i}");
        files(&web.join(i), &mut inputs);
    }
    let mut h = DefaultHasher::new();
    for f in &inputs {
        f.strip_prefix(&web).unwrap_or(f).hash(&mut h);
        std::fs::read(f).unwrap_or_default().hash(&mut h);
    }
    // target/<profile>/sonde-web/<hash>: shared by every build of the profile
    let cache_root = out_dir
        .ancestors()
        .nth(3)
        .map(|p| p.join("sonde-web"))
        .unwrap_or_else(|| out_dir.join("sonde-web"));
    let dist = cache_root.join(format!("{:016x}", h.finish()));
    if !dist.join("index.html").is_file() {
        let vite = web.join("node_modules/vite/bin/vite.js");
        if !vite.is_file() {
            fail(&format!(
                "{} is missing: run `npm ci` in {} (.ci/install-deps does)",
                vite.display(),
                web.display()
            ));
        }
        let node = find_node();
        let tmp = cache_root.join(format!("tmp-{}", std::process::id()));
        let st = Command::new(&node)
            .arg(&vite)
            .args(["build", "--logLevel", "warn", "--emptyOutDir", "--outDir"])
            .arg(&tmp)
            .current_dir(&web)
            .status()
            .unwrap_or_else(|e| {
                fail(&format!(
                    "running {} {}: {e}",
                    node.display(),
                    vite.display()
                ))
            });
        if !st.success() {
            fail(&format!(
                "the web UI build (vite build in {}) failed: {st}",
                web.display()
            ));
        }
        let _ = std::fs::remove_dir_all(&dist);
        if let Err(e) = std::fs::rename(&tmp, &dist) {
            fail(&format!("moving the UI build to {}: {e}", dist.display()));
        }
        // older builds of the sources are not needed any more
        if let Ok(rd) = std::fs::read_dir(&cache_root) {
            for e in rd.flatten() {
                if e.path() != dist {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let mut built = Vec::new();
    files(&dist, &mut built);
    let mut code = String::from(
        "/// The built UI: (URL path, bytes).\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for f in &built {
        let rel = f
            .strip_prefix(&dist)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({:?}, include_bytes!({:?})),\n",
            format!("/{rel}"),
            f.display().to_string()
        ));
    }
    code.push_str("];\n");
    if let Err(e) = std::fs::write(out_dir.join("web_assets.rs"), code) {
        fail(&format!("writing web_assets.rs: {e}"));
    }
}

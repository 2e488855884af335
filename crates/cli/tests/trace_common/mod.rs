//! What the tests on the shared traces share: where the traces are, whether
//! the oracle (sysdig or csysdig 0.29.3) is here, running one comparison per
//! trace on every core, and the verdict.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One comparison's result.
pub enum Outcome {
    /// Byte-identical to sysdig.
    Same,
    /// sysdig could not run it.
    Skipped,
    /// Different: what differs.
    Differs(String),
}

pub fn sysdig_available() -> bool {
    Command::new("sysdig")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The shared traces' folder (`SONDE_TRACES`, or ../shared/traces).
pub fn traces_dir() -> PathBuf {
    std::env::var_os("SONDE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"))
}

/// The `.scap` files of `dir`, sorted.
pub fn scap_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    out.sort();
    Ok(out)
}

/// `compare` on every trace, one worker per core, each taking whole traces.
pub fn on_every_core(
    traces: &[PathBuf],
    compare: impl Fn(&Path) -> Vec<Outcome> + Sync,
) -> Vec<Outcome> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                sc.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(trace) = traces.get(i) else { break };
                        out.extend(compare(trace));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

/// Counts `results` (printed as `name: ...`) and fails with every
/// difference (`what` names a case; `sep` parts them).
pub fn assert_all_same(name: &str, what: &str, sep: &str, results: Vec<Outcome>) {
    let (mut failures, mut same, mut skipped) = (Vec::new(), 0usize, 0usize);
    for r in results {
        match r {
            Outcome::Same => same += 1,
            Outcome::Skipped => skipped += 1,
            Outcome::Differs(m) => failures.push(m),
        }
    }
    eprintln!(
        "{name}: {same} identical, {} different, {skipped} skipped",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} {what} differ from sysdig:\n\n{}",
        failures.len(),
        failures.join(sep)
    );
}

/// Whether `tool` (`sysdig` or `csysdig`, 0.29.3) runs here; under
/// `CI=true` its absence fails the test.
pub fn oracle_ready(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: {tool} (sysdig 0.29.3) is required by this test");
    }
    ok
}

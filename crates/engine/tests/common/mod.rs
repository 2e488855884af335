//! What the engine's integration tests share.

use std::path::PathBuf;

/// The shared traces (`SONDE_TRACES`, else `shared/traces` beside the
/// repository), sorted by name.
pub fn traces() -> Vec<PathBuf> {
    let dir = match std::env::var("SONDE_TRACES") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"),
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    v
}

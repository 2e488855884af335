//! Helpers shared by the integration tests of sonde-scap.
#![allow(dead_code)]

pub mod drain;

use std::io::Read;
use std::path::PathBuf;

/// Where the shared real-world traces live: `$SONDE_TRACES`, else
/// `shared/traces` beside the repository.
pub fn traces_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SONDE_TRACES") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
}

/// Every `.scap` trace, sorted by name. Panics when there is none: the tests
/// need them.
pub fn traces() -> Vec<PathBuf> {
    let dir = traces_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot list traces in {}: {e} (set SONDE_TRACES)",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .scap traces in {}", dir.display());
    v
}

/// The bytes of a trace, gunzipped if needed.
pub fn load(path: &std::path::Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        raw
    }
}

/// One block of an intact capture: where it starts and ends, its type.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub block_type: u32,
}

/// The block layout of an intact (decompressed) capture, walked by hand.
pub fn spans(bytes: &[u8]) -> Vec<Span> {
    let mut v = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let bt = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        assert!(len >= 12 && at + len <= bytes.len(), "bad intact capture");
        v.push(Span {
            start: at,
            end: at + len,
            block_type: bt,
        });
        at += len;
    }
    assert_eq!(at, bytes.len(), "intact capture has trailing bytes");
    v
}

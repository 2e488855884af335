//! `sonde -r` on damaged or wrong input: the events before the damage are
//! printed, then one line on stderr and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sonde_scap::FileReader;

fn traces_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SONDE_TRACES") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
}

fn sonde(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .output()
        .expect("cannot run sonde")
}

/// A scratch file that removes itself.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, bytes: &[u8]) -> Scratch {
        let p = std::env::temp_dir().join(format!("sonde-damage-{}-{tag}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        Scratch(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The decompressed bytes of a trace, rebuilt block by block, and where each
/// block starts, with its type.
fn blocks(path: &Path) -> (Vec<u8>, Vec<(usize, u32)>) {
    let mut r = FileReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut out, mut starts) = (Vec::new(), Vec::new());
    while let Some((bt, body)) = r.next_raw_block().unwrap() {
        starts.push((out.len(), bt));
        let total = (body.len() + 12) as u32;
        out.extend_from_slice(&bt.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&total.to_le_bytes());
    }
    (out, starts)
}

fn is_event_block(bt: u32) -> bool {
    use sonde_scap::blocks::*;
    matches!(
        bt,
        EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE
    )
}

fn one_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "expected one line on stderr, got: {err:?}"
    );
    err
}

/// Damage at an event block past the middle: sonde prints exactly what it
/// prints for the capture cut cleanly before that block, then fails.
#[test]
fn damaged_capture_prints_events_before_the_damage() {
    // Old layout (v1 events) and new (v2 events).
    for name in [
        "curl_google.scap",
        "test_ipv6_client.scap",
        "falco_psp_privileged.scap",
    ] {
        let (bytes, starts) = blocks(&traces_dir().join(name));
        let events: Vec<usize> = starts
            .iter()
            .filter(|(_, bt)| is_event_block(*bt))
            .map(|(s, _)| *s)
            .collect();
        // The first of these places with printed events before it (some
        // traces print only a few events, near their end).
        let (at, ok) = [0.5, 0.75, 0.9, 1.0]
            .iter()
            .map(|f| {
                let at = events[((events.len() - 1) as f64 * f) as usize];
                let clean = Scratch::new(&format!("clean-{name}"), &bytes[..at]);
                let ok = sonde(&["-r", clean.path()]);
                assert_eq!(ok.status.code(), Some(0), "{name}: clean cut failed");
                (at, ok)
            })
            .find(|(_, ok)| !ok.stdout.is_empty())
            .unwrap_or_else(|| panic!("{name}: nothing printed"));

        let cut = Scratch::new(&format!("cut-{name}"), &bytes[..at + 20]);
        let mut corrupt = bytes.clone();
        // The event's own length field: far more than its block holds.
        let ev = at + 8 + 2;
        corrupt[ev + 16..ev + 20].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let corrupt = Scratch::new(&format!("corrupt-{name}"), &corrupt);
        for f in [&cut, &corrupt] {
            let o = sonde(&["-r", f.path()]);
            assert_eq!(o.status.code(), Some(2), "{name}: exit code");
            assert!(
                o.stdout == ok.stdout,
                "{name}: {} did not print exactly the events before the damage",
                f.path()
            );
            let err = one_line(&o);
            assert!(
                err.contains(&format!("byte offset {at}")),
                "{name}: error does not name offset {at}: {err}"
            );
        }
    }
}

/// A gzip capture cut short: what was decompressed is printed, then an error.
#[test]
fn truncated_gzip_capture() {
    let path = traces_dir().join("curl_google.scap");
    let gz = std::fs::read(&path).unwrap();
    assert!(gz.starts_with(&[0x1f, 0x8b]), "expected a gzip trace");
    let full = sonde(&["-r", path.to_str().unwrap()]);
    assert_eq!(full.status.code(), Some(0));
    let cut = Scratch::new("cut.scap.gz", &gz[..gz.len() / 2]);
    let o = sonde(&["-r", cut.path()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!o.stdout.is_empty(), "nothing printed before the damage");
    assert!(
        full.stdout.starts_with(&o.stdout),
        "output is not a prefix of the intact output"
    );
    assert!(one_line(&o).contains("byte offset"));
}

#[test]
fn missing_file() {
    let o = sonde(&["-r", "/nonexistent/capture.scap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(one_line(&o).contains("/nonexistent/capture.scap"));
}

#[test]
fn not_a_capture() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let o = sonde(&["-r", readme.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(one_line(&o).contains("not a capture"));
    let empty = Scratch::new("empty.scap", b"");
    let o = sonde(&["-r", empty.path()]);
    assert_eq!(o.status.code(), Some(2));
    one_line(&o);
}

#[test]
fn bad_flags() {
    let trace = traces_dir().join("curl_google.scap");
    let trace = trace.to_str().unwrap();
    for args in [
        &["-n", "many", "-r", trace][..],
        &["-r", trace, "-t", "x"][..],
        &["-r", trace, "--no-such-flag"][..],
        &["-r"][..],
    ] {
        let o = sonde(args);
        assert_eq!(o.status.code(), Some(2), "sonde {args:?}");
        assert!(!o.stderr.is_empty(), "sonde {args:?}: no message");
    }
}

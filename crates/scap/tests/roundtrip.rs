//! Writing a trace back out (metadata and every event) gives a file that
//! sonde and sysdig 0.29.3 both read exactly like the original.

use std::path::PathBuf;
use std::process::Command;

use sonde_scap::{Block, FileReader, Metadata, Writer};

fn traces_dir() -> PathBuf {
    if let Ok(d) = std::env::var("SONDE_TRACES") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
}

fn traces() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("shared traces directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no traces found");
    v
}

/// Events of a capture as comparable tuples.
type Ev = (u64, i64, u16, u16, Vec<Vec<u8>>);

fn read_all(path: &std::path::Path) -> (Metadata, Vec<Ev>) {
    let mut r = FileReader::open(path).expect("open");
    let mut md = Metadata::default();
    let mut evs = Vec::new();
    while let Some(b) = r.next_block().expect("read") {
        match b {
            Block::Machine(m) => md.machine = Some(m),
            Block::Ifaces(i) => md.ifaces = i,
            Block::Users(u) => md.users = u,
            Block::Threads(t) => md.threads.extend(t),
            Block::Fds { tid, fds } => md.fds.push((tid, fds)),
            Block::Event(e) => {
                let params = (0..e.nparams())
                    .map(|i| e.param(i).unwrap_or_default().to_vec())
                    .collect();
                evs.push((e.ts, e.tid, e.code, e.cpu, params));
            }
            _ => {}
        }
    }
    (md, evs)
}

fn rewrite(src: &std::path::Path, dst: &std::path::Path) {
    let mut r = FileReader::open(src).expect("open");
    let mut md = Metadata::default();
    let mut out = Vec::new();
    let mut w: Option<Writer<Vec<u8>>> = None;
    while let Some(b) = r.next_block().expect("read") {
        match b {
            Block::Machine(m) => md.machine = Some(m),
            Block::Ifaces(i) => md.ifaces = i,
            Block::Users(u) => md.users = u,
            Block::Threads(t) => md.threads.extend(t),
            Block::Fds { tid, fds } => md.fds.push((tid, fds)),
            Block::Event(e) => {
                let w = w.get_or_insert_with(|| {
                    let mut w = Writer::new(Vec::new()).expect("writer");
                    w.write_metadata(&md).expect("metadata");
                    w
                });
                w.write_event(&e, e.dump_flags).expect("event");
            }
            _ => {}
        }
    }
    if let Some(w) = w {
        out = w.into_inner().expect("flush");
    }
    std::fs::write(dst, out).expect("write");
}

#[test]
fn rewritten_traces_read_back_identically() {
    let dir = std::env::temp_dir().join(format!("sonde-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for t in traces() {
        let out = dir.join(t.file_name().unwrap());
        rewrite(&t, &out);
        let (md0, ev0) = read_all(&t);
        let (md1, ev1) = read_all(&out);
        assert_eq!(ev0.len(), ev1.len(), "{}: event count", t.display());
        assert!(ev0 == ev1, "{}: events differ after rewrite", t.display());
        assert_eq!(md0.machine, md1.machine, "{}: machine info", t.display());
        assert_eq!(md0.users, md1.users, "{}: users", t.display());
        assert_eq!(
            md0.threads.len(),
            md1.threads.len(),
            "{}: threads",
            t.display()
        );
        for (a, b) in md0.threads.iter().zip(&md1.threads) {
            assert_eq!(
                (a.tid, a.pid, &a.comm, &a.exe, &a.args, &a.cwd),
                (b.tid, b.pid, &b.comm, &b.exe, &b.args, &b.cwd)
            );
        }
        let nonempty = |m: &Metadata| {
            m.fds
                .iter()
                .filter(|(_, f)| !f.is_empty())
                .map(|(t, f)| (*t, f.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(nonempty(&md0), nonempty(&md1), "{}: fd lists", t.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sysdig_reads_rewritten_traces_like_the_originals() {
    if Command::new("sysdig").arg("--version").output().is_err() {
        eprintln!(
            "NOTE: sysdig is not installed; the sysdig half of the round trip was not checked"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-rt-sysdig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for t in traces() {
        let orig = Command::new("sysdig")
            .env("TZ", "UTC")
            .arg("-r")
            .arg(&t)
            .output()
            .unwrap();
        if !orig.status.success() || orig.stdout.is_empty() && !orig.stderr.is_empty() {
            continue; // sysdig cannot read the original (e.g. section header options)
        }
        let out = dir.join(t.file_name().unwrap());
        rewrite(&t, &out);
        let again = Command::new("sysdig")
            .env("TZ", "UTC")
            .arg("-r")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            again.status.success(),
            "{}: sysdig failed on the rewrite: {}",
            t.display(),
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(
            orig.stdout == again.stdout,
            "{}: sysdig prints the rewrite differently",
            t.display()
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} traces checked");
    let _ = std::fs::remove_dir_all(&dir);
}

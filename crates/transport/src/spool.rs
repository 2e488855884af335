//! The disk spool: every sealed batch is written here first (one file per
//! batch, named by its sequence number), and leaves when the server
//! acknowledges it. Bounded in bytes: above the cap the oldest batches go
//! first, and are counted. The next sequence number, the acknowledged one
//! and the drop count persist in `state.json`, so a restarted agent goes
//! on where it stopped: nothing acknowledged is sent again, no number is
//! reused.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The spool failed.
#[derive(Debug, thiserror::Error)]
#[error("spool '{path}': {source}")]
pub struct SpoolError {
    /// The file or directory.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct State {
    next_seq: u64,
    acked: u64,
    dropped: u64,
}

/// The spool. See the module doc.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    st: State,
    /// Sequence number -> file size.
    files: BTreeMap<u64, u64>,
    bytes: u64,
}

fn name(seq: u64) -> String {
    format!("{seq:020}.batch")
}

/// Writes `data` to `path` through a temporary file and a rename: a
/// crash of the agent leaves the old or the new file, never half of one.
/// No fsync (it can take seconds on a busy disk, and this runs every
/// second): a power loss may lose the last batches, or the last ack, in
/// which case the batches it covered are sent again and the receiver's
/// dedup drops them.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(data)?;
    drop(f);
    fs::rename(&tmp, path)
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, capped at `max_bytes` of
    /// batch files.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let err = |p: &Path| {
            let p = p.to_path_buf();
            move |source| SpoolError { path: p, source }
        };
        fs::create_dir_all(dir).map_err(err(dir))?;
        let state_path = dir.join("state.json");
        let mut st: State = match fs::read(&state_path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(err(&state_path)(e)),
        };
        let mut files = BTreeMap::new();
        for ent in fs::read_dir(dir).map_err(err(dir))? {
            let ent = ent.map_err(err(dir))?;
            let fname = ent.file_name();
            let Some(seq) = fname
                .to_str()
                .and_then(|n| n.strip_suffix(".batch"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if seq <= st.acked {
                let _ = fs::remove_file(ent.path());
                continue;
            }
            let len = ent.metadata().map_err(err(&ent.path()))?.len();
            files.insert(seq, len);
        }
        let top = files.keys().next_back().copied().unwrap_or(0);
        st.next_seq = st.next_seq.max(top + 1).max(st.acked + 1);
        let bytes = files.values().sum();
        let s = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            st,
            files,
            bytes,
        };
        s.save()?;
        Ok(s)
    }

    fn save(&self) -> Result<(), SpoolError> {
        let p = self.dir.join("state.json");
        let data = serde_json::to_vec(&self.st).unwrap_or_default();
        write_atomic(&p, &data).map_err(|source| SpoolError { path: p, source })
    }

    /// The number the next batch gets.
    pub fn next_seq(&self) -> u64 {
        self.st.next_seq
    }

    /// The highest number acknowledged.
    pub fn acked(&self) -> u64 {
        self.st.acked
    }

    /// Batches dropped over the byte cap, ever.
    pub fn dropped(&self) -> u64 {
        self.st.dropped
    }

    /// Bytes of batches held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Batches held.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no batch is held.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The numbers of the batches held, oldest first.
    pub fn pending(&self) -> Vec<u64> {
        self.files.keys().copied().collect()
    }

    /// Seals a batch: `make(seq, dropped)` gives its bytes for the next
    /// number and the drop count so far. Returns the number. Drops the
    /// oldest batches while over the cap (never the one just written).
    pub fn push(&mut self, make: impl FnOnce(u64, u64) -> Vec<u8>) -> Result<u64, SpoolError> {
        let seq = self.st.next_seq;
        let data = make(seq, self.st.dropped);
        let p = self.dir.join(name(seq));
        write_atomic(&p, &data).map_err(|source| SpoolError { path: p, source })?;
        self.st.next_seq = seq + 1;
        self.files.insert(seq, data.len() as u64);
        self.bytes += data.len() as u64;
        while self.bytes > self.max_bytes && self.files.len() > 1 {
            let Some((old, len)) = self.files.pop_first() else {
                break;
            };
            let _ = fs::remove_file(self.dir.join(name(old)));
            self.bytes -= len;
            self.st.dropped += 1;
        }
        self.save()?;
        Ok(seq)
    }

    /// The bytes of batch `seq`.
    pub fn read(&self, seq: u64) -> Result<Vec<u8>, SpoolError> {
        let p = self.dir.join(name(seq));
        fs::read(&p).map_err(|source| SpoolError { path: p, source })
    }

    /// The server holds everything up to `acked`: those batches leave.
    /// A number at or beyond the next one (the server is ahead: this
    /// spool's state was lost) moves the next number past it, so new
    /// batches are not taken for resends.
    pub fn ack(&mut self, acked: u64) -> Result<(), SpoolError> {
        if acked <= self.st.acked {
            return Ok(());
        }
        self.st.acked = acked;
        if acked >= self.st.next_seq {
            self.st.next_seq = acked + 1;
        }
        while let Some((&seq, &len)) = self.files.first_key_value() {
            if seq > acked {
                break;
            }
            self.files.pop_first();
            let _ = fs::remove_file(self.dir.join(name(seq)));
            self.bytes -= len;
        }
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(n: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sonde-spool-{n}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn numbers_persist_and_acks_remove() {
        let d = dir("persist");
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        for _ in 0..5 {
            s.push(|seq, _| format!("b{seq}").into_bytes()).unwrap();
        }
        assert_eq!(s.pending(), [1, 2, 3, 4, 5]);
        s.ack(3).unwrap();
        assert_eq!(s.pending(), [4, 5]);
        drop(s);
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        assert_eq!((s.acked(), s.next_seq(), s.pending()), (3, 6, vec![4, 5]));
        assert_eq!(s.read(4).unwrap(), b"b4");
        assert_eq!(s.push(|seq, _| vec![seq as u8]).unwrap(), 6);
        // an ack that goes backwards changes nothing
        s.ack(1).unwrap();
        assert_eq!(s.pending(), [4, 5, 6]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn over_the_cap_the_oldest_go_and_are_counted() {
        let d = dir("cap");
        let mut s = Spool::open(&d, 100).unwrap();
        for _ in 0..10 {
            s.push(|_, _| vec![b'x'; 30]).unwrap();
        }
        assert_eq!(s.pending(), [8, 9, 10]);
        assert_eq!((s.dropped(), s.bytes()), (7, 90));
        let mut seen = 0;
        s.push(|_, dropped| {
            seen = dropped;
            vec![b'y'; 30]
        })
        .unwrap();
        assert_eq!(seen, 7);
        drop(s);
        let s = Spool::open(&d, 100).unwrap();
        assert_eq!((s.dropped(), s.pending()), (8, vec![9, 10, 11]));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_server_ahead_moves_the_next_number() {
        let d = dir("ahead");
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        s.push(|_, _| b"a".to_vec()).unwrap();
        s.ack(500).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.push(|_, _| b"b".to_vec()).unwrap(), 501);
        let _ = fs::remove_dir_all(&d);
    }
}

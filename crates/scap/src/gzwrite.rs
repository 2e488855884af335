//! Parallel gzip output: the stream is cut into 1 MiB chunks, each chunk
//! is compressed by a worker thread into its own gzip member, and a writer
//! thread appends the members in order. Concatenated gzip members form a
//! valid gzip file (zlib's `gzread`, used by sysdig and Falco, reads them
//! through, as does `sonde-scap`'s reader). Memory is bounded by the
//! channel depths.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use flate2::write::GzEncoder;
use flate2::Compression;

const CHUNK: usize = 1 << 20;

enum ToWriter {
    Member(u64, io::Result<Vec<u8>>),
    Flush(u64, SyncSender<io::Result<()>>),
}

/// A gzip writer that compresses on all cores.
pub struct ParallelGz {
    buf: Vec<u8>,
    seq: u64,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    to_writer: SyncSender<ToWriter>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    written: Arc<AtomicU64>,
}

impl ParallelGz {
    /// Compresses at `level` (0-9) with one worker per available core.
    pub fn new<W: Write + Send + 'static>(inner: W, level: u32) -> ParallelGz {
        let n = thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(1);
        let (jobs_tx, jobs_rx) = sync_channel::<(u64, Vec<u8>)>(n * 2);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (to_writer, from_all) = sync_channel::<ToWriter>(n * 2 + 2);
        let written = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for i in 0..n {
            let rx = Arc::clone(&jobs_rx);
            let tx = to_writer.clone();
            if let Ok(h) = thread::Builder::new()
                .name(format!("sonde-gz{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, data)) = job else { return };
                    let mut enc =
                        GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::new(level));
                    let res = enc.write_all(&data).and_then(|_| enc.finish());
                    if tx.send(ToWriter::Member(seq, res)).is_err() {
                        return;
                    }
                })
            {
                workers.push(h);
            }
        }
        let w2 = Arc::clone(&written);
        let writer = thread::Builder::new()
            .name("sonde-gzwrite".into())
            .spawn(move || write_in_order(inner, from_all, w2))
            .ok();
        ParallelGz {
            buf: Vec::with_capacity(CHUNK),
            seq: 0,
            jobs: Some(jobs_tx),
            to_writer,
            workers,
            writer,
            written,
        }
    }

    /// Compressed bytes that reached the inner writer so far.
    pub fn compressed_bytes(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn submit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let seq = self.seq;
        self.seq += 1;
        match (&self.jobs, self.workers.is_empty()) {
            (Some(tx), false) => tx
                .send((seq, data))
                .map_err(|_| io::Error::other("compression threads stopped")),
            _ => {
                // no worker could start: compress here
                let mut enc = GzEncoder::new(Vec::new(), Compression::default());
                let res = enc.write_all(&data).and_then(|_| enc.finish());
                self.to_writer
                    .send(ToWriter::Member(seq, res))
                    .map_err(|_| io::Error::other("writer thread stopped"))
            }
        }
    }
}

fn write_in_order<W: Write>(mut inner: W, rx: Receiver<ToWriter>, written: Arc<AtomicU64>) {
    let mut next = 0u64;
    let mut pending: BTreeMap<u64, io::Result<Vec<u8>>> = BTreeMap::new();
    let mut flushes: Vec<(u64, SyncSender<io::Result<()>>)> = Vec::new();
    let mut failed: Option<io::Error> = None;
    for m in rx {
        match m {
            ToWriter::Member(seq, r) => {
                pending.insert(seq, r);
            }
            ToWriter::Flush(upto, ack) => flushes.push((upto, ack)),
        }
        while let Some(r) = pending.remove(&next) {
            match r {
                Ok(bytes) if failed.is_none() => match inner.write_all(&bytes) {
                    Ok(()) => {
                        written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                    Err(e) => failed = Some(e),
                },
                Ok(_) => {}
                Err(e) => failed = failed.or(Some(e)),
            }
            next += 1;
        }
        flushes.retain(|(upto, ack)| {
            if next >= *upto {
                let r = match &failed {
                    Some(e) => Err(io::Error::new(e.kind(), e.to_string())),
                    None => inner.flush(),
                };
                let _ = ack.send(r);
                false
            } else {
                true
            }
        });
    }
    let _ = inner.flush();
}

impl Write for ParallelGz {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = b.len().min(room.max(1));
        self.buf.extend_from_slice(&b[..n]);
        if self.buf.len() >= CHUNK {
            self.submit()?;
        }
        Ok(n)
    }

    /// Waits until everything written so far is compressed, written and
    /// flushed; reports any earlier error.
    fn flush(&mut self) -> io::Result<()> {
        self.submit()?;
        let (ack_tx, ack_rx) = sync_channel(1);
        self.to_writer
            .send(ToWriter::Flush(self.seq, ack_tx))
            .map_err(|_| io::Error::other("writer thread stopped"))?;
        ack_rx
            .recv()
            .map_err(|_| io::Error::other("writer thread stopped"))?
    }
}

impl Drop for ParallelGz {
    fn drop(&mut self) {
        let _ = self.flush();
        self.jobs.take();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
        // the writer ends when every sender is gone
        let (dummy, _) = sync_channel(1);
        drop(std::mem::replace(&mut self.to_writer, dummy));
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsink::Shared;
    use std::io::Read;

    #[test]
    fn members_decompress_to_the_input_in_order() {
        let sink = Shared::default();
        let mut w = ParallelGz::new(sink.clone(), 1);
        let mut want = Vec::new();
        for i in 0..700_000u32 {
            let b = (i % 1000).to_le_bytes();
            w.write_all(&b).unwrap();
            want.extend_from_slice(&b);
        }
        w.flush().unwrap();
        let got_len = sink.0.lock().unwrap().len();
        assert!(got_len > 0 && got_len < want.len());
        drop(w);
        let bytes = sink.0.lock().unwrap().clone();
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        assert!(out == want);
    }
}

//! A `Read` adapter that pulls from its source on a background thread, so
//! decompression runs on another core than decoding (gzip captures; plain
//! ones are read directly, see `FileReader::from_read`).

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

const CHUNK: usize = 1 << 20;
const DEPTH: usize = 4;

/// Reads `inner` on a helper thread, `CHUNK` bytes at a time, keeping at
/// most `DEPTH` chunks in flight (memory stays bounded).
pub struct ReadAhead {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Used chunks go back to the helper, which refills them (no fresh
    /// zeroed megabyte, and its page faults, per chunk).
    back: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// `fill`: gather full chunks (for decompressors, which return small
    /// pieces); otherwise each read's bytes are handed over at once, so a
    /// slow pipe is not held back.
    pub fn new<R: Read + Send + 'static>(mut inner: R, fill: bool) -> ReadAhead {
        let (tx, rx) = sync_channel(DEPTH);
        let (back, used) = sync_channel::<Vec<u8>>(DEPTH + 1);
        thread::Builder::new()
            .name("sonde-readahead".into())
            .spawn(move || loop {
                let mut buf = used.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let mut n = 0;
                let res = loop {
                    match inner.read(&mut buf[n..]) {
                        Ok(0) => break Ok(()),
                        Ok(k) => {
                            n += k;
                            if n == buf.len() || !fill {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                buf.truncate(n);
                let eof = n == 0;
                if n > 0 && tx.send(Ok(buf)).is_err() {
                    return;
                }
                if let Err(e) = res {
                    let _ = tx.send(Err(e));
                    return;
                }
                if eof {
                    return;
                }
            })
            .map(|_| ())
            .unwrap_or(());
        ReadAhead {
            rx,
            back,
            cur: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let old = std::mem::replace(&mut self.cur, chunk);
                    if old.capacity() > 0 {
                        let _ = self.back.try_send(old);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_through() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = ReadAhead::new(std::io::Cursor::new(data.clone()), true);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }
}

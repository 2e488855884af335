//! A `Write` adapter that hands filled buffers to a background thread, so
//! the kernel's copy into the page cache runs on another core than the
//! event loop. At most `DEPTH` buffers are in flight (bounded memory).

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

const CHUNK: usize = 1 << 20;
const DEPTH: usize = 4;

enum Msg {
    Data(Vec<u8>),
    Flush(SyncSender<io::Result<()>>),
}

/// Writes through a helper thread.
pub struct WriteBehind {
    buf: Vec<u8>,
    tx: Option<SyncSender<Msg>>,
    /// Buffers coming back for reuse.
    spare: Receiver<Vec<u8>>,
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl WriteBehind {
    /// Starts the writer thread over `inner`.
    pub fn new<W: Write + Send + 'static>(mut inner: W) -> WriteBehind {
        let (tx, rx) = sync_channel::<Msg>(DEPTH);
        let (spare_tx, spare) = sync_channel::<Vec<u8>>(DEPTH + 1);
        let handle = thread::Builder::new()
            .name("sonde-writebehind".into())
            .spawn(move || -> io::Result<()> {
                let mut failed: Option<io::Error> = None;
                for m in rx {
                    match m {
                        Msg::Data(mut b) => {
                            if failed.is_none() {
                                if let Err(e) = inner.write_all(&b) {
                                    failed = Some(e);
                                }
                            }
                            b.clear();
                            let _ = spare_tx.try_send(b);
                        }
                        Msg::Flush(ack) => {
                            let r = match failed.take() {
                                Some(e) => Err(e),
                                None => inner.flush(),
                            };
                            let _ = ack.send(r);
                        }
                    }
                }
                inner.flush()
            })
            .ok();
        WriteBehind {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            spare,
            handle,
        }
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        match (&self.tx, &self.handle) {
            (Some(tx), Some(_)) => tx
                .send(Msg::Data(full))
                .map_err(|_| io::Error::other("the writer thread stopped")),
            _ => Err(io::Error::other("no writer thread")),
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.buf.len() + b.len() > CHUNK && !self.buf.is_empty() {
            self.send_buf()?;
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    /// Waits until everything written so far reached the inner writer and
    /// was flushed there; reports any earlier write error.
    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()?;
        let (ack_tx, ack_rx) = sync_channel(1);
        match &self.tx {
            Some(tx) => tx
                .send(Msg::Flush(ack_tx))
                .map_err(|_| io::Error::other("the writer thread stopped"))?,
            None => return Err(io::Error::other("no writer thread")),
        }
        ack_rx
            .recv()
            .map_err(|_| io::Error::other("the writer thread stopped"))?
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        let _ = self.send_buf();
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsink::Shared;

    #[test]
    fn delivers_everything_in_order() {
        let sink = Shared::default();
        let mut w = WriteBehind::new(sink.clone());
        let mut want = Vec::new();
        for i in 0..200_000u32 {
            let b = i.to_le_bytes();
            w.write_all(&b).unwrap();
            want.extend_from_slice(&b);
        }
        w.flush().unwrap();
        assert_eq!(*sink.0.lock().unwrap(), want);
        w.write_all(b"tail").unwrap();
        drop(w);
        want.extend_from_slice(b"tail");
        assert_eq!(*sink.0.lock().unwrap(), want);
    }

    #[test]
    fn reports_write_errors_on_flush() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = WriteBehind::new(Failing);
        w.write_all(&[0u8; 100]).unwrap();
        assert!(w.flush().is_err());
    }
}

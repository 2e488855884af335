//! A blocking TLS receiver serving [`Ingest`] (feature `receiver`): the
//! stand-in server of the tests, usable until `sonde server` exists. One
//! thread per connection, keep-alive, `POST /api/v1/ingest` only.
//! [`Faults`] lets a test lose answers (the batch is stored, the answer
//! never sent), as a crash between store and reply would.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http::Conn;
use crate::ingest::{Ingest, MAX_BATCH};
use crate::protocol::INGEST_PATH;

/// Faults a test can inject.
#[derive(Debug, Default)]
pub struct Faults {
    /// This many next answers are not sent: the connection closes after
    /// the batch is stored.
    pub lose_answers: AtomicU32,
}

/// A running receiver; dropping it closes the listener and every connection.
pub struct Receiver {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
    /// Fault injection.
    pub faults: Arc<Faults>,
}

impl Receiver {
    /// Listens on `addr` (e.g. `127.0.0.1:0`) with `tls`, serving `ingest`.
    pub fn start(
        addr: impl ToSocketAddrs,
        tls: Arc<rustls::ServerConfig>,
        ingest: Arc<Ingest>,
    ) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Faults::default());
        let (s, c, f) = (stop.clone(), conns.clone(), faults.clone());
        let thread = std::thread::Builder::new()
            .name("sonde-receiver".into())
            .spawn(move || {
                for tcp in listener.incoming() {
                    if s.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    if let (Ok(mut l), Ok(clone)) = (c.lock(), tcp.try_clone()) {
                        l.retain(|t: &TcpStream| t.peer_addr().is_ok());
                        l.push(clone);
                    }
                    let (tls, ingest, f) = (tls.clone(), ingest.clone(), f.clone());
                    std::thread::spawn(move || serve(tcp, tls, &ingest, &f));
                }
            })?;
        Ok(Receiver {
            addr,
            stop,
            conns,
            thread: Some(thread),
            faults,
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(l) = self.conns.lock() {
            for c in l.iter() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
}

fn serve(tcp: TcpStream, tls: Arc<rustls::ServerConfig>, ingest: &Ingest, faults: &Faults) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(server) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let mut conn = Conn::new(rustls::StreamOwned::new(server, tcp));
    loop {
        let head = match conn.read_head() {
            Ok(Some(h)) => h,
            _ => return,
        };
        let keep = head.keep_alive();
        let mut parts = head.first.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let body = match conn.read_body(&head, MAX_BATCH, true) {
            Ok(b) => b,
            Err(_) => {
                let _ = conn.answer(413, br#"{"error":"bad or too large body"}"#, false);
                return;
            }
        };
        let (status, answer) = if path != INGEST_PATH {
            (404, br#"{"error":"not found"}"#.to_vec())
        } else if method != "POST" {
            (405, br#"{"error":"POST only"}"#.to_vec())
        } else {
            let verified = conn.stream.conn.peer_certificates().is_some();
            let r = ingest.handle(head.header("authorization"), verified, &body);
            (r.status, r.body)
        };
        let lose = faults
            .lose_answers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if lose {
            let _ = conn.stream.sock.shutdown(Shutdown::Both);
            return;
        }
        if conn.answer(status, &answer, keep).is_err() || !keep {
            return;
        }
    }
}

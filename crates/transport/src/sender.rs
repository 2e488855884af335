//! The agent's side: records pushed from any thread are sealed into one
//! batch per interval, spooled, and posted oldest first over one kept-open
//! TLS connection; while the server is away (or refuses the token) the
//! batches stay spooled and go out in order once it answers again.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::http::Conn;
use crate::protocol::{Ack, Batch, INGEST_PATH};
use crate::secret::Token;
use crate::spool::{Spool, SpoolError};

/// Where and how the agent sends.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// `https://HOST[:PORT][/PATH]` (port 443 and [`INGEST_PATH`] by default).
    pub url: String,
    /// Bearer token (`None`: the client certificate in `tls` alone).
    pub token: Option<Token>,
    /// The agent's id.
    pub agent: String,
    /// The spool's directory.
    pub spool_dir: PathBuf,
    /// The spool's cap in bytes.
    pub spool_max_bytes: u64,
    /// Time between batches (1 s).
    pub interval: Duration,
    /// The TLS client configuration ([`crate::client_config`]).
    pub tls: Arc<rustls::ClientConfig>,
    /// The name to verify the server's certificate against, when not the URL's host.
    pub server_name: Option<String>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// Seal a batch even when no record came (keeps one batch per interval).
    pub send_empty: bool,
}

/// The sender's state, for the agent's own metrics and its log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderStatus {
    /// The number the next batch gets.
    pub next_seq: u64,
    /// The highest number the server acknowledged.
    pub acked: u64,
    /// Batches spooled, not acknowledged yet.
    pub spooled: u64,
    /// Bytes of those.
    pub spooled_bytes: u64,
    /// Batches dropped over the spool's cap, ever.
    pub dropped: u64,
    /// Batches posted and acknowledged by this process.
    pub sent: u64,
    /// The last exchange with the server succeeded.
    pub connected: bool,
    /// The server refused the credentials (401) on the last attempt.
    pub auth_failed: bool,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
}

/// A sender that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A URL that is not `https://HOST[:PORT][/PATH]`.
    #[error("bad server URL '{0}': expected https://HOST[:PORT][/PATH]")]
    Url(String),
    /// The spool.
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// Entry point: [`Sender::start`].
pub struct Sender;

/// Feeds and controls a running sender. Dropping it stops the sender
/// without the final flush; prefer [`SenderHandle::shutdown`].
pub struct SenderHandle {
    records: Arc<Mutex<Vec<serde_json::Value>>>,
    status: Arc<Mutex<SenderStatus>>,
    stop: Arc<(Mutex<Option<Duration>>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// The server's address parts.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("https://")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, INGEST_PATH),
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, p) = h.split_once(']')?;
        (h, p.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() || path.contains(char::is_whitespace) {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 443,
    };
    Some(Target {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

impl Sender {
    /// Opens the spool and starts the sending thread.
    pub fn start(cfg: SenderConfig) -> Result<SenderHandle, TransportError> {
        let target = parse_url(&cfg.url).ok_or_else(|| TransportError::Url(cfg.url.clone()))?;
        let spool = Spool::open(&cfg.spool_dir, cfg.spool_max_bytes)?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(SenderStatus::default()));
        let stop = Arc::new((Mutex::new(None), Condvar::new()));
        let mut w = Worker {
            cfg,
            target,
            spool,
            conn: None,
            records: records.clone(),
            status: status.clone(),
        };
        w.publish(|_| {});
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-sender".into())
            .spawn(move || w.run(&s))
            .map_err(|e| {
                TransportError::Spool(SpoolError {
                    path: PathBuf::new(),
                    source: e,
                })
            })?;
        Ok(SenderHandle {
            records,
            status,
            stop,
            thread: Some(thread),
        })
    }
}

impl SenderHandle {
    /// Adds a record to the batch being gathered.
    pub fn push(&self, record: serde_json::Value) {
        if let Ok(mut r) = self.records.lock() {
            r.push(record);
        }
    }

    /// The sender's state now.
    pub fn status(&self) -> SenderStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn halt(&mut self, flush: Duration) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = Some(flush);
        }
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Seals what was pushed into a last batch, tries for up to `flush`
    /// to deliver what is spooled (what is not stays spooled for the next
    /// start), and stops.
    pub fn shutdown(mut self, flush: Duration) -> SenderStatus {
        self.halt(flush);
        self.status()
    }
}

impl Drop for SenderHandle {
    fn drop(&mut self) {
        self.halt(Duration::ZERO);
    }
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Largest answer read from the server.
const MAX_ANSWER: usize = 1 << 20;

struct Worker {
    cfg: SenderConfig,
    target: Target,
    spool: Spool,
    conn: Option<Conn<TlsStream>>,
    records: Arc<Mutex<Vec<serde_json::Value>>>,
    status: Arc<Mutex<SenderStatus>>,
}

/// Why a drain stopped early.
enum Stop {
    Failed(String),
    Auth,
}

impl Worker {
    fn publish(&self, f: impl FnOnce(&mut SenderStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
            s.next_seq = self.spool.next_seq();
            s.acked = self.spool.acked();
            s.spooled = self.spool.len() as u64;
            s.spooled_bytes = self.spool.bytes();
            s.dropped = self.spool.dropped();
        }
    }

    fn run(&mut self, stop: &(Mutex<Option<Duration>>, Condvar)) {
        let mut next = Instant::now() + self.cfg.interval;
        loop {
            let flush = wait_until(stop, next);
            self.seal();
            if let Some(flush) = flush {
                self.drain(Instant::now() + flush);
                return;
            }
            next += self.cfg.interval;
            let now = Instant::now();
            if next < now {
                // fell behind (a slow server): no burst of catch-up batches
                next = now + self.cfg.interval;
            }
            self.drain(next);
        }
    }

    /// Seals the records gathered into the next batch, in the spool.
    fn seal(&mut self) {
        let recs = self
            .records
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        if recs.is_empty() && !self.cfg.send_empty {
            return;
        }
        let agent = self.cfg.agent.clone();
        let ts_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut recs = Some(recs);
        let r = self.spool.push(|seq, dropped| {
            let b = Batch {
                agent,
                seq,
                ts_ms,
                dropped,
                records: recs.take().unwrap_or_default(),
            };
            serde_json::to_vec(&b).unwrap_or_default()
        });
        if let Err(e) = r {
            self.publish(|s| s.last_error = Some(format!("cannot spool a batch: {e}")));
        } else {
            self.publish(|_| {});
        }
    }

    fn connect(&self) -> Result<Conn<TlsStream>, String> {
        let t = &self.target;
        let addr = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
            .next()
            .ok_or_else(|| format!("no address for {}", t.host))?;
        let tcp = TcpStream::connect_timeout(&addr, self.cfg.timeout)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = tcp.set_read_timeout(Some(self.cfg.timeout));
        let _ = tcp.set_write_timeout(Some(self.cfg.timeout));
        let _ = tcp.set_nodelay(true);
        let name = self
            .cfg
            .server_name
            .clone()
            .unwrap_or_else(|| t.host.clone());
        let name = ServerName::try_from(name).map_err(|e| format!("bad server name: {e}"))?;
        let tls = rustls::ClientConnection::new(self.cfg.tls.clone(), name)
            .map_err(|e| format!("TLS: {e}"))?;
        Ok(Conn::new(rustls::StreamOwned::new(tls, tcp)))
    }

    /// Posts batch `seq`; on success returns the acknowledged number.
    fn post(&mut self, seq: u64) -> Result<u64, Stop> {
        let body = self
            .spool
            .read(seq)
            .map_err(|e| Stop::Failed(format!("cannot read the spool: {e}")))?;
        if self.conn.is_none() {
            self.conn = Some(self.connect().map_err(Stop::Failed)?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Stop::Failed("no connection".into()));
        };
        let host = format!("{}:{}", self.target.host, self.target.port);
        let r = conn.post(
            &host,
            &self.target.path,
            self.cfg.token.as_ref(),
            &body,
            MAX_ANSWER,
        );
        let (status, answer, keep) = r.map_err(|e| {
            self.conn = None;
            Stop::Failed(format!("cannot send to {}: {e}", self.cfg.url))
        })?;
        if !keep {
            self.conn = None;
        }
        match status {
            200 => serde_json::from_slice::<Ack>(&answer)
                .map(|a| a.acked)
                .map_err(|e| {
                    self.conn = None;
                    Stop::Failed(format!("bad answer from the server: {e}"))
                }),
            401 | 403 => {
                self.conn = None;
                Err(Stop::Auth)
            }
            s => {
                self.conn = None;
                let text: String = String::from_utf8_lossy(&answer).chars().take(200).collect();
                Err(Stop::Failed(format!("the server answered {s}: {text}")))
            }
        }
    }

    /// Posts spooled batches oldest first until done, a failure, or `deadline`.
    fn drain(&mut self, deadline: Instant) {
        for seq in self.spool.pending() {
            if seq <= self.spool.acked() {
                continue;
            }
            if Instant::now() >= deadline {
                return;
            }
            match self.post(seq) {
                Ok(acked) => {
                    let top = self.spool.next_seq().saturating_sub(1);
                    let note = (acked > top).then(|| {
                        format!("the server acknowledged {acked}, beyond the last batch {top} (agent state lost?)")
                    });
                    if acked < seq {
                        // the server says it does not hold what it just took
                        self.conn = None;
                        self.publish(|s| {
                            s.connected = false;
                            s.last_error =
                                Some(format!("the server acknowledged {acked} for batch {seq}"));
                        });
                        return;
                    }
                    let r = self.spool.ack(acked);
                    self.publish(|s| {
                        s.sent += 1;
                        s.connected = true;
                        s.auth_failed = false;
                        s.last_error = note.or(r.err().map(|e| e.to_string()));
                    });
                }
                Err(Stop::Auth) => {
                    self.publish(|s| {
                        s.connected = false;
                        s.auth_failed = true;
                        s.last_error = Some(
                            "the server refused the credentials (401 Unauthorized): batches stay spooled"
                                .into(),
                        );
                    });
                    return;
                }
                Err(Stop::Failed(e)) => {
                    self.publish(|s| {
                        s.connected = false;
                        s.last_error = Some(e);
                    });
                    return;
                }
            }
        }
    }
}

/// Sleeps until `until` or a stop; the stop's flush time when stopped.
fn wait_until(stop: &(Mutex<Option<Duration>>, Condvar), until: Instant) -> Option<Duration> {
    let (lock, cv) = stop;
    let Ok(mut g) = lock.lock() else {
        return Some(Duration::ZERO);
    };
    loop {
        if let Some(f) = *g {
            return Some(f);
        }
        let now = Instant::now();
        if now >= until {
            return None;
        }
        match cv.wait_timeout(g, until - now) {
            Ok((n, _)) => g = n,
            Err(_) => return Some(Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        let t = parse_url("https://srv.example:8443").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("srv.example", 8443, "/api/v1/ingest")
        );
        let t = parse_url("https://[::1]:9/x").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 9, "/x"));
        assert_eq!(parse_url("https://h").unwrap().port, 443);
        for bad in [
            "http://h",
            "h:1",
            "https://",
            "https://h:99999",
            "https://h:x",
        ] {
            assert!(parse_url(bad).is_none(), "{bad}");
        }
    }
}

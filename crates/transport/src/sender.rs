//! The agent's side: records pushed from any thread are sealed into one
//! batch per interval and spooled (the sealing thread never waits on the
//! network), and a posting thread sends the spooled batches oldest first
//! over one kept-open TLS connection; while the server is away (or
//! refuses the token) the batches stay spooled and go out in order once
//! it answers again.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::commands::{CommandQueue, Uploader};
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

/// What the handle and the two threads share.
struct Shared {
    spool: Mutex<Spool>,
    records: Mutex<Vec<serde_json::Value>>,
    status: Mutex<SenderStatus>,
    /// Set by a shutdown: the flush time.
    stop: Mutex<Option<Duration>>,
    stop_cv: Condvar,
    /// Batches sealed so far, and the poster's deadline once the sealer
    /// has sealed its last batch.
    sealed: Mutex<(u64, Option<Instant>)>,
    sealed_cv: Condvar,
    commands: CommandQueue,
}

impl Shared {
    /// Updates the status (the caller holds the spool: lock order is
    /// spool, then status).
    fn publish(&self, spool: &Spool, f: impl FnOnce(&mut SenderStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
            s.next_seq = spool.next_seq();
            s.acked = spool.acked();
            s.spooled = spool.len() as u64;
            s.spooled_bytes = spool.bytes();
            s.dropped = spool.dropped();
        }
    }

    /// Updates the status with the spool's numbers.
    fn note(&self, f: impl FnOnce(&mut SenderStatus)) {
        if let Ok(sp) = self.spool.lock() {
            self.publish(&sp, f);
        }
    }
}

/// Feeds and controls a running sender. Dropping it stops the sender:
/// what was pushed is sealed and spooled, nothing more is posted; prefer
/// [`SenderHandle::shutdown`].
pub struct SenderHandle {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    uploader: Uploader,
}

/// The server's address parts.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
}

pub(crate) fn parse_url(url: &str) -> Option<Target> {
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
    /// Opens the spool and starts the sealing and posting threads.
    pub fn start(cfg: SenderConfig) -> Result<SenderHandle, TransportError> {
        let target = parse_url(&cfg.url).ok_or_else(|| TransportError::Url(cfg.url.clone()))?;
        let spool = Spool::open(&cfg.spool_dir, cfg.spool_max_bytes)?;
        let shared = Arc::new(Shared {
            spool: Mutex::new(spool),
            records: Mutex::new(Vec::new()),
            status: Mutex::new(SenderStatus::default()),
            stop: Mutex::new(None),
            stop_cv: Condvar::new(),
            sealed: Mutex::new((0, None)),
            sealed_cv: Condvar::new(),
            commands: CommandQueue::new(),
        });
        shared.note(|_| {});
        let spawn_err = |e| {
            TransportError::Spool(SpoolError {
                path: PathBuf::new(),
                source: e,
            })
        };
        let (sh, c) = (shared.clone(), cfg.clone());
        let sealer = std::thread::Builder::new()
            .name("sonde-sealer".into())
            .spawn(move || seal_loop(&sh, &c))
            .map_err(spawn_err)?;
        let (c2, t2) = (cfg.clone(), target.clone());
        let mut p = Poster {
            cfg,
            target,
            conn: None,
            shared: shared.clone(),
        };
        let poster = std::thread::Builder::new()
            .name("sonde-sender".into())
            .spawn(move || p.run())
            .map_err(spawn_err)?;
        Ok(SenderHandle {
            shared,
            threads: vec![sealer, poster],
            uploader: Uploader::new(c2, t2),
        })
    }
}

impl SenderHandle {
    /// Adds a record to the batch being gathered.
    pub fn push(&self, record: serde_json::Value) {
        if let Ok(mut r) = self.shared.records.lock() {
            r.push(record);
        }
    }

    /// The sender's state now.
    pub fn status(&self) -> SenderStatus {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The server's requests for this agent, as they come back with the
    /// acknowledgements of its batches.
    pub fn commands(&self) -> CommandQueue {
        self.shared.commands.clone()
    }

    /// Sends files to the same server, with the same credentials.
    pub fn uploader(&self) -> Uploader {
        self.uploader.clone()
    }

    fn halt(&mut self, flush: Duration) {
        if let Ok(mut s) = self.shared.stop.lock() {
            *s = Some(flush);
        }
        self.shared.stop_cv.notify_all();
        for t in self.threads.drain(..) {
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

/// Seals a batch every interval; at a stop, seals the last one and tells
/// the poster how long it may flush.
fn seal_loop(sh: &Shared, cfg: &SenderConfig) {
    let mut next = Instant::now() + cfg.interval;
    loop {
        let flush = wait_until(&sh.stop, &sh.stop_cv, next);
        seal(sh, cfg);
        if let Ok(mut g) = sh.sealed.lock() {
            g.0 += 1;
            if let Some(f) = flush {
                g.1 = Some(Instant::now() + f);
            }
        }
        sh.sealed_cv.notify_all();
        if flush.is_some() {
            return;
        }
        next += cfg.interval;
        let now = Instant::now();
        if next < now {
            // fell behind (a stalled disk): no burst of catch-up batches
            next = now + cfg.interval;
        }
    }
}

/// Seals the records gathered into the next batch, in the spool.
fn seal(sh: &Shared, cfg: &SenderConfig) {
    let recs = sh
        .records
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    if recs.is_empty() && !cfg.send_empty {
        return;
    }
    let ts_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let Ok(mut sp) = sh.spool.lock() else {
        return;
    };
    let mut recs = Some(recs);
    let r = sp.push(|seq, dropped| {
        let b = Batch {
            agent: cfg.agent.clone(),
            seq,
            ts_ms,
            dropped,
            records: recs.take().unwrap_or_default(),
        };
        serde_json::to_vec(&b).unwrap_or_default()
    });
    match r {
        Err(e) => {
            // keep the records for the next batch
            if let (Some(back), Ok(mut r)) = (recs, sh.records.lock()) {
                let newer = std::mem::replace(&mut *r, back);
                r.extend(newer);
            }
            sh.publish(&sp, |s| {
                s.last_error = Some(format!("cannot spool a batch: {e}"))
            });
        }
        Ok(_) => sh.publish(&sp, |_| {}),
    }
}

pub(crate) type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Largest answer read from the server.
const MAX_ANSWER: usize = 1 << 20;

/// Opens a TLS connection to the server `cfg` names.
pub(crate) fn connect(cfg: &SenderConfig, t: &Target) -> Result<Conn<TlsStream>, String> {
    let addr = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
        .next()
        .ok_or_else(|| format!("no address for {}", t.host))?;
    let tcp = TcpStream::connect_timeout(&addr, cfg.timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = tcp.set_read_timeout(Some(cfg.timeout));
    let _ = tcp.set_write_timeout(Some(cfg.timeout));
    let _ = tcp.set_nodelay(true);
    let name = cfg.server_name.clone().unwrap_or_else(|| t.host.clone());
    let name = ServerName::try_from(name).map_err(|e| format!("bad server name: {e}"))?;
    let tls =
        rustls::ClientConnection::new(cfg.tls.clone(), name).map_err(|e| format!("TLS: {e}"))?;
    Ok(Conn::new(rustls::StreamOwned::new(tls, tcp)))
}

/// The posting thread.
struct Poster {
    cfg: SenderConfig,
    target: Target,
    conn: Option<Conn<TlsStream>>,
    shared: Arc<Shared>,
}

/// Why a drain stopped early.
enum Stop {
    Failed(String),
    Auth,
}

impl Poster {
    /// Drains the spool whenever a batch is sealed (and once an interval
    /// after a failure); after the last batch, until done or the deadline.
    fn run(&mut self) {
        let mut seen = 0;
        loop {
            let deadline = self
                .shared
                .sealed
                .lock()
                .map_or(Some(Instant::now()), |g| g.1);
            let clean = self.drain(deadline);
            if let Some(d) = deadline {
                if clean || Instant::now() >= d {
                    return;
                }
            }
            let Ok(g) = self.shared.sealed.lock() else {
                return;
            };
            let wait = match deadline {
                Some(d) => self
                    .cfg
                    .interval
                    .min(d.saturating_duration_since(Instant::now())),
                None => self.cfg.interval,
            };
            let Ok((g, _)) = self
                .shared
                .sealed_cv
                .wait_timeout_while(g, wait, |g| g.0 == seen && g.1.is_none())
            else {
                return;
            };
            seen = g.0;
        }
    }

    /// Posts `body` (batch `seq`); on success returns the acknowledged number.
    fn post(&mut self, body: &[u8]) -> Result<u64, Stop> {
        if self.conn.is_none() {
            self.conn = Some(connect(&self.cfg, &self.target).map_err(Stop::Failed)?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Stop::Failed("no connection".into()));
        };
        let host = format!("{}:{}", self.target.host, self.target.port);
        let r = conn.post(
            &host,
            &self.target.path,
            self.cfg.token.as_ref(),
            body,
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
                .map(|a| {
                    self.shared.commands.push_all(a.commands);
                    a.acked
                })
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

    /// The oldest unacknowledged batch: its number and bytes.
    fn oldest(&self) -> Result<Option<(u64, Vec<u8>)>, String> {
        let sp = self
            .shared
            .spool
            .lock()
            .map_err(|_| "spool lock".to_string())?;
        let Some(seq) = sp.pending().into_iter().find(|s| *s > sp.acked()) else {
            return Ok(None);
        };
        let body = sp
            .read(seq)
            .map_err(|e| format!("cannot read the spool: {e}"))?;
        Ok(Some((seq, body)))
    }

    /// Posts spooled batches oldest first until none is left (true), a
    /// failure, or `deadline`.
    fn drain(&mut self, deadline: Option<Instant>) -> bool {
        loop {
            let (seq, body) = match self.oldest() {
                Ok(Some(b)) => b,
                Ok(None) => return true,
                Err(e) => {
                    self.shared.note(|s| s.last_error = Some(e));
                    return false;
                }
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            let r = self.post(&body);
            let Ok(mut sp) = self.shared.spool.lock() else {
                return false;
            };
            match r {
                Ok(acked) if acked < seq => {
                    // the server says it does not hold what it just took
                    self.conn = None;
                    self.shared.publish(&sp, |s| {
                        s.connected = false;
                        s.last_error =
                            Some(format!("the server acknowledged {acked} for batch {seq}"));
                    });
                    return false;
                }
                Ok(acked) => {
                    let top = sp.next_seq().saturating_sub(1);
                    let note = (acked > top).then(|| {
                        format!("the server acknowledged {acked}, beyond the last batch {top} (agent state lost?)")
                    });
                    let r = sp.ack(acked);
                    self.shared.publish(&sp, |s| {
                        s.sent += 1;
                        s.connected = true;
                        s.auth_failed = false;
                        s.last_error = note.or(r.err().map(|e| e.to_string()));
                    });
                }
                Err(Stop::Auth) => {
                    self.shared.publish(&sp, |s| {
                        s.connected = false;
                        s.auth_failed = true;
                        s.last_error = Some(
                            "the server refused the credentials (401 Unauthorized): batches stay spooled"
                                .into(),
                        );
                    });
                    return false;
                }
                Err(Stop::Failed(e)) => {
                    self.shared.publish(&sp, |s| {
                        s.connected = false;
                        s.last_error = Some(e);
                    });
                    return false;
                }
            }
        }
    }
}

/// Sleeps until `until` or a stop; the stop's flush time when stopped.
fn wait_until(lock: &Mutex<Option<Duration>>, cv: &Condvar, until: Instant) -> Option<Duration> {
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

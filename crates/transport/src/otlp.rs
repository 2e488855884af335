//! OTLP/HTTP export: posts export requests (already encoded, JSON) to an
//! OpenTelemetry collector or any OTLP receiver, `http://` or `https://`
//! (rustls, the system's roots or a CA file), with the user's headers
//! (e.g. an API key, never printed). One thread; a bounded queue in
//! memory (the oldest request dropped first, and counted) so a slow or
//! absent receiver never holds the agent up. As the OTLP specification
//! says: 2xx is delivered; 429, 502, 503, 504 and connection failures are
//! retried in order with a growing pause; any other answer is final (the
//! request is dropped and counted as rejected).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::http::Conn;

/// The default path of metrics on an OTLP/HTTP receiver.
pub const METRICS_PATH: &str = "/v1/metrics";

/// Where the system keeps its trusted roots (Debian's ca-certificates).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Largest answer read from the receiver.
const MAX_ANSWER: usize = 1 << 20;

/// Where and how to export.
#[derive(Clone)]
pub struct OtlpConfig {
    /// `http[s]://HOST[:PORT][/PATH]`; without a path, [`METRICS_PATH`].
    pub url: String,
    /// Extra request headers (`KEY`, `VALUE`).
    pub headers: Vec<(String, String)>,
    /// A CA file for `https://` (default: the system's roots).
    pub ca: Option<String>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// Requests held while the receiver is away.
    pub queue: usize,
}

/// An exporter that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// A URL that is not `http[s]://HOST[:PORT][/PATH]`.
    #[error("bad OTLP URL '{0}': expected http://HOST[:PORT][/PATH] or https://...")]
    Url(String),
    /// A header with an empty name, or CR/LF in it.
    #[error("bad OTLP header '{0}': expected KEY=VALUE without line breaks")]
    Header(String),
    /// The CA file.
    #[error("OTLP TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// What the exporter has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtlpStatus {
    /// Requests the receiver accepted.
    pub sent: u64,
    /// Requests dropped because the queue was full.
    pub dropped: u64,
    /// Requests the receiver refused for good (a 4xx other than 429).
    pub rejected: u64,
    /// The last failure (the receiver's status, or the connection's error).
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Option<Target> {
    let (tls, rest) = match url.split_once("://")? {
        ("http", r) => (false, r),
        ("https", r) => (true, r),
        _ => return None,
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) if &rest[i..] != "/" => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], METRICS_PATH),
        None => (rest, METRICS_PATH),
    };
    let (host, port) = match hostport.strip_prefix('[') {
        Some(h) => {
            let (h, p) = h.split_once(']')?;
            (h, p.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    if host.is_empty() || path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if tls => 443,
        None => 80,
    };
    Some(Target {
        tls,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

struct Queue {
    items: VecDeque<Vec<u8>>,
    status: OtlpStatus,
    /// Set by a shutdown: post what is left until then.
    deadline: Option<Instant>,
}

struct Shared {
    q: Mutex<Queue>,
    cv: Condvar,
    cap: usize,
}

/// The running exporter; [`OtlpExporter::shutdown`] flushes it.
pub struct OtlpExporter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The posting side, on its own thread.
struct Poster {
    target: Target,
    headers: Vec<(String, String)>,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    conn: Option<Conn<Box<dyn Stream>>>,
}

impl OtlpExporter {
    /// Checks the configuration and starts the posting thread.
    pub fn start(cfg: OtlpConfig) -> Result<OtlpExporter, OtlpError> {
        let target = parse_url(&cfg.url).ok_or_else(|| OtlpError::Url(cfg.url.clone()))?;
        for (k, v) in &cfg.headers {
            let bad = |s: &str| s.contains(['\r', '\n']);
            if k.is_empty() || bad(k) || bad(v) || k.contains([':', ' ']) {
                return Err(OtlpError::Header(k.clone()));
            }
        }
        let tls = if target.tls {
            let ca = cfg.ca.clone().unwrap_or_else(|| SYSTEM_ROOTS.to_string());
            let roots = crate::tls::load_certs(Path::new(&ca))?;
            Some(crate::tls::client_config(&roots, None)?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            q: Mutex::new(Queue {
                items: VecDeque::new(),
                status: OtlpStatus::default(),
                deadline: None,
            }),
            cv: Condvar::new(),
            cap: cfg.queue.max(1),
        });
        let mut poster = Poster {
            target,
            headers: cfg.headers,
            tls,
            timeout: cfg.timeout,
            conn: None,
        };
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-otlp".into())
            .spawn(move || poster.run(&sh))
            .ok();
        Ok(OtlpExporter { shared, thread })
    }

    /// Queues one encoded export request; never waits.
    pub fn push(&self, body: Vec<u8>) {
        if let Ok(mut q) = self.shared.q.lock() {
            if q.items.len() >= self.shared.cap {
                q.items.pop_front();
                q.status.dropped += 1;
            }
            q.items.push_back(body);
        }
        self.shared.cv.notify_all();
    }

    /// What has happened so far.
    pub fn status(&self) -> OtlpStatus {
        self.shared
            .q
            .lock()
            .map(|q| q.status.clone())
            .unwrap_or_default()
    }

    /// Posts what is queued for at most `flush`, then stops the thread.
    pub fn shutdown(mut self, flush: Duration) -> OtlpStatus {
        if let Ok(mut q) = self.shared.q.lock() {
            q.deadline = Some(Instant::now() + flush);
        }
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.status()
    }
}

/// What became of one request.
enum Outcome {
    Delivered,
    Rejected(String),
    Retry(String),
}

impl Poster {
    fn run(&mut self, sh: &Shared) {
        let mut pause = Duration::from_millis(500);
        loop {
            let body = {
                let Ok(q) = sh.q.lock() else { return };
                let Ok(q) = sh
                    .cv
                    .wait_while(q, |q| q.items.is_empty() && q.deadline.is_none())
                else {
                    return;
                };
                if q.deadline
                    .is_some_and(|d| q.items.is_empty() || Instant::now() >= d)
                {
                    return;
                }
                q.items.front().cloned()
            };
            let Some(body) = body else { continue };
            let outcome = self.post(&body);
            let Ok(mut q) = sh.q.lock() else { return };
            match outcome {
                Outcome::Delivered | Outcome::Rejected(_) => {
                    // the front is still ours unless the queue overflowed meanwhile
                    if q.items.front() == Some(&body) {
                        q.items.pop_front();
                    }
                    match outcome {
                        Outcome::Rejected(e) => {
                            q.status.rejected += 1;
                            q.status.last_error = Some(e);
                        }
                        _ => q.status.sent += 1,
                    }
                    pause = Duration::from_millis(500);
                }
                Outcome::Retry(e) => {
                    q.status.last_error = Some(e);
                    self.conn = None;
                    let wait = match q.deadline {
                        Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
                        None => pause,
                    };
                    let _ = sh.cv.wait_timeout(q, wait);
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    fn connect(&self) -> Result<Conn<Box<dyn Stream>>, String> {
        let t = &self.target;
        let addr = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
            .next()
            .ok_or_else(|| format!("no address for {}", t.host))?;
        let tcp = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = tcp.set_read_timeout(Some(self.timeout));
        let _ = tcp.set_write_timeout(Some(self.timeout));
        let _ = tcp.set_nodelay(true);
        let Some(cfg) = &self.tls else {
            return Ok(Conn::new(Box::new(tcp)));
        };
        let name = ServerName::try_from(t.host.clone()).map_err(|e| format!("bad name: {e}"))?;
        let tls =
            rustls::ClientConnection::new(cfg.clone(), name).map_err(|e| format!("TLS: {e}"))?;
        Ok(Conn::new(Box::new(rustls::StreamOwned::new(tls, tcp))))
    }

    fn post(&mut self, body: &[u8]) -> Outcome {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => match self.connect() {
                Ok(c) => c,
                Err(e) => return Outcome::Retry(e),
            },
        };
        let host = match self.target.port {
            80 | 443 => self.target.host.clone(),
            p => format!("{}:{p}", self.target.host),
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = conn.post_with(
            &host,
            &self.target.path,
            &headers,
            "application/json",
            body,
            MAX_ANSWER,
        );
        match r {
            Err(e) => Outcome::Retry(format!("OTLP receiver: {e}")),
            Ok((status, _, keep)) => {
                if keep {
                    self.conn = Some(conn);
                }
                match status {
                    200..=299 => Outcome::Delivered,
                    429 | 502 | 503 | 504 => {
                        Outcome::Retry(format!("OTLP receiver answered {status}"))
                    }
                    s => Outcome::Rejected(format!("OTLP receiver refused a request: {s}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            (t.tls, t.port, t.path.as_str()),
            (false, 4318, METRICS_PATH)
        );
        let t = parse_url("https://otel.example/").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (true, 443, METRICS_PATH));
        let t = parse_url("http://[::1]/otlp/v1/metrics").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 80, "/otlp/v1/metrics")
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://h:notaport",
            "127.0.0.1:4318",
            "http://h/a b",
        ] {
            assert!(parse_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn bad_headers_are_refused() {
        let cfg = |h: (&str, &str)| OtlpConfig {
            url: "http://127.0.0.1:1".into(),
            headers: vec![(h.0.into(), h.1.into())],
            ca: None,
            timeout: Duration::from_millis(100),
            queue: 4,
        };
        assert!(OtlpExporter::start(cfg(("x-key", "v"))).is_ok());
        for h in [
            ("", "v"),
            ("a\r\nb", "v"),
            ("k", "v\nInjected: 1"),
            ("a b", "v"),
        ] {
            assert!(
                matches!(OtlpExporter::start(cfg(h)), Err(OtlpError::Header(_))),
                "{h:?}"
            );
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        // nothing listens on port 1: every post is retried, nothing leaves
        let x = OtlpExporter::start(OtlpConfig {
            url: "http://127.0.0.1:1".into(),
            headers: vec![],
            ca: None,
            timeout: Duration::from_millis(100),
            queue: 3,
        })
        .unwrap();
        for i in 0..10u8 {
            x.push(vec![i]);
        }
        let st = x.shutdown(Duration::from_millis(200));
        assert_eq!(st.sent, 0);
        assert_eq!(st.dropped, 7);
        assert!(st.last_error.unwrap().contains("connect"));
    }

    /// A receiver on loopback: answers each request with the next status,
    /// and hands back (path, headers, body) of each.
    fn receiver(statuses: Vec<u16>) -> (u16, std::sync::mpsc::Receiver<(String, String, Vec<u8>)>) {
        use std::io::BufRead;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for s in l.incoming() {
                let mut r = std::io::BufReader::new(s.unwrap());
                // one request per connection is enough: answer "close"
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                let status = statuses.next().unwrap_or(200);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let _ = tx.send((path, head.clone(), body));
                let mut s = r.into_inner();
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                );
            }
        });
        (port, rx)
    }

    #[test]
    fn retries_in_order_and_gives_up_on_a_final_refusal() {
        let (port, rx) = receiver(vec![503, 200, 400, 200]);
        let x = OtlpExporter::start(OtlpConfig {
            url: format!("http://127.0.0.1:{port}"),
            headers: vec![("api-key".into(), "s3cret".into())],
            ca: None,
            timeout: Duration::from_secs(2),
            queue: 8,
        })
        .unwrap();
        for b in [b"a", b"b", b"c"] {
            x.push(b.to_vec());
        }
        let st = x.shutdown(Duration::from_secs(10));
        let got: Vec<_> = rx.try_iter().collect();
        let bodies: Vec<&[u8]> = got.iter().map(|g| g.2.as_slice()).collect();
        // a: 503 then 200; b: 400 (dropped for good); c: 200
        assert_eq!(bodies, [b"a", b"a", b"b", b"c"]);
        assert_eq!(got[0].0, METRICS_PATH);
        assert!(got[0].1.contains("api-key: s3cret\r\n"), "{}", got[0].1);
        assert_eq!((st.sent, st.rejected, st.dropped), (2, 1, 0));
        assert!(!st.last_error.unwrap_or_default().contains("s3cret"));
    }
}

#[cfg(test)]
mod tls_tests {
    use super::*;

    #[test]
    fn https_with_a_missing_ca_file_is_refused() {
        let r = OtlpExporter::start(OtlpConfig {
            url: "https://127.0.0.1:4318".into(),
            headers: vec![],
            ca: Some("/nonexistent/ca.pem".into()),
            timeout: Duration::from_millis(100),
            queue: 4,
        });
        assert!(matches!(r, Err(OtlpError::Tls(_))), "{:?}", r.err());
    }
}

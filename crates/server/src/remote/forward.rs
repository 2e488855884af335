//! Remote write out: every second the agents send, once stored, goes to
//! a remote-write URL (`--remote-write-url`), with a bearer token when
//! one is given, over HTTPS (trusting `--remote-write-ca`) or HTTP.
//!
//! [`Forwarder::push`] never blocks ingest: samples wait in a queue of at
//! most `queue_samples` and what does not fit is dropped and counted. A
//! thread takes up to `batch_samples` at a time (or what is there after
//! `flush_ms`), sends them as one request, and on a network error, a 5xx
//! or a 429 retries the same request with a doubling backoff (100 ms up
//! to 30 s) while the queue absorbs, then drops, what arrives meanwhile.
//! Another 4xx means the receiver will never take it: the batch is
//! dropped and counted.
//!
//! The series are named as PromQL shows them (`.` as `_`); gauges go as
//! their level, counters as a running total since the forwarder started
//! (what a remote-write receiver expects of a counter), and histograms as
//! the running totals `<name>_count` and `<name>_sum`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sonde_store::{Sample, Value};
use sonde_transport::{rustls, Token};

use super::{encode, Label, TimeSeries, WriteRequest};
use crate::prom::eval::prom_name;
use crate::ServerError;

/// Where and how to forward.
#[derive(Debug, Clone)]
pub struct Config {
    /// `http://host:port/path` or `https://...`.
    pub url: String,
    /// Sent as `Authorization: Bearer`.
    pub token: Option<Token>,
    /// The CA an `https` receiver's certificate is checked against.
    pub ca: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The most samples waiting (beyond: dropped).
    pub queue_samples: usize,
    /// The most samples per request.
    pub batch_samples: usize,
    /// The longest a sample waits for a batch to fill, ms.
    pub flush_ms: u64,
}

/// Counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Samples the receiver accepted.
    pub sent: u64,
    /// Samples dropped because the queue was full.
    pub dropped: u64,
    /// Samples the receiver refused for good (a 4xx).
    pub rejected: u64,
    /// Requests sent again after a failure.
    pub retries: u64,
    /// Samples waiting.
    pub queued: u64,
}

/// The queue and its sender thread.
pub struct Forwarder {
    queue: Mutex<VecDeque<Sample>>,
    ready: Condvar,
    max: usize,
    sent: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
}

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("expected an http:// or https:// URL".into());
    };
    let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("port '{p}' is not a number"))?,
        ),
        _ => (hostport, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    Ok(Target {
        tls,
        host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
        port,
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
    })
}

/// The sending side: target, TLS and token.
struct Client {
    target: Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: Option<Token>,
}

impl Client {
    /// One POST of a remote-write body: the status.
    fn post(&self, body: &[u8]) -> std::io::Result<u16> {
        let t = &self.target;
        let tcp = TcpStream::connect((t.host.as_str(), t.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: sonde-server/{}\r\nContent-Length: {}\r\n",
            t.path,
            t.host,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        if let Some(tok) = &self.token {
            head.push_str(&format!("Authorization: Bearer {}\r\n", tok.expose()));
        }
        head.push_str("\r\n");
        let mut answer = Vec::new();
        match &self.tls {
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                    .map_err(std::io::Error::other)?;
                let conn = rustls::ClientConnection::new(cfg.clone(), name)
                    .map_err(std::io::Error::other)?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                exchange(&mut s, head.as_bytes(), body, &mut answer)?;
            }
            None => {
                let mut s = tcp;
                exchange(&mut s, head.as_bytes(), body, &mut answer)?;
            }
        }
        let line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
        String::from_utf8_lossy(line)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no HTTP status in the answer"))
    }
}

/// Writes the request and reads the answer's first bytes (its status line).
fn exchange(
    s: &mut (impl Read + Write),
    head: &[u8],
    body: &[u8],
    answer: &mut Vec<u8>,
) -> std::io::Result<()> {
    s.write_all(head)?;
    s.write_all(body)?;
    s.flush()?;
    let mut buf = [0u8; 4096];
    while !answer.contains(&b'\n') && answer.len() < 64 << 10 {
        let n = match s.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

type Key = (String, BTreeMap<String, String>);

/// Samples as a request: counters and histograms as running totals
/// (`totals`, by series, kept across calls).
fn to_request(samples: &[Sample], totals: &mut HashMap<Key, f64>) -> WriteRequest {
    let mut series: BTreeMap<Key, Vec<super::Sample>> = BTreeMap::new();
    let mut add = |name: String, tags: &BTreeMap<String, String>, ts: i64, v: f64| {
        let labels = tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (prom_name(k), v.clone()))
            .collect();
        series
            .entry((name, labels))
            .or_default()
            .push(super::Sample {
                value: v,
                timestamp: ts,
            });
    };
    let mut total = |name: &str, tags: &BTreeMap<String, String>, delta: f64| {
        let t = totals
            .entry((name.to_string(), tags.clone()))
            .or_insert(0.0);
        *t += delta;
        *t
    };
    // totals add up in time order
    let mut by_time: Vec<&Sample> = samples.iter().collect();
    by_time.sort_by_key(|s| s.ts_ms);
    for s in by_time {
        let name = prom_name(&s.metric);
        match &s.value {
            Value::Gauge { value } => add(name, &s.tags, s.ts_ms, *value),
            Value::Counter { value } => {
                let v = total(&name, &s.tags, *value);
                add(name, &s.tags, s.ts_ms, v);
            }
            Value::Histogram { count, sum, .. } => {
                let (c, m) = (format!("{name}_count"), format!("{name}_sum"));
                // a count above 2^53 loses its last digits as PromQL's float does
                #[allow(clippy::cast_precision_loss)]
                let v = total(&c, &s.tags, *count as f64);
                add(c, &s.tags, s.ts_ms, v);
                let v = total(&m, &s.tags, *sum);
                add(m, &s.tags, s.ts_ms, v);
            }
        }
    }
    WriteRequest {
        timeseries: series
            .into_iter()
            .map(|((name, labels), mut samples)| {
                samples.sort_by_key(|s| s.timestamp);
                let mut l = vec![Label {
                    name: "__name__".into(),
                    value: name,
                }];
                l.extend(
                    labels
                        .into_iter()
                        .map(|(name, value)| Label { name, value }),
                );
                l.sort_by(|a, b| a.name.cmp(&b.name));
                TimeSeries { labels: l, samples }
            })
            .collect(),
    }
}

/// The most series whose running totals are kept (beyond: they restart).
const MAX_TOTALS: usize = 1 << 20;

impl Forwarder {
    /// Checks the config and starts the sending thread.
    pub fn start(cfg: Config) -> Result<Arc<Forwarder>, ServerError> {
        let bad =
            |why: String| ServerError::Config(format!("--remote-write-url '{}': {why}", cfg.url));
        let target = parse_url(&cfg.url).map_err(bad)?;
        let tls = if target.tls {
            if cfg.ca.is_empty() {
                return Err(bad("an https:// receiver needs --remote-write-ca".into()));
            }
            Some(sonde_transport::client_config(&cfg.ca, None)?)
        } else {
            None
        };
        if cfg.queue_samples == 0 || cfg.batch_samples == 0 {
            return Err(ServerError::Config(
                "remote write: the queue and batch sizes must be above 0".into(),
            ));
        }
        let f = Arc::new(Forwarder {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            max: cfg.queue_samples,
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        });
        let client = Client {
            target,
            tls,
            token: cfg.token.clone(),
        };
        let w = f.clone();
        std::thread::Builder::new()
            .name("remote-write".into())
            .spawn(move || {
                w.run(
                    &client,
                    cfg.batch_samples,
                    Duration::from_millis(cfg.flush_ms),
                )
            })?;
        Ok(f)
    }

    /// Queues stored samples (what does not fit is dropped and counted).
    pub fn push(&self, samples: &[Sample]) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.max.saturating_sub(q.len());
        let take = room.min(samples.len());
        q.extend(samples[..take].iter().cloned());
        drop(q);
        let lost = (samples.len() - take) as u64;
        if lost > 0 {
            self.dropped.fetch_add(lost, Ordering::Relaxed);
        }
        self.ready.notify_one();
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        Stats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            queued: self.queue.lock().map_or(0, |q| q.len() as u64),
        }
    }

    /// Up to `max` samples, once `max` are there or `flush` has passed
    /// since the first one waited.
    fn next_batch(&self, max: usize, flush: Duration) -> Vec<Sample> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        while q.is_empty() {
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        let deadline = Instant::now() + flush;
        while q.len() < max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            q = self
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    fn run(&self, client: &Client, batch: usize, flush: Duration) {
        let mut totals: HashMap<Key, f64> = HashMap::new();
        loop {
            let samples = self.next_batch(batch, flush);
            if totals.len() > MAX_TOTALS {
                totals.clear();
            }
            let body = encode(&to_request(&samples, &mut totals));
            let n = samples.len() as u64;
            let mut backoff = Duration::from_millis(100);
            loop {
                match client.post(&body) {
                    Ok(s) if (200..300).contains(&s) => {
                        self.sent.fetch_add(n, Ordering::Relaxed);
                        break;
                    }
                    Ok(s) if (400..500).contains(&s) && s != 429 => {
                        eprintln!("sonde-server: remote write: the receiver refused {n} samples ({s}); dropped");
                        self.rejected.fetch_add(n, Ordering::Relaxed);
                        break;
                    }
                    other => {
                        if self.retries.fetch_add(1, Ordering::Relaxed) % 100 == 0 {
                            eprintln!(
                                "sonde-server: remote write: {other:?}; retrying in {backoff:?}"
                            );
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
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
        assert_eq!(
            parse_url("https://127.0.0.1:9443/api/v1/write").unwrap(),
            Target {
                tls: true,
                host: "127.0.0.1".into(),
                port: 9443,
                path: "/api/v1/write".into()
            }
        );
        let t = parse_url("http://mimir/api/v1/push").unwrap();
        assert_eq!((t.port, t.tls), (80, false));
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://x:port/").is_err());
        assert!(parse_url("http:///p").is_err());
    }

    #[test]
    fn counters_become_running_totals() {
        let tags = BTreeMap::from([("container.name".to_string(), "web".to_string())]);
        let s = |ts, value| Sample {
            metric: "req.count".into(),
            tags: tags.clone(),
            ts_ms: ts,
            value,
        };
        let mut totals = HashMap::new();
        let r = to_request(
            &[
                s(2000, Value::Counter { value: 3.0 }),
                s(1000, Value::Counter { value: 2.0 }),
            ],
            &mut totals,
        );
        assert_eq!(r.timeseries.len(), 1);
        let ts = &r.timeseries[0];
        assert_eq!(ts.labels[0].name, "__name__");
        assert_eq!(ts.labels[0].value, "req_count");
        assert_eq!(ts.labels[1].name, "container_name");
        let v: Vec<(i64, f64)> = ts.samples.iter().map(|s| (s.timestamp, s.value)).collect();
        assert_eq!(v, [(1000, 2.0), (2000, 5.0)]);
        let r = to_request(&[s(3000, Value::Gauge { value: 7.5 })], &mut totals);
        assert_eq!(r.timeseries[0].samples[0].value, 7.5);
        let r = to_request(&[s(4000, Value::Counter { value: 1.0 })], &mut totals);
        assert_eq!(r.timeseries[0].samples[0].value, 6.0);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let f = Forwarder {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            max: 3,
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        };
        let one = Sample {
            metric: "m".into(),
            tags: BTreeMap::new(),
            ts_ms: 1000,
            value: Value::Gauge { value: 1.0 },
        };
        f.push(&vec![one.clone(); 2]);
        f.push(&vec![one; 4]);
        let st = f.stats();
        assert_eq!((st.queued, st.dropped), (3, 3));
        assert_eq!(f.next_batch(2, Duration::from_millis(1)).len(), 2);
        assert_eq!(f.next_batch(2, Duration::from_millis(1)).len(), 1);
    }
}

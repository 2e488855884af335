//! What the alerts tests share: a real DuckStore with a writer for the
//! engine's own events, sample and event makers, and real listeners (a
//! minimal HTTP server, a TCP line reader) that hand what they receive
//! to the test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_alerts::Writer;
use sonde_store::{Event, Sample, Store, Tags, Value};
use sonde_store_duckdb::{DuckStore, Options};

pub fn store() -> Arc<dyn Store> {
    Arc::new(DuckStore::in_memory(Options::default()).unwrap())
}

/// Writes under the empty stream id with rising sequence numbers, as the
/// server does.
pub fn writer(store: &Arc<dyn Store>) -> Writer {
    let s = store.clone();
    let seq = Arc::new(AtomicU64::new(0));
    Arc::new(move |evs: &[Event]| {
        s.write_batch("", seq.fetch_add(1, Ordering::SeqCst) + 1, &[], evs)
    })
}

pub fn tags(kv: &[(&str, &str)]) -> Tags {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A latency histogram sample (ns) of `n` values all equal to `v`.
pub fn latency(ts_ms: i64, t: &[(&str, &str)], v: u64, n: u64) -> Sample {
    Sample {
        metric: "http.latency".into(),
        tags: tags(t),
        ts_ms,
        value: Value::Histogram {
            count: n,
            sum: (v * n) as f64,
            min: v as f64,
            max: v as f64,
            buckets: vec![(v, n)],
        },
    }
}

pub fn gauge(metric: &str, ts_ms: i64, t: &[(&str, &str)], v: f64) -> Sample {
    Sample {
        metric: metric.into(),
        tags: tags(t),
        ts_ms,
        value: Value::Gauge { value: v },
    }
}

pub fn event(kind: &str, ts_ms: i64, t: &[(&str, &str)]) -> Event {
    Event {
        ts_ms,
        agent: t
            .iter()
            .find(|(k, _)| *k == "host")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default(),
        kind: kind.into(),
        tags: tags(t),
        body: serde_json::json!({"kind": kind}),
    }
}

/// A whole hour back from now, on a second.
pub fn t0() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now - 3_600_000) / 1000 * 1000
}

/// A minimal HTTP server: answers every request with `status`, sends
/// (path, headers lower-cased, body) to the receiver.
pub fn http_listener(status: u16) -> (String, Receiver<(String, String, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut head = String::new();
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                head.push_str(&line.to_ascii_lowercase());
                line.clear();
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let path = head.split(' ').nth(1).unwrap_or("").to_string();
            let _ = write!(
                c,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tx.send((path, head, String::from_utf8(body).unwrap()));
        }
    });
    (format!("http://{addr}"), rx)
}

/// A TCP server sending each line it reads to the receiver.
pub fn tcp_listener() -> (String, Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            for line in BufReader::new(c).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        }
    });
    (addr.to_string(), rx)
}

/// Waits (up to 10 s) until `f` holds.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

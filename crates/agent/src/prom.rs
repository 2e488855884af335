//! The Prometheus text format: counters accumulated since the agent
//! started (one total per series, bounded by the series cap), gauges as
//! last seen, histograms as cumulative `_bucket`/`_sum`/`_count` in
//! seconds; and a small HTTP/1.x server on a std thread serving it at
//! `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::series::{Batch, Histogram, Tags, Value};

/// Bucket bounds of exported latency histograms, in seconds.
const LE: [f64; 12] = [
    0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

#[derive(Debug, Clone)]
enum Cum {
    Counter(f64),
    Gauge(f64),
    Hist(Histogram),
}

/// Everything exported so far.
#[derive(Debug, Default)]
pub struct Registry {
    series: BTreeMap<(String, Tags), Cum>,
    max: usize,
}

/// A metric name in Prometheus' alphabet.
fn metric_name(n: &str) -> String {
    let mut s: String = n
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // (a name may not start with a digit, nor be empty: `#:v` in statsd)
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn labels(t: &Tags, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = t
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", metric_name(k), escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Registry {
    /// A registry keeping at most `max` series.
    pub fn new(max: usize) -> Registry {
        Registry {
            series: BTreeMap::new(),
            max,
        }
    }

    /// Adds a second's batch.
    pub fn add(&mut self, b: &Batch) {
        for s in &b.series {
            let key = (s.name.clone(), s.tags.clone());
            if !self.series.contains_key(&key) && self.series.len() >= self.max {
                continue;
            }
            let e = self.series.entry(key);
            match &s.value {
                Value::Counter(v) => {
                    let c = e.or_insert(Cum::Counter(0.0));
                    if let Cum::Counter(x) = c {
                        *x += v;
                    }
                }
                Value::Gauge(v) => {
                    e.and_modify(|c| *c = Cum::Gauge(*v))
                        .or_insert(Cum::Gauge(*v));
                }
                Value::Histogram(h) => {
                    let c = e.or_insert(Cum::Hist(Histogram::default()));
                    if let Cum::Hist(x) = c {
                        x.merge(h);
                    }
                }
            }
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut last = String::new();
        for ((name, tags), c) in &self.series {
            let n = format!("sonde_{}", metric_name(name));
            let kind = match c {
                Cum::Counter(_) => "counter",
                Cum::Gauge(_) => "gauge",
                Cum::Hist(_) => "histogram",
            };
            let n = if kind == "counter" {
                format!("{n}_total")
            } else {
                n
            };
            if n != last {
                let _ = writeln!(out, "# TYPE {n} {kind}");
                last = n.clone();
            }
            match c {
                Cum::Counter(v) | Cum::Gauge(v) => {
                    let _ = writeln!(out, "{n}{} {v}", labels(tags, None));
                }
                Cum::Hist(h) => {
                    for le in LE {
                        let cnt = h.count_le((le * 1e9) as u64);
                        let _ = writeln!(
                            out,
                            "{n}_bucket{} {cnt}",
                            labels(tags, Some(("le", le.to_string())))
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{n}_bucket{} {}",
                        labels(tags, Some(("le", "+Inf".into()))),
                        h.count
                    );
                    let _ = writeln!(out, "{n}_sum{} {}", labels(tags, None), h.sum as f64 / 1e9);
                    let _ = writeln!(out, "{n}_count{} {}", labels(tags, None), h.count);
                }
            }
        }
        out
    }
}

/// Serves `registry` at `http://ADDR/metrics` on a thread; the bound
/// address (port 0 picks one).
pub fn serve(addr: &str, registry: Arc<Mutex<Registry>>) -> std::io::Result<std::net::SocketAddr> {
    let l = TcpListener::bind(addr)?;
    let local = l.local_addr()?;
    std::thread::Builder::new().name("prometheus".into()).spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16_384 {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if path == "/metrics" || path.starts_with("/metrics?") {
                let text = registry.lock().map(|r| r.render()).unwrap_or_default();
                ("200 OK", text)
            } else {
                ("404 Not Found", "not found: try /metrics\n".to_string())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    })?;
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

    #[test]
    fn counters_accumulate_and_render() {
        let mut r = Registry::new(10);
        let tags = vec![("container.name".to_string(), "web \"1\"".to_string())];
        let mut h = Histogram::default();
        h.record(2_000_000);
        for _ in 0..2 {
            r.add(&Batch {
                ts: 1,
                series: vec![
                    Series {
                        name: "http.requests".into(),
                        tags: tags.clone(),
                        value: Value::Counter(3.0),
                    },
                    Series {
                        name: "http.latency".into(),
                        tags: tags.clone(),
                        value: Value::Histogram(h.clone()),
                    },
                ],
            });
        }
        let text = r.render();
        assert!(
            text.contains("sonde_http_requests_total{container_name=\"web \\\"1\\\"\"} 6"),
            "{text}"
        );
        assert!(
            text.contains("sonde_http_latency_count{container_name=\"web \\\"1\\\"\"} 2"),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"0.001\"} 0"), "{text}");
    }

    /// A statsd tag without a key (`#:v`) still renders as a label the
    /// exposition format allows: the scraper's own parser reads it back.
    #[test]
    fn an_empty_tag_key_renders_as_a_valid_label() {
        let line = crate::statsd::parse_line("jobs:1|c|#:v,env:prod").unwrap();
        let mut r = Registry::new(10);
        r.add(&Batch {
            ts: 1,
            series: vec![Series {
                name: line.name.clone(),
                tags: line.tags.clone(),
                value: Value::Counter(line.value),
            }],
        });
        let text = r.render();
        assert!(
            text.contains("sonde_jobs_total{_=\"v\",env=\"prod\"} 1"),
            "{text}"
        );
        let (samples, bad) = crate::scrape::parse_text(&text);
        assert_eq!((samples.len(), bad), (1, 0), "{text}");
    }
}

//! Prometheus endpoints of discovered applications, scraped on request
//! (`scrape.enabled` in the config, or `--scrape`): every interval, each
//! listening TCP port where [`crate::discover`] saw HTTP is asked for its
//! metrics path, from inside the process's network namespace, on a worker
//! thread (the engine never waits for it). The samples become gauges
//! tagged with the serving process's and container's tags, which come from
//! the event stream, never from the payload (a label that clashes with an
//! implicit tag is dropped), plus `net.port`. A port that does not answer
//! in the Prometheus text format is not asked again for a while.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most bytes read from one endpoint.
const MAX_BODY: usize = 4 << 20;
/// Most samples kept from one endpoint.
const MAX_SAMPLES: usize = 2_000;

/// An endpoint to scrape: a process and the address it listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The serving process (its network namespace is used).
    pub pid: i64,
    /// The address it listens on (unspecified: loopback is asked).
    pub ip: IpAddr,
    /// The port.
    pub port: u16,
}

/// One sample of the text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Its labels, in the order given.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// What one endpoint answered.
#[derive(Debug, Clone)]
pub struct Scraped {
    /// Whom it was asked of.
    pub target: Target,
    /// The samples (empty when it did not answer in the text format).
    pub samples: Vec<Sample>,
    /// Lines that could not be parsed.
    pub malformed: u64,
}

/// The scraping worker: targets in, answers out.
pub struct Scraper {
    tx: Sender<Vec<Target>>,
    done: Arc<Mutex<Vec<Scraped>>>,
    /// Seconds between scrapes of the same target.
    pub interval_s: u64,
}

impl Scraper {
    /// Starts the worker: `path` on each target, with `timeout` per target.
    pub fn start(path: &str, interval_s: u64, timeout: Duration) -> std::io::Result<Scraper> {
        let (tx, rx) = channel::<Vec<Target>>();
        let done = Arc::new(Mutex::new(Vec::new()));
        let out = done.clone();
        let path = path.to_string();
        std::thread::Builder::new()
            .name("sonde-scrape".into())
            .spawn(move || worker(rx, out, path, timeout))?;
        Ok(Scraper {
            tx,
            done,
            interval_s: interval_s.max(1),
        })
    }

    /// Asks for these targets to be scraped (they are, one after another).
    pub fn request(&self, targets: Vec<Target>) {
        let _ = self.tx.send(targets);
    }

    /// The answers that arrived since the last call.
    pub fn drain(&self) -> Vec<Scraped> {
        self.done
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}

fn worker(rx: Receiver<Vec<Target>>, out: Arc<Mutex<Vec<Scraped>>>, path: String, t: Duration) {
    while let Ok(targets) = rx.recv() {
        for target in targets {
            let body = fetch_in_netns(target, &path, t).unwrap_or_default();
            let (samples, malformed) = parse_text(&body);
            if let Ok(mut d) = out.lock() {
                d.push(Scraped {
                    target,
                    samples,
                    malformed,
                });
            }
        }
    }
}

/// GETs `path` from the target, from inside its network namespace (a
/// short-lived thread joins it, so the agent's own threads stay put).
fn fetch_in_netns(target: Target, path: &str, timeout: Duration) -> Option<String> {
    let path = path.to_string();
    std::thread::spawn(move || {
        enter_netns(target.pid)?;
        fetch(target, &path, timeout)
    })
    .join()
    .ok()
    .flatten()
}

/// Joins `pid`'s network namespace unless it is the caller's already.
fn enter_netns(pid: i64) -> Option<()> {
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/net")).ok()?;
    let ours = std::fs::metadata("/proc/self/ns/net").ok()?;
    use std::os::unix::fs::MetadataExt;
    if theirs.ino() == ours.ino() && theirs.dev() == ours.dev() {
        return Some(());
    }
    let f = std::fs::File::open(format!("/proc/{pid}/ns/net")).ok()?;
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a namespace fd we hold open, for this thread only
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    (r == 0).then_some(())
}

/// One HTTP/1.0 GET; the body when the status is 200.
fn fetch(target: Target, path: &str, timeout: Duration) -> Option<String> {
    let ip = if target.ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        target.ip
    };
    let addr = SocketAddr::new(ip, target.port);
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/plain\r\nUser-Agent: sonde-agent\r\n\r\n"
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.take(MAX_BODY as u64).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    (status == "200").then(|| body.to_string())
}

/// Parses the Prometheus text exposition format: the samples, and how many
/// non-comment lines were not samples.
pub fn parse_text(body: &str) -> (Vec<Sample>, u64) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(s) if out.len() < MAX_SAMPLES => out.push(s),
            Some(_) => {}
            None => bad += 1,
        }
    }
    (out, bad)
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// `name[{labels}] value [timestamp]`.
fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let (l, after) = parse_labels(r)?;
        labels = l;
        rest = after;
    }
    let mut words = rest.split_whitespace();
    let value = match words.next()? {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    if let Some(ts) = words.next() {
        ts.parse::<i64>().ok()?;
    }
    if words.next().is_some() {
        return None;
    }
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The labels after `{`, and what follows the closing `}`.
fn parse_labels(mut r: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        r = r.trim_start();
        if let Some(after) = r.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = r.find('=')?;
        let key = r[..eq].trim();
        if !valid_name(key) {
            return None;
        }
        let mut chars = r[eq + 1..].trim_start().char_indices();
        let body = r[eq + 1..].trim_start();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut val = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => val.push('\n'),
                    o => val.push(o),
                },
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                o => val.push(o),
            }
        }
        labels.push((key.to_string(), val));
        r = body[end?..].trim_start();
        r = r.strip_prefix(',').unwrap_or(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_text_format() {
        let body = "# HELP reqs Requests.\n# TYPE reqs counter\n\
            reqs_total{code=\"200\",path=\"/a \\\"b\\\"\"} 42\n\
            temp 21.5 1700000000000\n\
            up{} 1\n\
            inf +Inf\n\
            bad line here\n\
            9bad 1\n\
            x{a=\"1\" 2\n";
        let (s, bad) = parse_text(body);
        assert_eq!(bad, 3, "{s:?}");
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].name, "reqs_total");
        assert_eq!(
            s[0].labels,
            vec![
                ("code".to_string(), "200".to_string()),
                ("path".to_string(), "/a \"b\"".to_string())
            ]
        );
        assert_eq!(s[0].value, 42.0);
        assert_eq!((s[1].name.as_str(), s[1].value), ("temp", 21.5));
        assert!(s[2].labels.is_empty());
        assert!(s[3].value.is_infinite());
    }

    #[test]
    fn scrapes_a_real_endpoint() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().take(2).flatten() {
                let mut s = s;
                let mut b = [0u8; 1024];
                let n = s.read(&mut b).unwrap_or(0);
                let req = String::from_utf8_lossy(&b[..n]).to_string();
                let reply = if req.starts_with("GET /metrics ") {
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\njobs_done{queue=\"q\"} 7\n"
                } else {
                    "HTTP/1.0 404 Not Found\r\n\r\n"
                };
                let _ = s.write_all(reply.as_bytes());
            }
        });
        let sc = Scraper::start("/metrics", 1, Duration::from_secs(2)).unwrap();
        let target = Target {
            pid: std::process::id() as i64,
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
        };
        sc.request(vec![target]);
        let mut got = Vec::new();
        for _ in 0..100 {
            got = sc.drain();
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].target, target);
        assert_eq!(got[0].samples[0].name, "jobs_done");
        assert_eq!(got[0].samples[0].value, 7.0);
    }
}

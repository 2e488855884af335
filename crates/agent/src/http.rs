//! Application protocols decoded from the I/O buffers the probe captures:
//! the [`Protocol`] trait (one connection's buffers in, finished
//! transactions out) and HTTP/1.x, which pairs a request with the next
//! response on the same connection the way sysdig's `httplog` chisel does
//! (so the counts agree with it on the same capture).

use rustc_hash::{FxHashMap, FxHashSet};

/// A connection: process id and fd number.
pub type ConnKey = (i64, i64);

/// Which way a buffer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Read by the process.
    In,
    /// Written by the process.
    Out,
}

/// A finished request/response pair (or query/answer).
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Protocol name, the metric prefix (`http`).
    pub proto: &'static str,
    /// `server` (the request was read), `client` (it was written).
    pub side: &'static str,
    /// Labels of the transaction (method, status class, path, ...).
    pub labels: Vec<(&'static str, String)>,
    /// Request to response, in nanoseconds.
    pub latency_ns: u64,
}

/// A protocol decoder fed with the buffers of socket I/O.
pub trait Protocol {
    /// The protocol's name.
    fn name(&self) -> &'static str;
    /// One buffer read or written on connection `key` at `ts`; finished
    /// transactions are pushed to `out`.
    fn on_buffer(
        &mut self,
        key: ConnKey,
        dir: Dir,
        ts: u64,
        buf: &[u8],
        out: &mut Vec<Transaction>,
    );
    /// The connection was closed.
    fn on_close(&mut self, key: ConnKey);
    /// Buffers that looked like the protocol but could not be decoded
    /// (since the last call).
    fn take_malformed(&mut self) -> u64;
    /// Paths (or other labels) folded into `{other}` by the cardinality cap
    /// (since the last call).
    fn take_capped(&mut self) -> u64 {
        0
    }
}

/// A label's distinct values, at most `max`; the rest become `{other}`
/// and are counted (a protocol's cardinality cap: HTTP paths, DNS names).
#[derive(Debug)]
pub struct Capped {
    seen: FxHashSet<String>,
    max: usize,
    capped: u64,
}

impl Capped {
    /// At most `max` distinct values.
    pub fn new(max: usize) -> Capped {
        Capped {
            seen: FxHashSet::default(),
            max,
            capped: 0,
        }
    }

    /// `v` as a label: itself while the cap allows it, else `{other}`.
    pub fn tag(&mut self, v: String) -> String {
        if self.seen.contains(&v) {
            return v;
        }
        if self.seen.len() >= self.max {
            self.capped += 1;
            return "{other}".into();
        }
        self.seen.insert(v.clone());
        v
    }

    /// Values folded into `{other}` since the last call.
    pub fn take_capped(&mut self) -> u64 {
        std::mem::take(&mut self.capped)
    }
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    ts: u64,
    side: &'static str,
    method: String,
    host: String,
    path: String,
}

/// HTTP/1.x: request line and `Host:` of the first buffer of a
/// transaction, status code of the next buffer holding one.
#[derive(Debug)]
pub struct Http {
    pending: FxHashMap<ConnKey, Pending>,
    paths: Capped,
    max_pending: usize,
    malformed: u64,
}

impl Http {
    /// A decoder keeping at most `max_paths` distinct normalised paths
    /// (the rest become `{other}`).
    pub fn new(max_paths: usize) -> Http {
        Http {
            pending: FxHashMap::default(),
            paths: Capped::new(max_paths),
            max_pending: 65_536,
            malformed: 0,
        }
    }

    /// The path as a tag: query dropped, numbers and ids folded, capped.
    fn path_tag(&mut self, raw: &str) -> String {
        self.paths.tag(normalize_path(raw))
    }
}

/// A byte as sysdig's chisels see a buffer: printable ASCII, else `.`.
fn shown(b: u8) -> u8 {
    if (0x20..0x7f).contains(&b) {
        b
    } else {
        b'.'
    }
}

/// A status code (100 to 599) in decimal.
fn status_text(code: u64) -> String {
    let d = [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ];
    d.iter().map(|&b| char::from(b)).collect()
}

/// `^(%u+) (%g+)` on the buffer as shown: method and url.
pub fn parse_request(buf: &[u8]) -> Option<(String, String)> {
    let m = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if m == 0 || buf.get(m) != Some(&b' ') {
        return None;
    }
    let rest = &buf[m + 1..];
    let u = rest.iter().take_while(|&&b| shown(b) != b' ').count();
    if u == 0 {
        return None;
    }
    let url: Vec<u8> = rest[..u].iter().map(|&b| shown(b)).collect();
    Some((
        crate::sink::text(&buf[..m]).into_owned(),
        crate::sink::text(&url).into_owned(),
    ))
}

/// `Host: (%g+)%.%.` on the buffer as shown (the line end shows as `..`).
/// Works on the raw bytes: only a space ends a `%g` run once non-printable
/// bytes show as `.`.
pub fn parse_host(buf: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(i) = find(&buf[from..], b"Host: ") {
        let start = from + i + 6;
        let run = buf[start..].iter().take_while(|&&b| b != b' ').count();
        let r = &buf[start..start + run];
        // the longest capture of at least one byte followed by ".."
        if let Some(end) = (1..r.len().saturating_sub(1))
            .rev()
            .find(|&e| shown(r[e]) == b'.' && shown(r[e + 1]) == b'.')
        {
            let host: Vec<u8> = r[..end].iter().map(|&b| shown(b)).collect();
            return Some(crate::sink::text(&host).into_owned());
        }
        from = start;
    }
    None
}

/// `HTTP/[%g]+ (%d+)` anywhere in the buffer as shown: the status code
/// (on the raw bytes, as [`parse_host`]).
pub fn parse_status(buf: &[u8]) -> Option<u64> {
    let mut from = 0;
    while let Some(i) = find(&buf[from..], b"HTTP/") {
        let start = from + i + 5;
        let run = buf[start..].iter().take_while(|&&b| b != b' ').count();
        let after = start + run;
        if run > 0 && buf.get(after) == Some(&b' ') {
            let d = buf[after + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if d > 0 {
                let txt = std::str::from_utf8(&buf[after + 1..after + 1 + d]).ok()?;
                return Some(txt.parse().unwrap_or(u64::MAX));
            }
        }
        from = start;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Folds the parts of a path that identify one object: the query is
/// dropped, segments of digits become `{n}`, hex/uuid-like or long
/// digit-bearing segments become `{id}`.
pub fn normalize_path(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let digits = seg.bytes().filter(u8::is_ascii_digit).count();
        let hexish = seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !seg.is_empty() && digits == seg.len() {
            out.push_str("{n}");
        } else if (hexish && seg.len() >= 8 && digits > 0) || (seg.len() >= 16 && digits >= 4) {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl Protocol for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn on_buffer(
        &mut self,
        key: ConnKey,
        dir: Dir,
        ts: u64,
        buf: &[u8],
        out: &mut Vec<Transaction>,
    ) {
        let Some(p) = self.pending.get(&key) else {
            if let Some((method, url)) = parse_request(buf) {
                if self.pending.len() >= self.max_pending {
                    // bounded: forget the oldest-looking half at once
                    self.pending.clear();
                }
                let host = parse_host(buf).unwrap_or_default();
                let side = match dir {
                    Dir::In => "server",
                    Dir::Out => "client",
                };
                self.pending.insert(
                    key,
                    Pending {
                        ts,
                        side,
                        method,
                        host,
                        path: url,
                    },
                );
            } else if buf.starts_with(b"HTTP/") {
                // a response with no request seen
                self.malformed += 1;
            }
            return;
        };
        let Some(code) = parse_status(buf) else {
            return;
        };
        let latency_ns = ts.saturating_sub(p.ts);
        let Some(p) = self.pending.remove(&key) else {
            return;
        };
        if !(100..600).contains(&code) {
            self.malformed += 1;
            return;
        }
        let path = self.path_tag(&p.path);
        out.push(Transaction {
            proto: "http",
            side: p.side,
            // (in the order of their keys: the sink needs not sort them)
            labels: vec![
                ("http.host", p.host),
                ("http.method", p.method),
                ("http.path", path),
                ("http.status", status_text(code)),
                (
                    "http.status_class",
                    crate::agg::CLASSES[(code / 100 - 1) as usize].to_string(),
                ),
            ],
            latency_ns,
        });
    }

    fn on_close(&mut self, key: ConnKey) {
        self.pending.remove(&key);
    }

    fn take_malformed(&mut self) -> u64 {
        std::mem::take(&mut self.malformed)
    }

    fn take_capped(&mut self) -> u64 {
        self.paths.take_capped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_host_status_as_httplog() {
        let req =
            b"GET /a/b?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.58.0\r\n\r\n";
        assert_eq!(parse_request(req), Some(("GET".into(), "/a/b?x=1".into())));
        assert_eq!(parse_host(req).as_deref(), Some("www.example.com"));
        assert_eq!(parse_status(b"HTTP/1.1 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status(b"xx HTTP/1.0 200 OK"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.1 OK"), None);
        assert_eq!(parse_request(b"get / HTTP/1.1"), None);
        assert_eq!(parse_request(b"GET  /"), None);
        assert_eq!(parse_request(b""), None);
        assert_eq!(parse_host(b"Host: \r\n"), None);
    }

    #[test]
    fn paths_fold_ids_and_cap() {
        assert_eq!(normalize_path("/users/123/orders"), "/users/{n}/orders");
        assert_eq!(
            normalize_path("/o/550e8400-e29b-41d4-a716-446655440000?q"),
            "/o/{id}"
        );
        assert_eq!(normalize_path("/static/app.js"), "/static/app.js");
        assert_eq!(normalize_path(""), "/");
        let mut h = Http::new(2);
        assert_eq!(h.path_tag("/a"), "/a");
        assert_eq!(h.path_tag("/b"), "/b");
        assert_eq!(h.path_tag("/c"), "{other}");
        assert_eq!(h.take_capped(), 1);
    }

    #[test]
    fn pairs_request_with_response() {
        let mut h = Http::new(10);
        let mut out = Vec::new();
        h.on_buffer(
            (1, 3),
            Dir::In,
            100,
            b"POST /x/7 HTTP/1.1\r\n\r\n",
            &mut out,
        );
        h.on_buffer((1, 3), Dir::In, 150, b"body", &mut out);
        h.on_buffer((1, 3), Dir::Out, 400, b"HTTP/1.1 503 Busy\r\n", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].latency_ns, 300);
        assert_eq!(out[0].side, "server");
        assert!(out[0].labels.contains(&("http.status_class", "5xx".into())));
        assert!(out[0].labels.contains(&("http.status", "503".into())));
        assert!(
            out[0].labels.windows(2).all(|w| w[0].0 <= w[1].0),
            "labels in key order"
        );
        assert!(out[0].labels.contains(&("http.path", "/x/{n}".into())));
        h.on_buffer((1, 4), Dir::In, 1, b"HTTP/1.1 200 OK\r\n", &mut out);
        h.on_buffer((1, 5), Dir::Out, 1, b"GET / HTTP/1.1\r\n", &mut out);
        h.on_buffer((1, 5), Dir::In, 2, b"HTTP/1.1 999 What\r\n", &mut out);
        assert_eq!(h.take_malformed(), 2);
        assert_eq!(out.len(), 1);
    }
}

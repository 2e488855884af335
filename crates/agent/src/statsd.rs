//! statsd: the line protocol (`name:value|type|@rate|#tags`, types `c`,
//! `g`, `ms`, `h`, `s`) parsed from datagrams, whether picked up from the
//! syscall stream (sends to port 8125) or received by the plain
//! [`Listener`]. A bad line is an error value, never a panic.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};

/// The statsd port whose datagrams the agent picks up.
pub const PORT: u16 = 8125;

/// The kind of a statsd metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `c`: a count, divided by its sample rate.
    Counter,
    /// `g`: a level (`+N`/`-N` change it).
    Gauge,
    /// `ms`: a timer in milliseconds.
    Timer,
    /// `h`: a histogram.
    Histogram,
    /// `s`: a set (distinct values are counted).
    Set,
}

/// One parsed statsd line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Numeric value (counters already divided by the rate); 0 for sets.
    pub value: f64,
    /// A gauge change (`+N`/`-N`) rather than a level.
    pub relative: bool,
    /// A set's member.
    pub member: String,
    /// Tags from the payload (`#k:v,k2`), in order.
    pub tags: Vec<(String, String)>,
}

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// No `:` between name and value.
    #[error("no ':' after the metric name")]
    NoValue,
    /// No `|type`.
    #[error("no '|type'")]
    NoType,
    /// Empty or invalid name.
    #[error("bad metric name")]
    BadName,
    /// The value is not a number.
    #[error("bad value")]
    BadValue,
    /// Unknown type.
    #[error("unknown type")]
    BadType,
    /// `@rate` not in (0, 1].
    #[error("bad sample rate")]
    BadRate,
}

/// Parses one line.
pub fn parse_line(line: &str) -> Result<Sample, LineError> {
    let (name, rest) = line.split_once(':').ok_or(LineError::NoValue)?;
    if name.is_empty()
        || name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'|' || b == b'#')
    {
        return Err(LineError::BadName);
    }
    let mut parts = rest.split('|');
    let value = parts.next().unwrap_or("");
    let kind = match parts.next().ok_or(LineError::NoType)? {
        "c" => Kind::Counter,
        "g" => Kind::Gauge,
        "ms" => Kind::Timer,
        "h" | "d" => Kind::Histogram,
        "s" => Kind::Set,
        _ => return Err(LineError::BadType),
    };
    let mut rate = 1.0f64;
    let mut tags = Vec::new();
    for p in parts {
        if let Some(r) = p.strip_prefix('@') {
            rate = r.parse().map_err(|_| LineError::BadRate)?;
            if !(rate > 0.0 && rate <= 1.0) {
                return Err(LineError::BadRate);
            }
        } else if let Some(t) = p.strip_prefix('#') {
            for kv in t.split(',').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once(':').unwrap_or((kv, ""));
                tags.push((k.to_string(), v.to_string()));
            }
        }
        // other extensions (|c:container id, |T timestamp) are ignored
    }
    let mut s = Sample {
        name: name.to_string(),
        kind,
        value: 0.0,
        relative: false,
        member: String::new(),
        tags,
    };
    if kind == Kind::Set {
        if value.is_empty() {
            return Err(LineError::BadValue);
        }
        s.member = value.to_string();
        return Ok(s);
    }
    let v: f64 = value.parse().map_err(|_| LineError::BadValue)?;
    if !v.is_finite() {
        return Err(LineError::BadValue);
    }
    match kind {
        // a tiny rate can push a large count to infinity (`1e300|c|@1e-300`)
        Kind::Counter if !(v / rate).is_finite() => return Err(LineError::BadValue),
        Kind::Counter => s.value = v / rate,
        Kind::Gauge => {
            s.relative = value.starts_with(['+', '-']);
            s.value = v;
        }
        _ if v < 0.0 => return Err(LineError::BadValue),
        _ => s.value = v,
    }
    Ok(s)
}

/// Parses every line of a datagram: the good samples, and how many lines
/// were malformed.
pub fn parse_datagram(buf: &[u8]) -> (Vec<Sample>, u64) {
    let mut bad = 0;
    let mut out = Vec::new();
    for line in buf.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        match std::str::from_utf8(line)
            .map_err(|_| LineError::BadName)
            .and_then(parse_line)
        {
            Ok(s) => out.push(s),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// What the plain listener received since it was last drained.
#[derive(Debug, Default)]
pub struct Received {
    /// Parsed samples.
    pub samples: Vec<Sample>,
    /// Malformed lines.
    pub malformed: u64,
}

/// A UDP listener for processes outside the capture (`--statsd-listen`):
/// a thread receives datagrams and keeps the samples until drained.
#[derive(Debug, Clone)]
pub struct Listener {
    inbox: Arc<Mutex<Received>>,
    /// The address it listens on.
    pub addr: std::net::SocketAddr,
}

/// At most this many samples wait between two drains; the rest are lost
/// and counted with the malformed lines.
const MAX_WAITING: usize = 100_000;

impl Listener {
    /// Binds `addr` and starts the receiving thread.
    pub fn start(addr: &str) -> std::io::Result<Listener> {
        let sock = UdpSocket::bind(addr)?;
        let local = sock.local_addr()?;
        let inbox = Arc::new(Mutex::new(Received::default()));
        let shared = inbox.clone();
        std::thread::Builder::new()
            .name("statsd-listen".into())
            .spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while let Ok(n) = sock.recv(&mut buf) {
                    let (samples, bad) = parse_datagram(&buf[..n]);
                    let Ok(mut r) = shared.lock() else { return };
                    r.malformed += bad;
                    let room = MAX_WAITING.saturating_sub(r.samples.len());
                    r.malformed += samples.len().saturating_sub(room) as u64;
                    r.samples.extend(samples.into_iter().take(room));
                }
            })?;
        Ok(Listener { inbox, addr: local })
    }

    /// Takes what arrived since the last call.
    pub fn drain(&self) -> Received {
        match self.inbox.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => Received::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type() {
        let s = parse_line("page.views:3|c|@0.5|#env:prod,beta").unwrap();
        assert_eq!((s.kind, s.value), (Kind::Counter, 6.0));
        assert_eq!(
            s.tags,
            vec![("env".into(), "prod".into()), ("beta".into(), "".into())]
        );
        let g = parse_line("q:-2|g").unwrap();
        assert!(g.relative && g.value == -2.0);
        assert_eq!(parse_line("t:12.5|ms").unwrap().kind, Kind::Timer);
        assert_eq!(parse_line("h:1|h").unwrap().kind, Kind::Histogram);
        assert_eq!(parse_line("u:alice|s").unwrap().member, "alice");
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "", "x", "x:1", ":1|c", "x:abc|c", "x:1|zz", "x:1|c|@0", "x:1|c|@2", "x:-1|ms",
            "x:inf|g", "a b:1|c", "x:|s",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
        // found by tests/fuzz_parsers.rs: the count divided by the rate
        // was infinite
        for inf in [
            "page.views:3|c|@0.51e-308|#env:prod,beta",
            "x:1e300|c|@1e-300",
        ] {
            assert_eq!(parse_line(inf), Err(LineError::BadValue), "{inf:?}");
        }
        let (ok, bad) = parse_datagram(b"a:1|c\nnonsense\n\xff\xfe:1|c\r\nb:2|g\n");
        assert_eq!((ok.len(), bad), (2, 2));
    }

    #[test]
    fn listener_receives() {
        let l = Listener::start("127.0.0.1:0").unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(b"x:1|c\nbroken", l.addr).unwrap();
        let t0 = std::time::Instant::now();
        loop {
            let r = l.drain();
            if !r.samples.is_empty() {
                assert_eq!((r.samples.len(), r.malformed), (1, 1));
                break;
            }
            assert!(t0.elapsed().as_secs() < 5, "nothing received");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

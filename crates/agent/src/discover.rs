//! Auto-discovery: which application protocol each process serves on each
//! of its listening ports, recognised from the first bytes the server reads
//! on a connection (or from a finished transaction of a decoded protocol),
//! with no configuration. Published every second beside `net.listening`
//! as the info series `app.info` (value 1) tagged with the port, the
//! protocol (`unknown` until traffic shows it) and the executable.

use rustc_hash::FxHashMap;

/// Most (process, port) pairs remembered; past it, new ones are ignored
/// until a process goes away.
const MAX_PAIRS: usize = 16_384;

/// The protocol a server reads when `buf` is the start of what a client
/// sent on a connection: `http`, `tls`, `ssh`, `redis`, `postgres`; None when it
/// is none of them (or the buffer is too short to tell).
pub fn sniff(buf: &[u8]) -> Option<&'static str> {
    if crate::http::parse_request(buf).is_some() {
        return Some("http");
    }
    // TLS record header: handshake (22), version 3.x, then a ClientHello
    if buf.len() >= 6 && buf[0] == 0x16 && buf[1] == 3 && buf[2] <= 4 && buf[5] == 1 {
        return Some("tls");
    }
    if buf.starts_with(b"SSH-2.0-") || buf.starts_with(b"SSH-1.99-") {
        return Some("ssh");
    }
    if is_resp_command(buf) {
        return Some("redis");
    }
    if is_postgres_startup(buf) {
        return Some("postgres");
    }
    None
}

/// A RESP command: an array header (`*N\r\n`) followed by a bulk string
/// (`$`), the way every redis client sends commands.
fn is_resp_command(buf: &[u8]) -> bool {
    let Some(rest) = buf.strip_prefix(b"*") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=6).contains(&digits) && rest[digits..].starts_with(b"\r\n$")
}

/// A PostgreSQL startup packet (protocol 3.0) or SSL/GSS request: a
/// big-endian length that matches the buffer, then the version code.
fn is_postgres_startup(buf: &[u8]) -> bool {
    if buf.len() < 8 {
        return false;
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let code = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    // 3.0, SSLRequest, GSSENCRequest
    let known = matches!(code, 0x0003_0000 | 80_877_103 | 80_877_104);
    known && len == buf.len() && (8..=10_000).contains(&len)
}

/// What was discovered: the protocol of (process id, server port).
#[derive(Debug, Default)]
pub struct Discovery {
    by: FxHashMap<(i64, u16), &'static str>,
}

impl Discovery {
    /// Whether the protocol of `pid`'s `port` is known already.
    #[inline]
    pub fn known(&self, pid: i64, port: u16) -> bool {
        self.by.contains_key(&(pid, port))
    }

    /// Records that `pid` serves `proto` on `port` (the first finding
    /// stays).
    pub fn note(&mut self, pid: i64, port: u16, proto: &'static str) {
        if self.by.len() < MAX_PAIRS {
            self.by.entry((pid, port)).or_insert(proto);
        }
    }

    /// The protocol of `pid`'s `port`, `unknown` when no traffic showed it.
    pub fn protocol(&self, pid: i64, port: u16) -> &'static str {
        self.by.get(&(pid, port)).copied().unwrap_or("unknown")
    }

    /// Forgets processes that are gone (`alive` says which remain).
    pub fn retain(&mut self, mut alive: impl FnMut(i64) -> bool) {
        self.by.retain(|(pid, _), _| alive(*pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_clients_send_first() {
        assert_eq!(sniff(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), Some("http"));
        assert_eq!(sniff(b"POST /api HTTP/1.0\r\n\r\n"), Some("http"));
        // a ClientHello record header; a ServerHello (type 2) is not a request
        assert_eq!(sniff(&[0x16, 3, 1, 0, 0xc8, 1, 0, 0]), Some("tls"));
        assert_eq!(sniff(&[0x16, 3, 3, 0, 0x7a, 2, 0, 0]), None);
        assert_eq!(sniff(b"*1\r\n$4\r\nPING\r\n"), Some("redis"));
        assert_eq!(sniff(b"*3\r\n:1\r\n"), None);
        let mut pg = vec![0, 0, 0, 0, 0, 3, 0, 0];
        pg.extend_from_slice(b"user\0bob\0\0");
        let n = pg.len() as u32;
        pg[..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(sniff(&pg), Some("postgres"));
        assert_eq!(sniff(&[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]), Some("postgres"));
        assert_eq!(sniff(b"HTTP/1.1 200 OK\r\n\r\n"), None);
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.2\r\n"), Some("ssh"));
        assert_eq!(sniff(b"220 smtp ready\r\n"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"*"), None);
    }

    #[test]
    fn first_finding_stays_and_gone_processes_are_forgotten() {
        let mut d = Discovery::default();
        assert_eq!(d.protocol(1, 80), "unknown");
        d.note(1, 80, "http");
        d.note(1, 80, "tls");
        d.note(2, 6379, "redis");
        assert!(d.known(1, 80));
        assert_eq!(d.protocol(1, 80), "http");
        d.retain(|pid| pid == 2);
        assert!(!d.known(1, 80));
        assert_eq!(d.protocol(2, 6379), "redis");
    }
}

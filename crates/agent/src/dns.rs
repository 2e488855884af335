//! DNS over UDP from the buffers the probe captures: a query (written by
//! a client, read by a server) is paired with the answer carrying the same
//! transaction id on the same socket. Each pair is a [`Transaction`] with
//! the query type, the answer's response code and the queried name
//! (cardinality capped), and the time from query to answer.
//!
//! Only the header and the question are read: they come first in both
//! messages, so the default snaplen (80 bytes) holds them for names up to
//! about 60 characters; a longer name is cut and then counted malformed.

use rustc_hash::FxHashMap;

use crate::http::{Capped, ConnKey, Dir, Protocol, Transaction};

/// The DNS port: sockets whose peer or local port it is carry DNS.
pub const PORT: u16 = 53;

/// A query waiting for its answer.
#[derive(Debug)]
struct Pending {
    id: u16,
    ts: u64,
    side: &'static str,
    qtype: u16,
}

/// The DNS decoder.
#[derive(Debug)]
pub struct Dns {
    /// Per socket, its queries without answers (few: a resolver sends A
    /// and AAAA together).
    pending: FxHashMap<ConnKey, Vec<Pending>>,
    names: Capped,
    max_pending: usize,
    malformed: u64,
}

/// A message's header and question.
#[derive(Debug, PartialEq)]
pub struct Message {
    /// Transaction id.
    pub id: u16,
    /// An answer (QR set), not a query.
    pub answer: bool,
    /// Response code (answers).
    pub rcode: u8,
    /// The queried name, lowercase, without the final dot.
    pub name: String,
    /// The query type.
    pub qtype: u16,
}

/// Parses the header and the one question of a DNS message; None when it
/// is not a standard query or answer with one question.
pub fn parse(buf: &[u8]) -> Option<Message> {
    if buf.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([buf[0], buf[1]]);
    let flags = u16::from_be_bytes([buf[2], buf[3]]);
    let opcode = (flags >> 11) & 0xf;
    let qdcount = u16::from_be_bytes([buf[4], buf[5]]);
    if opcode != 0 || qdcount != 1 {
        return None;
    }
    let mut at = 12;
    let mut name = String::new();
    loop {
        let len = usize::from(*buf.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        // no compression in a question; labels are at most 63 bytes
        if len > 63 || name.len() + len > 253 {
            return None;
        }
        let label = buf.get(at..at + len)?;
        if !label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return None;
        }
        if !name.is_empty() {
            name.push('.');
        }
        name.extend(label.iter().map(|b| b.to_ascii_lowercase() as char));
        at += len;
    }
    let qtype = u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]);
    Some(Message {
        id,
        answer: flags & 0x8000 != 0,
        rcode: (flags & 0xf) as u8,
        name,
        qtype,
    })
}

/// The usual name of a query type (`TYPE<n>` otherwise).
pub fn qtype_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        _ => return format!("TYPE{t}"),
    };
    s.to_string()
}

/// The usual name of a response code (`RCODE<n>` otherwise).
pub fn rcode_name(r: u8) -> String {
    let s = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => return format!("RCODE{r}"),
    };
    s.to_string()
}

impl Dns {
    /// A decoder keeping at most `max_names` distinct queried names (the
    /// rest become `{other}`).
    pub fn new(max_names: usize) -> Dns {
        Dns {
            pending: FxHashMap::default(),
            names: Capped::new(max_names),
            max_pending: 65_536,
            malformed: 0,
        }
    }
}

impl Protocol for Dns {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn on_buffer(
        &mut self,
        key: ConnKey,
        dir: Dir,
        ts: u64,
        buf: &[u8],
        out: &mut Vec<Transaction>,
    ) {
        let Some(m) = parse(buf) else {
            self.malformed += 1;
            return;
        };
        if !m.answer {
            if self.pending.len() >= self.max_pending && !self.pending.contains_key(&key) {
                return;
            }
            let side = if dir == Dir::Out { "client" } else { "server" };
            let q = self.pending.entry(key).or_default();
            q.retain(|p| p.id != m.id);
            if q.len() >= 64 {
                q.remove(0);
            }
            q.push(Pending {
                id: m.id,
                ts,
                side,
                qtype: m.qtype,
            });
            return;
        }
        let Some(q) = self.pending.get_mut(&key) else {
            return;
        };
        // an answer goes the other way from its query
        let Some(i) = q.iter().position(|p| {
            p.id == m.id && (p.side == "client") == (dir == Dir::In) && p.qtype == m.qtype
        }) else {
            return;
        };
        let p = q.remove(i);
        if q.is_empty() {
            self.pending.remove(&key);
        }
        let name = self.names.tag(m.name);
        out.push(Transaction {
            proto: "dns",
            side: p.side,
            // (in the order of their keys: the sink needs not sort them)
            labels: vec![
                ("dns.name", name),
                ("dns.qtype", qtype_name(p.qtype)),
                ("dns.rcode", rcode_name(m.rcode)),
            ],
            latency_ns: ts.saturating_sub(p.ts),
        });
    }

    fn on_close(&mut self, key: ConnKey) {
        self.pending.remove(&key);
    }

    fn take_malformed(&mut self) -> u64 {
        std::mem::take(&mut self.malformed)
    }

    fn take_capped(&mut self) -> u64 {
        self.names.take_capped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message: id, flags, one question for `name` of type `qtype`.
    fn msg(id: u16, flags: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(id.to_be_bytes());
        b.extend(flags.to_be_bytes());
        b.extend([0, 1, 0, 0, 0, 0, 0, 0]);
        for l in name.split('.') {
            b.push(l.len() as u8);
            b.extend(l.bytes());
        }
        b.push(0);
        b.extend(qtype.to_be_bytes());
        b.extend(1u16.to_be_bytes());
        b
    }

    #[test]
    fn parses_a_query_and_an_answer() {
        let q = parse(&msg(0x1234, 0x0100, "Example.COM", 28)).unwrap();
        assert_eq!(
            q,
            Message {
                id: 0x1234,
                answer: false,
                rcode: 0,
                name: "example.com".into(),
                qtype: 28
            }
        );
        let a = parse(&msg(0x1234, 0x8183, "example.com", 1)).unwrap();
        assert!(a.answer);
        assert_eq!(rcode_name(a.rcode), "NXDOMAIN");
        assert_eq!(qtype_name(28), "AAAA");
        assert_eq!(qtype_name(99), "TYPE99");
    }

    #[test]
    fn refuses_what_is_not_one_standard_question() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(parse(&[0; 11]), None);
        let mut two = msg(1, 0x0100, "a.b", 1);
        two[5] = 2;
        assert_eq!(parse(&two), None);
        // an inverse query (opcode 1)
        assert_eq!(parse(&msg(1, 0x0900, "a.b", 1)), None);
        // cut inside the name (a short snaplen)
        let cut = msg(1, 0x0100, "averyveryverylonglabel.example.org", 1);
        assert_eq!(parse(&cut[..20]), None);
    }

    #[test]
    fn pairs_queries_with_answers_by_id_and_direction() {
        let mut d = Dns::new(10);
        let mut out = Vec::new();
        let k = (10, 3);
        // a resolver sends A and AAAA at once; answers come in any order
        d.on_buffer(k, Dir::Out, 1_000, &msg(7, 0x0100, "x.test", 1), &mut out);
        d.on_buffer(k, Dir::Out, 1_100, &msg(8, 0x0100, "x.test", 28), &mut out);
        d.on_buffer(k, Dir::In, 5_100, &msg(8, 0x8180, "x.test", 28), &mut out);
        d.on_buffer(k, Dir::In, 9_000, &msg(7, 0x8183, "x.test", 1), &mut out);
        // an answer nobody asked for is ignored
        d.on_buffer(k, Dir::In, 9_500, &msg(9, 0x8180, "x.test", 1), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].side, "client");
        assert_eq!(out[0].latency_ns, 4_000);
        assert_eq!(out[0].labels[1], ("dns.qtype", "AAAA".to_string()));
        assert_eq!(out[0].labels[2], ("dns.rcode", "NOERROR".to_string()));
        assert!(
            out[0].labels.windows(2).all(|w| w[0].0 <= w[1].0),
            "labels in key order"
        );
        assert_eq!(out[1].latency_ns, 8_000);
        assert_eq!(out[1].labels[2], ("dns.rcode", "NXDOMAIN".to_string()));
        // the server's side: the query read, the answer written
        d.on_buffer((2, 4), Dir::In, 100, &msg(5, 0x0100, "y.test", 1), &mut out);
        d.on_buffer(
            (2, 4),
            Dir::Out,
            300,
            &msg(5, 0x8580, "y.test", 1),
            &mut out,
        );
        assert_eq!(out[2].side, "server");
        assert_eq!(out[2].latency_ns, 200);
        assert!(d.pending.is_empty());
    }

    #[test]
    fn caps_names_and_counts_malformed() {
        let mut d = Dns::new(2);
        let mut out = Vec::new();
        for (i, n) in ["a.test", "b.test", "c.test"].iter().enumerate() {
            let id = i as u16;
            d.on_buffer((1, 1), Dir::Out, 0, &msg(id, 0x0100, n, 1), &mut out);
            d.on_buffer((1, 1), Dir::In, 1, &msg(id, 0x8180, n, 1), &mut out);
        }
        assert_eq!(out[2].labels[0], ("dns.name", "{other}".to_string()));
        assert_eq!(d.take_capped(), 1);
        d.on_buffer((1, 1), Dir::In, 1, b"\x00\x01junk", &mut out);
        assert_eq!(d.take_malformed(), 1);
        assert_eq!(d.take_malformed(), 0);
    }

    #[test]
    fn never_panics_on_any_prefix_of_a_message() {
        let m = msg(3, 0x8180, "some.name.example", 1);
        let mut d = Dns::new(4);
        let mut out = Vec::new();
        for n in 0..=m.len() {
            let _ = parse(&m[..n]);
            d.on_buffer((1, 2), Dir::In, 0, &m[..n], &mut out);
        }
    }
}

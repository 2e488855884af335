//! Socket endpoints as sysdig 0.29 tracks them: how connection tuples seen
//! in events update an fd's addresses, and the names derived from them.
//!
//! The rules (from libsinsp's parser, re-expressed): the source side of a
//! tuple always overwrites the fd's source, while the destination is only
//! filled in while it is still unset; a tuple equal to the current one (in
//! either direction) changes nothing. The fd name is re-derived from the
//! stored endpoints, so it can lag behind the tuple an event reports.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::fd::{Fd, FdType, L4Proto, SockAddrs};

use sonde_event::net::{unix_ends, SockAddr, SockTuple};
pub(crate) use sonde_event::net::{AF_INET, AF_INET6, AF_UNIX};

/// Formats an IPv6 address like glibc's `inet_ntop`: RFC 5952 compression,
/// and a dotted-quad tail for IPv4-mapped (`::ffff:a.b.c.d`) and
/// IPv4-compatible (`::a.b.c.d`) addresses.
pub fn inet_ntop6(a: &[u8; 16], out: &mut String) {
    let w: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // the longest run (first on ties) of at least two zero words
    let (mut best, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let s = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - s > best_len {
                best = s;
                best_len = i - s;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            if i == 0 {
                out.push(':');
            }
            out.push(':');
            i += best_len;
            continue;
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let _ = write!(out, "{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
            return;
        }
        let _ = write!(out, "{:x}", w[i]);
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
}

/// `inet_ntop6` into a new string.
pub fn ntop6(a: &[u8; 16]) -> String {
    let mut s = String::with_capacity(40);
    inet_ntop6(a, &mut s);
    s
}

/// Whether an IPv6 address counts as IPv4 for sysdig: IPv4-mapped
/// (`::ffff:a.b.c.d`) or all zero.
fn is_v4_mapped(a: &[u8]) -> bool {
    a[..10].iter().all(|&b| b == 0)
        && ((a[10] == 0xff && a[11] == 0xff) || a[10..16].iter().all(|&b| b == 0))
}

/// Renders a `SOCKTUPLE` payload the way sysdig prints it (also the name an
/// accepted socket gets). Empty payload: `NULL`.
pub fn render_tuple(p: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    let exact = match p.first() {
        None => {
            out.extend_from_slice(b"NULL");
            return;
        }
        Some(&AF_INET) => p.len() == 13,
        Some(&AF_INET6) => p.len() == 37,
        Some(_) => true,
    };
    match SockTuple::decode(p).filter(|_| exact) {
        Some(SockTuple::V4 {
            sip: s,
            sport,
            dip: d,
            dport,
        }) => {
            let _ = write!(
                out,
                "{}.{}.{}.{}:{}->{}.{}.{}.{}:{}",
                s[0], s[1], s[2], s[3], sport, d[0], d[1], d[2], d[3], dport
            );
        }
        Some(SockTuple::V6 {
            sip: a,
            sport,
            dip: b,
            dport,
        }) => {
            if is_v4_mapped(&a) && is_v4_mapped(&b) {
                let _ = write!(
                    out,
                    "{}.{}.{}.{}:{}->{}.{}.{}.{}:{}",
                    a[12], a[13], a[14], a[15], sport, b[12], b[13], b[14], b[15], dport
                );
            } else {
                let _ = write!(out, "{}:{}->{}:{}", ntop6(&a), sport, ntop6(&b), dport);
            }
        }
        Some(SockTuple::Unix { source, dest, path }) => {
            let _ = write!(out, "{source:x}->{dest:x} ");
            out.extend(path.iter().copied().filter(|c| (0x20..0x7f).contains(c)));
        }
        None => match p[0] {
            AF_INET => out.extend_from_slice(b"INVALID IPv4"),
            AF_INET6 => out.extend_from_slice(b"INVALID IPv6"),
            f => {
                let _ = write!(out, "family {f}");
            }
        },
    }
}

/// The four endpoint values of a connected socket, as raw 16-byte
/// addresses (IPv4 in the first four bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Ends {
    sip: [u8; 16],
    sport: u16,
    dip: [u8; 16],
    dport: u16,
}

fn v4_bytes(a: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&a.octets());
    b
}

fn v4_of(b: &[u8; 16]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl Fd {
    fn ends(&self, v6: bool) -> Ends {
        match (self.addrs, v6) {
            (
                SockAddrs::V4 {
                    sip,
                    sport,
                    dip,
                    dport,
                },
                false,
            ) => Ends {
                sip: v4_bytes(sip),
                sport,
                dip: v4_bytes(dip),
                dport,
            },
            (
                SockAddrs::V6 {
                    sip,
                    sport,
                    dip,
                    dport,
                },
                true,
            ) => Ends {
                sip: sip.octets(),
                sport,
                dip: dip.octets(),
                dport,
            },
            _ => Ends::default(),
        }
    }

    fn set_ends(&mut self, e: Ends, v6: bool) {
        self.addrs = if v6 {
            SockAddrs::V6 {
                sip: Ipv6Addr::from(e.sip),
                sport: e.sport,
                dip: Ipv6Addr::from(e.dip),
                dport: e.dport,
            }
        } else {
            SockAddrs::V4 {
                sip: v4_of(&e.sip),
                sport: e.sport,
                dip: v4_of(&e.dip),
                dport: e.dport,
            }
        };
    }

    /// Applies a tuple's endpoints. Returns whether anything changed.
    fn apply_ends(&mut self, t: Ends, v6: bool) -> bool {
        let cur = self.ends(v6);
        let same_kind = if v6 {
            self.kind == FdType::Ipv6Sock
        } else {
            self.kind == FdType::Ipv4Sock
        };
        if same_kind
            && ((t.sip == cur.sip
                && t.sport == cur.sport
                && t.dip == cur.dip
                && t.dport == cur.dport)
                || (t.dip == cur.sip
                    && t.dport == cur.sport
                    && t.sip == cur.dip
                    && t.sport == cur.dport))
        {
            return false;
        }
        let mut new = cur;
        let mut changed = false;
        if cur.sip != t.sip {
            new.sip = t.sip;
            changed = true;
        }
        if cur.sport != t.sport {
            new.sport = t.sport;
            changed = true;
        }
        if cur.dip == [0u8; 16] {
            new.dip = t.dip;
            changed = true;
        }
        if cur.dport == 0 {
            new.dport = t.dport;
            changed = true;
        }
        self.set_ends(new, v6);
        changed
    }

    /// Sets only the destination (connect enter).
    pub(crate) fn set_dest(&mut self, addr: &[u8]) {
        match SockAddr::decode(addr) {
            Some(SockAddr::V4 { ip, port }) => {
                self.kind = FdType::Ipv4Sock;
                let mut e = self.ends(false);
                e.dip = v4_bytes(Ipv4Addr::from(ip));
                e.dport = port;
                self.set_ends(e, false);
            }
            Some(SockAddr::V6 { ip, port }) => {
                if is_v4_mapped(&ip) {
                    self.kind = FdType::Ipv4Sock;
                    let mut e = self.ends(false);
                    e.dip = v4_bytes(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
                    e.dport = port;
                    self.set_ends(e, false);
                } else {
                    self.kind = FdType::Ipv6Sock;
                    let mut e = self.ends(true);
                    e.dip = ip;
                    e.dport = port;
                    self.set_ends(e, true);
                }
            }
            _ if addr.is_empty() => {}
            _ => {
                let mut name = Vec::new();
                render_sockaddr_simple(addr, &mut name);
                self.name = name;
                self.set_unix(addr);
            }
        }
    }

    /// Sets the unix endpoints from bytes 1..17 of `t` (a tuple's
    /// pointers), whatever its family byte; nothing when it is shorter.
    pub(crate) fn set_unix(&mut self, t: &[u8]) {
        if let Some((source, dest)) = unix_ends(t) {
            self.addrs = SockAddrs::Unix { source, dest };
        }
    }

    /// Applies an inet tuple (connect exit, accept): sets the fd type from
    /// the family. Returns whether the endpoints changed; `None` when the
    /// tuple is not an inet one.
    pub(crate) fn apply_inet_tuple(&mut self, t: &[u8]) -> Option<bool> {
        match SockTuple::decode(t)? {
            SockTuple::V4 {
                sip,
                sport,
                dip,
                dport,
            } => {
                self.kind = FdType::Ipv4Sock;
                let mut e = Ends::default();
                e.sip[..4].copy_from_slice(&sip);
                e.sport = sport;
                e.dip[..4].copy_from_slice(&dip);
                e.dport = dport;
                Some(self.apply_ends(e, false))
            }
            SockTuple::V6 {
                sip,
                sport,
                dip,
                dport,
            } => {
                if is_v4_mapped(&sip) && is_v4_mapped(&dip) {
                    self.kind = FdType::Ipv4Sock;
                    let mut e = Ends::default();
                    e.sip[..4].copy_from_slice(&sip[12..]);
                    e.dip[..4].copy_from_slice(&dip[12..]);
                    e.sport = sport;
                    e.dport = dport;
                    Some(self.apply_ends(e, false))
                } else {
                    Some(self.apply_ends(
                        Ends {
                            sip,
                            sport,
                            dip,
                            dport,
                        },
                        true,
                    ))
                }
            }
            SockTuple::Unix { .. } => None,
        }
    }

    /// Applies a unix tuple: source/destination pointers and the path.
    pub(crate) fn apply_unix_tuple(&mut self, t: &[u8]) {
        self.kind = FdType::UnixSock;
        self.set_unix(t);
        if let Some(SockTuple::Unix { path, .. }) = SockTuple::decode(t) {
            self.name = path.to_vec();
        }
    }

    /// Swaps the two ends of a connected socket.
    pub(crate) fn swap_ends(&mut self) {
        let v6 = self.kind == FdType::Ipv6Sock;
        let e = self.ends(v6);
        self.set_ends(
            Ends {
                sip: e.dip,
                sport: e.dport,
                dip: e.sip,
                dport: e.sport,
            },
            v6,
        );
    }

    /// The (dport, sport) sysdig reads when guessing a socket's role: it
    /// reads the IPv4 view of the endpoint storage even for IPv6 sockets,
    /// which then lands inside the source address.
    pub(crate) fn role_ports(&self) -> (u16, u16) {
        match self.addrs {
            SockAddrs::V4 { sport, dport, .. } => (dport, sport),
            SockAddrs::V6 { sip, .. } => {
                let o = sip.octets();
                (
                    u16::from_le_bytes([o[10], o[11]]),
                    u16::from_le_bytes([o[8], o[9]]),
                )
            }
            _ => (0, 0),
        }
    }

    /// Re-derives the name of a connected IPv4/IPv6 socket from its
    /// endpoints and transport protocol.
    pub(crate) fn rename_from_ends(&mut self) {
        let mut s = String::with_capacity(48);
        match self.kind {
            FdType::Ipv4Sock => {
                let e = self.ends(false);
                let (a, b) = (v4_of(&e.sip), v4_of(&e.dip));
                match self.l4 {
                    L4Proto::Tcp | L4Proto::Udp => {
                        let _ = write!(s, "{a}:{}->{b}:{}", e.sport, e.dport);
                    }
                    L4Proto::Icmp | L4Proto::Raw => {
                        let _ = write!(s, "{a}->{b}");
                    }
                    _ => s.push_str("<unknown>"),
                }
            }
            FdType::Ipv6Sock => {
                let e = self.ends(true);
                let mapped = is_v4_mapped(&e.sip) && is_v4_mapped(&e.dip);
                match self.l4 {
                    L4Proto::Tcp | L4Proto::Udp if mapped => {
                        let _ = write!(
                            s,
                            "{}:{}->{}:{}",
                            Ipv4Addr::new(e.sip[12], e.sip[13], e.sip[14], e.sip[15]),
                            e.sport,
                            Ipv4Addr::new(e.dip[12], e.dip[13], e.dip[14], e.dip[15]),
                            e.dport
                        );
                    }
                    L4Proto::Tcp | L4Proto::Udp => {
                        let _ = write!(
                            s,
                            "{}:{}->{}:{}",
                            ntop6(&e.sip),
                            e.sport,
                            ntop6(&e.dip),
                            e.dport
                        );
                    }
                    L4Proto::Icmp if mapped => {
                        let _ = write!(
                            s,
                            "{}->{}",
                            Ipv4Addr::new(e.sip[12], e.sip[13], e.sip[14], e.sip[15]),
                            Ipv4Addr::new(e.dip[12], e.dip[13], e.dip[14], e.dip[15])
                        );
                    }
                    L4Proto::Icmp => {
                        let _ = write!(s, "{}->{}", ntop6(&e.sip), ntop6(&e.dip));
                    }
                    _ => s.push_str("<unknown>"),
                }
            }
            _ => return,
        }
        self.name = s.into_bytes();
    }

    /// Fills an unset source or destination address from the machine's
    /// interfaces (sysdig's `update_fd` of its interface list).
    pub(crate) fn patch_from_ifaces(&mut self, ifs: &sonde_event::meta::IfList) {
        match self.kind {
            FdType::Ipv4Sock => {
                let mut e = self.ends(false);
                let zero = [0u8; 16];
                if e.sip != zero && e.dip != zero {
                    return;
                }
                let (known, target_is_src) = if e.sip == zero {
                    (e.dip, true)
                } else {
                    (e.sip, false)
                };
                let k = [known[0], known[1], known[2], known[3]];
                let new = infer_v4(ifs, k);
                if new == k && e.sport == e.dport {
                    return;
                }
                let nb = v4_bytes(Ipv4Addr::from(new));
                if target_is_src {
                    e.sip = nb;
                } else {
                    e.dip = nb;
                }
                self.set_ends(e, false);
            }
            FdType::Ipv6Sock => {
                let mut e = self.ends(true);
                let zero = [0u8; 16];
                if e.sip != zero && e.dip != zero {
                    return;
                }
                let (known, target_is_src) = if e.sip == zero {
                    (e.dip, true)
                } else {
                    (e.sip, false)
                };
                let new = infer_v6(ifs, &known);
                if new == known && e.sport == e.dport {
                    return;
                }
                if target_is_src {
                    e.sip = new;
                } else {
                    e.dip = new;
                }
                self.set_ends(e, true);
            }
            _ => {}
        }
    }

    /// The transport protocol as sysdig reports it: connected sockets
    /// whose role is still unknown report none.
    pub fn l4proto(&self) -> L4Proto {
        match self.kind {
            FdType::Ipv4Sock | FdType::Ipv6Sock => {
                if self.l4 == L4Proto::Raw {
                    L4Proto::Raw
                } else if !self.role_client && !self.role_server {
                    L4Proto::Na
                } else {
                    self.l4
                }
            }
            FdType::Ipv4ServSock | FdType::Ipv6ServSock => self.l4,
            _ => L4Proto::Na,
        }
    }
}

fn infer_v4(ifs: &sonde_event::meta::IfList, dst: [u8; 4]) -> [u8; 4] {
    if let Some(i) = ifs.v4.iter().find(|i| i.addr == dst) {
        return i.addr;
    }
    let masked = |a: &[u8; 4], m: &[u8; 4]| [a[0] & m[0], a[1] & m[1], a[2] & m[2], a[3] & m[3]];
    if let Some(i) = ifs
        .v4
        .iter()
        .find(|i| masked(&i.addr, &i.netmask) == masked(&dst, &i.netmask))
    {
        return i.addr;
    }
    if let Some(i) = ifs.v4.iter().find(|i| i.addr != [127, 0, 0, 1]) {
        return i.addr;
    }
    [0; 4]
}

fn infer_v6(ifs: &sonde_event::meta::IfList, dst: &[u8; 16]) -> [u8; 16] {
    if let Some(i) = ifs.v6.iter().find(|i| &i.addr == dst) {
        return i.addr;
    }
    if let Some(i) = ifs.v6.iter().find(|i| i.addr[..8] == dst[..8]) {
        return i.addr;
    }
    let lo = Ipv6Addr::LOCALHOST.octets();
    if let Some(i) = ifs.v6.iter().find(|i| i.addr != lo) {
        return i.addr;
    }
    [0; 16]
}

/// A `SOCKADDR` rendered as sysdig's simple form (used for names).
pub(crate) fn render_sockaddr_simple(p: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    let exact = match p.first() {
        None => {
            out.extend_from_slice(b"NULL");
            return;
        }
        Some(&AF_INET) => p.len() == 7,
        Some(&AF_INET6) => p.len() == 19,
        Some(_) => true,
    };
    match SockAddr::decode(p).filter(|_| exact) {
        Some(SockAddr::Unix { path }) => {
            out.extend(path.iter().copied().filter(|c| (0x20..0x7f).contains(c)))
        }
        Some(SockAddr::V4 { ip: a, port }) => {
            let _ = write!(out, "{}.{}.{}.{}:{}", a[0], a[1], a[2], a[3], port);
        }
        Some(SockAddr::V6 { ip, port }) => {
            let _ = write!(out, "{}:{}", ntop6(&ip), port);
        }
        None => match p[0] {
            AF_INET => out.extend_from_slice(b"INVALID IPv4"),
            AF_INET6 => out.extend_from_slice(b"INVALID IPv6"),
            f => {
                let _ = write!(out, "family {f}");
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn ntop_like_glibc() {
        assert_eq!(ntop6(&v6("::1")), "::1");
        assert_eq!(ntop6(&v6("::")), "::");
        assert_eq!(ntop6(&v6("::ffff:1.2.3.4")), "::ffff:1.2.3.4");
        assert_eq!(ntop6(&v6("::1.2.3.4")), "::1.2.3.4");
        assert_eq!(ntop6(&v6("2001:4860:4860::8888")), "2001:4860:4860::8888");
        assert_eq!(ntop6(&v6("1:0:0:2:0:0:0:3")), "1:0:0:2::3");
        assert_eq!(ntop6(&v6("1:0:2:0:3:0:4:0")), "1:0:2:0:3:0:4:0");
        assert_eq!(ntop6(&v6("fe80::")), "fe80::");
    }

    fn tuple6(s: &str, sp: u16, d: &str, dp: u16) -> Vec<u8> {
        let mut t = vec![AF_INET6];
        t.extend_from_slice(&v6(s));
        t.extend_from_slice(&sp.to_le_bytes());
        t.extend_from_slice(&v6(d));
        t.extend_from_slice(&dp.to_le_bytes());
        t
    }

    #[test]
    fn destination_is_sticky() {
        let mut f = Fd::new(FdType::Ipv6Sock, Vec::new());
        f.l4 = L4Proto::Udp;
        f.role_client = true;
        assert_eq!(
            f.apply_inet_tuple(&tuple6("::1", 0, "::1", 2345)),
            Some(true)
        );
        assert_eq!(
            f.apply_inet_tuple(&tuple6("::1", 38255, "::1", 2345)),
            Some(true)
        );
        // a new destination does not replace the first one
        assert_eq!(
            f.apply_inet_tuple(&tuple6("::1", 38255, "2001:4860:4860::8888", 53)),
            Some(false)
        );
        f.rename_from_ends();
        assert_eq!(f.name, b"::1:38255->::1:2345");
        assert_eq!(f.l4proto(), L4Proto::Udp);
    }

    #[test]
    fn tuples_render() {
        let mut o = Vec::new();
        render_tuple(&tuple6("::", 0, "::1", 2345), &mut o);
        assert_eq!(o, b":::0->::1:2345");
        o.clear();
        render_tuple(&tuple6("::ffff:1.2.3.4", 1, "::", 2), &mut o);
        assert_eq!(o, b"1.2.3.4:1->0.0.0.0:2");
    }

    #[test]
    fn role_unknown_hides_protocol() {
        let mut f = Fd::new(FdType::Ipv4Sock, Vec::new());
        f.l4 = L4Proto::Tcp;
        assert_eq!(f.l4proto(), L4Proto::Na);
        f.role_server = true;
        assert_eq!(f.l4proto(), L4Proto::Tcp);
    }
}

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

pub(crate) const AF_UNIX: u8 = 1;
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;

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
    match p.first() {
        None => out.extend_from_slice(b"NULL"),
        Some(&AF_INET) if p.len() == 13 => {
            let sport = u16::from_le_bytes([p[5], p[6]]);
            let dport = u16::from_le_bytes([p[11], p[12]]);
            let _ = write!(
                out,
                "{}.{}.{}.{}:{}->{}.{}.{}.{}:{}",
                p[1], p[2], p[3], p[4], sport, p[7], p[8], p[9], p[10], dport
            );
        }
        Some(&AF_INET) => out.extend_from_slice(b"INVALID IPv4"),
        Some(&AF_INET6) if p.len() == 37 => {
            let sport = u16::from_le_bytes([p[17], p[18]]);
            let dport = u16::from_le_bytes([p[35], p[36]]);
            if is_v4_mapped(&p[1..17]) && is_v4_mapped(&p[19..35]) {
                let _ = write!(
                    out,
                    "{}.{}.{}.{}:{}->{}.{}.{}.{}:{}",
                    p[13], p[14], p[15], p[16], sport, p[31], p[32], p[33], p[34], dport
                );
            } else {
                let mut a = [0u8; 16];
                a.copy_from_slice(&p[1..17]);
                let mut b = [0u8; 16];
                b.copy_from_slice(&p[19..35]);
                let _ = write!(out, "{}:{}->{}:{}", ntop6(&a), sport, ntop6(&b), dport);
            }
        }
        Some(&AF_INET6) => out.extend_from_slice(b"INVALID IPv6"),
        Some(&AF_UNIX) if p.len() >= 17 => {
            let s = u64::from_le_bytes(p[1..9].try_into().unwrap_or([0; 8]));
            let d = u64::from_le_bytes(p[9..17].try_into().unwrap_or([0; 8]));
            let _ = write!(out, "{s:x}->{d:x} ");
            out.extend(
                sonde_event::cstr(&p[17..])
                    .iter()
                    .copied()
                    .filter(|c| (0x20..0x7f).contains(c)),
            );
        }
        Some(f) => {
            let _ = write!(out, "family {f}");
        }
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
        match addr.first() {
            Some(&AF_INET) if addr.len() >= 7 => {
                self.kind = FdType::Ipv4Sock;
                let mut e = self.ends(false);
                e.dip = v4_bytes(Ipv4Addr::new(addr[1], addr[2], addr[3], addr[4]));
                e.dport = u16::from_le_bytes([addr[5], addr[6]]);
                self.set_ends(e, false);
            }
            Some(&AF_INET6) if addr.len() >= 19 => {
                let port = u16::from_le_bytes([addr[17], addr[18]]);
                if is_v4_mapped(&addr[1..17]) {
                    self.kind = FdType::Ipv4Sock;
                    let mut e = self.ends(false);
                    e.dip = v4_bytes(Ipv4Addr::new(addr[13], addr[14], addr[15], addr[16]));
                    e.dport = port;
                    self.set_ends(e, false);
                } else {
                    self.kind = FdType::Ipv6Sock;
                    let mut e = self.ends(true);
                    e.dip.copy_from_slice(&addr[1..17]);
                    e.dport = port;
                    self.set_ends(e, true);
                }
            }
            Some(_) => {
                let mut name = Vec::new();
                render_sockaddr_simple(addr, &mut name);
                self.name = name;
                self.set_unix(addr);
            }
            None => {}
        }
    }

    pub(crate) fn set_unix(&mut self, t: &[u8]) {
        if t.len() >= 17 {
            let source = u64::from_le_bytes(t[1..9].try_into().unwrap_or([0; 8]));
            let dest = u64::from_le_bytes(t[9..17].try_into().unwrap_or([0; 8]));
            self.addrs = SockAddrs::Unix { source, dest };
        }
    }

    /// Applies an inet tuple (connect exit, accept): sets the fd type from
    /// the family. Returns whether the endpoints changed; `None` when the
    /// tuple is not an inet one.
    pub(crate) fn apply_inet_tuple(&mut self, t: &[u8]) -> Option<bool> {
        match t.first() {
            Some(&AF_INET) if t.len() >= 13 => {
                self.kind = FdType::Ipv4Sock;
                let mut e = Ends::default();
                e.sip[..4].copy_from_slice(&t[1..5]);
                e.sport = u16::from_le_bytes([t[5], t[6]]);
                e.dip[..4].copy_from_slice(&t[7..11]);
                e.dport = u16::from_le_bytes([t[11], t[12]]);
                Some(self.apply_ends(e, false))
            }
            Some(&AF_INET6) if t.len() >= 37 => {
                let sport = u16::from_le_bytes([t[17], t[18]]);
                let dport = u16::from_le_bytes([t[35], t[36]]);
                if is_v4_mapped(&t[1..17]) && is_v4_mapped(&t[19..35]) {
                    self.kind = FdType::Ipv4Sock;
                    let mut e = Ends::default();
                    e.sip[..4].copy_from_slice(&t[13..17]);
                    e.dip[..4].copy_from_slice(&t[31..35]);
                    e.sport = sport;
                    e.dport = dport;
                    Some(self.apply_ends(e, false))
                } else {
                    let mut e = Ends::default();
                    e.sip.copy_from_slice(&t[1..17]);
                    e.dip.copy_from_slice(&t[19..35]);
                    e.sport = sport;
                    e.dport = dport;
                    Some(self.apply_ends(e, true))
                }
            }
            _ => None,
        }
    }

    /// Applies a unix tuple: source/destination pointers and the path.
    pub(crate) fn apply_unix_tuple(&mut self, t: &[u8]) {
        self.kind = FdType::UnixSock;
        self.set_unix(t);
        if t.len() >= 17 {
            self.name = sonde_event::cstr(&t[17..]).to_vec();
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
    match p.first() {
        None => out.extend_from_slice(b"NULL"),
        Some(&AF_UNIX) => out.extend(
            sonde_event::cstr(&p[1..])
                .iter()
                .copied()
                .filter(|c| (0x20..0x7f).contains(c)),
        ),
        Some(&AF_INET) if p.len() == 7 => {
            let port = u16::from_le_bytes([p[5], p[6]]);
            let _ = write!(out, "{}.{}.{}.{}:{}", p[1], p[2], p[3], p[4], port);
        }
        Some(&AF_INET) => out.extend_from_slice(b"INVALID IPv4"),
        Some(&AF_INET6) if p.len() == 19 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&p[1..17]);
            let port = u16::from_le_bytes([p[17], p[18]]);
            let _ = write!(out, "{}:{}", ntop6(&a), port);
        }
        Some(&AF_INET6) => out.extend_from_slice(b"INVALID IPv6"),
        Some(f) => {
            let _ = write!(out, "family {f}");
        }
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

//! `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and `fd.rip.name` in
//! filters, as sysdig 0.29.3 compares them. It keeps one process-wide
//! cache of the names its filters compared, each with the addresses the
//! system resolver (`/etc/hosts`, then DNS) gave for it. A leaf first
//! reads the socket's address ([`Ctx::ip_name_addr`]: what `fd.cip`,
//! `fd.sip`, `fd.lip`, `fd.rip` read) and the first cached name holding
//! it: that name, when there is one, is compared as a string, with any
//! operator. Otherwise, on a connected-style IP socket, `=`, `!=` and
//! `in` resolve their names (cached from then on) and look the address up
//! among theirs; anywhere else the comparison fails, `!=` too. A name compared once thus
//! names its addresses in later events.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::sync::Mutex;

use sonde_fields::{Ctx, IpEnd};

use super::node::StrCmp;
use super::strmatch::str_match;
use crate::ast::Op;

/// The names compared so far in this process, in the order they were
/// first met, with their addresses (none for a name that does not
/// resolve): sysdig's DNS manager cache.
static NAMES: Mutex<Vec<(Vec<u8>, Vec<IpAddr>)>> = Mutex::new(Vec::new());

/// A compiled `fd.*ip.name` comparison.
pub(super) struct Domain {
    end: IpEnd,
    s: StrCmp,
}

impl Domain {
    /// The comparison `s` on the name of `end`.
    pub(super) fn new(end: IpEnd, s: StrCmp) -> Domain {
        Domain { end, s }
    }

    /// Whether the event passes.
    pub(super) fn matches(&self, ctx: &Ctx<'_, '_>) -> bool {
        let Some((ip, sock)) = ctx.ip_name_addr(self.end) else {
            return false;
        };
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, _)) = names.iter().find(|(_, a)| a.contains(&ip)) {
            return str_match(&self.s, name);
        }
        let Some(v6) = sock else {
            return false;
        };
        let vals = match self.s.op {
            Op::In => &self.s.vals[..],
            Op::Eq | Op::Ne => &self.s.vals[..self.s.vals.len().min(1)],
            _ => return false,
        };
        let hit = vals.iter().any(|n| resolves_to(&mut names, n, ip, v6));
        hit != (self.s.op == Op::Ne)
    }
}

/// Whether `name` (resolved and added to `names` when new) has the
/// socket's address.
fn resolves_to(
    names: &mut Vec<(Vec<u8>, Vec<IpAddr>)>,
    name: &[u8],
    addr: IpAddr,
    v6: bool,
) -> bool {
    let i = match names.iter().position(|(n, _)| n == name) {
        Some(i) => i,
        None => {
            names.push((name.to_vec(), resolve(name)));
            names.len() - 1
        }
    };
    names[i].1.iter().any(|a| same_address(*a, addr, v6))
}

/// The addresses a name resolves to (none when it does not).
fn resolve(name: &[u8]) -> Vec<IpAddr> {
    let Ok(name) = std::str::from_utf8(name) else {
        return Vec::new();
    };
    if name.is_empty() || name.contains('\0') {
        return Vec::new();
    }
    match (name, 0u16).to_socket_addrs() {
        Ok(it) => it.map(|a| a.ip()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Whether a resolved address is the socket's: IPv6 addresses for an IPv6
/// socket, IPv4 ones for the others (sysdig's `AF_INET6`/`AF_INET` match).
fn same_address(resolved: IpAddr, sock: IpAddr, v6: bool) -> bool {
    if v6 {
        let sock: Ipv6Addr = match sock {
            IpAddr::V6(a) => a,
            IpAddr::V4(a) => a.to_ipv6_mapped(),
        };
        resolved == IpAddr::V6(sock)
    } else {
        let sock: Ipv4Addr = match sock {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => {
                let o = a.octets();
                Ipv4Addr::new(o[0], o[1], o[2], o[3])
            }
        };
        resolved == IpAddr::V4(sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_names_and_localhost_resolve() {
        assert_eq!(resolve(b"127.0.0.1"), vec![IpAddr::from([127, 0, 0, 1])]);
        assert!(resolve(b"localhost").contains(&IpAddr::from([127, 0, 0, 1])));
        assert!(resolve(b"").is_empty());
        assert!(resolve(b"a\0b").is_empty());
        assert!(resolve(b"no such name.invalid").is_empty());
    }

    #[test]
    fn families_are_compared_as_sysdig_does() {
        let v4 = IpAddr::from([127, 0, 0, 1]);
        assert!(same_address(v4, v4, false));
        assert!(!same_address(v4, v4, true));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert!(same_address(v6, v6, true));
        assert!(!same_address(v6, v6, false));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert!(same_address(mapped, IpAddr::from([10, 0, 0, 1]), true));
    }

    #[test]
    fn a_name_is_resolved_once_and_kept() {
        let ip = IpAddr::from([127, 0, 0, 2]);
        let mut names = Vec::new();
        assert!(resolves_to(&mut names, b"127.0.0.2", ip, false));
        let other = IpAddr::from([127, 0, 0, 3]);
        assert!(!resolves_to(&mut names, b"127.0.0.2", other, false));
        assert_eq!(names.len(), 1);
        assert!(names[0].1.contains(&ip));
    }
}

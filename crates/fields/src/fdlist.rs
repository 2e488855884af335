//! The `fdlist.*` fields (sysdig's `fdlist` class): the fds of poll
//! events, with their names, addresses and ports. Names, parsing,
//! extraction and registry rows. Semantics follow libsinsp 0.29.3
//! (`sinsp_filter_check_fdlist`).

use std::net::Ipv4Addr;

use sonde_event::codes as c;
use sonde_state::{FdType, SockAddrs};

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::fd::{ends, push_ip, push_num, FdX};
use crate::field::Field;
use crate::row::{class, FieldClass, FieldInfo, FieldType as T};

/// Parses an `fdlist.*` field.
pub(crate) fn parse(
    _name: &str,
    base: &str,
    _arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    Some(Ok(Field::Fd(match base {
        "fdlist.nums" => FdX::FdlistNums,
        "fdlist.names" => FdX::FdlistNames,
        "fdlist.cips" => FdX::FdlistCips,
        "fdlist.sips" => FdX::FdlistSips,
        "fdlist.cports" => FdX::FdlistCports,
        "fdlist.sports" => FdX::FdlistSports,
        _ => return None,
    })))
}

impl Ctx<'_, '_> {
    /// `fdlist.*`: None for other fields.
    pub(crate) fn extract_fdlist(&self, x: &FdX, out: &mut Vec<u8>) -> Option<bool> {
        if !matches!(
            x,
            FdX::FdlistNums
                | FdX::FdlistNames
                | FdX::FdlistCips
                | FdX::FdlistSips
                | FdX::FdlistCports
                | FdX::FdlistSports
        ) {
            return None;
        }
        let ev = self.ev;
        let payload = match ev.code {
            c::SYSCALL_POLL_E | c::SYSCALL_PPOLL_E => ev.param(0),
            c::SYSCALL_POLL_X | c::SYSCALL_PPOLL_X => ev.param(1),
            _ => return Some(false),
        };
        let Some(p) = payload.filter(|p| p.len() >= 2) else {
            return Some(false);
        };
        if self.thread().is_none() {
            return Some(false);
        }
        let nfds = u16::from_le_bytes([p[0], p[1]]) as usize;
        let start = out.len();
        for j in 0..nfds {
            let at = 2 + j * 10;
            let Some(raw) = p.get(at..at + 8) else { break };
            let n = i64::from_le_bytes(raw.try_into().unwrap_or_default());
            let f = self.st.fd(ev.tid, n);
            let added = match x {
                FdX::FdlistNums => {
                    push_num(out, n);
                    true
                }
                FdX::FdlistNames => {
                    match f {
                        Some(f) if !f.name.is_empty() => out.extend_from_slice(&f.name),
                        _ => out.extend_from_slice(b"<NA>"),
                    }
                    true
                }
                FdX::FdlistCips => match f.and_then(ends) {
                    Some((sip, ..)) => {
                        push_ip(out, sip);
                        true
                    }
                    None => false,
                },
                FdX::FdlistSips => match f.map(|f| (f.kind, f.addrs)) {
                    Some((FdType::Ipv4Sock | FdType::Ipv6Sock, _)) => match f.and_then(ends) {
                        Some((_, _, dip, _)) => {
                            push_ip(out, dip);
                            true
                        }
                        None => false,
                    },
                    Some((FdType::Ipv4ServSock, SockAddrs::V4Server { ip, .. })) => {
                        push_ip(out, ip.into());
                        true
                    }
                    Some((FdType::Ipv6ServSock, SockAddrs::V6Server { ip, .. })) => {
                        // sysdig prints the first four bytes as IPv4
                        let o = ip.octets();
                        push_ip(out, Ipv4Addr::new(o[0], o[1], o[2], o[3]).into());
                        true
                    }
                    _ => false,
                },
                FdX::FdlistCports | FdX::FdlistSports => match f.and_then(ends) {
                    Some((_, sport, _, dport)) => {
                        push_num(
                            out,
                            if matches!(x, FdX::FdlistCports) {
                                sport
                            } else {
                                dport
                            },
                        );
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if added {
                out.push(b',');
            }
        }
        if out.len() == start {
            return Some(false);
        }
        if out.last() == Some(&b',') {
            out.pop();
        }
        Some(true)
    }
}

/// The `fdlist` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "fdlist", shortdesc: "", desc: "Poll event related fields." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "fdlist.nums", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for poll events, this is a comma-separated list of the FD numbers in the 'fds' argument, returned as a string." },
    FieldInfo { name: "fdlist.names", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for poll events, this is a comma-separated list of the FD names in the 'fds' argument, returned as a string." },
    FieldInfo { name: "fdlist.cips", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for poll events, this is a comma-separated list of the client IP addresses in the 'fds' argument, returned as a string." },
    FieldInfo { name: "fdlist.sips", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for poll events, this is a comma-separated list of the server IP addresses in the 'fds' argument, returned as a string." },
    FieldInfo { name: "fdlist.cports", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for TCP/UDP FDs, for poll events, this is a comma-separated list of the client TCP/UDP ports in the 'fds' argument, returned as a string." },
    FieldInfo { name: "fdlist.sports", class: class::FDLIST, ty: T::Charbuf, flags: 0, desc: "for poll events, this is a comma-separated list of the server TCP/UDP ports in the 'fds' argument, returned as a string." },
];

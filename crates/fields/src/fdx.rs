//! The `fd.*` fields beyond name, type and client/server endpoints, and
//! the `fdlist.*` fields of poll events. Semantics follow libsinsp 0.29.3
//! (`sinsp_filter_check_fd`, `sinsp_filter_check_fdlist`) or, for the
//! newer fields (`fd.nameraw`, `fd.types`, `fd.is_*_layer`), current libs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sonde_event::codes as c;
use sonde_state::{Fd, FdType, SockAddrs, Thread};

use crate::extract::{file_directory, Ctx, FieldError};

/// A field of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdX {
    Lip,
    Rip,
    Lport,
    Rport,
    Lproto,
    Rproto,
    Cproto,
    Sproto,
    Sockfamily,
    IsServer,
    Uid,
    Containername,
    Containerdirectory,
    Connected,
    NameChanged,
    /// `fd.cip.name` & co: sonde resolves no names, so never a value.
    IpName,
    Dev,
    DevMajor,
    DevMinor,
    Nameraw,
    /// `fd.types` (all open fds) or `fd.types[N]`.
    Types(Option<i64>),
    IsUpperLayer,
    IsLowerLayer,
    /// Both addresses and ports whatever the socket's role, for the filter
    /// only fields `fd.ip`, `fd.net` and `fd.port`/`fd.proto`.
    AnyCip,
    AnySip,
    AnyCport,
    AnySport,
    FdlistNums,
    FdlistNames,
    FdlistCips,
    FdlistSips,
    FdlistCports,
    FdlistSports,
}

/// Parses a field of this module (`base` without its `[arg]`).
pub(crate) fn parse(base: &str, arg: Option<&str>) -> Option<Result<FdX, FieldError>> {
    Some(Ok(match base {
        "fd.lip" | "fd.lnet" => FdX::Lip,
        "fd.rip" | "fd.rnet" => FdX::Rip,
        "fd.lport" => FdX::Lport,
        "fd.rport" => FdX::Rport,
        "fd.lproto" => FdX::Lproto,
        "fd.rproto" => FdX::Rproto,
        "fd.cproto" => FdX::Cproto,
        "fd.sproto" => FdX::Sproto,
        "fd.sockfamily" => FdX::Sockfamily,
        "fd.is_server" => FdX::IsServer,
        "fd.uid" => FdX::Uid,
        "fd.containername" => FdX::Containername,
        "fd.containerdirectory" => FdX::Containerdirectory,
        "fd.connected" => FdX::Connected,
        "fd.name_changed" => FdX::NameChanged,
        "fd.cip.name" | "fd.sip.name" | "fd.lip.name" | "fd.rip.name" => FdX::IpName,
        "fd.dev" => FdX::Dev,
        "fd.dev.major" => FdX::DevMajor,
        "fd.dev.minor" => FdX::DevMinor,
        "fd.nameraw" => FdX::Nameraw,
        "fd.types" => match arg {
            None => FdX::Types(None),
            Some(a) => match a.trim().parse() {
                Ok(n) => FdX::Types(Some(n)),
                Err(_) => return Some(Err(FieldError(format!("bad index '{a}' in fd.types")))),
            },
        },
        "fd.is_upper_layer" => FdX::IsUpperLayer,
        "fd.is_lower_layer" => FdX::IsLowerLayer,
        "fdlist.nums" => FdX::FdlistNums,
        "fdlist.names" => FdX::FdlistNames,
        "fdlist.cips" => FdX::FdlistCips,
        "fdlist.sips" => FdX::FdlistSips,
        "fdlist.cports" => FdX::FdlistCports,
        "fdlist.sports" => FdX::FdlistSports,
        _ => return None,
    }))
}

/// The two ends of a connected IP socket: (sip, sport, dip, dport); zero
/// addresses for a socket that has none yet.
fn ends(f: &Fd) -> Option<(IpAddr, u16, IpAddr, u16)> {
    match (f.kind, f.addrs) {
        (
            FdType::Ipv4Sock | FdType::Ipv6Sock,
            SockAddrs::V4 {
                sip,
                sport,
                dip,
                dport,
            },
        ) => Some((sip.into(), sport, dip.into(), dport)),
        (
            FdType::Ipv4Sock | FdType::Ipv6Sock,
            SockAddrs::V6 {
                sip,
                sport,
                dip,
                dport,
            },
        ) => Some((sip.into(), sport, dip.into(), dport)),
        (FdType::Ipv4Sock, _) => Some((
            Ipv4Addr::UNSPECIFIED.into(),
            0,
            Ipv4Addr::UNSPECIFIED.into(),
            0,
        )),
        (FdType::Ipv6Sock, _) => Some((
            Ipv6Addr::UNSPECIFIED.into(),
            0,
            Ipv6Addr::UNSPECIFIED.into(),
            0,
        )),
        _ => None,
    }
}

/// `fd.cip`, `fd.sip`, `fd.cport`, `fd.sport` as sysdig 0.29.3 extracts
/// them: only for sockets whose role (client or server) is known, except
/// the port of a server socket.
pub(crate) fn client_server(field: &crate::Field, f: &Fd, out: &mut Vec<u8>) -> bool {
    use crate::Field as F;
    let sock = matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock);
    let server = match (f.kind, f.addrs) {
        (FdType::Ipv4ServSock | FdType::Ipv6ServSock, SockAddrs::V4Server { ip, port }) => {
            Some((IpAddr::from(ip), port))
        }
        (FdType::Ipv4ServSock | FdType::Ipv6ServSock, SockAddrs::V6Server { ip, port }) => {
            Some((IpAddr::from(ip), port))
        }
        _ => None,
    };
    if matches!(field, F::FdSport) {
        if let Some((_, port)) = server {
            push_num(out, port);
            return true;
        }
    }
    if role_none(f) {
        return false;
    }
    match field {
        F::FdCip => match ends(f) {
            Some((sip, ..)) => push_ip(out, sip),
            None => return false,
        },
        F::FdSip => match (ends(f), server) {
            (Some((_, _, dip, _)), _) => push_ip(out, dip),
            (None, Some((ip, _))) => push_ip(out, ip),
            _ => return false,
        },
        F::FdCport => match ends(f) {
            Some((_, sport, ..)) => push_num(out, sport),
            // sysdig reads a port out of an empty string here: 0
            None => out.push(b'0'),
        },
        _ => match ends(f) {
            Some((.., dport)) if sock => push_num(out, dport),
            _ => return false,
        },
    }
    true
}

fn role_none(f: &Fd) -> bool {
    !f.role_client && !f.role_server
}

/// Appends an address as sysdig prints it (`inet_ntop`).
pub(crate) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    use std::io::Write;
    match ip {
        IpAddr::V4(a) => {
            let _ = write!(out, "{a}");
        }
        IpAddr::V6(a) => out.extend_from_slice(sonde_state::fmt_v6(&a).as_bytes()),
    }
}

fn push_num(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

impl Ctx<'_, '_> {
    /// Whether an address belongs to the machine (or to the container the
    /// thread runs in), as sysdig's interface list decides.
    pub(crate) fn is_local(&self, t: &Thread, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                if !t.container_id.is_empty() {
                    if let Some(c) = self.st.containers.get(&t.container_id) {
                        let ip = c.meta.as_ref().map_or(0, |m| m.ip);
                        if ip != 0 {
                            if a == ip {
                                return true;
                            }
                        } else if self
                            .st
                            .containers
                            .values()
                            .any(|o| o.meta.as_ref().map_or(0, |m| m.ip) == a)
                        {
                            return true;
                        }
                    }
                }
                self.st
                    .ifaces
                    .v4
                    .iter()
                    .any(|i| u32::from_be_bytes(i.addr) == a)
            }
            IpAddr::V6(a) => {
                // sysdig does not look at containers' IPv6 addresses
                if !t.container_id.is_empty() {
                    return false;
                }
                let o = a.octets();
                self.st.ifaces.v6.iter().any(|i| i.addr[..8] == o[..8])
            }
        }
    }

    /// The fd fields of sysdig's `extract_fd`: None when the event is not
    /// an fd event or has no thread; the fd when it is in the table.
    fn fd_ctx(&self) -> Option<(&Thread, i64, Option<&Fd>)> {
        self.event_fd_entry()
    }

    /// Appends the value of an [`FdX`] field; false when it has none.
    pub(crate) fn extract_fdx(&self, x: &FdX, out: &mut Vec<u8>) -> bool {
        if let Some(r) = self.extract_fdlist(x, out) {
            return r;
        }
        let Some((t, n, fd)) = self.fd_ctx() else {
            return false;
        };
        let b =
            |out: &mut Vec<u8>, v: bool| out.extend_from_slice(if v { b"true" } else { b"false" });
        match x {
            FdX::Uid => {
                if matches!(self.ev.code, c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E) {
                    return false;
                }
                push_num(out, t.tid);
                push_num(out, n);
            }
            FdX::Containername | FdX::Containerdirectory => {
                let failed_connect = self.ev.code == c::SOCKET_CONNECT_X
                    && self.ev.param_i64(0).unwrap_or(0) < 0
                    && matches!(x, FdX::Containername);
                let mut name = Vec::new();
                match fd {
                    Some(f) if !failed_connect => {
                        if matches!(x, FdX::Containername) {
                            name.extend_from_slice(&f.name);
                        } else {
                            match f.kind {
                                FdType::Directory => name.extend_from_slice(&f.name),
                                FdType::File => file_directory(&f.name, &mut name),
                                _ => return false,
                            }
                        }
                    }
                    _ => {
                        if !self.fdname_from_creator(&mut name) {
                            return false;
                        }
                        if matches!(x, FdX::Containerdirectory) {
                            let whole = std::mem::take(&mut name);
                            file_directory(&whole, &mut name);
                        }
                    }
                }
                out.extend_from_slice(&t.container_id);
                out.push(b':');
                out.extend_from_slice(&name);
            }
            FdX::Nameraw => match fd {
                Some(f) => push_dedup_slashes(out, f.raw_name()),
                None => {
                    let mut name = Vec::new();
                    if !self.raw_name_from_creator(&mut name) {
                        return false;
                    }
                    push_dedup_slashes(out, &name);
                }
            },
            _ => {
                let Some(f) = fd else { return false };
                return self.extract_fdx_of(x, t, f, out);
            }
        }
        let _ = b;
        true
    }

    /// The raw path of a creating exit event whose fd is not in the table.
    fn raw_name_from_creator(&self, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match ev.code {
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => match ev.param(2) {
                Some(p) if !p.is_empty() => {
                    out.extend_from_slice(sonde_event::cstr(p));
                    true
                }
                _ => false,
            },
            c::SYSCALL_OPEN_BY_HANDLE_AT_X => {
                out.extend_from_slice(ev.param_str(3).unwrap_or_default());
                true
            }
            c::SYSCALL_OPENAT_X => {
                // the current libs read no enter event here
                true
            }
            _ => self.fdname_from_creator(out),
        }
    }

    /// Fields that need the fd in the table.
    fn extract_fdx_of(&self, x: &FdX, t: &Thread, f: &Fd, out: &mut Vec<u8>) -> bool {
        let b =
            |out: &mut Vec<u8>, v: bool| out.extend_from_slice(if v { b"true" } else { b"false" });
        match x {
            FdX::Lip | FdX::Rip | FdX::Lport | FdX::Rport | FdX::Lproto | FdX::Rproto => {
                let Some((sip, sport, dip, dport)) = ends(f) else {
                    return false;
                };
                if role_none(f) {
                    return false;
                }
                let local = self.is_local(t, sip);
                let (lip, lport, rip, rport) = if local {
                    (sip, sport, dip, dport)
                } else {
                    (dip, dport, sip, sport)
                };
                match x {
                    FdX::Lip => push_ip(out, lip),
                    FdX::Rip => push_ip(out, rip),
                    FdX::Lport | FdX::Lproto => push_num(out, lport),
                    _ => push_num(out, rport),
                }
            }
            FdX::Cproto => {
                if role_none(f) {
                    return false;
                }
                if let Some((_, sport, _, _)) = ends(f) {
                    push_num(out, sport);
                }
            }
            FdX::Sproto => match (f.kind, ends(f)) {
                (FdType::Ipv4Sock | FdType::Ipv6Sock, Some((_, _, _, dport))) => {
                    if role_none(f) {
                        return false;
                    }
                    push_num(out, dport);
                }
                // sysdig names no port for server sockets
                (FdType::Ipv4ServSock | FdType::Ipv6ServSock, _) => {}
                _ => return false,
            },
            FdX::Sockfamily => match f.kind {
                FdType::Ipv4Sock
                | FdType::Ipv6Sock
                | FdType::Ipv4ServSock
                | FdType::Ipv6ServSock => out.extend_from_slice(b"ip"),
                FdType::UnixSock => out.extend_from_slice(b"unix"),
                _ => return false,
            },
            FdX::IsServer => {
                let v = match f.kind {
                    FdType::Ipv4ServSock | FdType::Ipv6ServSock => true,
                    FdType::Ipv4Sock | FdType::Ipv6Sock => match ends(f) {
                        Some((_, _, dip, _)) => self.is_local(t, dip),
                        None => false,
                    },
                    _ => false,
                };
                b(out, v);
            }
            FdX::Connected => b(out, f.connected),
            FdX::NameChanged => b(out, self.st.fd_name_changed()),
            FdX::IpName => return false,
            FdX::Dev => {
                use std::io::Write;
                let _ = write!(out, "{:X}", f.dev);
            }
            FdX::DevMajor => push_num(out, (f.dev & 0xfff00) >> 8),
            FdX::DevMinor => push_num(out, (f.dev & 0xff) | ((f.dev >> 12) & 0xfff00)),
            FdX::Types(Some(_)) => out.extend_from_slice(f.kind.name().as_bytes()),
            FdX::Types(None) => {
                // every kind of fd the process has open, once each
                let Some(owner) = self.st.fd_owner(self.ev.tid) else {
                    return false;
                };
                let mut fds: Vec<(&i64, &Fd)> = owner.fds.iter().collect();
                fds.sort_by_key(|(n, _)| **n);
                let mut seen: Vec<&str> = Vec::new();
                for (_, x) in fds {
                    let name = x.kind.name();
                    if !seen.contains(&name) {
                        seen.push(name);
                    }
                }
                out.push(b'(');
                out.extend_from_slice(seen.join(",").as_bytes());
                out.push(b')');
            }
            FdX::IsUpperLayer => b(out, f.flags & (1 << 15) != 0),
            FdX::IsLowerLayer => b(out, f.flags & (1 << 16) != 0),
            FdX::AnyCip | FdX::AnySip | FdX::AnyCport | FdX::AnySport => {
                let v = match (f.kind, f.addrs) {
                    (
                        FdType::Ipv4ServSock | FdType::Ipv6ServSock,
                        SockAddrs::V4Server { ip, port },
                    ) => (IpAddr::from(ip), port, IpAddr::from(ip), port),
                    (
                        FdType::Ipv4ServSock | FdType::Ipv6ServSock,
                        SockAddrs::V6Server { ip, port },
                    ) => (IpAddr::from(ip), port, IpAddr::from(ip), port),
                    _ => match ends(f) {
                        Some(e) => e,
                        None => return false,
                    },
                };
                match x {
                    FdX::AnyCip => push_ip(out, v.0),
                    FdX::AnySip => push_ip(out, v.2),
                    FdX::AnyCport => push_num(out, v.1),
                    _ => push_num(out, v.3),
                }
            }
            _ => return false,
        }
        true
    }

    /// `fdlist.*`: None for other fields.
    fn extract_fdlist(&self, x: &FdX, out: &mut Vec<u8>) -> Option<bool> {
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

/// Appends a path with runs of `/` collapsed to one (current libs'
/// `remove_duplicate_path_separators`).
fn push_dedup_slashes(out: &mut Vec<u8>, p: &[u8]) {
    let mut prev = 0u8;
    for &ch in p {
        if ch == b'/' && prev == b'/' {
            continue;
        }
        out.push(ch);
        prev = ch;
    }
}

//! The `fd.*` fields (sysdig's `fd` class): their names, parsing,
//! extraction and registry rows. Semantics follow libsinsp 0.29.3
//! (`sinsp_filter_check_fd`) or, for the newer fields (`fd.nameraw`,
//! `fd.types`, `fd.is_*_layer`), current libs. The `fdlist.*` fields of
//! poll events are in `fdlist.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sonde_event::codes as c;
use sonde_state::{Fd, FdType, SockAddrs, Thread};

use crate::ctx::{push_bool, write_i, Ctx};
use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};
use crate::value::Value;

/// An `fd.*` field beyond the variants of [`Field`] (and the `fdlist.*`
/// fields, parsed and extracted in `fdlist.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdX {
    /// `fd.lip`, `fd.lnet`.
    Lip,
    /// `fd.rip`, `fd.rnet`.
    Rip,
    /// `fd.lport`.
    Lport,
    /// `fd.rport`.
    Rport,
    /// `fd.lproto`.
    Lproto,
    /// `fd.rproto`.
    Rproto,
    /// `fd.cproto`.
    Cproto,
    /// `fd.sproto`.
    Sproto,
    /// `fd.sockfamily`.
    Sockfamily,
    /// `fd.is_server`.
    IsServer,
    /// `fd.uid`.
    Uid,
    /// `fd.containername`.
    Containername,
    /// `fd.containerdirectory`.
    Containerdirectory,
    /// `fd.connected`.
    Connected,
    /// `fd.name_changed`.
    NameChanged,
    /// `fd.cip.name` & co: no value to print (sonde makes no reverse
    /// lookups, nor does sysdig 0.29.3 here); filters compare them as
    /// sysdig does, by resolving the names they are given
    /// ([`Ctx::ip_name_addr`]).
    IpName(IpEnd),
    /// `fd.dev`.
    Dev,
    /// `fd.dev.major`.
    DevMajor,
    /// `fd.dev.minor`.
    DevMinor,
    /// `fd.nameraw`.
    Nameraw,
    /// `fd.types` (all open fds) or `fd.types[N]`.
    Types(Option<i64>),
    /// `fd.is_upper_layer`.
    IsUpperLayer,
    /// `fd.is_lower_layer`.
    IsLowerLayer,
    /// Both addresses and ports whatever the socket's role, for the filter
    /// only fields `fd.ip`, `fd.net` and `fd.port`/`fd.proto`.
    AnyCip,
    /// See `AnyCip`.
    AnySip,
    /// See `AnyCip`.
    AnyCport,
    /// See `AnyCip`.
    AnySport,
    /// `fdlist.nums`.
    FdlistNums,
    /// `fdlist.names`.
    FdlistNames,
    /// `fdlist.cips`.
    FdlistCips,
    /// `fdlist.sips`.
    FdlistSips,
    /// `fdlist.cports`.
    FdlistCports,
    /// `fdlist.sports`.
    FdlistSports,
}

/// Which address of a socket an `fd.*ip.name` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpEnd {
    /// `fd.cip.name`.
    Client,
    /// `fd.sip.name`.
    Server,
    /// `fd.lip.name`.
    Local,
    /// `fd.rip.name`.
    Remote,
}

/// Parses an `fd.*` field (`base`: `name` without its `[arg]`).
pub(crate) fn parse(
    _name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    Some(Ok(match base {
        "fd.num" => Field::FdNum,
        "fd.name" => Field::FdName,
        "fd.type" => Field::FdType,
        "fd.typechar" => Field::FdTypechar,
        "fd.directory" => Field::FdDirectory,
        "fd.filename" => Field::FdFilename,
        "fd.l4proto" => Field::FdL4proto,
        "fd.sip" => Field::FdSip,
        "fd.cip" => Field::FdCip,
        "fd.sport" => Field::FdSport,
        "fd.cport" => Field::FdCport,
        "fd.ino" => Field::FdIno,
        _ => return parse_x(base, arg).map(|x| x.map(Field::Fd)),
    }))
}

/// Parses an [`FdX`] field of the `fd` class.
fn parse_x(base: &str, arg: Option<&str>) -> Option<Result<FdX, FieldError>> {
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
        "fd.cip.name" => FdX::IpName(IpEnd::Client),
        "fd.sip.name" => FdX::IpName(IpEnd::Server),
        "fd.lip.name" => FdX::IpName(IpEnd::Local),
        "fd.rip.name" => FdX::IpName(IpEnd::Remote),
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
        _ => return None,
    }))
}

/// The two ends of a connected IP socket: (sip, sport, dip, dport); zero
/// addresses for a socket that has none yet.
pub(crate) fn ends(f: &Fd) -> Option<(IpAddr, u16, IpAddr, u16)> {
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

/// A value of [`client_server_end`].
pub(crate) enum End {
    Ip(IpAddr),
    Port(u16),
}

/// `fd.cip`, `fd.sip`, `fd.cport`, `fd.sport` as text (see
/// [`client_server_end`]).
pub(crate) fn client_server(field: &crate::Field, f: &Fd, out: &mut Vec<u8>) -> bool {
    match client_server_end(field, f) {
        Some(End::Ip(ip)) => push_ip(out, ip),
        Some(End::Port(port)) => push_num(out, port),
        None => return false,
    }
    true
}

/// `fd.cip`, `fd.sip`, `fd.cport`, `fd.sport` as sysdig 0.29.3 extracts
/// them: only for sockets whose role (client or server) is known, except
/// the port of a server socket.
pub(crate) fn client_server_end(field: &crate::Field, f: &Fd) -> Option<End> {
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
            return Some(End::Port(port));
        }
    }
    if role_none(f) {
        return None;
    }
    match field {
        F::FdCip => ends(f).map(|(sip, ..)| End::Ip(sip)),
        F::FdSip => match (ends(f), server) {
            (Some((_, _, dip, _)), _) => Some(End::Ip(dip)),
            (None, Some((ip, _))) => Some(End::Ip(ip)),
            _ => None,
        },
        // sysdig reads a port out of an empty string here: 0
        F::FdCport => Some(End::Port(ends(f).map_or(0, |(_, sport, ..)| sport))),
        _ => match ends(f) {
            Some((.., dport)) if sock => Some(End::Port(dport)),
            _ => None,
        },
    }
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

pub(crate) fn push_num(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

/// The directory part of a file path as `fd.directory` shows it: up to
/// the last `/` (a path ending in `/` stays whole), `/` when there is no
/// other.
pub(crate) fn file_directory(name: &[u8], out: &mut Vec<u8>) {
    match name.iter().rposition(|&c| c == b'/') {
        Some(p) if p != 0 && p + 1 < name.len() => out.extend_from_slice(&name[..p]),
        Some(p) if p != 0 => out.extend_from_slice(name),
        _ => out.push(b'/'),
    }
}

impl Field {
    /// Whether this field has a value only on events that work on an fd:
    /// the fields of the event's fd, which `Ctx::extract_fd` (and
    /// `fd.ip`/`fd.port`/... over them) take, and which have no value on
    /// other events (`Ctx::event_fd`, `Ctx::fd_num`).
    pub fn only_on_fd_events(&self) -> bool {
        self.reads_fd_entry()
            || matches!(
                self,
                Field::FdNum | Field::Fd(FdX::AnyCip | FdX::AnySip | FdX::AnyCport | FdX::AnySport)
            )
    }

    /// Whether this field reads nothing but the entry of the event's fd in
    /// its thread's table (`Ctx::extract_fd`), or without one, the
    /// event's code: not the fd's number, the thread, the machine's
    /// addresses or the event's parameters. Events that modify no state
    /// leave what it reads alone.
    pub fn reads_fd_entry(&self) -> bool {
        matches!(
            self,
            Field::FdName
                | Field::FdType
                | Field::FdTypechar
                | Field::FdDirectory
                | Field::FdFilename
                | Field::FdL4proto
                | Field::FdIno
                | Field::FdSip
                | Field::FdCip
                | Field::FdSport
                | Field::FdCport
        )
    }
}

impl Ctx<'_, '_> {
    /// Appends the value of an `fd.*` variant of [`Field`]; false when it
    /// has none.
    pub(crate) fn extract_fd(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        if let Field::FdNum = f {
            return match self.fd_num() {
                Some(n) => {
                    write_i(out, n);
                    true
                }
                None => false,
            };
        }
        let Some((_, _, fd)) = self.event_fd_entry() else {
            return false;
        };
        // a failed connect names its fd after the attempted tuple
        let failed_connect = matches!(f, Field::FdName)
            && ev.code == sonde_event::codes::SOCKET_CONNECT_X
            && ev.param_i64(0).unwrap_or(0) < 0;
        let fd = match fd {
            Some(fd) if !failed_connect => fd,
            _ => return self.extract_null_fd(f, out),
        };
        match f {
            Field::FdName => out.extend_from_slice(&fd.name),
            Field::FdType => out.extend_from_slice(fd.kind.name().as_bytes()),
            Field::FdTypechar => {
                let mut b = [0u8; 4];
                out.extend_from_slice(fd.kind.type_char().encode_utf8(&mut b).as_bytes());
            }
            Field::FdDirectory => match fd.kind {
                sonde_state::FdType::Directory => out.extend_from_slice(&fd.name),
                sonde_state::FdType::File => file_directory(&fd.name, out),
                _ => return false,
            },
            Field::FdFilename => {
                if fd.kind != sonde_state::FdType::File {
                    return false;
                }
                let name = &fd.name;
                match name.iter().rposition(|&c| c == b'/') {
                    Some(p) if p + 1 < name.len() => out.extend_from_slice(&name[p + 1..]),
                    Some(_) => out.extend_from_slice(name),
                    None => out.push(b'/'),
                }
            }
            Field::FdL4proto => out.extend_from_slice(fd.l4proto().name().as_bytes()),
            Field::FdIno => write_i(out, fd.ino),
            Field::FdSip | Field::FdCip | Field::FdSport | Field::FdCport => {
                return client_server(f, fd, out);
            }
            _ => return false,
        }
        true
    }

    /// The typed value of `fd.num` and `fd.name_changed` (see
    /// [`Ctx::extract_value`]).
    #[inline]
    pub(crate) fn fd_value(&self, f: &Field) -> Option<Value<'static>> {
        match f {
            Field::FdNum => self.fd_num().map(Value::Int),
            // sysdig notes a name change after it has run its filters: to
            // a filter the name never changed
            Field::Fd(FdX::NameChanged) => {
                let mut tmp = Vec::new();
                self.extract(f, &mut tmp).then_some(Value::Bool(false))
            }
            // printed in hex, compared as the number it is
            Field::Fd(FdX::Dev) => {
                let mut tmp = Vec::new();
                if !self.extract(f, &mut tmp) {
                    return None;
                }
                let text = std::str::from_utf8(&tmp).ok()?;
                u64::from_str_radix(text, 16).ok().map(Value::Uint)
            }
            _ => None,
        }
    }

    /// The typed value of `fd.sport` and `fd.cport` (see
    /// [`Ctx::extract_value`]): the number [`client_server`] prints,
    /// without printing and reading it back. An fd that is not in the
    /// table takes the text path.
    #[inline]
    pub(crate) fn port_value<'b>(&self, f: &Field, buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
        let (_, _, fd) = self.event_fd_entry()?;
        match fd {
            Some(fd) => match client_server_end(f, fd)? {
                End::Port(p) => Some(Value::Uint(u64::from(p))),
                End::Ip(_) => None,
            },
            None => {
                buf.clear();
                self.extract(f, buf).then_some(Value::Str(buf))
            }
        }
    }

    /// The fd name sysdig derives from an exit event that creates an fd
    /// when the fd itself is not in the table: the path or tuple argument;
    /// empty for other exit events; None for enter events.
    pub(crate) fn fdname_from_creator(&self, out: &mut Vec<u8>) -> bool {
        use sonde_event::codes as c;
        let ev = self.ev;
        let Some(info) = ev.info() else { return false };
        if info.dir != sonde_event::Direction::Exit {
            return false;
        }
        match ev.code {
            c::SYSCALL_OPEN_X
            | c::SOCKET_ACCEPT_X
            | c::SOCKET_ACCEPT_5_X
            | c::SOCKET_ACCEPT4_X
            | c::SOCKET_ACCEPT4_5_X
            | c::SYSCALL_CREAT_X
            | c::SOCKET_CONNECT_X => {
                if ev.nparams() > 1 {
                    self.arg_str(1, out);
                }
                true
            }
            // sysdig has already dropped the saved enter event by the time
            // it formats, so an old-style openat exit has no name to give
            c::SYSCALL_OPENAT_X => false,
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => {
                let (dirfd, name) = (ev.param_i64(1), ev.param(2));
                let name = sonde_event::cstr(name.unwrap_or_default());
                let dir: Vec<u8> = if name.first() == Some(&b'/') {
                    b".".to_vec()
                } else if dirfd == Some(-100) {
                    self.st.cwd(ev.tid).to_vec()
                } else {
                    match dirfd.and_then(|d| self.st.fd(ev.tid, d)) {
                        Some(f) => f.name.clone(),
                        None => b"<UNKNOWN>".to_vec(),
                    }
                };
                if dir == b"<UNKNOWN>" {
                    // sysdig glues the name on without a separator
                    out.extend_from_slice(&dir);
                    out.extend_from_slice(name);
                } else {
                    out.extend_from_slice(&sonde_state::path::concat_path(&dir, name));
                }
                true
            }
            _ => true,
        }
    }

    /// fd fields of an event whose fd is not in the table.
    fn extract_null_fd(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        use sonde_event::codes as c;
        match f {
            Field::FdName => self.fdname_from_creator(out),
            Field::FdDirectory => {
                let start = out.len();
                if !self.fdname_from_creator(out) {
                    return false;
                }
                let name = out[start..].to_vec();
                out.truncate(start);
                file_directory(&name, out);
                true
            }
            Field::FdTypechar => {
                let enter = self.ev.code & !1;
                out.push(match enter {
                    c::SYSCALL_OPEN_E
                    | c::SYSCALL_OPENAT_E
                    | c::SYSCALL_OPENAT_2_E
                    | c::SYSCALL_OPENAT2_E
                    | c::SYSCALL_CREAT_E => b'f',
                    c::SOCKET_SOCKET_E
                    | c::SOCKET_ACCEPT_E
                    | c::SOCKET_ACCEPT_5_E
                    | c::SOCKET_ACCEPT4_E
                    | c::SOCKET_ACCEPT4_5_E => b'4',
                    c::SYSCALL_PIPE_E => b'p',
                    c::SYSCALL_EVENTFD_E => b'e',
                    c::SYSCALL_SIGNALFD_E => b's',
                    c::SYSCALL_TIMERFD_CREATE_E => b't',
                    c::SYSCALL_INOTIFY_INIT_E => b'i',
                    _ => b'o',
                });
                true
            }
            _ => false,
        }
    }

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

    /// The address an `fd.*ip.name` field names: the one `fd.cip`,
    /// `fd.sip`, `fd.lip` or `fd.rip` reads (none for an fd of no known
    /// role), and for a connected-style IP socket whether it is IPv6
    /// (None for the other fds, a server socket's: sysdig 0.29.3's
    /// `compare_domain` resolves names only for those sockets).
    pub fn ip_name_addr(&self, end: IpEnd) -> Option<(IpAddr, Option<bool>)> {
        let (t, _, f) = self.fd_ctx()?;
        let f = f?;
        let ip = match end {
            IpEnd::Client | IpEnd::Server => {
                let field = match end {
                    IpEnd::Client => crate::Field::FdCip,
                    _ => crate::Field::FdSip,
                };
                match client_server_end(&field, f)? {
                    End::Ip(ip) => ip,
                    End::Port(_) => return None,
                }
            }
            IpEnd::Local => self.local_remote(t, f)?.0 .0,
            IpEnd::Remote => self.local_remote(t, f)?.1 .0,
        };
        let sock = match f.kind {
            FdType::Ipv4Sock => Some(false),
            FdType::Ipv6Sock => Some(true),
            _ => None,
        };
        Some((ip, sock))
    }

    /// The local and remote (address, port) of an IP socket of known
    /// role, as sysdig tells them apart: the source is local when its
    /// address belongs to the machine ([`Ctx::is_local`]).
    fn local_remote(&self, t: &Thread, f: &Fd) -> Option<((IpAddr, u16), (IpAddr, u16))> {
        let (sip, sport, dip, dport) = ends(f)?;
        if role_none(f) {
            return None;
        }
        Some(if self.is_local(t, sip) {
            ((sip, sport), (dip, dport))
        } else {
            ((dip, dport), (sip, sport))
        })
    }

    /// Appends the value of an [`FdX`] field; false when it has none.
    pub(crate) fn extract_fdx(&self, x: &FdX, out: &mut Vec<u8>) -> bool {
        if let Some(r) = self.extract_fdlist(x, out) {
            return r;
        }
        let Some((t, n, fd)) = self.fd_ctx() else {
            return false;
        };
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
        match x {
            FdX::Lip | FdX::Rip | FdX::Lport | FdX::Rport | FdX::Lproto | FdX::Rproto => {
                let Some(((lip, lport), (rip, rport))) = self.local_remote(t, f) else {
                    return false;
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
                push_bool(out, v);
            }
            FdX::Connected => push_bool(out, f.connected),
            FdX::NameChanged => push_bool(out, self.st.fd_name_changed()),
            FdX::IpName(_) => return false,
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
            FdX::IsUpperLayer => push_bool(out, f.flags & (1 << 15) != 0),
            FdX::IsLowerLayer => push_bool(out, f.flags & (1 << 16) != 0),
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

/// The `fd` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "fd", shortdesc: "", desc: "Every syscall that has a file descriptor in its arguments has these fields set with information related to the file." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "fd.num", class: class::FD, ty: T::Int64, flags: 0, desc: "the unique number identifying the file descriptor." },
    FieldInfo { name: "fd.type", class: class::FD, ty: T::Charbuf, flags: 0, desc: "type of FD. Can be 'file', 'directory', 'ipv4', 'ipv6', 'unix', 'pipe', 'event', 'signalfd', 'eventpoll', 'inotify' or 'signalfd'." },
    FieldInfo { name: "fd.typechar", class: class::FD, ty: T::Charbuf, flags: 0, desc: "type of FD as a single character. Can be 'f' for file, 4 for IPv4 socket, 6 for IPv6 socket, 'u' for unix socket, p for pipe, 'e' for eventfd, 's' for signalfd, 'l' for eventpoll, 'i' for inotify, 'o' for unknown." },
    FieldInfo { name: "fd.name", class: class::FD, ty: T::Charbuf, flags: 0, desc: "FD full name. If the fd is a file, this field contains the full path. If the FD is a socket, this field contain the connection tuple." },
    FieldInfo { name: "fd.directory", class: class::FD, ty: T::Charbuf, flags: 0, desc: "If the fd is a file, the directory that contains it." },
    FieldInfo { name: "fd.filename", class: class::FD, ty: T::Charbuf, flags: 0, desc: "If the fd is a file, the filename without the path." },
    FieldInfo { name: "fd.ip", class: class::FD, ty: T::IpAddr, flags: FILTER_ONLY, desc: "matches the ip address (client or server) of the fd." },
    FieldInfo { name: "fd.cip", class: class::FD, ty: T::IpAddr, flags: 0, desc: "client IP address." },
    FieldInfo { name: "fd.sip", class: class::FD, ty: T::IpAddr, flags: 0, desc: "server IP address." },
    FieldInfo { name: "fd.lip", class: class::FD, ty: T::IpAddr, flags: 0, desc: "local IP address." },
    FieldInfo { name: "fd.rip", class: class::FD, ty: T::IpAddr, flags: 0, desc: "remote IP address." },
    FieldInfo { name: "fd.port", class: class::FD, ty: T::Port, flags: FILTER_ONLY, desc: "matches the port (either client or server) of the fd." },
    FieldInfo { name: "fd.cport", class: class::FD, ty: T::Port, flags: 0, desc: "for TCP/UDP FDs, the client port." },
    FieldInfo { name: "fd.sport", class: class::FD, ty: T::Port, flags: 0, desc: "for TCP/UDP FDs, server port." },
    FieldInfo { name: "fd.lport", class: class::FD, ty: T::Port, flags: 0, desc: "for TCP/UDP FDs, the local port." },
    FieldInfo { name: "fd.rport", class: class::FD, ty: T::Port, flags: 0, desc: "for TCP/UDP FDs, the remote port." },
    FieldInfo { name: "fd.l4proto", class: class::FD, ty: T::Charbuf, flags: 0, desc: "the IP protocol of a socket. Can be 'tcp', 'udp', 'icmp' or 'raw'." },
    FieldInfo { name: "fd.sockfamily", class: class::FD, ty: T::Charbuf, flags: 0, desc: "the socket family for socket events. Can be 'ip' or 'unix'." },
    FieldInfo { name: "fd.is_server", class: class::FD, ty: T::Bool, flags: 0, desc: "'true' if the process owning this FD is the server endpoint in the connection." },
    FieldInfo { name: "fd.uid", class: class::FD, ty: T::Charbuf, flags: 0, desc: "a unique identifier for the FD, created by chaining the FD number and the thread ID." },
    FieldInfo { name: "fd.containername", class: class::FD, ty: T::Charbuf, flags: 0, desc: "chaining of the container ID and the FD name. Useful when trying to identify which container an FD belongs to." },
    FieldInfo { name: "fd.containerdirectory", class: class::FD, ty: T::Charbuf, flags: 0, desc: "chaining of the container ID and the directory name. Useful when trying to identify which container a directory belongs to." },
    FieldInfo { name: "fd.proto", class: class::FD, ty: T::Port, flags: FILTER_ONLY, desc: "matches the protocol (either client or server) of the fd." },
    FieldInfo { name: "fd.cproto", class: class::FD, ty: T::Charbuf, flags: 0, desc: "for TCP/UDP FDs, the client protocol." },
    FieldInfo { name: "fd.sproto", class: class::FD, ty: T::Charbuf, flags: 0, desc: "for TCP/UDP FDs, server protocol." },
    FieldInfo { name: "fd.lproto", class: class::FD, ty: T::Charbuf, flags: 0, desc: "for TCP/UDP FDs, the local protocol." },
    FieldInfo { name: "fd.rproto", class: class::FD, ty: T::Charbuf, flags: 0, desc: "for TCP/UDP FDs, the remote protocol." },
    FieldInfo { name: "fd.net", class: class::FD, ty: T::IpNet, flags: FILTER_ONLY, desc: "matches the IP network (client or server) of the fd." },
    FieldInfo { name: "fd.cnet", class: class::FD, ty: T::IpNet, flags: FILTER_ONLY, desc: "matches the client IP network of the fd." },
    FieldInfo { name: "fd.snet", class: class::FD, ty: T::IpNet, flags: FILTER_ONLY, desc: "matches the server IP network of the fd." },
    FieldInfo { name: "fd.lnet", class: class::FD, ty: T::IpNet, flags: FILTER_ONLY, desc: "matches the local IP network of the fd." },
    FieldInfo { name: "fd.rnet", class: class::FD, ty: T::IpNet, flags: FILTER_ONLY, desc: "matches the remote IP network of the fd." },
    FieldInfo { name: "fd.connected", class: class::FD, ty: T::Bool, flags: 0, desc: "for TCP/UDP FDs, 'true' if the socket is connected." },
    FieldInfo { name: "fd.name_changed", class: class::FD, ty: T::Bool, flags: 0, desc: "True when an event changes the name of an fd used by this event. This can occur in some cases such as udp connections where the connection tuple changes." },
    FieldInfo { name: "fd.cip.name", class: class::FD, ty: T::Charbuf, flags: 0, desc: "Domain name associated with the client IP address." },
    FieldInfo { name: "fd.sip.name", class: class::FD, ty: T::Charbuf, flags: 0, desc: "Domain name associated with the server IP address." },
    FieldInfo { name: "fd.lip.name", class: class::FD, ty: T::Charbuf, flags: 0, desc: "Domain name associated with the local IP address." },
    FieldInfo { name: "fd.rip.name", class: class::FD, ty: T::Charbuf, flags: 0, desc: "Domain name associated with the remote IP address." },
    FieldInfo { name: "fd.dev", class: class::FD, ty: T::Int32, flags: JSON_STR, desc: "device number (major/minor) containing the referenced file" },
    FieldInfo { name: "fd.dev.major", class: class::FD, ty: T::Int32, flags: 0, desc: "major device number containing the referenced file" },
    FieldInfo { name: "fd.dev.minor", class: class::FD, ty: T::Int32, flags: 0, desc: "minor device number containing the referenced file" },
    FieldInfo { name: "fd.ino", class: class::FD, ty: T::Int64, flags: NEWER, desc: "inode number of the referenced file" },
    FieldInfo { name: "fd.nameraw", class: class::FD, ty: T::Charbuf, flags: NEWER, desc: "FD full name raw. Just like fd.name, but only used if fd is a file path. File path is kept raw with limited sanitization and without deriving the absolute path." },
    FieldInfo { name: "fd.types", class: class::FD, ty: T::Charbuf, flags: NEWER | ARG_INDEX, desc: "List of FD types in used. Can be passed an fd number e.g. fd.types[0] to get the type of stdout as a single item list." },
    FieldInfo { name: "fd.is_upper_layer", class: class::FD, ty: T::Bool, flags: NEWER, desc: "'true' if the fd is of a file in the upper layer of an overlayfs." },
    FieldInfo { name: "fd.is_lower_layer", class: class::FD, ty: T::Bool, flags: NEWER, desc: "'true' if the fd is of a file in the lower layer of an overlayfs." },
];

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn standard_fds_and_fd_fields() {
        let mut st = state();
        let (b, code, ts, tid) = brk(10_000, 301);
        let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("proc.stdin.type").as_deref(), Some("file"));
        assert_eq!(f("proc.stdin.name").as_deref(), Some("/dev/null"));
        assert_eq!(f("proc.stdout.name").as_deref(), Some("/tmp/out.log"));
        assert_eq!(f("proc.stderr.type"), None);
        // an fd event: read on fd 1
        let b = body(&[&1i64.to_le_bytes(), &10u32.to_le_bytes()]);
        let ev = RawEvent::from_parts(20_000, 301, c::SYSCALL_READ_E, 2, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("fd.types").as_deref(), Some("(file,unix)"));
        assert_eq!(f("fd.types[3]").as_deref(), Some("file"));
        assert_eq!(f("fd.is_upper_layer").as_deref(), Some("true"));
        assert_eq!(f("fd.is_lower_layer").as_deref(), Some("false"));
        assert_eq!(f("fd.nameraw").as_deref(), Some("/tmp/out.log"));
    }

    #[test]
    fn opens_keep_the_raw_path() {
        let mut st = state();
        // openat(AT_FDCWD, "sub//x.txt", O_CREAT|O_WRONLY) = 5, the file created
        let flags = (1u32 << 1) | (1 << 2) | (1 << 14);
        let b = body(&[
            &5i64.to_le_bytes(),
            &(-100i64).to_le_bytes(),
            b"sub//x.txt\0",
            &flags.to_le_bytes(),
            &0o644u32.to_le_bytes(),
            &0u32.to_le_bytes(),
            &0u64.to_le_bytes(),
        ]);
        let ev = RawEvent::from_parts(30_000, 300, c::SYSCALL_OPENAT_2_X, 7, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("fd.name").as_deref(), Some("/tmp/sub/x.txt"));
        assert_eq!(f("fd.nameraw").as_deref(), Some("sub/x.txt"));
        assert_eq!(f("evt.is_open_create").as_deref(), Some("true"));
        assert_eq!(f("fs.path.nameraw").as_deref(), Some("sub//x.txt"));
        assert_eq!(f("fs.path.name").as_deref(), Some("/tmp/sub/x.txt"));
        assert_eq!(f("fs.path.source"), None);
        assert_eq!(f("evt.source").as_deref(), Some("syscall"));
        assert_eq!(f("evt.is_async").as_deref(), Some("false"));
        assert_eq!(f("evt.asynctype"), None);
        assert_eq!(f("evt.hostname").as_deref(), Some("box"));
    }
}

//! Sockets: the system calls that create, bind, connect and accept them
//! (`socket`, `socketpair`, `bind`, `connect`, `accept` family), and the
//! endpoints that the socket tuples of connects and of sends and receives
//! with an address give them. Tuples and addresses are decoded by
//! `sonde_event::net`; `crate::sock` applies them to an fd's endpoints.

use std::net::{Ipv4Addr, Ipv6Addr};

use sonde_event::meta::IfList;
use sonde_event::net::{SockAddr, SockTuple};
use sonde_event::RawEvent;

use crate::fd::{Fd, FdType, L4Proto, SockAddrs};
use crate::sock::{AF_INET, AF_INET6, AF_UNIX};

use super::State;

const AF_NETLINK: u8 = 16;
const EINPROGRESS: i64 = -115;

impl State {
    /// `socket` exit: a socket of the family, type and protocol asked for.
    pub(super) fn on_socket_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let arg = |i: usize, e: Option<&[u8]>| {
            ev.param_u64(i + 1)
                .or_else(|| e.map(sonde_event::le_uint))
                .unwrap_or(0) as u32
        };
        let domain = arg(0, self.enter_param(tid, enter, 0));
        let ty = arg(1, self.enter_param(tid, enter, 1));
        let proto = arg(2, self.enter_param(tid, enter, 2));
        let mut f = new_socket(domain, ty, proto);
        f.sock_type = ty;
        self.add_fd(tid, fd, f);
    }

    /// `socketpair` exit: two connected unix sockets.
    pub(super) fn on_socketpair_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            let src = ev.param_u64(3).unwrap_or(0);
            let dst = ev.param_u64(4).unwrap_or(0);
            for (i, (a, b)) in [(1, (src, dst)), (2, (dst, src))] {
                let fd = ev.param_i64(i).unwrap_or(-1);
                let mut f = Fd::new(FdType::UnixSock, Vec::new());
                f.addrs = SockAddrs::Unix { source: a, dest: b };
                self.add_fd(tid, fd, f);
            }
        }
    }

    /// `bind` exit: the socket is named after its address.
    pub(super) fn on_bind_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let res = ev.param_i64(0).unwrap_or(-1);
        let fd = self.exit_fd(ev, enter, 2);
        if res >= 0 {
            if let Some(addr) = ev.param(1) {
                self.on_bind(tid, fd, addr);
            }
        }
    }

    /// `connect` exit: the socket is connected and gets its tuple.
    pub(super) fn on_connect_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let res = ev.param_i64(0).unwrap_or(-1);
        let fd = self.exit_fd(ev, enter, 2);
        if res >= 0 || res == EINPROGRESS {
            if let Some(f) = self.fd_mut(tid, fd) {
                f.connected = true;
            }
            if let Some(tuple) = ev.param(1).filter(|t| !t.is_empty()) {
                self.connect_tuple(tid, fd, tuple);
            }
        }
    }

    /// `accept` family exit: a new connected server-side socket.
    pub(super) fn on_accept_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        if fd >= 0 {
            if let Some(f) = ev.param(1).and_then(accepted_socket) {
                self.add_fd(tid, fd, f);
            }
        }
    }

    /// Names a bound socket after its address; a bound port makes it a
    /// server socket.
    fn on_bind(&mut self, tid: i64, fd: i64, addr: &[u8]) {
        let owner = self.fd_owner_tid(tid);
        let Some(f) = self
            .threads
            .get_mut(&owner)
            .and_then(|t| t.fds.get_mut(&fd))
        else {
            return;
        };
        if addr.is_empty() {
            return;
        }
        // as sysdig: a bound port makes a server socket; the socket is
        // named after the address in any case
        match SockAddr::decode(addr) {
            Some(SockAddr::V4 { ip, port }) if port > 0 => {
                f.kind = FdType::Ipv4ServSock;
                f.addrs = SockAddrs::V4Server {
                    ip: Ipv4Addr::from(ip),
                    port,
                };
                f.role_server = true;
            }
            Some(SockAddr::V6 { ip: a, port }) if port > 0 => {
                if is_v4_mapped(&a) {
                    f.kind = FdType::Ipv4ServSock;
                    f.addrs = SockAddrs::V4Server {
                        ip: Ipv4Addr::new(a[12], a[13], a[14], a[15]),
                        port,
                    };
                } else {
                    f.kind = FdType::Ipv6ServSock;
                    f.addrs = SockAddrs::V6Server {
                        ip: Ipv6Addr::from(a),
                        port,
                    };
                }
                f.role_server = true;
            }
            _ => {}
        }
        let old = std::mem::take(&mut f.name);
        crate::sock::render_sockaddr_simple(addr, &mut f.name);
        self.fd_name_changed = old != f.name;
    }

    /// `connect` enter: remembers the destination address.
    pub(super) fn connect_enter(&mut self, tid: i64, fd: i64, addr: &[u8]) {
        if let Some(f) = self.fd_mut(tid, fd) {
            f.set_dest(addr);
        }
    }

    /// `connect` exit: the tuple of a client socket.
    fn connect_tuple(&mut self, tid: i64, fd: i64, tuple: &[u8]) {
        let Some(f) = self.fd_mut(tid, fd) else {
            return;
        };
        let old = name_hash(&f.name);
        match f.apply_inet_tuple(tuple) {
            Some(changed) => {
                if changed && f.role_server && f.kind == FdType::Ipv4Sock && f.l4 == L4Proto::Udp {
                    f.swap_ends();
                }
                f.rename_from_ends();
            }
            None => {
                f.set_unix(tuple);
                f.name.clear();
                crate::sock::render_tuple(tuple, &mut f.name);
            }
        }
        if !f.role_client && !f.role_server {
            f.role_client = true;
        }
        let changed = old != name_hash(&f.name);
        self.fd_name_changed = changed;
    }

    /// A successful send/receive with an address on a socket whose name is
    /// not yet settled (datagram sockets): update the endpoints.
    pub(super) fn rw_tuple(&mut self, tid: i64, fd: i64, tuple: &[u8], incoming: bool) {
        let old = match self.fd(tid, fd) {
            // nothing to update (`rw_tuple_inner` would find the same)
            None => return,
            Some(f) if tuple.is_empty() || keeps_tuple(f) => return,
            Some(f) => name_hash(&f.name),
        };
        let ifaces = std::mem::take(&mut self.ifaces);
        self.rw_tuple_inner(tid, fd, tuple, incoming, &ifaces);
        self.ifaces = ifaces;
        if let Some(f) = self.fd(tid, fd) {
            self.fd_name_changed = old != name_hash(&f.name);
        }
    }

    /// [`State::rw_tuple`] with the interface list at hand.
    fn rw_tuple_inner(&mut self, tid: i64, fd: i64, tuple: &[u8], incoming: bool, ifaces: &IfList) {
        // (`rw_tuple` left out empty tuples and sockets that keep theirs)
        let (Some(f), Some(&family)) = (self.fd_mut(tid, fd), tuple.first()) else {
            return;
        };
        match family {
            AF_INET | AF_INET6 => {
                match f.apply_inet_tuple(tuple) {
                    Some(true) => {}
                    _ => return,
                }
                if matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) && f.l4 == L4Proto::Unknown
                {
                    f.l4 = L4Proto::Udp;
                }
                f.patch_from_ifaces(ifaces);
            }
            AF_UNIX => {
                // sysdig 0.29.3 names a unix socket after the whole tuple
                // (`src->dst path`), as connect and accept do
                f.apply_unix_tuple(tuple);
                f.name.clear();
                crate::sock::render_tuple(tuple, &mut f.name);
                return;
            }
            _ => return,
        }
        if !matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
            return;
        }
        let role_none = !f.role_client && !f.role_server;
        let (dport, sport) = f.role_ports();
        let server = if role_none {
            // the process owns the destination port: it is the server
            let owner = self.fd_owner(tid);
            let bound = owner.is_some_and(|t| {
                t.fds.values().any(|x| match (x.kind, x.addrs) {
                    (FdType::Ipv4Sock, SockAddrs::V4 { dport: p, .. }) => p == dport,
                    (FdType::Ipv4ServSock, SockAddrs::V4Server { port, .. }) => port == dport,
                    _ => false,
                })
            });
            let client_port = owner.is_some_and(|t| {
                t.fds.values().any(|x| match (x.kind, x.addrs) {
                    (FdType::Ipv4Sock, SockAddrs::V4 { sport: p, .. }) => p == sport,
                    _ => false,
                })
            });
            Some(if bound && client_port {
                incoming
            } else {
                bound
            })
        } else {
            None
        };
        let Some(f) = self.fd_mut(tid, fd) else {
            return;
        };
        match server {
            Some(true) => f.role_server = true,
            Some(false) => f.role_client = true,
            None => {}
        }
        if (incoming && f.role_client) || (!incoming && f.role_server) {
            f.swap_ends();
        }
        f.rename_from_ends();
    }
}

/// A new socket, as `socket(domain, type, proto)` creates it.
fn new_socket(domain: u32, ty: u32, proto: u32) -> Fd {
    const SOCK_STREAM: u32 = 1;
    const SOCK_DGRAM: u32 = 2;
    const SOCK_RAW: u32 = 3;
    let kind = match domain as u8 {
        AF_INET => FdType::Ipv4Sock,
        AF_INET6 => FdType::Ipv6Sock,
        AF_UNIX => FdType::UnixSock,
        AF_NETLINK => FdType::Netlink,
        _ => FdType::Unknown,
    };
    let mut f = Fd::new(kind, Vec::new());
    if matches!(kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
        f.l4 = match proto {
            6 if ty == SOCK_RAW => L4Proto::Raw,
            6 => L4Proto::Tcp,
            17 if ty == SOCK_RAW => L4Proto::Raw,
            17 => L4Proto::Udp,
            0 => match ty & 0xff {
                SOCK_STREAM => L4Proto::Tcp,
                SOCK_DGRAM => L4Proto::Udp,
                _ => L4Proto::Unknown,
            },
            1 if ty == SOCK_RAW => L4Proto::Raw,
            1 => L4Proto::Icmp,
            255 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        };
    }
    f
}

/// The fd an `accept` creates from its tuple (None for other families).
fn accepted_socket(t: &[u8]) -> Option<Fd> {
    let mut f = Fd::new(FdType::Unknown, Vec::new());
    match *t.first()? {
        AF_INET | AF_INET6 => {
            f.apply_inet_tuple(t)?;
            if f.kind == FdType::Unknown {
                f.kind = FdType::Ipv6Sock;
            }
            f.l4 = L4Proto::Tcp;
        }
        AF_UNIX => f.apply_unix_tuple(t),
        _ => return None,
    }
    f.name.clear();
    crate::sock::render_tuple(t, &mut f.name);
    f.role_server = true;
    f.connected = true;
    Some(f)
}

/// Decodes a `SOCKTUPLE` parameter into endpoints and the fd name sysdig gives it.
pub fn parse_tuple(t: &[u8]) -> Option<(SockAddrs, Vec<u8>)> {
    match SockTuple::decode(t)? {
        SockTuple::V4 {
            sip,
            sport,
            dip,
            dport,
        } => {
            let (sip, dip) = (Ipv4Addr::from(sip), Ipv4Addr::from(dip));
            let name = format!("{sip}:{sport}->{dip}:{dport}").into_bytes();
            Some((
                SockAddrs::V4 {
                    sip,
                    sport,
                    dip,
                    dport,
                },
                name,
            ))
        }
        SockTuple::V6 {
            sip,
            sport,
            dip,
            dport,
        } => {
            let (sip, dip) = (Ipv6Addr::from(sip), Ipv6Addr::from(dip));
            let name = format!("{}:{sport}->{}:{dport}", fmt_v6(&sip), fmt_v6(&dip)).into_bytes();
            Some((
                SockAddrs::V6 {
                    sip,
                    sport,
                    dip,
                    dport,
                },
                name,
            ))
        }
        SockTuple::Unix { source, dest, path } => {
            Some((SockAddrs::Unix { source, dest }, path.to_vec()))
        }
    }
}

/// Formats an IPv6 address the way sysdig does (glibc `inet_ntop`).
pub fn fmt_v6(a: &Ipv6Addr) -> String {
    crate::sock::ntop6(&a.octets())
}

/// A hash of an fd name, to tell whether an event renamed the fd.
fn name_hash(n: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(n);
    h.write_usize(n.len());
    h.finish()
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
fn is_v4_mapped(a: &[u8; 16]) -> bool {
    a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff
}

/// A named TCP socket keeps its tuple whatever its reads and writes carry.
#[inline]
fn keeps_tuple(f: &Fd) -> bool {
    f.kind == FdType::Ipv4Sock && f.l4 == L4Proto::Tcp && !f.name.is_empty()
}

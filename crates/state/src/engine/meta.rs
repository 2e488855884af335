//! Metadata applied to the tables: capture-file metadata (process, fd,
//! user and interface lists, machine info, as [`MetaRef`]s), threads the
//! resolver finds outside the event stream (/proc), and the fix-ups sysdig
//! makes once its initial tables are loaded.

use std::net::{Ipv4Addr, Ipv6Addr};

use rustc_hash::FxHashMap;
use sonde_event::meta::{AsMeta, FdDetail, FdInfo, MetaRef, ThreadInfo};

use crate::fd::{Fd, FdType, L4Proto, SockAddrs};
use crate::thread::{clone_flags, Thread};

use super::sockets::fmt_v6;
use super::{Resolver, State};

impl State {
    /// Applies a piece of capture metadata (a capture block, a /proc
    /// scan). Events go to [`State::process`].
    pub fn apply_meta(&mut self, m: MetaRef<'_>) {
        self.changes += 1;
        self.touch_threads();
        match m {
            MetaRef::Machine(m) => self.machine = Some(m.clone()),
            MetaRef::Threads(ts) => {
                for t in ts {
                    self.add_thread_info(t);
                }
            }
            MetaRef::Fds { tid, fds } => self.apply_fds(tid, fds),
            MetaRef::Users(ul) => {
                for u in &ul.users {
                    self.users.insert(u.uid, u.clone());
                }
                for g in &ul.groups {
                    self.groups.insert(g.gid, g.clone());
                }
            }
            MetaRef::Ifaces(il) => self.ifaces = il.clone(),
        }
    }

    /// Applies whatever metadata `b` carries (`sonde_scap::Block`
    /// implements [`AsMeta`]); anything else is ignored.
    pub fn apply_block(&mut self, b: &impl AsMeta) {
        if let Some(m) = b.as_meta() {
            self.apply_meta(m);
        }
    }

    /// Adds the fds of process `tid`'s table (a known thread's).
    pub fn apply_fds(&mut self, tid: i64, fds: &[FdInfo]) {
        self.changes += 1;
        if let Some(t) = self.threads.get_mut(&tid) {
            for f in fds {
                let fd = fd_from_scap(f);
                if let SockAddrs::V4Server { port, .. } | SockAddrs::V6Server { port, .. } =
                    fd.addrs
                {
                    if !self.tables_ready {
                        self.server_ports.insert(port);
                    }
                }
                t.fds.insert(f.fd, fd);
            }
        }
    }

    /// Sets how threads unknown to the tables are looked up (live capture
    /// uses /proc, as sysdig does, for processes that started while the
    /// initial scan ran).
    pub fn set_resolver(&mut self, r: Resolver) {
        self.resolver.f = Some(r);
    }

    /// Looks an unknown thread up with the resolver (once per tid).
    pub(super) fn resolve(&mut self, tid: i64) {
        if self.resolver.misses.contains(&tid) {
            return;
        }
        let found = self.resolver.f.as_mut().and_then(|f| f(tid));
        match found {
            Some((threads, fds)) => {
                let pid = threads.first().map(|t| t.pid).unwrap_or(tid);
                for t in &threads {
                    if !self.threads.contains_key(&t.tid) {
                        self.add_thread_info(t);
                    }
                }
                self.apply_fds(pid, &fds);
            }
            None => {
                if self.resolver.misses.len() >= 65_536 {
                    self.resolver.misses.clear();
                }
                self.resolver.misses.insert(tid);
            }
        }
    }

    /// Adds a thread from a process-list record.
    pub fn add_thread_info(&mut self, t: &ThreadInfo) {
        self.changes += 1;
        let th = Thread::from_info(t);
        let tid = th.tid;
        let (pid, thread) = (
            th.pid,
            th.tid != th.pid && th.flags & clone_flags::CLONE_THREAD != 0,
        );
        self.insert_thread(th);
        self.resolve_container(tid);
        // threads added after the initial table count at once (the initial
        // table is counted when the first event arrives)
        if self.tables_ready && thread {
            if let Some(m) = self.threads.get_mut(&pid) {
                m.nchilds += 1;
            }
        }
    }

    /// What sysdig does once its initial tables are loaded: count each
    /// main thread's threads, and orient the IPv4 sockets of the fd
    /// tables (a local port that some server socket listens on makes the
    /// process the server of that connection).
    pub(super) fn tables_loaded(&mut self) {
        self.touch_threads();
        self.tables_ready = true;
        let mut counts: FxHashMap<i64, u32> = FxHashMap::default();
        for t in self.threads.values() {
            if t.tid != t.pid && t.flags & clone_flags::CLONE_THREAD != 0 {
                *counts.entry(t.pid).or_default() += 1;
            }
        }
        for (pid, n) in counts {
            if let Some(m) = self.threads.get_mut(&pid) {
                m.nchilds += n;
            }
        }
        let ports = std::mem::take(&mut self.server_ports);
        for t in self.threads.values_mut() {
            for f in t.fds.values_mut() {
                if f.kind != FdType::Ipv4Sock {
                    continue;
                }
                if let SockAddrs::V4 { sport, .. } = f.addrs {
                    if ports.contains(&sport) {
                        f.swap_ends();
                        f.rename_from_ends();
                        f.role_server = true;
                    } else {
                        f.role_client = true;
                    }
                }
            }
        }
    }
}

/// IPv4-mapped or all-zero IPv6 address (treated as IPv4 by sysdig).
fn is_v4ish(a: &[u8; 16]) -> bool {
    a[..10].iter().all(|&b| b == 0)
        && ((a[10] == 0xff && a[11] == 0xff) || a[10..].iter().all(|&b| b == 0))
}

/// An fd from an fd-list record.
/// `fd` becomes an IPv4 connection from `s` to `d` over `l4proto`, named
/// after its tuple.
fn v4_tuple(fd: &mut Fd, s: (Ipv4Addr, u16), d: (Ipv4Addr, u16), l4proto: u8) {
    let ((sip, sport), (dip, dport)) = (s, d);
    fd.addrs = SockAddrs::V4 {
        sip,
        sport,
        dip,
        dport,
    };
    fd.l4 = L4Proto::from_scap(l4proto);
    fd.name = format!("{sip}:{sport}->{dip}:{dport}").into_bytes();
}

fn fd_from_scap(f: &FdInfo) -> Fd {
    let kind = FdType::from_scap(f.kind);
    let mut fd = Fd::new(kind, Vec::new());
    fd.ino = f.ino;
    match &f.detail {
        FdDetail::Ipv4 {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => {
            let (sip, dip) = (Ipv4Addr::from(*sip), Ipv4Addr::from(*dip));
            v4_tuple(&mut fd, (sip, *sport), (dip, *dport), *l4proto);
        }
        FdDetail::Ipv6 {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => {
            if is_v4ish(sip) && is_v4ish(dip) {
                // IPv4-mapped endpoints: sysdig turns the fd into an IPv4 one
                let (sip, dip) = (
                    Ipv4Addr::new(sip[12], sip[13], sip[14], sip[15]),
                    Ipv4Addr::new(dip[12], dip[13], dip[14], dip[15]),
                );
                fd.kind = FdType::Ipv4Sock;
                v4_tuple(&mut fd, (sip, *sport), (dip, *dport), *l4proto);
                return fd;
            }
            let (sip, dip) = (Ipv6Addr::from(*sip), Ipv6Addr::from(*dip));
            fd.addrs = SockAddrs::V6 {
                sip,
                sport: *sport,
                dip,
                dport: *dport,
            };
            fd.l4 = L4Proto::from_scap(*l4proto);
            fd.name = format!("{}:{sport}->{}:{dport}", fmt_v6(&sip), fmt_v6(&dip)).into_bytes();
        }
        FdDetail::Ipv4Server { ip, port, l4proto } => {
            let ip = Ipv4Addr::from(*ip);
            fd.addrs = SockAddrs::V4Server { ip, port: *port };
            fd.l4 = L4Proto::from_scap(*l4proto);
            fd.name = format!("{ip}:{port}").into_bytes();
        }
        FdDetail::Ipv6Server { ip, port, l4proto } => {
            let ip = Ipv6Addr::from(*ip);
            fd.addrs = SockAddrs::V6Server { ip, port: *port };
            fd.l4 = L4Proto::from_scap(*l4proto);
            fd.name = format!("{}:{port}", fmt_v6(&ip)).into_bytes();
        }
        FdDetail::Unix { source, dest, path } => {
            fd.addrs = SockAddrs::Unix {
                source: *source,
                dest: *dest,
            };
            fd.name = path.clone();
        }
        FdDetail::File {
            open_flags,
            path,
            dev,
        } => {
            fd.flags = *open_flags;
            fd.dev = *dev;
            fd.name = path.clone();
        }
        FdDetail::Named(n) => fd.name = n.clone(),
        FdDetail::None => {}
    }
    fd
}

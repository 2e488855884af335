//! Turning the live tables back into capture-file metadata: what a writer
//! puts at the start of every file so readers begin with the same state.

use rustc_hash::FxHashSet;
use sonde_event::meta::{FdDetail, FdInfo, Metadata, ThreadInfo, UserList};

use crate::engine::State;
use crate::fd::{Fd, FdType, L4Proto, SockAddrs};
use crate::thread::Thread;

/// The threads and fds a set of written events refers to (for
/// `--filter-proclist`: a shared capture carries nothing else of the host).
#[derive(Debug, Default, Clone)]
pub struct Referenced {
    /// Thread ids.
    pub tids: FxHashSet<i64>,
    /// (fd-table owner tid, fd)
    pub fds: FxHashSet<(i64, i64)>,
    /// Short ids of the containers the written events' threads run in.
    pub containers: FxHashSet<Vec<u8>>,
}

impl Referenced {
    /// Records what an event written for thread `tid` refers to: the
    /// thread, its process's main thread and ancestors (so names resolve),
    /// the fd it operated on and the container it runs in.
    pub fn note(&mut self, st: &State, tid: i64) {
        if let Some(t) = st.thread(tid) {
            if !t.container_id.is_empty() && !self.containers.contains(&t.container_id) {
                self.containers.insert(t.container_id.clone());
            }
        }
        let mut cur = tid;
        for _ in 0..64 {
            if !self.tids.insert(cur) {
                break;
            }
            let Some(t) = st.thread(cur) else { break };
            if t.pid != cur {
                cur = t.pid;
                continue;
            }
            if t.ptid <= 0 {
                break;
            }
            cur = t.ptid;
        }
        if let Some(t) = st.thread(tid) {
            if let Some(fd) = t.last_fd {
                let owner = st.fd_owner(tid).map(|o| o.tid).unwrap_or(tid);
                self.fds.insert((owner, fd));
                self.tids.insert(owner);
            }
        }
    }
}

fn scap_kind(k: FdType) -> u8 {
    use FdType::*;
    match k {
        Unknown => 0,
        File => 16,
        Directory => 2,
        Ipv4Sock => 3,
        Ipv6Sock => 4,
        Ipv4ServSock => 5,
        Ipv6ServSock => 6,
        Fifo => 7,
        UnixSock => 8,
        Event => 9,
        Unsupported => 10,
        Signalfd => 11,
        Eventpoll => 12,
        Inotify => 13,
        Timerfd => 14,
        Netlink => 15,
        // Kinds newer than the 2022 format (bpf, userfaultfd, io_uring,
        // memfd, pidfd) are written as "unsupported" with their name, so
        // sysdig 0.29 and Falco read the file; fd.name keeps the detail.
        Bpf | Userfaultfd | Iouring | Memfd | Pidfd => 10,
    }
}

fn l4_code(l: L4Proto) -> u8 {
    match l {
        L4Proto::Unknown => 0,
        L4Proto::Na => 1,
        L4Proto::Tcp => 2,
        L4Proto::Udp => 3,
        L4Proto::Icmp => 4,
        L4Proto::Raw => 5,
    }
}

/// An fd as an fd-list record.
pub fn fd_info(fd: i64, f: &Fd) -> FdInfo {
    let l4proto = l4_code(f.l4);
    let detail = match (f.kind, f.addrs) {
        (FdType::File, _) => FdDetail::File {
            open_flags: f.flags,
            path: f.name.clone(),
            dev: f.dev,
        },
        (
            _,
            SockAddrs::V4 {
                sip,
                sport,
                dip,
                dport,
            },
        ) => FdDetail::Ipv4 {
            sip: sip.octets(),
            dip: dip.octets(),
            sport,
            dport,
            l4proto,
        },
        (
            _,
            SockAddrs::V6 {
                sip,
                sport,
                dip,
                dport,
            },
        ) => FdDetail::Ipv6 {
            sip: sip.octets(),
            dip: dip.octets(),
            sport,
            dport,
            l4proto,
        },
        (_, SockAddrs::V4Server { ip, port }) => FdDetail::Ipv4Server {
            ip: ip.octets(),
            port,
            l4proto,
        },
        (_, SockAddrs::V6Server { ip, port }) => FdDetail::Ipv6Server {
            ip: ip.octets(),
            port,
            l4proto,
        },
        (_, SockAddrs::Unix { source, dest }) => FdDetail::Unix {
            source,
            dest,
            path: f.name.clone(),
        },
        (FdType::Unknown, _) => FdDetail::None,
        _ => FdDetail::Named(f.name.clone()),
    };
    // sockets without endpoints are written as named fds of their kind
    let kind = match (&detail, f.kind) {
        (
            FdDetail::Named(_),
            FdType::Ipv4Sock | FdType::Ipv6Sock | FdType::Ipv4ServSock | FdType::Ipv6ServSock,
        ) => scap_kind(FdType::Unsupported),
        (FdDetail::Named(_), FdType::UnixSock) => scap_kind(FdType::Unsupported),
        _ => scap_kind(f.kind),
    };
    let detail = if kind == scap_kind(FdType::Unsupported) && !matches!(detail, FdDetail::Named(_))
    {
        FdDetail::Named(f.name.clone())
    } else {
        detail
    };
    FdInfo {
        fd,
        ino: f.ino,
        kind,
        detail,
    }
}

/// A thread as a process-list record ([`Thread::to_info`]).
pub fn thread_info(t: &Thread) -> ThreadInfo {
    t.to_info()
}

impl State {
    /// The current tables as capture metadata, optionally restricted to
    /// what `only` lists. Threads come out sorted by tid so files are
    /// reproducible.
    pub fn metadata(&self, only: Option<&Referenced>) -> Metadata {
        let mut tids: Vec<i64> = self
            .threads
            .keys()
            .copied()
            .filter(|t| *t != i64::MIN && only.is_none_or(|r| r.tids.contains(t)))
            .collect();
        tids.sort_unstable();
        let mut threads = Vec::with_capacity(tids.len());
        let mut fds = Vec::new();
        for tid in tids {
            let t = &self.threads[&tid];
            threads.push(thread_info(t));
            if t.fds.is_empty() {
                continue;
            }
            let mut nums: Vec<i64> = t
                .fds
                .keys()
                .copied()
                .filter(|fd| only.is_none_or(|r| r.fds.contains(&(tid, *fd))))
                .collect();
            nums.sort_unstable();
            if !nums.is_empty() {
                fds.push((tid, nums.iter().map(|n| fd_info(*n, &t.fds[n])).collect()));
            }
        }
        let users = match only {
            None => UserList {
                users: sorted(self.users.values().cloned().collect(), |u| u.uid),
                groups: sorted(self.groups.values().cloned().collect(), |g| g.gid),
            },
            Some(_) => {
                // only the users and groups the kept threads run as
                let uids: FxHashSet<u32> = threads.iter().map(|t| t.uid).collect();
                let gids: FxHashSet<u32> = threads.iter().map(|t| t.gid).collect();
                UserList {
                    users: sorted(
                        self.users
                            .values()
                            .filter(|u| uids.contains(&u.uid))
                            .cloned()
                            .collect(),
                        |u| u.uid,
                    ),
                    groups: sorted(
                        self.groups
                            .values()
                            .filter(|g| gids.contains(&g.gid))
                            .cloned()
                            .collect(),
                        |g| g.gid,
                    ),
                }
            }
        };
        Metadata {
            machine: self.machine.clone(),
            ifaces: self.ifaces.clone(),
            users,
            threads,
            fds,
        }
    }
}

fn sorted<T>(mut v: Vec<T>, key: impl Fn(&T) -> u32) -> Vec<T> {
    v.sort_by_key(|x| key(x));
    v
}

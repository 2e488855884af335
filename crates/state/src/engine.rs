//! The state engine: applies capture metadata and events to the tables.

use std::net::{Ipv4Addr, Ipv6Addr};

use rustc_hash::FxHashMap;
use sonde_event::meta::{
    AsMeta, FdDetail, FdInfo, GroupInfo, IfList, MachineInfo, MetaRef, ThreadInfo, UserInfo,
};
use sonde_event::{codes as c, Direction, RawEvent};

use crate::container::{container_id_from_cgroups, parse_container_json, Container};
use crate::fd::{Fd, FdType, L4Proto, SockAddrs};
use crate::path::{concat_path, resolve_path};
use crate::thread::{clone_flags, LastEnter, Thread};

/// Limits that keep the tables bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_threads: usize,
    pub max_fds_per_thread: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_threads: 262_144,
            max_fds_per_thread: 65_536,
        }
    }
}

/// Everything sonde knows about the machine at the current event.
#[derive(Debug, Default)]
pub struct State {
    pub threads: FxHashMap<i64, Thread>,
    pub users: FxHashMap<u32, UserInfo>,
    pub groups: FxHashMap<u32, GroupInfo>,
    pub ifaces: IfList,
    pub machine: Option<MachineInfo>,
    pub limits: Limits,
    /// Events processed so far.
    pub nevents: u64,
    /// Work left for the start of the next event, so that the event that
    /// closes an fd or ends a thread can still be rendered with it.
    pending_close: Vec<(i64, i64)>,
    pending_exit: Option<i64>,
    /// Threads that exited recently, with the time of their exit: a
    /// parent's clone exit can arrive after its child already ran and
    /// exited, and must not bring the child back. Bounded.
    recent_exits: FxHashMap<i64, u64>,
    last_ts: u64,
    /// Containers by short id.
    pub containers: FxHashMap<Vec<u8>, Container>,
    /// The stand-in thread of the `container` event being looked at.
    container_thread: Option<Thread>,
    /// Whether the last processed event is to be hidden from the user.
    suppressed: bool,
    /// A reusable buffer.
    scratch: Vec<u8>,
    /// Threads dropped because the table was full.
    pub dropped_threads: u64,
    /// Looks up threads the tables do not know (live capture: /proc).
    resolver: ResolverSlot,
    /// Whether the fd the current event works on got a new name while the
    /// event was applied (`fd.name_changed`).
    fd_name_changed: bool,
    /// Whether the initial tables were fixed up (once, at the first event).
    tables_ready: bool,
    /// Ports of the server sockets in the initial fd tables.
    server_ports: rustc_hash::FxHashSet<u16>,
}

/// Looks a thread up outside the event stream (e.g. in /proc): the
/// threads of its process and the process's fds.
pub type Resolver = Box<dyn FnMut(i64) -> Option<(Vec<ThreadInfo>, Vec<FdInfo>)> + Send>;

/// A [`Resolver`] and the thread ids it already failed on (bounded).
#[derive(Default)]
struct ResolverSlot {
    f: Option<Resolver>,
    misses: rustc_hash::FxHashSet<i64>,
}

impl std::fmt::Debug for ResolverSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverSlot")
            .field("set", &self.f.is_some())
            .finish()
    }
}

use crate::sock::{AF_INET, AF_INET6, AF_UNIX};
const AF_NETLINK: u8 = 16;
const EINPROGRESS: i64 = -115;
const F_DUPFD: u64 = 1;
const F_DUPFD_CLOEXEC: u64 = 26;

/// How long an exited thread is remembered against late clone exits.
const RECENT_EXIT_WINDOW_NS: u64 = 1_000_000_000;

impl State {
    pub fn new() -> State {
        State::default()
    }

    /// Applies a piece of capture metadata (a capture block, a /proc
    /// scan). Events go to [`State::process`].
    pub fn apply_meta(&mut self, m: MetaRef<'_>) {
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

    fn resolve(&mut self, tid: i64) {
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
        let th = Thread {
            tid: t.tid,
            pid: t.pid,
            ptid: t.ptid,
            sid: t.sid,
            vpgid: t.vpgid,
            comm: t.comm.clone(),
            exe: t.exe.clone(),
            exepath: t.exepath.clone(),
            args: t.args.clone(),
            env: t.env.clone(),
            // only a process's main thread keeps a directory, always
            // ending in '/'
            cwd: if t.tid == t.pid {
                let mut c = crate::path::normalize(&t.cwd);
                if c.last() != Some(&b'/') {
                    c.push(b'/');
                }
                c
            } else {
                Vec::new()
            },
            root: t.root.clone(),
            fdlimit: t.fdlimit,
            flags: t.flags,
            uid: t.uid,
            gid: t.gid,
            loginuid: t.loginuid,
            vtid: t.vtid,
            vpid: t.vpid,
            cgroups: t.cgroups.clone(),
            vmsize_kb: t.vmsize_kb,
            vmrss_kb: t.vmrss_kb,
            vmswap_kb: t.vmswap_kb,
            pfmajor: t.pfmajor,
            pfminor: t.pfminor,
            tty: t.tty,
            pgid: t.pgid,
            exe_writable: t.exe_writable,
            exe_upper_layer: t.exe_upper_layer,
            exe_lower_layer: t.exe_lower_layer,
            exe_from_memfd: t.exe_from_memfd,
            cap_inheritable: t.cap_inheritable,
            cap_permitted: t.cap_permitted,
            cap_effective: t.cap_effective,
            exe_ino: t.exe_ino,
            exe_ino_ctime: t.exe_ino_ctime,
            exe_ino_mtime: t.exe_ino_mtime,
            pidns_init_start_ts: t.pidns_init_start_ts,
            ..Thread::new(t.tid)
        };
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

    /// Whether the fd of the event last processed changed its name while
    /// the event was applied (a new named fd, a socket that got its tuple).
    pub fn fd_name_changed(&self) -> bool {
        self.fd_name_changed
    }

    /// What sysdig does once its initial tables are loaded: count each
    /// main thread's threads, and orient the IPv4 sockets of the fd
    /// tables (a local port that some server socket listens on makes the
    /// process the server of that connection).
    fn tables_loaded(&mut self) {
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

    fn insert_thread(&mut self, th: Thread) {
        if self.threads.len() >= self.limits.max_threads && !self.threads.contains_key(&th.tid) {
            self.dropped_threads += 1;
            return;
        }
        self.threads.insert(th.tid, th);
    }

    /// The thread with id `tid`.
    #[inline]
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// The thread whose table holds `tid`'s file descriptors.
    #[inline]
    pub fn fd_owner(&self, tid: i64) -> Option<&Thread> {
        Some(self.owner_of(self.threads.get(&tid)?))
    }

    /// The thread whose table holds the file descriptors of `t`: its
    /// process's main thread when it shares that table, else itself.
    #[inline]
    fn owner_of<'s>(&'s self, t: &'s Thread) -> &'s Thread {
        if t.shares_fds() {
            self.threads.get(&t.pid).unwrap_or(t)
        } else {
            t
        }
    }

    /// File descriptor `fd` in the table of `t`, a thread of this state:
    /// [`State::fd`] for a thread already at hand.
    #[inline]
    pub fn fd_of<'s>(&'s self, t: &'s Thread, fd: i64) -> Option<&'s Fd> {
        self.owner_of(t).fds.get(&fd)
    }

    fn fd_owner_tid(&self, tid: i64) -> i64 {
        self.fd_owner(tid).map(|t| t.tid).unwrap_or(tid)
    }

    /// File descriptor `fd` of thread `tid`.
    #[inline]
    pub fn fd(&self, tid: i64, fd: i64) -> Option<&Fd> {
        self.fd_owner(tid)?.fds.get(&fd)
    }

    /// The working directory of `tid` (shared by its process).
    pub fn cwd(&self, tid: i64) -> &[u8] {
        match self.threads.get(&tid) {
            // the process's (main thread's) directory, as sysdig has it
            Some(t) => match self.threads.get(&t.pid) {
                Some(m) => &m.cwd,
                None => &t.cwd,
            },
            None => b"",
        }
    }

    /// Finishes work deferred by the previous event.
    fn flush_pending(&mut self) {
        if !self.pending_close.is_empty() {
            for (owner, fd) in self.pending_close.drain(..) {
                if let Some(t) = self.threads.get_mut(&owner) {
                    t.fds.remove(&fd);
                }
            }
        }
        if let Some(tid) = self.pending_exit.take() {
            if let Some(t) = self.threads.remove(&tid) {
                if t.tid != t.pid && t.flags & clone_flags::CLONE_THREAD != 0 {
                    if let Some(m) = self.threads.get_mut(&t.pid) {
                        m.nchilds = m.nchilds.saturating_sub(1);
                    }
                }
            }
            if self.recent_exits.len() >= 4096 {
                // forget exits older than the window
                let now = self.last_ts;
                self.recent_exits
                    .retain(|_, ts| now.saturating_sub(*ts) < RECENT_EXIT_WINDOW_NS);
                if self.recent_exits.len() >= 4096 {
                    self.recent_exits.clear();
                }
            }
            self.recent_exits.insert(tid, self.last_ts);
        }
    }

    /// The thread an event is attributed to: its own thread, or for a
    /// container event, a stand-in named `container:<id>`.
    #[inline]
    pub fn event_thread(&self, ev: &RawEvent<'_>) -> Option<&Thread> {
        if matches!(ev.code, c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E) {
            return self.container_thread.as_ref();
        }
        self.threads.get(&ev.tid)
    }

    /// Whether the event last given to [`State::process`] must not be
    /// shown (a container event whose metadata lookup failed).
    pub fn suppressed(&self) -> bool {
        self.suppressed
    }

    /// Updates the tables with one event.
    pub fn process(&mut self, ev: &RawEvent<'_>) {
        if !self.tables_ready {
            self.tables_loaded();
        }
        self.flush_pending();
        self.fd_name_changed = false;
        self.last_ts = ev.ts;
        self.nevents += 1;
        self.container_thread = None;
        self.suppressed = false;
        let Some(info) = ev.info() else { return };
        match ev.code {
            c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E => {
                self.on_container_json(ev);
                return;
            }
            c::CONTAINER_E => {
                let id = ev.param_str(0).unwrap_or_default().to_vec();
                let cont = Container {
                    name: ev.param_str(2).unwrap_or_default().to_vec(),
                    image: ev.param_str(3).unwrap_or_default().to_vec(),
                    successful: true,
                    id: id.clone(),
                    labels: Vec::new(),
                    meta: Some(Box::new(crate::container::ContainerMeta {
                        kind: ev.param_u64(1).map(|t| t as u32),
                        ..Default::default()
                    })),
                };
                self.containers.insert(id, cont);
                return;
            }
            _ => {}
        }
        if ev.tid < 0 {
            return;
        }
        // (a clone exit creates its thread itself; no lookup needed)
        if self.resolver.f.is_some()
            && !self.threads.contains_key(&ev.tid)
            && !is_clone_exit(ev.code)
        {
            self.resolve(ev.tid);
        }
        // the most frequent events (reads and writes) in one thread lookup
        if is_plain_rw_exit(ev.code)
            && info.old_flags & sonde_event::flags::SKIPPARSERESET == 0
            && info.dir == Direction::Exit
            && self.threads.len() < self.limits.max_threads
        {
            self.on_plain_rw_exit(ev, info);
            return;
        }
        // like sysdig, meet every thread (except where it only looks
        // threads up) and keep its syscall latency
        if info.old_flags & sonde_event::flags::SKIPPARSERESET == 0 && ev.code != c::SCHEDSWITCH_6_E
        {
            // clone exits only look the thread up
            let t = if is_clone_exit(ev.code) {
                self.threads.get_mut(&ev.tid)
            } else {
                Some(self.thread_mut(ev.tid))
            };
            if let Some(t) = t {
                if info.dir == Direction::Enter {
                    t.latency = 0;
                    t.latency_enter_ts = ev.ts;
                } else {
                    keep_exit_latency(t, ev);
                }
            }
        }
        if ev.code == c::SCHEDSWITCH_6_E {
            self.on_switch(ev);
            return;
        }
        if info.dir == Direction::Enter {
            self.on_enter(ev);
            return;
        }
        self.on_exit(ev);
    }

    /// What [`State::process`] does for a read or write exit without an
    /// address (see [`is_plain_rw_exit`]): meet the thread, keep its
    /// latency, then [`State::on_exit`]'s work, with the thread looked up
    /// once (and its fd table too, unless it shares its process's).
    fn on_plain_rw_exit(&mut self, ev: &RawEvent<'_>, info: &sonde_event::EventInfo) {
        let tid = ev.tid;
        let t = self.threads.entry(tid).or_insert_with(|| Thread::fake(tid));
        keep_exit_latency(t, ev);
        if info.flags & sonde_event::flags::USES_FD != 0 {
            let from_exit = info.fd_param.and_then(|i| ev.param_i64(i as usize));
            t.last_fd = from_exit.or_else(|| {
                let le = &t.last_enter;
                if le.valid && le.code == c_enter(ev.code) {
                    le.param(0).map(sonde_event::le_int)
                } else {
                    None
                }
            });
        }
        t.last_enter.valid = false;
        if ev.param_i64(0).unwrap_or(-1) < 0 {
            return;
        }
        // successful I/O on an IP socket: it is connected
        let Some(fd) = t.last_fd else { return };
        let f = if t.shares_fds() {
            self.fd_mut(tid, fd)
        } else {
            t.fds.get_mut(&fd)
        };
        if let Some(f) = f {
            if matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
                f.connected = true;
            }
        }
    }

    /// A switch event carries the page faults of the thread switched out
    /// and the memory of its process.
    fn on_switch(&mut self, ev: &RawEvent<'_>) {
        let Some(t) = self.threads.get_mut(&ev.tid) else {
            return;
        };
        t.pfmajor = ev.param_u64(1).unwrap_or(t.pfmajor);
        t.pfminor = ev.param_u64(2).unwrap_or(t.pfminor);
        let pid = t.pid;
        if let Some(m) = self.threads.get_mut(&pid) {
            if let (Some(size), Some(rss), Some(swap)) =
                (ev.param_u64(3), ev.param_u64(4), ev.param_u64(5))
            {
                m.vmsize_kb = size as u32;
                m.vmrss_kb = rss as u32;
                m.vmswap_kb = swap as u32;
            }
        }
    }

    /// A `container` event: records the container and sets up the
    /// stand-in thread the event is shown with.
    fn on_container_json(&mut self, ev: &RawEvent<'_>) {
        let Some(cont) = ev
            .param(0)
            .and_then(|j| parse_container_json(sonde_event::cstr(j)))
        else {
            return;
        };
        self.suppressed = !cont.successful;
        let mut comm = b"container:".to_vec();
        comm.extend_from_slice(&cont.id);
        self.container_thread = Some(Thread {
            comm,
            pid: -1,
            vtid: -2,
            vpid: -2,
            ptid: 0,
            loginuid: 0,
            container_id: cont.id.clone(),
            ..Thread::new(-1)
        });
        self.containers.insert(cont.id.clone(), cont);
    }

    /// Attributes a thread to a container from its cgroups.
    fn resolve_container(&mut self, tid: i64) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        t.container_id.clear();
        if let Some(id) = container_id_from_cgroups(&t.cgroups) {
            t.container_id.extend_from_slice(id);
            if !self.containers.contains_key(id) {
                let c = Container {
                    id: id.to_vec(),
                    successful: true,
                    ..Default::default()
                };
                self.containers.insert(id.to_vec(), c);
            }
        }
    }

    fn thread_mut(&mut self, tid: i64) -> &mut Thread {
        if self.threads.len() < self.limits.max_threads {
            // one lookup, whether the thread is known or not
            return self.threads.entry(tid).or_insert_with(|| Thread::fake(tid));
        }
        // The table may be full: fall back to a scratch entry that is
        // overwritten each time.
        if !self.threads.contains_key(&tid) {
            self.dropped_threads += 1;
            self.threads.remove(&i64::MIN);
            self.threads.insert(i64::MIN, Thread::fake(tid));
            return self.threads.get_mut(&i64::MIN).expect("scratch thread");
        }
        self.threads.get_mut(&tid).expect("thread present")
    }

    fn on_enter(&mut self, ev: &RawEvent<'_>) {
        let code = ev.code;
        // threads are only met by events that look them up (see process);
        // the others (scheduler, procinfo) leave the thread's state alone
        if ev
            .info()
            .is_some_and(|i| i.old_flags & sonde_event::flags::SKIPPARSERESET != 0)
            || code == c::SCHEDSWITCH_6_E
        {
            return;
        }
        let Some(t) = self.threads.get_mut(&ev.tid) else {
            return;
        };
        let le: &mut LastEnter = &mut t.last_enter;
        le.code = code;
        le.ts = ev.ts;
        le.valid = true;
        le.lens.clear();
        le.data.clear();
        for i in 0..ev.nparams() {
            let p = ev.param(i).unwrap_or(&[]);
            le.lens.push(p.len() as u32);
            le.data.extend_from_slice(p);
        }
        t.last_fd = None;
        if let Some(info) = ev.info() {
            if info.flags & sonde_event::flags::USES_FD != 0 {
                if let Some(i) = info.fd_param {
                    t.last_fd = ev.param_i64(i as usize);
                }
            }
        }
        match code {
            c::PROCEXIT_E | c::PROCEXIT_1_E => {
                self.pending_exit = Some(ev.tid);
            }
            c::SOCKET_CONNECT_E => {
                if let (Some(fd), Some(addr)) = (ev.param_i64(0), ev.param(1)) {
                    if !addr.is_empty() {
                        self.connect_enter(ev.tid, fd, addr);
                    }
                }
            }
            _ => {}
        }
    }

    /// Parameter `name` of the enter event saved for `tid`, when that
    /// enter event is `enter_code`.
    fn enter_param(&self, tid: i64, enter_code: u16, idx: usize) -> Option<&[u8]> {
        let t = self.threads.get(&tid)?;
        if t.last_enter.valid && t.last_enter.code == enter_code {
            t.last_enter.param(idx)
        } else {
            None
        }
    }

    fn enter_i64(&self, tid: i64, enter_code: u16, idx: usize) -> Option<i64> {
        self.enter_param(tid, enter_code, idx)
            .map(sonde_event::le_int)
    }

    fn add_fd(&mut self, tid: i64, fd: i64, f: Fd) {
        if fd < 0 {
            return;
        }
        // a new fd counts as renamed when it has a name (sysdig compares
        // with the empty name a fresh fd starts with)
        self.fd_name_changed = !f.name.is_empty();
        let owner = self.fd_owner_tid(tid);
        let max = self.limits.max_fds_per_thread;
        let t = self.thread_mut(owner);
        if t.fds.len() >= max && !t.fds.contains_key(&fd) {
            return;
        }
        t.fds.insert(fd, f);
        // the fd a creating syscall returns is the one it operates on
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_fd = Some(fd);
        }
    }

    // One arm per syscall family; guards inside the arms read as the
    // syscall's success condition, so the lint's suggested form is not clearer.
    #[allow(clippy::collapsible_match)]
    fn on_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let enter = c_enter(ev.code);
        // exit-side fd, for fields like fd.name on exit events
        if let Some(info) = ev.info() {
            if info.flags & sonde_event::flags::USES_FD != 0 {
                let from_exit = info.fd_param.and_then(|i| ev.param_i64(i as usize));
                let fd = from_exit.or_else(|| self.enter_i64(tid, enter, 0));
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.last_fd = fd;
                } else if fd.is_some() {
                    self.thread_mut(tid).last_fd = fd;
                }
            }
        }
        if is_rw_exit(ev.code) && ev.param_i64(0).unwrap_or(-1) >= 0 {
            // successful I/O on an IP socket: it is connected
            if let Some(fd) = self.threads.get(&tid).and_then(|t| t.last_fd) {
                if let Some(f) = self.fd_mut(tid, fd) {
                    if matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
                        f.connected = true;
                    }
                }
            }
        }
        match ev.code {
            c::SYSCALL_OPEN_X | c::SYSCALL_CREAT_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                let name = ev.param_str(1).map(|s| s.to_vec()).or_else(|| {
                    self.enter_param(tid, enter, 0)
                        .map(|s| sonde_event::cstr(s).to_vec())
                });
                let flags = if ev.code == c::SYSCALL_OPEN_X {
                    ev.param_u64(2)
                        .or_else(|| self.enter_param(tid, enter, 1).map(sonde_event::le_uint))
                        .unwrap_or(0) as u32
                } else {
                    PPM_O_CREAT | PPM_O_WRONLY | PPM_O_TRUNC
                };
                if fd >= 0 {
                    let raw = name.unwrap_or_default();
                    let path = resolve_path(self.cwd(tid), &raw);
                    let mut f = Fd::new(
                        if flags & PPM_O_DIRECTORY != 0 {
                            FdType::Directory
                        } else {
                            FdType::File
                        },
                        path,
                    );
                    f.flags = flags;
                    f.dev = ev.param_u64(4).unwrap_or(0) as u32;
                    f.ino = ev.param_u64(5).unwrap_or(0);
                    f.set_raw_name(&raw);
                    self.add_fd(tid, fd, f);
                }
            }
            c::SYSCALL_OPENAT_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                let dirfd = self.enter_i64(tid, enter, 0).unwrap_or(PPM_AT_FDCWD);
                let name = self
                    .enter_param(tid, enter, 1)
                    .map(|s| sonde_event::cstr(s).to_vec())
                    .unwrap_or_default();
                let flags = self
                    .enter_param(tid, enter, 2)
                    .map(sonde_event::le_uint)
                    .unwrap_or(0) as u32;
                self.open_at(tid, fd, dirfd, &name, flags, 0, 0);
            }
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                let dirfd = ev.param_i64(1).unwrap_or(PPM_AT_FDCWD);
                let name = ev.param_str(2).unwrap_or_default().to_vec();
                let flags = ev.param_u64(3).unwrap_or(0) as u32;
                let (dev_i, ino_i) = if ev.code == c::SYSCALL_OPENAT2_X {
                    (6, 7)
                } else {
                    (5, 6)
                };
                let dev = ev.param_u64(dev_i).unwrap_or(0) as u32;
                let ino = ev.param_u64(ino_i).unwrap_or(0);
                self.open_at(tid, fd, dirfd, &name, flags, dev, ino);
            }
            c::SYSCALL_OPEN_BY_HANDLE_AT_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                let flags = ev.param_u64(2).unwrap_or(0) as u32;
                let path = ev.param_str(3).unwrap_or_default().to_vec();
                let mut f = Fd::new(FdType::File, path);
                f.flags = flags;
                self.add_fd(tid, fd, f);
            }
            c::SOCKET_SOCKET_X => {
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
            c::SOCKET_SOCKETPAIR_X => {
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
            c::SOCKET_BIND_X => {
                let res = ev.param_i64(0).unwrap_or(-1);
                let fd = ev
                    .param_i64(2)
                    .or_else(|| self.enter_i64(tid, enter, 0))
                    .unwrap_or(-1);
                if res >= 0 {
                    if let Some(addr) = ev.param(1) {
                        self.on_bind(tid, fd, addr);
                    }
                }
            }
            c::SOCKET_CONNECT_X => {
                let res = ev.param_i64(0).unwrap_or(-1);
                let fd = ev
                    .param_i64(2)
                    .or_else(|| self.enter_i64(tid, enter, 0))
                    .unwrap_or(-1);
                if res >= 0 || res == EINPROGRESS {
                    if let Some(f) = self.fd_mut(tid, fd) {
                        f.connected = true;
                    }
                    if let Some(tuple) = ev.param(1).filter(|t| !t.is_empty()) {
                        self.connect_tuple(tid, fd, tuple);
                    }
                }
            }
            c::SOCKET_SENDTO_X
            | c::SOCKET_SENDMSG_X
            | c::SOCKET_RECVFROM_X
            | c::SOCKET_RECVMSG_X
                if exit_param(ev, "fd").is_some() && exit_param(ev, "tuple").is_some() =>
            {
                // current libs (live capture): the exit carries fd and tuple
                let incoming = matches!(ev.code, c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X);
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    if let (Some(fd), Some(tuple)) = (
                        exit_param(ev, "fd").map(sonde_event::le_int),
                        exit_param(ev, "tuple").filter(|t| !t.is_empty()),
                    ) {
                        self.rw_tuple(tid, fd, tuple, incoming);
                    }
                }
            }
            c::SOCKET_SENDTO_X | c::SOCKET_SENDMSG_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    if let Some(fd) = self.threads.get(&tid).and_then(|t| t.last_fd) {
                        // the tuple is in the enter event: copy it out of
                        // the thread (into a reused buffer) to update the fd
                        let mut tuple = std::mem::take(&mut self.scratch);
                        tuple.clear();
                        if let Some(t) = self.enter_param(tid, enter, 2) {
                            tuple.extend_from_slice(t);
                            self.rw_tuple(tid, fd, &tuple, false);
                        }
                        self.scratch = tuple;
                    }
                }
            }
            c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    let idx = if ev.code == c::SOCKET_RECVFROM_X {
                        2
                    } else {
                        3
                    };
                    if let (Some(fd), Some(tuple)) = (
                        self.threads.get(&tid).and_then(|t| t.last_fd),
                        ev.param(idx),
                    ) {
                        self.rw_tuple(tid, fd, tuple, true);
                    }
                }
            }
            c::SOCKET_ACCEPT_X
            | c::SOCKET_ACCEPT_5_X
            | c::SOCKET_ACCEPT4_X
            | c::SOCKET_ACCEPT4_5_X
            | c::SOCKET_ACCEPT4_6_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                if fd >= 0 {
                    if let Some(f) = ev.param(1).and_then(accepted_socket) {
                        self.add_fd(tid, fd, f);
                    }
                }
            }
            c::SYSCALL_PIPE_X | c::SYSCALL_PIPE2_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    let ino = ev.param_u64(3).unwrap_or(0);
                    for i in [1, 2] {
                        let fd = ev.param_i64(i).unwrap_or(-1);
                        let mut f = Fd::new(FdType::Fifo, Vec::new());
                        f.ino = ino;
                        self.add_fd(tid, fd, f);
                    }
                }
            }
            c::SYSCALL_EVENTFD_X | c::SYSCALL_EVENTFD2_X => self.simple_fd(tid, ev, FdType::Event),
            c::SYSCALL_SIGNALFD_X | c::SYSCALL_SIGNALFD4_X => {
                self.simple_fd(tid, ev, FdType::Signalfd)
            }
            c::SYSCALL_TIMERFD_CREATE_X => self.simple_fd(tid, ev, FdType::Timerfd),
            c::SYSCALL_INOTIFY_INIT_X | c::SYSCALL_INOTIFY_INIT1_X => {
                self.simple_fd(tid, ev, FdType::Inotify)
            }
            c::SYSCALL_EPOLL_CREATE_X | c::SYSCALL_EPOLL_CREATE1_X => {
                self.simple_fd(tid, ev, FdType::Eventpoll)
            }
            c::SYSCALL_USERFAULTFD_X => self.simple_fd(tid, ev, FdType::Userfaultfd),
            c::SYSCALL_IO_URING_SETUP_X => self.simple_fd(tid, ev, FdType::Iouring),
            c::SYSCALL_BPF_2_X => self.simple_fd(tid, ev, FdType::Bpf),
            c::SYSCALL_PIDFD_OPEN_X => self.simple_fd(tid, ev, FdType::Pidfd),
            c::SYSCALL_MEMFD_CREATE_X => {
                let fd = ev.param_i64(0).unwrap_or(-1);
                let mut name = b"memfd:".to_vec();
                name.extend_from_slice(ev.param_str(1).unwrap_or_default());
                self.add_fd(tid, fd, Fd::new(FdType::Memfd, name));
            }
            c::SYSCALL_DUP_X | c::SYSCALL_DUP_1_X | c::SYSCALL_DUP2_X | c::SYSCALL_DUP3_X => {
                let newfd = ev.param_i64(0).unwrap_or(-1);
                let oldfd = ev
                    .param_i64(1)
                    .or_else(|| self.enter_i64(tid, enter, 0))
                    .unwrap_or(-1);
                if newfd >= 0 && newfd != oldfd {
                    if let Some(f) = self.fd(tid, oldfd).cloned() {
                        self.add_fd(tid, newfd, f);
                        // a copy keeps the name it had
                        self.fd_name_changed = false;
                    }
                }
            }
            c::SYSCALL_FCNTL_X => {
                let res = ev.param_i64(0).unwrap_or(-1);
                let cmd = ev
                    .param_u64(2)
                    .or_else(|| self.enter_param(tid, enter, 1).map(sonde_event::le_uint));
                let fd = ev
                    .param_i64(1)
                    .or_else(|| self.enter_i64(tid, enter, 0))
                    .unwrap_or(-1);
                if res >= 0 && matches!(cmd, Some(F_DUPFD) | Some(F_DUPFD_CLOEXEC)) {
                    if let Some(f) = self.fd(tid, fd).cloned() {
                        self.add_fd(tid, res, f);
                        self.fd_name_changed = false;
                    }
                }
            }
            c::SYSCALL_CLOSE_X => {
                let res = ev.param_i64(0).unwrap_or(-1);
                let fd = ev
                    .param_i64(1)
                    .or_else(|| self.enter_i64(tid, enter, 0))
                    .unwrap_or(-1);
                if res >= 0 && fd >= 0 {
                    let owner = self.fd_owner_tid(tid);
                    self.pending_close.push((owner, fd));
                }
            }
            c::SYSCALL_CLOSE_RANGE_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    let first = ev.param_u64(1).unwrap_or(0) as i64;
                    let last = ev.param_u64(2).unwrap_or(0) as i64;
                    let owner = self.fd_owner_tid(tid);
                    if let Some(t) = self.threads.get(&owner) {
                        let gone: Vec<i64> = t
                            .fds
                            .keys()
                            .copied()
                            .filter(|f| *f >= first && *f <= last)
                            .collect();
                        self.pending_close
                            .extend(gone.into_iter().map(|f| (owner, f)));
                    }
                }
            }
            c::SYSCALL_CHDIR_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    if let Some(p) = ev.param_str(1) {
                        let new = resolve_path(self.cwd(tid), p);
                        self.set_cwd(tid, new);
                    }
                }
            }
            c::SYSCALL_FCHDIR_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    let fd = ev
                        .param_i64(1)
                        .or_else(|| self.enter_i64(tid, enter, 0))
                        .unwrap_or(-1);
                    if let Some(f) = self.fd(tid, fd) {
                        let new = f.name.clone();
                        self.set_cwd(tid, new);
                    }
                }
            }
            c::SYSCALL_BRK_4_X | c::SYSCALL_MMAP_X | c::SYSCALL_MMAP2_X | c::SYSCALL_MUNMAP_X => {
                // the memory of the thread's process after the call
                if let Some(t) = self.threads.get_mut(&tid) {
                    if let (Some(size), Some(rss), Some(swap)) =
                        (ev.param_u64(1), ev.param_u64(2), ev.param_u64(3))
                    {
                        t.vmsize_kb = size as u32;
                        t.vmrss_kb = rss as u32;
                        t.vmswap_kb = swap as u32;
                    }
                }
            }
            c::SYSCALL_CAPSET_X => {
                if ev.param_i64(0).unwrap_or(-1) >= 0 {
                    if let Some(t) = self.threads.get_mut(&tid) {
                        t.cap_inheritable = ev.param_u64(1).unwrap_or(0);
                        t.cap_permitted = ev.param_u64(2).unwrap_or(0);
                        t.cap_effective = ev.param_u64(3).unwrap_or(0);
                    }
                }
            }
            code if is_clone_exit(code) => self.on_clone_exit(ev),
            code if is_execve_exit(code) => self.on_execve_exit(ev),
            _ => {}
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_enter.valid = false;
        }
    }

    fn set_cwd(&mut self, tid: i64, mut cwd: Vec<u8>) {
        if !cwd.ends_with(b"/") {
            cwd.push(b'/');
        }
        let pid = self.threads.get(&tid).map(|t| t.pid).unwrap_or(tid);
        let target = if self.threads.contains_key(&pid) {
            pid
        } else {
            tid
        };
        self.thread_mut(target).cwd = cwd;
    }

    fn simple_fd(&mut self, tid: i64, ev: &RawEvent<'_>, kind: FdType) {
        let fd = ev.param_i64(0).unwrap_or(-1);
        self.add_fd(tid, fd, Fd::new(kind, Vec::new()));
    }

    #[allow(clippy::too_many_arguments)]
    fn open_at(
        &mut self,
        tid: i64,
        fd: i64,
        dirfd: i64,
        name: &[u8],
        flags: u32,
        dev: u32,
        ino: u64,
    ) {
        if fd < 0 {
            return;
        }
        let base: Vec<u8> = if name.first() == Some(&b'/') {
            Vec::new()
        } else if dirfd == PPM_AT_FDCWD {
            self.cwd(tid).to_vec()
        } else {
            // sysdig names the directory of an unknown dirfd "<UNKNOWN>"
            self.fd(tid, dirfd)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| b"<UNKNOWN>".to_vec())
        };
        let path = if base.is_empty() {
            resolve_path(b"", name)
        } else if base == b"<UNKNOWN>" {
            // sysdig glues the name on without a separator
            [&base[..], name].concat()
        } else {
            concat_path(&base, name)
        };
        let mut f = Fd::new(
            if flags & PPM_O_DIRECTORY != 0 {
                FdType::Directory
            } else {
                FdType::File
            },
            path,
        );
        f.flags = flags;
        f.dev = dev;
        f.ino = ino;
        f.set_raw_name(name);
        self.add_fd(tid, fd, f);
    }

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
        match addr[0] {
            AF_INET if addr.len() >= 7 => {
                let ip = Ipv4Addr::new(addr[1], addr[2], addr[3], addr[4]);
                let port = u16::from_le_bytes([addr[5], addr[6]]);
                if port > 0 {
                    f.kind = FdType::Ipv4ServSock;
                    f.addrs = SockAddrs::V4Server { ip, port };
                    f.role_server = true;
                }
            }
            AF_INET6 if addr.len() >= 19 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&addr[1..17]);
                let port = u16::from_le_bytes([addr[17], addr[18]]);
                if port > 0 {
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
            }
            _ => {}
        }
        let old = std::mem::take(&mut f.name);
        crate::sock::render_sockaddr_simple(addr, &mut f.name);
        self.fd_name_changed = old != f.name;
    }

    /// The fd `fd` of `tid`'s table, for changing it.
    fn fd_mut(&mut self, tid: i64, fd: i64) -> Option<&mut Fd> {
        let owner = self.fd_owner_tid(tid);
        self.threads.get_mut(&owner)?.fds.get_mut(&fd)
    }

    /// `connect` enter: remembers the destination address.
    fn connect_enter(&mut self, tid: i64, fd: i64, addr: &[u8]) {
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
    fn rw_tuple(&mut self, tid: i64, fd: i64, tuple: &[u8], incoming: bool) {
        let ifaces = std::mem::take(&mut self.ifaces);
        let old = self.fd(tid, fd).map(|f| name_hash(&f.name));
        self.rw_tuple_inner(tid, fd, tuple, incoming, &ifaces);
        self.ifaces = ifaces;
        if let (Some(old), Some(f)) = (old, self.fd(tid, fd)) {
            self.fd_name_changed = old != name_hash(&f.name);
        }
    }

    fn rw_tuple_inner(&mut self, tid: i64, fd: i64, tuple: &[u8], incoming: bool, ifaces: &IfList) {
        let Some(f) = self.fd_mut(tid, fd) else {
            return;
        };
        let tcp = f.kind == FdType::Ipv4Sock && f.l4 == L4Proto::Tcp;
        // a named TCP socket keeps its tuple
        if tuple.is_empty() || (tcp && !f.name.is_empty()) {
            return;
        }
        match tuple[0] {
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
                f.apply_unix_tuple(tuple);
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

    fn on_clone_exit(&mut self, ev: &RawEvent<'_>) {
        let info = match ev.info() {
            Some(i) => i,
            None => return,
        };
        let idx = |name: &str| info.params.iter().position(|p| p.name == name);
        let res = ev.param_i64(0).unwrap_or(-1);
        if res < 0 {
            return;
        }
        let get_i = |n: &str| idx(n).and_then(|i| ev.param_i64(i));
        let get_s = |n: &str| idx(n).and_then(|i| ev.param_str(i)).map(|s| s.to_vec());
        let get_b = |n: &str| idx(n).and_then(|i| ev.param(i)).map(|s| s.to_vec());
        let flags = get_i("flags").unwrap_or(0) as u32;
        let ev_vtid = get_i("vtid").unwrap_or(ev.tid);
        let in_container = flags & clone_flags::CHILD_IN_PIDNS != 0 || ev_vtid != ev.tid;
        let (child_tid, parent_tid) = if res == 0 {
            // in the child: a thread's parent is its process, a process's
            // parent is the ptid
            let p = if flags & clone_flags::CLONE_THREAD != 0 {
                get_i("pid")
            } else {
                get_i("ptid")
            };
            (ev.tid, p.unwrap_or(-1))
        } else {
            (res, ev.tid)
        };
        if res == 0 {
            // the parent's event created the child already (unless that
            // entry is a stale one left by a reused tid)
            const CLONE_STALE_TIME_NS: u64 = 2_000_000_000;
            let stale = self.threads.get(&child_tid).is_some_and(|t| {
                t.clone_ts != 0 && ev.ts.wrapping_sub(t.clone_ts) > CLONE_STALE_TIME_NS
            });
            if stale {
                self.threads.remove(&child_tid);
            } else if let Some(t) = self.threads.get_mut(&child_tid) {
                // in a pid namespace only the child knows its own ids
                if in_container {
                    t.vtid = ev_vtid;
                    t.vpid = get_i("vpid").unwrap_or(-1);
                }
                return;
            }
        } else if in_container {
            // the parent sees the namespaced child id: wait for the child
            return;
        }
        if res > 0 && self.threads.contains_key(&child_tid) {
            return; // the child's own exit event came first
        }
        // The child may already have run and exited before its parent's
        // clone returned. sysdig creates it again from the parent's event
        // (this event shows the child's name); so does sonde, but only for
        // this event: it is reaped again before the next one, so the table
        // keeps no thread that will never exit.
        let exited_child = res > 0
            && self
                .recent_exits
                .get(&child_tid)
                .is_some_and(|t| ev.ts.saturating_sub(*t) < RECENT_EXIT_WINDOW_NS);
        if res == 0 {
            self.recent_exits.remove(&child_tid);
        }
        let parent = self.threads.get(&parent_tid).cloned();
        let mut t = match self.threads.get(&child_tid) {
            Some(existing) if res == 0 => existing.clone(),
            _ => Thread::new(child_tid),
        };
        t.tid = child_tid;
        t.flags = flags;
        // the parent is the thread that called clone (also for threads)
        t.ptid = parent_tid;
        if res == 0 {
            t.pid = get_i("pid").unwrap_or(child_tid);
        } else if flags & clone_flags::CLONE_THREAD != 0 {
            t.pid = get_i("pid").unwrap_or(ev.tid);
        } else {
            t.pid = child_tid;
        }
        if let Some(e) = get_s("exe") {
            t.exe = e;
        }
        if let Some(a) = get_b("args") {
            t.args = a;
        }
        // a new process starts in its parent's working directory (sysdig
        // ignores the event's cwd unless it does not know the parent)
        match parent.as_ref() {
            Some(p) => t.cwd = self.cwd(p.tid).to_vec(),
            None => {
                if let Some(cwd) = get_s("cwd") {
                    t.cwd = cwd;
                }
            }
        }
        t.fdlimit = get_i("fdlimit").unwrap_or(t.fdlimit);
        t.pfmajor = get_i("pgft_maj").map(|v| v as u64).unwrap_or(t.pfmajor);
        t.pfminor = get_i("pgft_min").map(|v| v as u64).unwrap_or(t.pfminor);
        t.vmsize_kb = get_i("vm_size").map(|v| v as u32).unwrap_or(t.vmsize_kb);
        t.vmrss_kb = get_i("vm_rss").map(|v| v as u32).unwrap_or(t.vmrss_kb);
        t.vmswap_kb = get_i("vm_swap").map(|v| v as u32).unwrap_or(t.vmswap_kb);
        t.uid = get_i("uid").map(|v| v as u32).unwrap_or(t.uid);
        t.gid = get_i("gid").map(|v| v as u32).unwrap_or(t.gid);
        if in_container {
            t.vtid = ev_vtid;
            t.vpid = get_i("vpid").unwrap_or(-1);
        } else {
            t.vtid = t.tid;
            t.vpid = t.pid;
        }
        if let Some(cg) = get_b("cgroups") {
            t.cgroups = cg;
        }
        let comm = get_s("comm");
        match (&comm, &parent) {
            (Some(c), _) => t.comm = c.clone(),
            (None, Some(p)) if t.comm.is_empty() => t.comm = p.comm.clone(),
            _ => {}
        }
        if let Some(p) = &parent {
            if t.env.is_empty() {
                t.env = p.env.clone();
            }
            if t.cgroups.is_empty() {
                t.cgroups = p.cgroups.clone();
            }
            t.sid = p.sid;
            t.vpgid = p.vpgid;
            t.loginuid = p.loginuid;
            t.root = p.root.clone();
            t.exepath = p.exepath.clone();
            t.pgid = p.pgid;
            t.exe_writable = p.exe_writable;
            t.exe_upper_layer = p.exe_upper_layer;
            t.exe_lower_layer = p.exe_lower_layer;
            t.exe_from_memfd = p.exe_from_memfd;
            t.cap_inheritable = p.cap_inheritable;
            t.cap_permitted = p.cap_permitted;
            t.cap_effective = p.cap_effective;
            t.exe_ino = p.exe_ino;
            t.exe_ino_ctime = p.exe_ino_ctime;
            t.exe_ino_mtime = p.exe_ino_mtime;
            t.exe_ino_ctime_duration_clone_ts = p.exe_ino_ctime_duration_clone_ts;
            // categories pass from parent to child
            t.category = p.category;
        }
        // the start of the pid namespace: the boot time on the host, the
        // namespace's own start (since boot) for a child in a new one
        let boot = self.machine.as_ref().map_or(0, |m| m.boot_ts_epoch);
        t.pidns_init_start_ts = boot;
        const CLONE_NEWPID: u32 = 1 << 14;
        if in_container || flags & CLONE_NEWPID != 0 {
            if let Some(ns) = get_i("pidns_init_start_ts") {
                t.pidns_init_start_ts = (ns as u64).wrapping_add(boot);
            }
        }
        t.clone_ts = ev.ts;
        t.last_enter = LastEnter::default();
        // fds: threads share the main thread's table, processes get a copy
        let shares =
            flags & clone_flags::CLONE_THREAD != 0 || flags & clone_flags::CLONE_FILES != 0;
        if !shares && t.fds.is_empty() {
            if let Some(owner) = self.fd_owner(parent_tid) {
                t.fds = owner.fds.clone();
            }
        }
        if shares && t.pid != t.tid {
            t.flags |= clone_flags::CLONE_FILES;
        }
        let child = t.tid;
        let (pid, thread, existed) = (
            t.pid,
            t.tid != t.pid && t.flags & clone_flags::CLONE_THREAD != 0,
            self.threads.contains_key(&child),
        );
        self.insert_thread(t);
        if get_b("cgroups").is_some() {
            self.resolve_container(child);
        }
        if thread && !existed {
            if let Some(m) = self.threads.get_mut(&pid) {
                m.nchilds += 1;
            }
        }
        self.identify_category(child);
        if exited_child {
            self.pending_exit = Some(child);
        }
    }

    /// The executable path of a successful execve: as sysdig 0.29 does,
    /// the file name of the enter event joined to the working directory
    /// (execveat: to its directory fd); without the enter event, the
    /// exit's trusted path (current drivers).
    fn execve_exepath(&self, ev: &RawEvent<'_>, trusted: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let tid = ev.tid;
        let enter = c_enter(ev.code);
        let na = |p: &[u8]| p.starts_with(b"<NA>");
        let from_enter = match ev.code {
            c::SYSCALL_EXECVE_18_X | c::SYSCALL_EXECVE_19_X => {
                self.enter_param(tid, enter, 0).map(|p| {
                    let p = sonde_event::cstr(p);
                    if na(p) {
                        b"<NA>".to_vec()
                    } else {
                        crate::path::sysdig_concat(self.cwd(tid), p)
                    }
                })
            }
            c::SYSCALL_EXECVEAT_X => self.enter_param(tid, enter, 1).map(|p| {
                let p = sonde_event::cstr(p);
                if na(p) {
                    return b"<NA>".to_vec();
                }
                let dirfd = self.enter_i64(tid, enter, 0).unwrap_or(PPM_AT_FDCWD);
                let flags = self.enter_i64(tid, enter, 2).unwrap_or(0);
                let dir: Vec<u8> = if p.first() == Some(&b'/') {
                    b".".to_vec()
                } else if dirfd == PPM_AT_FDCWD {
                    self.cwd(tid).to_vec()
                } else {
                    match self.fd(tid, dirfd) {
                        Some(f) => [&f.name[..], b"/"].concat(),
                        None => b"<UNKNOWN>".to_vec(),
                    }
                };
                // AT_EMPTY_PATH with no path: the fd is the executable
                const PPM_EXVAT_AT_EMPTY_PATH: i64 = 1;
                if flags & PPM_EXVAT_AT_EMPTY_PATH != 0 && p.is_empty() {
                    return crate::path::sysdig_concat(&dir, &dir);
                }
                crate::path::sysdig_concat(&dir, p)
            }),
            _ => None,
        };
        from_enter.or_else(|| trusted.filter(|t| !t.is_empty()))
    }

    /// Marks a thread of a container as its init process or as one of its
    /// health probes (sysdig's `identify_category`).
    fn identify_category(&mut self, tid: i64) {
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        if t.container_id.is_empty() {
            return;
        }
        use crate::thread::category as cat;
        if t.vpid == 1 {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.category = cat::CONTAINER;
            }
            return;
        }
        if let Some(p) = self.threads.get(&t.ptid) {
            if p.category != cat::NONE {
                let c = p.category;
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.category = c;
                }
                return;
            }
        }
        let Some(meta) = self
            .containers
            .get(&t.container_id)
            .filter(|c| c.successful)
            .and_then(|c| c.meta.as_ref())
        else {
            return;
        };
        let args: Vec<&[u8]> = t.args_iter().collect();
        let Some(kind) = meta
            .probes
            .iter()
            .find(|(_, exe, pargs)| {
                *exe == t.exe
                    && pargs.len() == args.len()
                    && pargs.iter().zip(&args).all(|(a, b)| a.as_slice() == *b)
            })
            .map(|p| p.0)
        else {
            return;
        };
        // the probe's first process: not under the container's init
        let mut cur = self.threads.get(&t.ptid);
        for _ in 0..512 {
            let Some(p) = cur else { break };
            if p.vpid == 1 && !p.container_id.is_empty() {
                return;
            }
            if p.ptid == p.tid {
                break;
            }
            cur = self.threads.get(&p.ptid);
        }
        let c = match kind {
            1 => cat::HEALTHCHECK,
            2 => cat::LIVENESS_PROBE,
            _ => cat::READINESS_PROBE,
        };
        if let Some(t) = self.threads.get_mut(&tid) {
            t.category = c;
        }
    }

    fn on_execve_exit(&mut self, ev: &RawEvent<'_>) {
        let info = match ev.info() {
            Some(i) => i,
            None => return,
        };
        if ev.param_i64(0).unwrap_or(-1) != 0 {
            return;
        }
        let idx = |name: &str| info.params.iter().position(|p| p.name == name);
        let get_i = |n: &str| idx(n).and_then(|i| ev.param_i64(i));
        let get_s = |n: &str| idx(n).and_then(|i| ev.param_str(i)).map(|s| s.to_vec());
        let get_b = |n: &str| idx(n).and_then(|i| ev.param(i)).map(|s| s.to_vec());
        let tid = ev.tid;
        let exepath = self.execve_exepath(ev, get_s("trusted_exepath"));
        let t = self.thread_mut(tid);
        if let Some(p) = exepath {
            t.exepath = p;
        }
        if let Some(e) = get_s("exe") {
            t.exe = e;
        }
        if let Some(a) = get_b("args") {
            t.args = a;
        }
        if let Some(p) = get_i("pid") {
            t.pid = p;
        }
        if let Some(p) = get_i("ptid") {
            t.ptid = p;
        }
        // sysdig 0.29 takes the working directory from chdir/fchdir only
        t.fdlimit = get_i("fdlimit").unwrap_or(t.fdlimit);
        t.pfmajor = get_i("pgft_maj").map(|v| v as u64).unwrap_or(t.pfmajor);
        t.pfminor = get_i("pgft_min").map(|v| v as u64).unwrap_or(t.pfminor);
        t.vmsize_kb = get_i("vm_size").map(|v| v as u32).unwrap_or(t.vmsize_kb);
        t.vmrss_kb = get_i("vm_rss").map(|v| v as u32).unwrap_or(t.vmrss_kb);
        t.vmswap_kb = get_i("vm_swap").map(|v| v as u32).unwrap_or(t.vmswap_kb);
        match get_s("comm") {
            Some(c) => t.comm = c,
            None => {
                let exe = t.exe.clone();
                let base = exe.rsplit(|&b| b == b'/').next().unwrap_or(&exe).to_vec();
                t.comm = base;
            }
        }
        if let Some(cg) = get_b("cgroups") {
            t.cgroups = cg;
        }
        if let Some(env) = get_b("env") {
            t.env = env;
        }
        if let Some(tty) = get_i("tty") {
            t.tty = tty as u32;
        }
        if let Some(l) = get_i("loginuid") {
            t.loginuid = l as u32;
        }
        if let Some(u) = get_i("uid") {
            t.uid = u as u32;
        }
        if let Some(g) = get_i("gid") {
            t.gid = g as u32;
        }
        const PPM_EXE_WRITABLE: i64 = 1;
        const PPM_EXE_UPPER_LAYER: i64 = 2;
        const PPM_EXE_FROM_MEMFD: i64 = 4;
        const PPM_EXE_LOWER_LAYER: i64 = 8;
        if let Some(f) = get_i("flags") {
            t.exe_writable = f & PPM_EXE_WRITABLE != 0;
            t.exe_upper_layer = f & PPM_EXE_UPPER_LAYER != 0;
            t.exe_from_memfd = f & PPM_EXE_FROM_MEMFD != 0;
            t.exe_lower_layer = f & PPM_EXE_LOWER_LAYER != 0;
        }
        if let (Some(i), Some(p), Some(e)) = (
            get_i("cap_inheritable"),
            get_i("cap_permitted"),
            get_i("cap_effective"),
        ) {
            t.cap_inheritable = i as u64;
            t.cap_permitted = p as u64;
            t.cap_effective = e as u64;
        }
        if let (Some(ino), Some(ct), Some(mt)) = (
            get_i("exe_ino"),
            get_i("exe_ino_ctime"),
            get_i("exe_ino_mtime"),
        ) {
            t.exe_ino = ino as u64;
            t.exe_ino_ctime = ct as u64;
            t.exe_ino_mtime = mt as u64;
            if t.clone_ts != 0 {
                t.exe_ino_ctime_duration_clone_ts = t.clone_ts.wrapping_sub(t.exe_ino_ctime);
            }
            if t.pidns_init_start_ts != 0 && t.exe_ino_ctime > t.pidns_init_start_ts {
                t.exe_ino_ctime_duration_pidns_start = t.exe_ino_ctime - t.pidns_init_start_ts;
            }
        }
        if let Some(v) = get_i("vpgid") {
            t.vpgid = v;
        }
        // current libs: an execve without the parameter leaves no pgid
        if idx("pgid").is_some() || idx("vpgid").is_some() {
            t.pgid = get_i("pgid").unwrap_or(-1);
        }
        // an execve resets the thread to be a process's only thread
        t.flags &= !clone_flags::CLONE_FILES;
        if get_b("cgroups").is_some() {
            self.resolve_container(tid);
        }
        self.identify_category(tid);
    }
}

const PPM_O_WRONLY: u32 = 2;
const PPM_O_CREAT: u32 = 4;
const PPM_O_TRUNC: u32 = 256;
const PPM_O_DIRECTORY: u32 = 1024;
const PPM_AT_FDCWD: i64 = -100;

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

/// The enter event code that pairs with an exit event code.
fn c_enter(exit: u16) -> u16 {
    exit.wrapping_sub(1)
}

/// The I/O exits sysdig's parser treats as reads and writes (and hands to
/// its protocol decoders).
#[inline]
pub fn is_rw_exit(code: u16) -> bool {
    matches!(
        code,
        c::SYSCALL_READ_X
            | c::SYSCALL_WRITE_X
            | c::SOCKET_RECV_X
            | c::SOCKET_SEND_X
            | c::SOCKET_RECVFROM_X
            | c::SOCKET_RECVMSG_X
            | c::SOCKET_SENDTO_X
            | c::SOCKET_SENDMSG_X
            | c::SYSCALL_READV_X
            | c::SYSCALL_WRITEV_X
            | c::SYSCALL_PREAD_X
            | c::SYSCALL_PWRITE_X
            | c::SYSCALL_PREADV_X
            | c::SYSCALL_PWRITEV_X
    )
}

/// An exit event's latency for its thread: measured by the source
/// (exit-only live events), else the time since the thread's last enter.
#[inline]
fn keep_exit_latency(t: &mut Thread, ev: &RawEvent<'_>) {
    if ev.latency != 0 {
        t.latency = ev.latency;
    } else if t.latency_enter_ts != 0 {
        t.latency = ev.ts.wrapping_sub(t.latency_enter_ts);
    }
}

/// The read and write exits [`State::on_exit`] has nothing to do for
/// beyond the fd bookkeeping of every I/O exit: those without an address.
#[inline(always)]
fn is_plain_rw_exit(code: u16) -> bool {
    is_rw_exit(code)
        && !matches!(
            code,
            c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X | c::SOCKET_SENDTO_X | c::SOCKET_SENDMSG_X
        )
}

#[inline(always)]
fn is_clone_exit(code: u16) -> bool {
    matches!(
        code,
        c::SYSCALL_CLONE_11_X
            | c::SYSCALL_CLONE_16_X
            | c::SYSCALL_CLONE_17_X
            | c::SYSCALL_CLONE_20_X
            | c::SYSCALL_FORK_X
            | c::SYSCALL_FORK_17_X
            | c::SYSCALL_FORK_20_X
            | c::SYSCALL_VFORK_X
            | c::SYSCALL_VFORK_17_X
            | c::SYSCALL_VFORK_20_X
            | c::SYSCALL_CLONE3_X
    )
}

#[inline(always)]
fn is_execve_exit(code: u16) -> bool {
    matches!(
        code,
        c::SYSCALL_EXECVE_8_X
            | c::SYSCALL_EXECVE_13_X
            | c::SYSCALL_EXECVE_14_X
            | c::SYSCALL_EXECVE_15_X
            | c::SYSCALL_EXECVE_16_X
            | c::SYSCALL_EXECVE_17_X
            | c::SYSCALL_EXECVE_18_X
            | c::SYSCALL_EXECVE_19_X
            | c::SYSCALL_EXECVEAT_X
    )
}

/// Decodes a `SOCKTUPLE` parameter into endpoints and the fd name sysdig gives it.
pub fn parse_tuple(t: &[u8]) -> Option<(SockAddrs, Vec<u8>)> {
    match *t.first()? {
        AF_INET if t.len() >= 13 => {
            let sip = Ipv4Addr::new(t[1], t[2], t[3], t[4]);
            let sport = u16::from_le_bytes([t[5], t[6]]);
            let dip = Ipv4Addr::new(t[7], t[8], t[9], t[10]);
            let dport = u16::from_le_bytes([t[11], t[12]]);
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
        AF_INET6 if t.len() >= 37 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&t[1..17]);
            let sport = u16::from_le_bytes([t[17], t[18]]);
            let mut b = [0u8; 16];
            b.copy_from_slice(&t[19..35]);
            let dport = u16::from_le_bytes([t[35], t[36]]);
            let (sip, dip) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
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
        AF_UNIX if t.len() >= 17 => {
            let source = u64::from_le_bytes(t[1..9].try_into().ok()?);
            let dest = u64::from_le_bytes(t[9..17].try_into().ok()?);
            let path = sonde_event::cstr(&t[17..]).to_vec();
            Some((SockAddrs::Unix { source, dest }, path))
        }
        _ => None,
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

/// IPv4-mapped or all-zero IPv6 address (treated as IPv4 by sysdig).
fn is_v4ish(a: &[u8; 16]) -> bool {
    a[..10].iter().all(|&b| b == 0)
        && ((a[10] == 0xff && a[11] == 0xff) || a[10..].iter().all(|&b| b == 0))
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
            fd.addrs = SockAddrs::V4 {
                sip,
                sport: *sport,
                dip,
                dport: *dport,
            };
            fd.l4 = L4Proto::from_scap(*l4proto);
            fd.name = format!("{sip}:{sport}->{dip}:{dport}").into_bytes();
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
                fd.addrs = SockAddrs::V4 {
                    sip,
                    sport: *sport,
                    dip,
                    dport: *dport,
                };
                fd.l4 = L4Proto::from_scap(*l4proto);
                fd.name = format!("{sip}:{sport}->{dip}:{dport}").into_bytes();
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

/// Parameter `name` of `ev`, when its table entry (and the event) has it:
/// old captures' exits of the same code carry fewer parameters.
fn exit_param<'a>(ev: &RawEvent<'a>, name: &str) -> Option<&'a [u8]> {
    let i = ev.info()?.params.iter().position(|p| p.name == name)?;
    ev.param(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes parameters as an event body (16-bit lengths, then data).
    fn body(params: &[&[u8]]) -> Vec<u8> {
        let mut b = Vec::new();
        for p in params {
            b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
        for p in params {
            b.extend_from_slice(p);
        }
        b
    }

    fn event(ts: u64, tid: i64, code: u16, body: &[u8], n: u32) -> RawEvent<'_> {
        RawEvent::from_parts(ts, tid, code, n, body, false).unwrap()
    }

    #[test]
    fn unknown_threads_are_named_na_and_keep_latency() {
        let mut st = State::new();
        let b = body(&[&0u64.to_le_bytes()]);
        st.process(&event(100, 7, c::SYSCALL_BRK_4_E, &b, 1));
        let t = st.thread(7).unwrap();
        assert_eq!(t.comm, b"<NA>");
        assert_eq!(t.latency, 0);
        let b = body(&[&0u64.to_le_bytes(), &1u32.to_le_bytes()]);
        st.process(&event(130, 7, c::SYSCALL_BRK_4_X, &b, 1));
        assert_eq!(st.thread(7).unwrap().latency, 30);
    }

    #[test]
    fn container_events_fill_the_table() {
        let mut st = State::new();
        let json = br#"{"container":{"id":"9dbcbd0c435f","name":"epic_cray","type":0}}"#;
        let mut j = json.to_vec();
        j.push(0);
        let b = body(&[&j]);
        let ev = event(1, -1, c::CONTAINER_JSON_E, &b, 1);
        st.process(&ev);
        assert!(!st.suppressed());
        let t = st.event_thread(&ev).unwrap();
        assert_eq!(t.comm, b"container:9dbcbd0c435f");
        assert_eq!(t.container_id, b"9dbcbd0c435f");
        assert_eq!(st.containers[&b"9dbcbd0c435f"[..]].name, b"epic_cray");

        let failed = b"{\"container\":{\"id\":\"abc\",\"lookup_state\":2}}\0";
        let b = body(&[failed]);
        st.process(&event(2, -1, c::CONTAINER_JSON_E, &b, 1));
        assert!(st.suppressed());
    }

    #[test]
    fn latency_measured_by_the_source_wins() {
        let mut st = State::new();
        let b = body(&[&0u64.to_le_bytes(), &1u32.to_le_bytes()]);
        let mut ev = event(500, 9, c::SYSCALL_BRK_4_X, &b, 1);
        ev.latency = 1234;
        st.process(&ev);
        assert_eq!(st.thread(9).unwrap().latency, 1234);
    }

    #[test]
    fn unknown_threads_are_looked_up_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&calls);
        let mut st = State::new();
        st.set_resolver(Box::new(move |tid| {
            c2.fetch_add(1, Ordering::Relaxed);
            (tid == 4242).then(|| {
                let t = ThreadInfo {
                    tid,
                    pid: tid,
                    ptid: 1,
                    comm: b"late".to_vec(),
                    cwd: b"/tmp/".to_vec(),
                    ..Default::default()
                };
                let fd = FdInfo {
                    fd: 3,
                    ino: 0,
                    kind: 16,
                    detail: FdDetail::File {
                        open_flags: 1,
                        path: b"/etc/passwd".to_vec(),
                        dev: 0,
                    },
                };
                (vec![t], vec![fd])
            })
        }));
        let b = body(&[&0u64.to_le_bytes()]);
        st.process(&event(1, 4242, c::SYSCALL_BRK_4_E, &b, 1));
        assert_eq!(st.thread(4242).unwrap().comm, b"late");
        assert_eq!(st.fd(4242, 3).unwrap().name, b"/etc/passwd");
        st.process(&event(2, 5151, c::SYSCALL_BRK_4_E, &b, 1));
        st.process(&event(3, 5151, c::SYSCALL_BRK_4_E, &b, 1));
        assert_eq!(calls.load(Ordering::Relaxed), 2, "a miss is remembered");
    }

    #[test]
    fn a_late_parent_clone_exit_names_an_exited_child_for_that_event_only() {
        let mut st = State::new();
        st.add_thread_info(&ThreadInfo {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"parent".to_vec(),
            ..Default::default()
        });
        // the child runs and exits before its parent's clone returns
        let child_clone = body(&[&0i64.to_le_bytes()]);
        st.process(&event(10, 200, c::SYSCALL_CLONE_20_X, &child_clone, 1));
        st.process(&event(20, 200, c::PROCEXIT_1_E, &[], 0));
        st.process(&event(
            25,
            100,
            c::SYSCALL_BRK_4_E,
            &body(&[&0u64.to_le_bytes()]),
            1,
        ));
        assert!(st.thread(200).is_none(), "the exited child is reaped");
        let parent_clone = body(&[&200i64.to_le_bytes()]);
        st.process(&event(30, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
        assert!(
            st.thread(200).is_some(),
            "the parent's late clone exit names it, as in sysdig"
        );
        st.process(&event(
            35,
            100,
            c::SYSCALL_BRK_4_E,
            &body(&[&0u64.to_le_bytes()]),
            1,
        ));
        assert!(
            st.thread(200).is_none(),
            "but only for that event: it is reaped before the next"
        );
        // a new child with that tid much later is created as usual
        st.process(&event(
            5_000_000_000,
            100,
            c::SYSCALL_CLONE_20_X,
            &parent_clone,
            1,
        ));
        assert!(st.thread(200).is_some());
    }
}

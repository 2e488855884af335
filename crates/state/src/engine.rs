//! The state engine: the [`State`] struct, its tables and accessors.
//!
//! What events and metadata do to the tables is split by concern, as
//! libsinsp splits its parsers: `dispatch` (routing each event), `fdlife`
//! (creating, copying and closing fds), `io` (the read/write family),
//! `sockets` (sockets and their tuples), `lifecycle` (clone, fork, execve,
//! exit), `containers` (container events), `meta` (capture metadata) and
//! `skip` (passing by the events a capture filter rejected first).

use rustc_hash::FxHashMap;
use sonde_event::meta::{FdInfo, GroupInfo, IfList, MachineInfo, ThreadInfo, UserInfo};
use sonde_event::{codes as c, RawEvent};

use crate::container::Container;
use crate::fd::Fd;
use crate::thread::Thread;

pub use containers::{ContainerHook, ContainerIdent};

mod containers;
mod dispatch;
mod fdlife;
mod io;
mod lifecycle;
mod meta;
mod skip;
mod sockets;
#[cfg(test)]
mod tests;

use dispatch::{c_enter, exit_fd_tuple, keep_exit_latency};
pub use dispatch::{
    changes_threads, is_inert, is_light, is_memory, keeps_threads, leaves_threads, Scope,
};
pub use io::is_rw_exit;
pub use sockets::{fmt_v6, parse_tuple};

/// Limits that keep the tables bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most threads kept.
    pub max_threads: usize,
    /// Most fds kept per fd table.
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
    /// Threads by tid.
    pub threads: FxHashMap<i64, Thread>,
    /// Users by uid.
    pub users: FxHashMap<u32, UserInfo>,
    /// Groups by gid.
    pub groups: FxHashMap<u32, GroupInfo>,
    /// Network interfaces.
    pub ifaces: IfList,
    /// The machine, when the capture says.
    pub machine: Option<MachineInfo>,
    /// Table bounds.
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
    /// How many times the tables may have changed: events applied, work
    /// deferred by one done, metadata blocks ([`State::changes`]).
    changes: u64,
    /// Ports of the server sockets in the initial fd tables.
    server_ports: rustc_hash::FxHashSet<u16>,
    /// Memory updates wait for [`State::commit_deferred`] (a capture filter
    /// runs before them, as sysdig's parser does).
    defer_memory: bool,
    /// Apply events as sysdig 0.29.3 does ([`State::set_sysdig_029`]).
    sysdig_029: bool,
    /// The memory update of the event last processed, when deferred.
    pending_memory: Option<MemoryUpdate>,
    /// The page faults a switch reported for the thread it switched out
    /// (tid, major, minor), deferred like the memory.
    pending_faults: Option<(i64, u64, u64)>,
    /// Live capture: identifies containers and counts their threads.
    live_containers: Option<containers::LiveContainers>,
    /// When thread-level values last changed (see [`State::thread_epoch`]).
    epochs: Epochs,
}

/// The counter behind [`State::thread_epoch`].
#[derive(Debug, Default, Clone, Copy)]
struct Epochs {
    /// Bumped whenever a thread-level value may have changed.
    now: u64,
    /// The epoch of the last change that was not one thread's memory
    /// sizes (see [`State::thread_unchanged_since`]).
    structural: u64,
}

impl Epochs {
    /// A change that may touch any thread.
    #[inline]
    fn touch(&mut self) {
        self.now += 1;
        self.structural = self.now;
    }
}

/// Thread `tid`, created as a placeholder when unknown (a change of the
/// thread table, counted in `epochs`): one lookup either way.
#[inline]
fn thread_or_fake<'t>(
    threads: &'t mut FxHashMap<i64, Thread>,
    epochs: &mut Epochs,
    tid: i64,
) -> &'t mut Thread {
    match threads.entry(tid) {
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            epochs.touch();
            v.insert(Thread::fake(tid))
        }
    }
}

/// New memory figures for a process (brk/mmap/munmap exits, switches).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryUpdate {
    pub(crate) tid: i64,
    pub(crate) vmsize_kb: u32,
    pub(crate) vmrss_kb: u32,
    pub(crate) vmswap_kb: u32,
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

/// How long an exited thread is remembered against late clone exits.
const RECENT_EXIT_WINDOW_NS: u64 = 1_000_000_000;

impl State {
    /// An empty state.
    pub fn new() -> State {
        State::default()
    }

    /// Defers the memory updates of events that do not modify state in
    /// sysdig's sense (brk/mmap/munmap exits, switches) until
    /// [`State::commit_deferred`]: sysdig runs its capture filter before
    /// parsing such events, so the filter sees the memory before the call,
    /// and an event the filter rejects never updates it.
    pub fn set_defer_memory(&mut self, on: bool) {
        self.defer_memory = on;
    }

    /// Applies events as sysdig 0.29.3 does, which reads files: the
    /// parameters its event table does not have are left alone (an
    /// execve exit's `uid` and `gid`, which later libs added).
    pub fn set_sysdig_029(&mut self, on: bool) {
        self.sysdig_029 = on;
    }

    /// Applies (`accepted`) or forgets the deferred update of the event
    /// last processed.
    #[inline]
    pub fn commit_deferred(&mut self, accepted: bool) {
        if let Some(u) = self.pending_memory.take() {
            if accepted {
                self.apply_memory(u);
            }
        }
        if let Some(f) = self.pending_faults.take() {
            if accepted {
                self.apply_faults(f);
            }
        }
    }

    /// Sets a thread's page fault counts (tid, major, minor), or defers
    /// them like the memory.
    pub(crate) fn update_faults(&mut self, f: (i64, u64, u64)) {
        if self.defer_memory {
            self.pending_faults = Some(f);
        } else {
            self.apply_faults(f);
        }
    }

    fn apply_faults(&mut self, (tid, major, minor): (i64, u64, u64)) {
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pfmajor = major;
            t.pfminor = minor;
        }
    }

    /// Sets a process's memory figures, or defers them.
    pub(crate) fn update_memory(&mut self, u: MemoryUpdate) {
        if self.defer_memory {
            self.pending_memory = Some(u);
        } else {
            self.apply_memory(u);
        }
    }

    fn apply_memory(&mut self, u: MemoryUpdate) {
        self.epochs.now += 1;
        if let Some(t) = self.threads.get_mut(&u.tid) {
            t.mem_epoch = self.epochs.now;
            t.vmsize_kb = u.vmsize_kb;
            t.vmrss_kb = u.vmrss_kb;
            t.vmswap_kb = u.vmswap_kb;
        }
    }

    /// Whether the fd of the event last processed changed its name while
    /// the event was applied (a new named fd, a socket that got its tuple).
    pub fn fd_name_changed(&self) -> bool {
        self.fd_name_changed
    }

    /// A number that changes whenever a thread-level value (the thread
    /// table's entries, ids, names, arguments, parents, thread counts,
    /// users, containers, memory sizes) may have changed: two events
    /// that see the same number, each of a code for which
    /// [`keeps_threads`](crate::keeps_threads) holds, see the same
    /// thread-level values. Readers that keep what they derived from a
    /// thread (a view's row) use it, or the finer
    /// [`State::thread_unchanged_since`], to know when to derive it again.
    #[inline]
    pub fn thread_epoch(&self) -> u64 {
        self.epochs.now
    }

    /// Whether the thread-level values thread `t` reads are those it read
    /// at epoch `since` (a [`State::thread_epoch`] taken then): nothing
    /// changed since but memory sizes of other threads. Finer than
    /// comparing epochs: one thread's `mmap` leaves the others alone.
    #[inline]
    pub fn thread_unchanged_since(&self, t: &Thread, since: u64) -> bool {
        self.epochs.structural <= since && t.mem_epoch <= since
    }

    /// Notes that a thread-level value may have changed, for any thread.
    #[inline]
    pub(crate) fn touch_threads(&mut self) {
        self.epochs.touch();
    }

    /// Adds a thread, unless the table is full.
    fn insert_thread(&mut self, th: Thread) {
        self.touch_threads();
        if self.threads.len() >= self.limits.max_threads && !self.threads.contains_key(&th.tid) {
            self.dropped_threads += 1;
            return;
        }
        self.threads.insert(th.tid, th);
    }

    /// A count that grows whenever the tables may change: at every event
    /// [`State::process`] applies, work an event deferred and metadata
    /// block. While it stays the same, what was read from the tables
    /// holds (events passed by with [`State::skip_enter`] and
    /// [`State::skip_exit`] change only their thread's call bookkeeping).
    #[inline]
    pub fn changes(&self) -> u64 {
        self.changes
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

    /// The tid of the thread whose table holds `tid`'s fds.
    fn fd_owner_tid(&self, tid: i64) -> i64 {
        self.fd_owner(tid).map(|t| t.tid).unwrap_or(tid)
    }

    /// File descriptor `fd` of thread `tid`.
    #[inline]
    pub fn fd(&self, tid: i64, fd: i64) -> Option<&Fd> {
        self.fd_owner(tid)?.fds.get(&fd)
    }

    /// The fd `fd` of `tid`'s table, for changing it.
    fn fd_mut(&mut self, tid: i64, fd: i64) -> Option<&mut Fd> {
        let owner = self.fd_owner_tid(tid);
        self.threads.get_mut(&owner)?.fds.get_mut(&fd)
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

    /// Whether [`State::process`] would leave every table as it is on
    /// `ev`: an inert event (procinfo, see [`crate::is_inert`]) with no
    /// work deferred from the event before and no thread to look up.
    /// What a field reads of the state is then the same before and after.
    pub fn leaves_unchanged(&self, ev: &RawEvent<'_>) -> bool {
        self.applies_nothing(ev)
            && self.tables_ready
            && self.pending_close.is_empty()
            && self.pending_exit.is_none()
    }

    /// Whether `ev` itself changes nothing, for a known thread or not: an
    /// inert event, when no unknown thread is looked up in /proc (live).
    #[inline]
    pub(crate) fn applies_nothing(&self, ev: &RawEvent<'_>) -> bool {
        crate::is_inert(ev.code) && self.resolver.f.is_none()
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

    /// Thread `tid`, created as a placeholder when unknown (a scratch
    /// entry when the table is full).
    fn thread_mut(&mut self, tid: i64) -> &mut Thread {
        if self.threads.len() < self.limits.max_threads {
            // one lookup, whether the thread is known or not
            return thread_or_fake(&mut self.threads, &mut self.epochs, tid);
        }
        self.touch_threads();
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

    /// [`State::enter_param`] as an integer.
    fn enter_i64(&self, tid: i64, enter_code: u16, idx: usize) -> Option<i64> {
        self.enter_param(tid, enter_code, idx)
            .map(sonde_event::le_int)
    }

    /// The fd of an exit event: its parameter `idx`, or else the first
    /// parameter of its enter event; -1 when neither has it.
    fn exit_fd(&self, ev: &RawEvent<'_>, enter_code: u16, idx: usize) -> i64 {
        ev.param_i64(idx)
            .or_else(|| self.enter_i64(ev.tid, enter_code, 0))
            .unwrap_or(-1)
    }
}

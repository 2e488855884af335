//! Dispatch: [`State::process`] applies one event: the work the previous
//! event deferred (closing fds, reaping exited threads), meeting the
//! event's thread and keeping its latency, then routing the event to its
//! family's handler: enter events are saved on their thread for the exit,
//! exit events go to `fdlife`, `io`, `sockets`, `lifecycle` or
//! `containers`.

use std::sync::OnceLock;

use sonde_event::{codes as c, Direction, RawEvent};

use crate::fd::FdType;
use crate::thread::{clone_flags, LastEnter, Thread};

use super::io::{is_plain_rw_exit, is_rw_exit};
use super::{State, RECENT_EXIT_WINDOW_NS};

impl State {
    /// Finishes work deferred by the previous event (most events defer
    /// none: that test stays inline).
    #[inline]
    pub(super) fn flush_pending(&mut self) {
        if self.live_containers.is_some()
            || !self.pending_close.is_empty()
            || self.pending_exit.is_some()
        {
            self.flush_deferred();
        }
    }

    #[inline(never)]
    fn flush_deferred(&mut self) {
        self.changes += 1;
        if self.live_containers.is_some() {
            self.drop_stale_container();
        }
        if !self.pending_close.is_empty() {
            for (owner, fd) in self.pending_close.drain(..) {
                if let Some(t) = self.threads.get_mut(&owner) {
                    t.fds.remove(&fd);
                }
            }
        }
        if let Some(tid) = self.pending_exit.take() {
            self.touch_threads();
            if let Some(t) = self.threads.remove(&tid) {
                if t.tid != t.pid && t.flags & clone_flags::CLONE_THREAD != 0 {
                    if let Some(m) = self.threads.get_mut(&t.pid) {
                        m.nchilds = m.nchilds.saturating_sub(1);
                    }
                }
                if !t.container_id.is_empty() {
                    self.container_thread_gone(&t.container_id);
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

    /// What every event does first: the work the previous one deferred,
    /// and the per-event flags reset.
    #[inline]
    pub(super) fn begin_event(&mut self, ev: &RawEvent<'_>) {
        if !self.tables_ready {
            self.tables_loaded();
        }
        self.flush_pending();
        self.fd_name_changed = false;
        self.last_ts = ev.ts;
        self.nevents += 1;
        self.container_thread = None;
        self.suppressed = false;
    }

    /// Passes over a *light* event (see [`is_light`]) of a thread already
    /// in the table, doing only what every event does, when `unread` says
    /// nothing reads this call (asked only for light events): the thread's
    /// next call rewrites its bookkeeping (as long as the enter of every
    /// call that is read is applied). Returns false, having done nothing,
    /// otherwise; [`State::process`] then applies the event.
    ///
    /// Events the state applies nothing of ([`is_inert`]: `procinfo`) pass
    /// over the same way in every scope, of known threads or not (files:
    /// live, an unknown thread is looked up in /proc first).
    ///
    /// When whoever reads the state reads less than all of it (`scope`),
    /// the events that change only the rest pass over too: memory
    /// updates ([`is_memory`]) for [`Scope::NoMemory`], every event that
    /// leaves threads alone ([`leaves_threads`]) for [`Scope::Threads`].
    #[inline]
    pub fn skip_light(
        &mut self,
        ev: &RawEvent<'_>,
        scope: Scope,
        unread: impl FnOnce() -> bool,
    ) -> bool {
        let passes = is_inert(ev.code)
            || match scope {
                Scope::All => is_light(ev.code),
                Scope::NoMemory => is_light(ev.code) || is_memory(ev.code),
                Scope::Threads => leaves_threads(ev.code),
            };
        if !passes || !unread() {
            return false;
        }
        // an inert event applies nothing, to an unknown thread either
        // (`process` creates none for it): no lookup then
        if !self.applies_nothing(ev) && !self.threads.contains_key(&ev.tid) {
            return false;
        }
        self.begin_event(ev);
        true
    }

    /// Updates the tables with one event.
    pub fn process(&mut self, ev: &RawEvent<'_>) {
        // (`procinfo` applies nothing)
        self.changes += u64::from(!is_inert(ev.code));
        self.begin_event(ev);
        if !keeps_threads(ev.code) {
            self.touch_threads();
        }
        let Some(info) = ev.info() else { return };
        match ev.code {
            c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E => {
                self.on_container_json(ev);
                return;
            }
            c::CONTAINER_E => {
                self.on_container_event(ev);
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
        // threads up) and keep its syscall latency; what the event does to
        // its own thread is done in that one lookup
        if info.old_flags & sonde_event::flags::SKIPPARSERESET == 0 && ev.code != c::SCHEDSWITCH_6_E
        {
            let enter = info.dir == Direction::Enter;
            let handler = if enter { None } else { exit_handler(ev.code) };
            // clone exits only look the thread up
            let t = if is_clone_exit(ev.code) {
                self.threads.get_mut(&ev.tid)
            } else {
                Some(self.thread_mut(ev.tid))
            };
            if let Some(t) = t {
                if enter {
                    t.latency = 0;
                    t.latency_enter_ts = ev.ts;
                    save_enter(t, ev, info);
                } else {
                    keep_exit_latency(t, ev);
                    exit_fd(t, ev, info);
                    if handler.is_none() && !is_rw_exit(ev.code) {
                        // nothing else reads the enter: the call is over
                        t.last_enter.spend();
                        return;
                    }
                }
            }
            if enter {
                self.enter_effects(ev);
            } else {
                self.exit_effects(ev, handler);
            }
            return;
        }
        if ev.code == c::SCHEDSWITCH_6_E {
            self.on_switch(ev);
            return;
        }
        if info.dir == Direction::Exit {
            // an exit that does not meet its thread (sysdig's
            // `EF_SKIPPARSERESET` events): the same work, looked up apart
            if let Some(t) = self.threads.get_mut(&ev.tid) {
                exit_fd(t, ev, info);
            } else if info.flags & sonde_event::flags::USES_FD != 0 {
                let fd = info.fd_param.and_then(|i| ev.param_i64(i as usize));
                if fd.is_some() {
                    self.thread_mut(ev.tid).last_fd = fd;
                }
            }
            self.exit_effects(ev, exit_handler(ev.code));
        }
        // (enter events that do not meet their thread leave it alone)
    }

    /// What an enter event does beyond its own thread: a process exit is
    /// reaped at the next event; a connect's address is noted.
    fn enter_effects(&mut self, ev: &RawEvent<'_>) {
        match ev.code {
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

    /// What an exit event does beyond its thread's fd bookkeeping: a
    /// successful I/O connects its socket, the family's handler runs, and
    /// the saved enter is spent.
    fn exit_effects(&mut self, ev: &RawEvent<'_>, handler: Option<ExitHandler>) {
        let tid = ev.tid;
        if is_rw_exit(ev.code) && ev.param_i64(0).unwrap_or(-1) >= 0 {
            self.mark_connected(tid);
        }
        if let Some(h) = handler {
            h(self, ev, c_enter(ev.code));
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_enter.spend();
        }
    }
}

/// An enter event saved on its thread for the exit that follows: its
/// parameters (one copy) and its fd.
fn save_enter(t: &mut Thread, ev: &RawEvent<'_>, info: &sonde_event::EventInfo) {
    let le: &mut LastEnter = &mut t.last_enter;
    le.code = ev.code;
    le.ts = ev.ts;
    le.valid = true;
    le.skipped = false;
    let (lens, data, large) = ev.parts();
    le.save(lens, data, large);
    t.last_fd = enter_fd_num(ev, info);
}

/// The exit-side fd of the thread's call, for fields like fd.name on
/// exit events: the exit's own fd parameter, else its enter's.
fn exit_fd(t: &mut Thread, ev: &RawEvent<'_>, info: &sonde_event::EventInfo) {
    if info.flags & sonde_event::flags::USES_FD == 0 {
        return;
    }
    t.last_fd = exit_fd_num(t, ev, info);
}

/// What [`exit_fd`] sets (for an exit whose flags have `USES_FD`): the
/// exit's own fd parameter, else its enter's first parameter, when the
/// thread's last enter is this call's (applied, or passed by with
/// [`State::skip_enter`]).
pub(super) fn exit_fd_num(
    t: &Thread,
    ev: &RawEvent<'_>,
    info: &sonde_event::EventInfo,
) -> Option<i64> {
    let enter = c_enter(ev.code);
    let le = &t.last_enter;
    let saw_enter = (le.valid || le.skipped) && le.code == enter;
    if saw_enter
        && sonde_event::event_info(enter)
            .is_some_and(|i| i.old_flags & sonde_event::flags::USES_FD == 0)
    {
        // sysdig 0.29.3 takes an exit's fd from its enter, and an enter
        // that has none (setsockopt, getsockopt) leaves it at -1
        return Some(-1);
    }
    let from_exit = info.fd_param.and_then(|i| ev.param_i64(i as usize));
    from_exit.or_else(|| match (saw_enter, le.valid) {
        (true, true) => le.param(0).map(sonde_event::le_int),
        (true, false) => le.skipped_fd,
        (false, _) => None,
    })
}

/// The fd an enter event leaves on its thread ([`save_enter`]).
#[inline]
pub(super) fn enter_fd_num(ev: &RawEvent<'_>, info: &sonde_event::EventInfo) -> Option<i64> {
    if info.flags & sonde_event::flags::USES_FD == 0 {
        return None;
    }
    info.fd_param.and_then(|i| ev.param_i64(i as usize))
}

/// Whether an event of this code is *light*: all it does to the tables
/// is its own thread's call bookkeeping (latency, the saved enter and its
/// fd, the exit's fd), which the thread's next call rewrites before
/// anything reads it. Such are the enter and exit events of system calls
/// with no exit handler, no I/O that connects a socket and no enter-side
/// effect: `mprotect`, `fstat`, `poll`, generic ones (`clock_gettime`).
#[inline]
pub fn is_light(code: u16) -> bool {
    static LIGHT: OnceLock<Vec<bool>> = OnceLock::new();
    by_code(&LIGHT, light_code, code)
}

/// `f(code)`, from a table of every event code built on first use.
#[inline]
fn by_code(table: &'static OnceLock<Vec<bool>>, f: fn(u16) -> bool, code: u16) -> bool {
    let table = table.get_or_init(|| {
        (0..sonde_event::EVENTS.len())
            .map(|i| f(i as u16))
            .collect()
    });
    table.get(code as usize).copied().unwrap_or(false)
}

fn light_code(code: u16) -> bool {
    let Some(info) = sonde_event::event_info(code) else {
        return false;
    };
    if info.old_flags & sonde_event::flags::SKIPPARSERESET != 0
        || (info.category | info.old_category) & sonde_event::category::SYSCALL == 0
        || matches!(
            code,
            c::SCHEDSWITCH_6_E | c::PROCEXIT_E | c::PROCEXIT_1_E | c::SOCKET_CONNECT_E
        )
    {
        return false;
    }
    let exit = exit_of(code, info);
    sonde_event::event_info(exit).is_some_and(|x| x.dir == Direction::Exit)
        && exit_handler(exit).is_none()
        && !is_rw_exit(exit)
        && !changes_threads(exit)
}

/// Whether [`State::process`] applies nothing of an event of this code
/// but its per-event work: `procinfo` (an enter event that leaves its
/// thread's call bookkeeping alone; the CPU time fields read it from the
/// event itself).
#[inline]
pub fn is_inert(code: u16) -> bool {
    code == c::PROCINFO_E
}

/// The exit event code of the call an event of `code` belongs to.
fn exit_of(code: u16, info: &sonde_event::EventInfo) -> u16 {
    match info.dir {
        Direction::Enter => code + 1,
        Direction::Exit => code,
    }
}

/// How much of the state its readers read, narrowest first: the events
/// that change only the rest may pass over ([`State::skip_light`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The thread table: ids, names, arguments, parents, users,
    /// containers, CPU times (not fd tables, cwd, memory sizes or call
    /// bookkeeping).
    Threads,
    /// All but the memory sizes of processes (`vmsize`, `vmrss`,
    /// `vmswap`).
    NoMemory,
    /// Everything.
    #[default]
    All,
}

/// Whether an event of this code is a memory call (`brk`, `mmap`,
/// `mmap2`, `munmap`, enter or exit): beyond its own call's bookkeeping,
/// all it changes is its process's memory sizes.
#[inline]
pub fn is_memory(code: u16) -> bool {
    is_memory_exit(code) || is_memory_exit(code.wrapping_add(1))
}

/// The exits [`State::on_memory_exit`] handles.
#[inline]
fn is_memory_exit(code: u16) -> bool {
    matches!(
        code,
        c::SYSCALL_BRK_4_X | c::SYSCALL_MMAP_X | c::SYSCALL_MMAP2_X | c::SYSCALL_MUNMAP_X
    )
}

/// Whether an event of this code changes nothing of its thread-level
/// part of the state (ids, names, arguments, parents, users, containers,
/// CPU times): every system call event but the enter and exit of clone,
/// fork, vfork, execve and capset, and process exits. What such an event
/// does (fd tables, cwd, memory sizes, the call's bookkeeping) matters
/// only to readers of more than the thread table.
#[inline]
pub fn leaves_threads(code: u16) -> bool {
    static LEAVES: OnceLock<Vec<bool>> = OnceLock::new();
    by_code(&LEAVES, leaves_threads_code, code)
}

fn leaves_threads_code(code: u16) -> bool {
    let Some(info) = sonde_event::event_info(code) else {
        return false;
    };
    let exit = exit_of(code, info);
    info.old_flags & sonde_event::flags::SKIPPARSERESET == 0
        && (info.category | info.old_category) & sonde_event::category::SYSCALL != 0
        && !matches!(code, c::SCHEDSWITCH_6_E | c::PROCEXIT_E | c::PROCEXIT_1_E)
        && !changes_threads(code)
        && !changes_threads(exit)
        && !matches!(exit, c::SYSCALL_CAPSET_X)
}

/// Whether an event of this code leaves every thread-level value of the
/// state as it was and is attributed to its own thread: a system call
/// event that [`leaves_threads`] (memory sizes, which such events may
/// change, count in [`State::thread_epoch`] when they are applied), or
/// an event the state applies nothing of ([`is_inert`]; a thread looked
/// up in /proc for it counts when it is added). What
/// [`State::thread_epoch`] counts on.
#[inline]
pub fn keeps_threads(code: u16) -> bool {
    static KEEPS: OnceLock<Vec<bool>> = OnceLock::new();
    by_code(&KEEPS, |c| leaves_threads_code(c) || is_inert(c), code)
}

/// The handler of an exit event's system call family, given the event and
/// the code of its enter event.
type ExitHandler = fn(&mut State, &RawEvent<'_>, u16);

/// The handler for exit events of `code`; `None` for calls whose exit
/// changes nothing but its own thread's call bookkeeping.
fn exit_handler(code: u16) -> Option<ExitHandler> {
    let h: ExitHandler = match code {
        c::SYSCALL_OPEN_X | c::SYSCALL_CREAT_X => |s, ev, e| s.on_open_exit(ev, e),
        c::SYSCALL_OPENAT_X => |s, ev, e| s.on_openat_exit(ev, e),
        c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => |s, ev, _| s.on_openat2_exit(ev),
        c::SYSCALL_OPEN_BY_HANDLE_AT_X => |s, ev, _| s.on_open_by_handle_exit(ev),
        c::SOCKET_SOCKET_X => |s, ev, e| s.on_socket_exit(ev, e),
        c::SOCKET_SOCKETPAIR_X => |s, ev, _| s.on_socketpair_exit(ev),
        c::SOCKET_BIND_X => |s, ev, e| s.on_bind_exit(ev, e),
        c::SOCKET_CONNECT_X => |s, ev, e| s.on_connect_exit(ev, e),
        c::SOCKET_SENDTO_X | c::SOCKET_SENDMSG_X | c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X => {
            |s, ev, e| s.on_addr_io_exit(ev, e)
        }
        c::SOCKET_ACCEPT_X
        | c::SOCKET_ACCEPT_5_X
        | c::SOCKET_ACCEPT4_X
        | c::SOCKET_ACCEPT4_5_X
        | c::SOCKET_ACCEPT4_6_X => |s, ev, _| s.on_accept_exit(ev),
        c::SYSCALL_PIPE_X | c::SYSCALL_PIPE2_X => |s, ev, _| s.on_pipe_exit(ev),
        c::SYSCALL_EVENTFD_X | c::SYSCALL_EVENTFD2_X => {
            |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Event)
        }
        c::SYSCALL_SIGNALFD_X | c::SYSCALL_SIGNALFD4_X => {
            |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Signalfd)
        }
        c::SYSCALL_TIMERFD_CREATE_X => |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Timerfd),
        c::SYSCALL_INOTIFY_INIT_X | c::SYSCALL_INOTIFY_INIT1_X => {
            |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Inotify)
        }
        c::SYSCALL_EPOLL_CREATE_X | c::SYSCALL_EPOLL_CREATE1_X => {
            |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Eventpoll)
        }
        c::SYSCALL_USERFAULTFD_X => |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Userfaultfd),
        c::SYSCALL_IO_URING_SETUP_X => |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Iouring),
        c::SYSCALL_BPF_2_X => |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Bpf),
        c::SYSCALL_PIDFD_OPEN_X => |s, ev, _| s.simple_fd(ev.tid, ev, FdType::Pidfd),
        c::SYSCALL_MEMFD_CREATE_X => |s, ev, _| s.on_memfd_exit(ev),
        c::SYSCALL_DUP_X | c::SYSCALL_DUP_1_X | c::SYSCALL_DUP2_X | c::SYSCALL_DUP3_X => {
            |s, ev, e| s.on_dup_exit(ev, e)
        }
        c::SYSCALL_FCNTL_X => |s, ev, e| s.on_fcntl_exit(ev, e),
        c::SYSCALL_CLOSE_X => |s, ev, e| s.on_close_exit(ev, e),
        c::SYSCALL_CLOSE_RANGE_X => |s, ev, _| s.on_close_range_exit(ev),
        c::SYSCALL_CHDIR_X => |s, ev, _| s.on_chdir_exit(ev),
        c::SYSCALL_FCHDIR_X => |s, ev, e| s.on_fchdir_exit(ev, e),
        code if is_memory_exit(code) => |s, ev, _| s.on_memory_exit(ev),
        c::SYSCALL_CAPSET_X => |s, ev, _| s.on_capset_exit(ev),
        code if is_clone_exit(code) => |s, ev, _| s.on_clone_exit(ev),
        code if is_execve_exit(code) => |s, ev, _| s.on_execve_exit(ev),
        _ => return None,
    };
    Some(h)
}

/// Whether applying an event of this code can change a thread other than
/// by creating or removing it: clone, fork, vfork and execve exits (which
/// set names, ids, executables and arguments), process exits and
/// container events. Every other event changes threads only in what they
/// carry about the call (last enter, fd, latency, memory, cwd).
pub fn changes_threads(code: u16) -> bool {
    is_clone_exit(code)
        || is_execve_exit(code)
        || matches!(
            code,
            c::PROCEXIT_E
                | c::PROCEXIT_1_E
                | c::CONTAINER_E
                | c::CONTAINER_JSON_E
                | c::CONTAINER_JSON_2_E
        )
}

/// The enter event code that pairs with an exit event code.
pub(super) fn c_enter(exit: u16) -> u16 {
    exit.wrapping_sub(1)
}

/// An exit event's latency for its thread: measured by the source
/// (exit-only live events), else the time since the thread's last enter.
#[inline]
pub(super) fn keep_exit_latency(t: &mut Thread, ev: &RawEvent<'_>) {
    if ev.latency != 0 {
        t.latency = ev.latency;
    } else if t.latency_enter_ts != 0 {
        t.latency = ev.ts.wrapping_sub(t.latency_enter_ts);
    }
}

#[inline(always)]
pub(super) fn is_clone_exit(code: u16) -> bool {
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
pub(super) fn is_execve_exit(code: u16) -> bool {
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

/// The `fd` and `tuple` parameters of `ev`, when its table entry (and the
/// event) has both: the exits of current libs carry them, old captures'
/// exits of the same code fewer parameters. Their positions per code are
/// found once.
pub(super) fn exit_fd_tuple<'a>(ev: &RawEvent<'a>) -> Option<(&'a [u8], &'a [u8])> {
    static AT: OnceLock<Vec<(u8, u8)>> = OnceLock::new();
    let at = AT.get_or_init(|| {
        let pos = |info: &sonde_event::EventInfo, name: &str| {
            let i = info.params.iter().position(|p| p.name == name);
            i.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
        };
        sonde_event::EVENTS
            .iter()
            .map(|info| (pos(info, "fd"), pos(info, "tuple")))
            .collect()
    });
    let &(fd, tuple) = at.get(ev.code as usize)?;
    if fd == u8::MAX || tuple == u8::MAX {
        return None;
    }
    Some((ev.param(fd.into())?, ev.param(tuple.into())?))
}

//! Dispatch: [`State::process`] applies one event: the work the previous
//! event deferred (closing fds, reaping exited threads), meeting the
//! event's thread and keeping its latency, then routing the event to its
//! family's handler: enter events are saved on their thread for the exit,
//! exit events go to `fdlife`, `io`, `sockets`, `lifecycle` or
//! `containers`.

use sonde_event::{codes as c, Direction, RawEvent};

use crate::fd::FdType;
use crate::thread::{clone_flags, LastEnter, Thread};

use super::io::{is_plain_rw_exit, is_rw_exit};
use super::{State, RECENT_EXIT_WINDOW_NS};

impl State {
    /// Finishes work deferred by the previous event.
    fn flush_pending(&mut self) {
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

    /// Whether the enter event `enter` of `tid` was seen just before its
    /// exit and sysdig 0.29.3's table gives it no fd (no `EF_USES_FD`).
    fn enter_without_fd(&self, tid: i64, enter: u16) -> bool {
        self.threads
            .get(&tid)
            .is_some_and(|t| t.last_enter.valid && t.last_enter.code == enter)
            && sonde_event::event_info(enter)
                .is_some_and(|i| i.old_flags & sonde_event::flags::USES_FD == 0)
    }

    /// An enter event: saved on its thread for the exit that follows.
    pub(super) fn on_enter(&mut self, ev: &RawEvent<'_>) {
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
        // the parameters are back to back in the event: one copy
        let (lens, data, large) = ev.parts();
        if large {
            le.lens.extend(
                lens.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        } else {
            le.lens.extend(
                lens.chunks_exact(2)
                    .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]]))),
            );
        }
        le.data.extend_from_slice(data);
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

    /// Routes an exit event to the handler of its system call's family,
    /// after the fd bookkeeping every exit shares.
    fn on_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let enter = c_enter(ev.code);
        // exit-side fd, for fields like fd.name on exit events
        if let Some(info) = ev.info() {
            if info.flags & sonde_event::flags::USES_FD != 0 {
                let from_exit = info.fd_param.and_then(|i| ev.param_i64(i as usize));
                let fd = if self.enter_without_fd(tid, enter) {
                    // sysdig 0.29.3 takes an exit's fd from its enter, and
                    // an enter that has none (setsockopt, getsockopt)
                    // leaves it at -1
                    Some(-1)
                } else {
                    from_exit.or_else(|| self.enter_i64(tid, enter, 0))
                };
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.last_fd = fd;
                } else if fd.is_some() {
                    self.thread_mut(tid).last_fd = fd;
                }
            }
        }
        if is_rw_exit(ev.code) && ev.param_i64(0).unwrap_or(-1) >= 0 {
            self.mark_connected(tid);
        }
        match ev.code {
            c::SYSCALL_OPEN_X | c::SYSCALL_CREAT_X => self.on_open_exit(ev, enter),
            c::SYSCALL_OPENAT_X => self.on_openat_exit(ev, enter),
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => self.on_openat2_exit(ev),
            c::SYSCALL_OPEN_BY_HANDLE_AT_X => self.on_open_by_handle_exit(ev),
            c::SOCKET_SOCKET_X => self.on_socket_exit(ev, enter),
            c::SOCKET_SOCKETPAIR_X => self.on_socketpair_exit(ev),
            c::SOCKET_BIND_X => self.on_bind_exit(ev, enter),
            c::SOCKET_CONNECT_X => self.on_connect_exit(ev, enter),
            c::SOCKET_SENDTO_X
            | c::SOCKET_SENDMSG_X
            | c::SOCKET_RECVFROM_X
            | c::SOCKET_RECVMSG_X => self.on_addr_io_exit(ev, enter),
            c::SOCKET_ACCEPT_X
            | c::SOCKET_ACCEPT_5_X
            | c::SOCKET_ACCEPT4_X
            | c::SOCKET_ACCEPT4_5_X
            | c::SOCKET_ACCEPT4_6_X => self.on_accept_exit(ev),
            c::SYSCALL_PIPE_X | c::SYSCALL_PIPE2_X => self.on_pipe_exit(ev),
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
            c::SYSCALL_MEMFD_CREATE_X => self.on_memfd_exit(ev),
            c::SYSCALL_DUP_X | c::SYSCALL_DUP_1_X | c::SYSCALL_DUP2_X | c::SYSCALL_DUP3_X => {
                self.on_dup_exit(ev, enter)
            }
            c::SYSCALL_FCNTL_X => self.on_fcntl_exit(ev, enter),
            c::SYSCALL_CLOSE_X => self.on_close_exit(ev, enter),
            c::SYSCALL_CLOSE_RANGE_X => self.on_close_range_exit(ev),
            c::SYSCALL_CHDIR_X => self.on_chdir_exit(ev),
            c::SYSCALL_FCHDIR_X => self.on_fchdir_exit(ev, enter),
            c::SYSCALL_BRK_4_X | c::SYSCALL_MMAP_X | c::SYSCALL_MMAP2_X | c::SYSCALL_MUNMAP_X => {
                self.on_memory_exit(ev)
            }
            c::SYSCALL_CAPSET_X => self.on_capset_exit(ev),
            code if is_clone_exit(code) => self.on_clone_exit(ev),
            code if is_execve_exit(code) => self.on_execve_exit(ev),
            _ => {}
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_enter.valid = false;
        }
    }
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

/// Parameter `name` of `ev`, when its table entry (and the event) has it:
/// old captures' exits of the same code carry fewer parameters.
pub(super) fn exit_param<'a>(ev: &RawEvent<'a>, name: &str) -> Option<&'a [u8]> {
    let i = ev.info()?.params.iter().position(|p| p.name == name)?;
    ev.param(i)
}

//! Passing by the events a capture filter rejects before the state
//! applies them. sysdig's parser never runs an event that modifies no
//! state once its filter rejected it; a caller that can decide on such
//! an event first ([`State::fd_after`] gives it the fd the event names)
//! leaves on its thread only what the thread's next events read: the fd
//! that the call's exit names, and that the call is over.

use sonde_event::{codes as c, flags, Direction, RawEvent};

use super::dispatch::{enter_fd_num, exit_fd_num, keep_exit_latency};
use super::State;
use crate::thread::Thread;

impl State {
    /// Whether `ev` is one a caller may decide on before the state applies
    /// it ([`State::fd_after`]), having finished the work the previous
    /// event deferred (closing fds, reaping threads) as
    /// [`State::process`] does first. False for events the state treats
    /// apart (`EF_SKIPPARSERESET`, `switch`), threads it has yet to meet
    /// (a /proc lookup, live) and before its tables are loaded.
    #[inline]
    pub fn may_pass_by(&mut self, ev: &RawEvent<'_>) -> bool {
        if !self.tables_ready || ev.tid < 0 || self.resolver.f.is_some() {
            return false;
        }
        let Some(info) = ev.info() else { return false };
        if info.old_flags & flags::SKIPPARSERESET != 0 || ev.code == c::SCHEDSWITCH_6_E {
            return false;
        }
        self.flush_pending();
        true
    }

    /// The thread of `ev` (one [`State::may_pass_by`] allowed) and the fd
    /// number the event would leave on it (`Thread::last_fd`) once
    /// applied, which fd fields read. None for a thread not in the table
    /// (the state meets it when it applies the event).
    #[inline]
    pub fn fd_after(&self, ev: &RawEvent<'_>) -> Option<(&Thread, Option<i64>)> {
        let info = ev.info()?;
        let t = self.threads.get(&ev.tid)?;
        let fd = match info.dir {
            Direction::Enter => enter_fd_num(ev, info),
            Direction::Exit if info.flags & flags::USES_FD != 0 => exit_fd_num(t, ev, info),
            Direction::Exit => t.last_fd,
        };
        Some((t, fd))
    }

    /// Passes by an enter event the capture filter rejected: its thread's
    /// call starts, naming fd `fd` ([`State::fd_after`]), with no
    /// parameter saved but the first, which its exit reads as an fd.
    pub fn skip_enter(&mut self, ev: &RawEvent<'_>, fd: Option<i64>) {
        self.begin_event(ev);
        let first = match ev.info().and_then(|i| i.fd_param) {
            Some(0) if fd.is_some() => fd,
            _ => ev.param(0).map(sonde_event::le_int),
        };
        let Some(t) = self.threads.get_mut(&ev.tid) else {
            return;
        };
        t.latency = 0;
        t.latency_enter_ts = ev.ts;
        t.last_fd = fd;
        t.last_enter.skip(ev.code, ev.ts, first);
    }

    /// Passes by an exit event the capture filter rejected: its thread
    /// names fd `fd` ([`State::fd_after`]), keeps the call's latency (as
    /// libsinsp's reset does before filtering) and its call is over.
    pub fn skip_exit(&mut self, ev: &RawEvent<'_>, fd: Option<i64>) {
        self.begin_event(ev);
        if let Some(t) = self.threads.get_mut(&ev.tid) {
            keep_exit_latency(t, ev);
            t.last_fd = fd;
            t.last_enter.spend();
        }
    }
}

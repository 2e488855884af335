//! What a field looks at for one event: [`Ctx`] (the state, the event and
//! the options of the run) and the table lookups it caches for the other
//! fields of the same event ([`Lookups`]), with the lookups shared by
//! several field classes (the event's thread, its fd, its parameters).
//! The fields themselves live in their class modules.

use std::io::Write;

use sonde_event::RawEvent;
use sonde_output::{render_param, RenderOpts};
use sonde_state::{State, Thread};

use crate::time::TimeFmt;

/// Everything a field may look at for one event.
pub struct Ctx<'a, 'e> {
    /// The state right after the event.
    pub st: &'a State,
    /// The event.
    pub ev: &'a RawEvent<'e>,
    /// 1-based event number.
    pub num: u64,
    /// Timestamp of the first event of the capture.
    pub first_ts: u64,
    /// Timestamp of the previous event.
    pub prev_ts: u64,
    /// How parameters render.
    pub opts: &'a RenderOpts,
    /// The `-t` time format (`evt.outputtime`).
    pub time_fmt: TimeFmt,
    /// The event's thread and fd once looked up, for the other fields of
    /// the same event (start with `Lookups::default()`).
    pub lookups: Lookups<'a>,
}

/// Table lookups made for one event, kept in its [`Ctx`]: filters and
/// formats read several fields of the same thread and fd. The state
/// cannot change while a `Ctx` borrows it, so they stay valid.
#[derive(Default)]
pub struct Lookups<'a> {
    thread: std::cell::Cell<Option<Option<&'a Thread>>>,
    fd: std::cell::Cell<Option<FdEntry<'a>>>,
    /// [`Ctx::set_before_parse`].
    before_parse: std::cell::Cell<bool>,
}

/// The event's thread, fd number and fd (when in the table); None when
/// the event has no fd or no thread.
type FdEntry<'a> = Option<(&'a Thread, i64, Option<&'a sonde_state::Fd>)>;

/// Appends a value in its `Display` form.
pub(crate) fn write_i(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// Whether `needle` occurs in `hay`.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Appends `true` or `false`.
#[inline]
pub(crate) fn push_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

impl<'a> Ctx<'a, '_> {
    /// Says that a capture filter reads this event where sysdig's runs
    /// it, before its parser (an event that modifies no state): what the
    /// parser's protocol decoders derive from it has no value yet, so
    /// `syslog.*` fields have none and `evt.info` shows the arguments
    /// (libs e5c53d64, parsers.cpp `sinsp_parser::process_event`: the
    /// filter, then `parse_rw_exit`, which hands the data to the syslog
    /// decoder). Formats, display filters (`-d`) and filters of events
    /// that modify state read the decoded message.
    #[inline]
    pub fn set_before_parse(&self, on: bool) {
        self.lookups.before_parse.set(on);
    }

    /// Whether [`Ctx::set_before_parse`] is on.
    #[inline]
    pub(crate) fn before_parse(&self) -> bool {
        self.lookups.before_parse.get()
    }

    /// The event's thread (`State::event_thread`), looked up once per
    /// event however many fields read it.
    #[inline]
    pub fn thread(&self) -> Option<&'a Thread> {
        if let Some(t) = self.lookups.thread.get() {
            return t;
        }
        let t = self.st.event_thread(self.ev);
        self.lookups.thread.set(Some(t));
        t
    }

    pub(crate) fn main_thread(&self) -> Option<&Thread> {
        let t = self.thread()?;
        self.st.thread(t.pid).or(Some(t))
    }

    /// The latency of the event's thread (time since its last enter
    /// event; 0 right after an enter event). None when sysdig would not
    /// have the thread at hand: events that skip the thread lookup.
    pub(crate) fn latency(&self) -> Option<u64> {
        let info = self.ev.info()?;
        if info.old_flags & sonde_event::flags::SKIPPARSERESET != 0
            && self.ev.code != sonde_event::codes::PROCINFO_E
        {
            return None;
        }
        Some(self.thread()?.latency)
    }

    /// The parameter holding the result: `res`, or for exit events that
    /// create an fd and have no `res`, the `fd` (positions per event code
    /// and parameter table, [`res_positions`]).
    #[inline]
    pub(crate) fn res_index(&self) -> Option<usize> {
        let at = res_positions(self.opts.compat_029).get(self.ev.code as usize)?;
        let n = self.ev.nparams();
        [at.res, at.fd]
            .into_iter()
            .map(usize::from)
            .find(|&i| i < n)
    }

    pub(crate) fn param_index(&self, name: &str) -> Option<usize> {
        let infos = sonde_output::param_infos(self.ev, self.opts);
        infos
            .iter()
            .take(self.ev.nparams())
            .position(|p| p.name == name)
    }

    pub(crate) fn fd_num(&self) -> Option<i64> {
        if !self.is_fd_event() {
            return None;
        }
        // like sysdig's "last event fd": -1 when the call names no fd
        Some(self.thread()?.last_fd.unwrap_or(-1))
    }

    /// Whether the event works on an fd (uses, creates or destroys one).
    #[inline]
    pub fn is_fd_event(&self) -> bool {
        let Some(info) = self.ev.info() else {
            return false;
        };
        // sysdig 0.29's table: e.g. mmap enter events did not use an fd yet
        let flags = if self.opts.compat_029 {
            info.old_flags
        } else {
            info.flags
        };
        use sonde_event::flags::{CREATES_FD, DESTROYS_FD, USES_FD};
        flags & (USES_FD | CREATES_FD | DESTROYS_FD) != 0
    }

    /// The fd the event operates on, when it is in the table (looked up
    /// once per event, however many fields read it).
    pub fn event_fd(&self) -> Option<&sonde_state::Fd> {
        self.event_fd_entry()?.2
    }

    /// The event's thread, [`Ctx::fd_num`] and the fd when it is in the
    /// table (`self.st.fd(ev.tid, n)`), with the thread looked up once.
    #[inline]
    pub(crate) fn event_fd_entry(&self) -> FdEntry<'a> {
        if let Some(e) = self.lookups.fd.get() {
            return e;
        }
        let e = self.find_event_fd();
        self.lookups.fd.set(Some(e));
        e
    }

    /// Takes `t` as the event's thread and resolves the event's fd as if
    /// the thread's last fd were `last_fd`: what the state will leave
    /// there once it applies the event (`State::fd_after`, which gives
    /// both), for deciding on an event before the state applies it.
    /// Fields that read the fd number itself (`fd.num`) still read the
    /// thread's.
    pub fn assume_event_fd(&self, t: &'a Thread, last_fd: Option<i64>) {
        self.lookups.thread.set(Some(Some(t)));
        let e = self.is_fd_event().then(|| {
            let n = last_fd.unwrap_or(-1);
            (t, n, self.st.fd_of(t, n))
        });
        self.lookups.fd.set(Some(e));
    }

    fn find_event_fd(&self) -> FdEntry<'a> {
        if !self.is_fd_event() {
            return None;
        }
        let t = self.thread()?;
        let n = t.last_fd.unwrap_or(-1);
        use sonde_event::codes as c;
        let fd = if matches!(self.ev.code, c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E) {
            // the thread is a stand-in, not the event's tid
            self.st.fd(self.ev.tid, n)
        } else {
            self.st.fd_of(t, n)
        };
        Some((t, n, fd))
    }

    /// The flags of the event as the table in use has them.
    #[inline]
    pub(crate) fn ev_flags(&self) -> u32 {
        match self.ev.info() {
            Some(i) if self.opts.compat_029 => i.old_flags,
            Some(i) => i.flags,
            None => 0,
        }
    }

    /// Appends the text of parameter `i` (its resolved form when it has one).
    pub(crate) fn arg_str(&self, i: usize, out: &mut Vec<u8>) -> bool {
        let mut v = Vec::new();
        let mut r = Vec::new();
        render_param(self.st, self.ev, i, self.opts, &mut v, &mut r);
        if r.is_empty() {
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&r);
        }
        true
    }
}

/// Where an event code's result is among its parameters (`u8::MAX`: not
/// there): its `res`, and for exit events that create an fd, its `fd`.
pub(crate) struct ResAt {
    res: u8,
    fd: u8,
}

impl ResAt {
    /// Whether the code has a result at all.
    pub(crate) fn any(&self) -> bool {
        self.res != u8::MAX || self.fd != u8::MAX
    }
}

/// [`ResAt`] for every event code, by sysdig 0.29's parameter lists
/// (`compat`) or the current ones (`sonde_output::param_infos`).
pub(crate) fn res_positions(compat: bool) -> &'static [ResAt] {
    static TABLES: std::sync::OnceLock<[Vec<ResAt>; 2]> = std::sync::OnceLock::new();
    let build = |compat: bool| -> Vec<ResAt> {
        sonde_event::EVENTS
            .iter()
            .map(|info| {
                let params = if compat { info.old_params } else { info.params };
                let at = |name: &str| {
                    let i = params.iter().position(|p| p.name == name);
                    i.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
                };
                let fd_result = info.dir == sonde_event::Direction::Exit
                    && info.old_flags & sonde_event::flags::CREATES_FD != 0;
                ResAt {
                    res: at("res"),
                    fd: if fd_result { at("fd") } else { u8::MAX },
                }
            })
            .collect()
    };
    &TABLES.get_or_init(|| [build(false), build(true)])[compat as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_event::codes as c;

    #[test]
    fn result_positions_name_res_or_the_created_fd() {
        for compat in [false, true] {
            let t = res_positions(compat);
            assert_eq!(t.len(), sonde_event::EVENTS.len());
            let at = |code: u16| &t[code as usize];
            // read exit: res first; read enter: no result at all
            assert_eq!(
                (at(c::SYSCALL_READ_X).res, at(c::SYSCALL_READ_X).fd),
                (0, u8::MAX)
            );
            assert_eq!(
                (at(c::SYSCALL_READ_E).res, at(c::SYSCALL_READ_E).fd),
                (u8::MAX, u8::MAX)
            );
            // open exit creates an fd and has no res: the fd is its result
            assert_eq!(
                (at(c::SYSCALL_OPEN_X).res, at(c::SYSCALL_OPEN_X).fd),
                (u8::MAX, 0)
            );
        }
    }
}

//! sysdig's rules for the capture filter in the pipeline.
//!
//! sysdig (libsinsp 0.29.3) runs the capture filter inside the parser:
//! events that modify state (`EF_MODIFIES_STATE`: open, clone, execve,
//! close, ...) are parsed first and filtered after, every other event is
//! filtered before its parsing; a rejected event is neither counted (`-n`),
//! written (`-w`) nor shown. The fd an event works on is known either way
//! (sysdig takes it from the thread's last enter event). sonde applies
//! every event to the state and filters after: the only difference is
//! that sysdig skips the (small) parsing of rejected non-state events,
//! and what that does to the next exit event ([`LastEventTypes`]).
//! `-d` instead runs the filter as a display filter, on the events about
//! to be printed.

use rustc_hash::{FxHashMap, FxHashSet as HashSet};

use sonde_event::{flags, Direction, RawEvent};
use sonde_fields::Ctx;
use sonde_filter::{Filter, Gate};

use crate::recent::Recent;

/// The optional kernel tracepoints of live capture: context switches
/// (`switch` events) and user page faults (`page_fault` events). Both are
/// costly (an event per switch or fault), so they are on only when the
/// filter selects their event types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracepoints {
    /// `switch` events.
    pub sched_switch: bool,
    /// `page_fault` events.
    pub page_faults: bool,
}

/// The optional tracepoints `filter` asks for: those whose event types it
/// selects by name (`evt.type=switch`, `evt.type in (...)`). A filter that
/// can select most types (`evt.type!=open`, or none on `evt.type`) does not
/// ask for them.
pub fn kernel_tracepoints(filter: Option<&Filter>) -> Tracepoints {
    use sonde_event::codes as c;
    let Some(types) = filter.and_then(Filter::event_types) else {
        return Tracepoints::default();
    };
    if types.len() * 2 > sonde_event::EVENTS.len() {
        return Tracepoints::default();
    }
    Tracepoints {
        sched_switch: types.contains(&c::SCHEDSWITCH_6_E) || types.contains(&c::SCHEDSWITCH_1_E),
        page_faults: types.contains(&c::PAGE_FAULT_E),
    }
}

/// Whether sysdig's parser would run this event before filtering it.
pub fn modifies_state(ev: &RawEvent<'_>) -> bool {
    code_kind(code_kinds(), ev.code) & kind::MODIFIES != 0
}

/// The bits of [`code_kind`]: what the event loop asks of an event code.
pub(crate) mod kind {
    /// sysdig's parser runs the event before filtering it ([`super::modifies_state`]).
    pub(crate) const MODIFIES: u8 = 1;
    /// Rejected before parsing, it clears its thread's last event.
    pub(crate) const CLEARS: u8 = 2;
    /// It sets its thread's last event (an enter event that is parsed).
    pub(crate) const SETS: u8 = 4;
    /// A known event that is no container event and changes no thread
    /// (`sonde_state::changes_threads`): a thread's verdict holds for it.
    pub(crate) const REUSES_VERDICT: u8 = 8;
    /// An event of the table (every code below its length).
    pub(crate) const KNOWN: u8 = 16;
    /// An enter event.
    pub(crate) const ENTER: u8 = 32;
}

/// The [`kind`] bits of an event code (0 for codes the table does not
/// know), from [`code_kinds`].
#[inline]
pub(crate) fn code_kind(kinds: &[u8], code: u16) -> u8 {
    kinds.get(code as usize).copied().unwrap_or(0)
}

/// The [`kind`] bits of every event code, built on first use.
pub(crate) fn code_kinds() -> &'static [u8] {
    static KINDS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        use sonde_event::codes as c;
        sonde_event::EVENTS
            .iter()
            .enumerate()
            .map(|(code, info)| {
                let code = code as u16;
                let mut k = kind::KNOWN;
                if info.dir == Direction::Enter {
                    k |= kind::ENTER;
                }
                if (info.flags | info.old_flags) & flags::MODIFIES_STATE != 0 {
                    k |= kind::MODIFIES;
                }
                if clears_last_event(info, code) {
                    k |= kind::CLEARS;
                }
                if sets_last_event(info) {
                    k |= kind::SETS;
                }
                let container = matches!(
                    code,
                    c::CONTAINER_E | c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E
                );
                if !container && !sonde_state::changes_threads(code) {
                    k |= kind::REUSES_VERDICT;
                }
                k
            })
            .collect()
    })
}

/// Whether rejecting an event of this kind before parsing clears its
/// thread's last event (libsinsp's reset of `m_lastevent_type`).
#[inline]
fn clears_last_event(info: &sonde_event::EventInfo, code: u16) -> bool {
    (info.flags | info.old_flags) & (flags::MODIFIES_STATE | flags::SKIPPARSERESET) == 0
        && code != sonde_event::codes::SCHEDSWITCH_6_E
}

/// Whether an event sets its thread's last event (libsinsp's `reset`): an
/// enter event whose parsing is not skipped (`EF_SKIPPARSERESET`:
/// `procinfo`, `drop`, ...).
#[inline]
fn sets_last_event(info: &sonde_event::EventInfo) -> bool {
    info.dir == Direction::Enter && (info.flags | info.old_flags) & flags::SKIPPARSERESET == 0
}

/// The per-thread "last event type" of libsinsp, as far as the capture
/// filter sees it: an event the filter rejects before parsing (one that
/// does not modify state) clears it, and the next exit event of that
/// thread then has no fd of its own (`evt.buflen`, `evt.category`).
pub struct LastEventTypes {
    /// [`code_kinds`].
    kinds: &'static [u8],
    cleared: HashSet<i64>,
    /// The threads of the last queries or changes and whether they lost
    /// their enter event, ahead of `cleared` (written back when they
    /// leave: runs of a few threads' events touch no hash).
    recent: Recent<bool>,
}

impl Default for LastEventTypes {
    fn default() -> Self {
        LastEventTypes {
            kinds: code_kinds(),
            cleared: HashSet::default(),
            recent: Recent::default(),
        }
    }
}

impl LastEventTypes {
    /// Runs the capture filter on the event in `ctx`.
    pub fn check(&mut self, f: &Filter, ctx: &Ctx<'_, '_>) -> bool {
        let ev = ctx.ev;
        let k = code_kind(self.kinds, ev.code);
        if k & kind::KNOWN == 0 {
            return f.matches(ctx);
        }
        if k & kind::SETS != 0 {
            self.set(ev.tid, false);
        }
        // (a `write` exit always has its fd under a capture filter: libs
        // e5c53d64, which sysdig 0.29.3 builds, looks a write exit's
        // `m_fdinfo` up from the thread's last fd before filtering it,
        // to check for tracer fds: parsers.cpp, sinsp_parser::process_event)
        let no_fd = k & kind::ENTER == 0
            && ev.code != sonde_event::codes::SYSCALL_WRITE_X
            && self.is_cleared(ev.tid);
        // (sysdig filters what modifies no state before parsing it)
        ctx.set_before_parse(k & kind::MODIFIES == 0);
        let pass = f.matches_with(ctx, no_fd);
        ctx.set_before_parse(false);
        if !pass && k & kind::CLEARS != 0 {
            self.set(ev.tid, true);
        }
        pass
    }

    /// The bookkeeping of [`LastEventTypes::check`] for an event whose
    /// verdict `pass` is known without evaluating the filter (one that
    /// cannot read the event's fd).
    #[inline(always)]
    pub fn known(&mut self, ev: &RawEvent<'_>, pass: bool) {
        // (an unknown code has neither bit)
        let k = code_kind(self.kinds, ev.code);
        // an enter event sets the thread's last event, a rejected one that
        // the parser would have reset clears it again: one update, not two
        if !pass && k & kind::CLEARS != 0 {
            self.set(ev.tid, true);
        } else if k & kind::SETS != 0 {
            self.set(ev.tid, false);
        }
    }

    /// Records an event the filter rejects without evaluating it (its type
    /// cannot match and it does not modify state).
    #[inline]
    pub fn note_rejected(&mut self, ev: &RawEvent<'_>) {
        if code_kind(self.kinds, ev.code) & kind::CLEARS != 0 {
            self.set(ev.tid, true);
        }
    }

    /// An event of `tid` that [`LastEventTypes::note_rejected`] would have
    /// cleared it for was left out unread by the decoding thread.
    #[inline]
    pub fn left_out(&mut self, tid: i64) {
        self.set(tid, true);
    }

    /// Whether `tid` lost its enter event.
    #[inline]
    fn is_cleared(&mut self, tid: i64) -> bool {
        if let Some(c) = self.recent.get(tid) {
            return c;
        }
        let c = !self.cleared.is_empty() && self.cleared.contains(&tid);
        let left = self.recent.put(tid, c);
        self.write_back(left);
        c
    }

    /// Records whether `tid` lost its enter event.
    #[inline]
    fn set(&mut self, tid: i64, cleared: bool) {
        match self.recent.get_mut(tid) {
            Some(c) => *c = cleared,
            None => {
                let left = self.recent.put(tid, cleared);
                self.write_back(left);
            }
        }
    }

    /// Writes back the value of a thread that left `recent`.
    #[inline(never)]
    fn write_back(&mut self, left: Option<(i64, bool)>) {
        match left {
            Some((t, true)) => {
                self.cleared.insert(t);
            }
            Some((t, false)) if !self.cleared.is_empty() => {
                self.cleared.remove(&t);
            }
            _ => {}
        }
    }
}

/// Per-thread verdicts of the part of a capture filter that reads only
/// the event's thread ([`Filter::thread_gate`]: the whole filter, or
/// conjuncts of its top-level `and`): for an event that does not modify
/// state, the verdict its thread got earlier holds as long as no event
/// modified state, no metadata block arrived and the thread table neither
/// grew nor shrank (a thread met for the first time, a parent that
/// appears). A thread the part rejects has all such events rejected; one
/// it accepts has them checked by the whole filter ([`Gate::Part`]).
/// Only for capture files: live capture looks unknown threads up in /proc
/// at any event.
pub struct ThreadVerdicts {
    /// The verdict is the whole filter's ([`Gate::Whole`]).
    whole: bool,
    by_tid: FxHashMap<i64, bool>,
    /// The size of the thread table the verdicts were taken at.
    nthreads: usize,
    /// The last threads asked about and their verdicts (also in `by_tid`).
    recent: Recent<bool>,
}

/// Most threads whose verdicts are kept.
const MAX_VERDICTS: usize = 1 << 16;

impl ThreadVerdicts {
    /// The verdicts of `f`'s thread part, None when no part of it reads
    /// only the thread.
    pub fn new(f: Option<&Filter>) -> Option<ThreadVerdicts> {
        let whole = match f?.thread_gate() {
            Gate::None => return None,
            Gate::Whole => true,
            Gate::Part(_) => false,
        };
        Some(ThreadVerdicts {
            whole,
            by_tid: FxHashMap::default(),
            nthreads: 0,
            recent: Recent::default(),
        })
    }

    /// Forgets every verdict (the thread table may have changed).
    #[inline]
    pub fn clear(&mut self) {
        self.recent.clear();
        if !self.by_tid.is_empty() {
            self.by_tid.clear();
        }
    }

    /// Whether `tid`'s thread was rejected by the filter and the thread
    /// table of `nthreads` threads has not changed since: then an event
    /// of it that does not modify state is rejected before the state sees
    /// it, as sysdig's parser skips events its filter rejects.
    /// A verdict found here becomes the last one asked about, so that
    /// [`ThreadVerdicts::verdict`] does not look it up again.
    #[inline]
    pub fn rejects(&mut self, tid: i64, nthreads: usize) -> bool {
        if nthreads != self.nthreads {
            return false;
        }
        if let Some(v) = self.recent.get(tid) {
            return !v;
        }
        match self.by_tid.get(&tid) {
            Some(&v) => {
                self.recent.put(tid, v);
                !v
            }
            None => false,
        }
    }

    /// Whether a verdict is the whole filter's, not only its thread
    /// part's (which, when true, leaves the event to the whole filter).
    #[inline]
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// The verdict of the filter's thread part for the event in `ctx`,
    /// which was applied to the state already and changes no thread
    /// (clone, execve, exit).
    #[inline]
    pub fn verdict(&mut self, f: &Filter, ctx: &Ctx<'_, '_>) -> bool {
        let n = ctx.st.threads.len();
        if n != self.nthreads {
            self.clear();
            self.nthreads = n;
        }
        let tid = ctx.ev.tid;
        if let Some(v) = self.recent.get(tid) {
            return v;
        }
        let v = match self.by_tid.get(&tid) {
            Some(&v) => v,
            None => {
                let v = f.thread_verdict(ctx);
                if self.by_tid.len() >= MAX_VERDICTS {
                    self.by_tid.clear();
                    self.recent.clear();
                }
                self.by_tid.insert(tid, v);
                v
            }
        };
        self.recent.put(tid, v);
        v
    }
}

/// The events a filter can accept: by event code, and for generic
/// `syscall` events by syscall id.
#[derive(Clone)]
pub struct TypeTable {
    codes: Vec<bool>,
    generic_ids: Vec<bool>,
}

impl TypeTable {
    /// Whether the filter may accept this event (false: it surely rejects it).
    #[inline]
    pub fn may_accept(&self, ev: &RawEvent<'_>) -> bool {
        use sonde_event::codes::{GENERIC_E, GENERIC_X};
        if ev.code == GENERIC_E || ev.code == GENERIC_X {
            return match ev.param_u64(0) {
                Some(id) => self.generic_ids.get(id as usize).copied().unwrap_or(true),
                None => true,
            };
        }
        self.codes.get(ev.code as usize).copied().unwrap_or(true)
    }

    /// Whether the filter may accept events of `code`, a non-generic one
    /// (generic events are decided by their syscall: [`TypeTable::may_accept`]).
    #[inline]
    pub fn may_accept_code(&self, code: u16) -> bool {
        self.codes.get(code as usize).copied().unwrap_or(true)
    }

    /// This table with the enter event of every exit it may accept (not
    /// of generic exits, whose syscall decides): what a sink that reads an
    /// exit's enter (its latency, parameters and fd) must be handed.
    pub fn with_enters(&self) -> TypeTable {
        use sonde_event::codes::{GENERIC_E, GENERIC_X};
        let mut t = self.clone();
        for (code, &may) in self.codes.iter().enumerate() {
            let code = code as u16;
            if may && code != GENERIC_E && code != GENERIC_X {
                if let Some(x) = t.codes.get_mut(enter_of(code) as usize) {
                    *x = true;
                }
            }
        }
        t
    }
}

/// The enter event of the call an event of `code` belongs to (enters are
/// even, their exits the next code).
#[inline]
fn enter_of(code: u16) -> u16 {
    code & !1
}

/// The events the decoding thread may leave out.
///
/// - For a capture filter whose type table is `types`: exactly those the
///   event loop counts and drops unread (the table rejects them and they
///   do not modify state), the threads of those that clear the last event
///   marked.
/// - With `hidden`, when every sink takes only the events sysdig shows:
///   those it never shows without `-D` and the state applies nothing of
///   ([`hidden_inert`]).
///
/// Container events are always handed out, and nothing is left out before
/// the first event that is not one (the run's first event time, its
/// opening).
pub(crate) fn skip_table(types: Option<&TypeTable>, hidden: bool) -> sonde_scap::SkipTable {
    use sonde_event::codes as c;
    let mut t = sonde_scap::SkipTable::default();
    let container = [c::CONTAINER_E, c::CONTAINER_JSON_E, c::CONTAINER_JSON_2_E];
    for (i, info) in sonde_event::EVENTS.iter().enumerate() {
        let code = i as u16;
        if container.contains(&code) || (info.flags | info.old_flags) & flags::MODIFIES_STATE != 0 {
            continue;
        }
        if hidden && hidden_inert(info, code) {
            // they leave the last event alone (`EF_SKIPPARSERESET`)
            t.skip(code, false);
            continue;
        }
        let Some(types) = types else { continue };
        let mark = clears_last_event(info, code);
        if code == c::GENERIC_E || code == c::GENERIC_X {
            // by syscall id (`may_accept`)
            for (id, &may) in types.generic_ids.iter().enumerate() {
                if !may {
                    t.skip_syscall(code, id as u16, mark);
                }
            }
        } else if !types.may_accept_code(code) {
            t.skip(code, mark);
        }
    }
    t.set_opening(&container);
    t
}

/// An event sysdig shows only with `-D` (`EC_INTERNAL`) whose parsing it
/// skips (`EF_SKIPPARSERESET`: the thread's last event stays) and which
/// the state applies nothing of ([`sonde_state::is_inert`]): `procinfo`.
/// Only a sink that reads hidden events (chisels, views, metrics) or `-n`
/// (which counts them) has a use for it.
fn hidden_inert(info: &sonde_event::EventInfo, code: u16) -> bool {
    info.old_category & sonde_event::category::INTERNAL != 0
        && (info.flags | info.old_flags) & flags::SKIPPARSERESET != 0
        && sonde_state::is_inert(code)
}

/// The events a capture filter can accept, or None when it may accept
/// any event: with the enter event of every exit it may accept, which the
/// state must see.
pub fn type_table(f: Option<&Filter>) -> Option<TypeTable> {
    table(f, true)
}

/// The events a filter can accept and nothing else, or None when it may
/// accept any event: for a sink's own filter, which runs after the state.
pub fn accepted_types(f: Option<&Filter>) -> Option<TypeTable> {
    table(f, false)
}

fn table(f: Option<&Filter>, enters: bool) -> Option<TypeTable> {
    use sonde_event::codes::{GENERIC_E, GENERIC_X};
    // a filter that remembers earlier evaluations sees every event, as in sysdig
    let f = f.filter(|f| !f.is_stateful())?;
    let set = f.event_types()?;
    // a switch or procinfo event's latency is its thread's last call's:
    // every call's exit is looked at then (libsinsp's reset sets it
    // before the filter runs, whatever the verdict)
    let own_latency = [
        sonde_event::codes::SCHEDSWITCH_6_E,
        sonde_event::codes::PROCINFO_E,
    ];
    if enters && f.reads_latency() && own_latency.iter().any(|c| set.contains(c)) {
        return None;
    }
    // a sink's filter whose codes exclude generic events accepts none of
    // them, whatever their syscall (`evt.is_io=true`); a capture filter's
    // table leaves them to the filter
    let generic = enters || set.contains(&GENERIC_E) || set.contains(&GENERIC_X);
    let mut codes = vec![false; sonde_event::EVENTS.len()];
    for c in set {
        // the enter event of an exit that may pass is looked at too: the
        // state takes the exit's fd from it, whatever the verdict on it
        // (`evt.dir=<` rejects every enter, not what its exit reads)
        let enter = if enters { enter_of(c) } else { c };
        for k in [c, enter] {
            if let Some(x) = codes.get_mut(k as usize) {
                *x = true;
            }
        }
    }
    // generic events show the name of their syscall id as evt.type
    let max = sonde_event::SYSCALL_NAMES
        .iter()
        .map(|(id, _)| *id as usize)
        .max()
        .unwrap_or(0);
    let names: Vec<&str> = sonde_event::SYSCALL_NAMES.iter().map(|(_, n)| *n).collect();
    let accepted = f.event_type_names(&names);
    let mut generic_ids = vec![accepted.is_none() && generic; max + 1];
    if let (Some(acc), true) = (accepted, generic) {
        for (id, n) in sonde_event::SYSCALL_NAMES {
            generic_ids[*id as usize] = acc.contains(n);
        }
        // ids without a name render as "<unknown>": let the filter decide
        if let Some(x) = generic_ids.get_mut(0) {
            *x = true;
        }
    }
    Some(TypeTable { codes, generic_ids })
}

#[cfg(feature = "live")]
/// The native syscalls the live probe must pass to user space for this
/// filter: those of the event types the filter can select, plus every
/// syscall the state engine needs (fd, process and cwd changes). `None`
/// (no filter, or one that can select any type) means all of them.
pub fn kernel_syscalls(filter: Option<&Filter>) -> Option<Vec<u32>> {
    let table = sonde_probe::syscall_table();
    // a syscall is selected by its own name or by its event's (pread64
    // makes `pread` events)
    let event_names: Vec<Option<&str>> = table
        .iter()
        .map(|(nr, _, _)| {
            let e = sonde_probe::syscall_exit_event(*nr)?;
            sonde_event::EVENTS
                .iter()
                .find(|i| i.enum_name == e)
                .map(|i| i.name)
        })
        .collect();
    let mut candidates: Vec<&str> = table.iter().map(|(_, name, _)| *name).collect();
    candidates.extend(event_names.iter().flatten());
    let mut names = filter?.event_type_names(&candidates)?;
    for info in sonde_event::EVENTS.iter() {
        let state = (info.flags | info.old_flags) & sonde_event::flags::MODIFIES_STATE != 0
            && info.category & sonde_event::category::SYSCALL != 0;
        if state {
            names.extend(
                candidates
                    .iter()
                    .copied()
                    .filter(|c| *c == info.name || *c == info.old_name),
            );
        }
    }
    let mut nrs: Vec<u32> = table
        .iter()
        .zip(&event_names)
        .filter(|((_, name, _), ev)| names.contains(name) || ev.is_some_and(|n| names.contains(n)))
        .map(|((nr, _, _), _)| *nr)
        .collect();
    nrs.sort_unstable();
    nrs.dedup();
    Some(nrs)
}

/// The native syscalls the live probe passes on for a capture filter and
/// the sinks' own type needs: the union over sinks (any sink without a
/// type restriction means all), within the capture filter's set. `None`
/// means all syscalls.
#[cfg(feature = "live")]
pub fn kernel_syscall_set(filter: Option<&Filter>, sinks: &[crate::Needs]) -> Option<Vec<u32>> {
    let mut union: Option<Vec<u32>> = Some(Vec::new());
    for n in sinks {
        let set = n
            .types
            .as_deref()
            .and_then(|t| Filter::new(t).ok())
            .and_then(|f| kernel_syscalls(Some(&f)));
        union = match (union, set) {
            (Some(mut u), Some(s)) => {
                u.extend(s);
                Some(u)
            }
            _ => None,
        };
    }
    if sinks.is_empty() {
        union = None;
    }
    let union = union.map(|mut u| {
        u.sort_unstable();
        u.dedup();
        u
    });
    match (kernel_syscalls(filter), union) {
        (None, u) => u,
        (f, None) => f,
        (Some(f), Some(u)) => Some(f.into_iter().filter(|nr| u.contains(nr)).collect()),
    }
}

/// The syscalls (native numbers) the kernel may count instead of sending
/// their events: those every sink only counts ([`crate::Needs::counted`]),
/// when no capture filter could select their events.
#[cfg(feature = "live")]
pub fn kernel_counted(filter: Option<&Filter>, sinks: &[crate::Needs]) -> Vec<u32> {
    let Some((first, rest)) = sinks.split_first() else {
        return Vec::new();
    };
    if filter.is_some() {
        return Vec::new();
    }
    first
        .counted
        .iter()
        .filter(|name| rest.iter().all(|n| n.counted.contains(name)))
        .filter_map(|name| sonde_probe::syscall_nr(name))
        .collect()
}

#[cfg(all(test, feature = "live"))]
mod tests {
    use super::*;

    fn nr(name: &str) -> u32 {
        sonde_probe::syscall_nr(name).unwrap()
    }

    #[test]
    fn only_what_every_sink_counts_is_counted_in_the_kernel() {
        let counts = |names: &'static [&'static str]| crate::Needs {
            counted: names,
            ..Default::default()
        };
        let a = counts(&["epoll_wait", "futex", "no_such_syscall"]);
        let b = counts(&["futex", "epoll_wait"]);
        assert_eq!(
            kernel_counted(None, &[a.clone(), b.clone()]),
            [nr("epoll_wait"), nr("futex")]
        );
        assert_eq!(kernel_counted(None, std::slice::from_ref(&a)).len(), 2);
        // a sink that reads every event, a capture filter, no sink at all
        assert!(kernel_counted(None, &[a.clone(), counts(&[])]).is_empty());
        let f = Filter::new("proc.name=x").unwrap();
        assert!(kernel_counted(Some(&f), &[a, b]).is_empty());
        assert!(kernel_counted(None, &[]).is_empty());
    }

    #[test]
    fn kernel_set_covers_the_filter_and_the_state() {
        let f = Filter::new("evt.type=read and proc.name=cat").unwrap();
        let set = kernel_syscalls(Some(&f)).unwrap();
        assert!(set.contains(&nr("read")));
        for needed in [
            "openat", "close", "execve", "clone", "dup2", "socket", "connect", "chdir",
        ] {
            assert!(
                set.contains(&nr(needed)),
                "{needed} is needed by the state engine"
            );
        }
        assert!(!set.contains(&nr("getppid")));
        // a syscall without an event of its own (a generic event) is passed on too
        let g = Filter::new("evt.type=getppid").unwrap();
        assert!(kernel_syscalls(Some(&g)).unwrap().contains(&nr("getppid")));
        assert!(!set.contains(&nr("write")));
        assert_eq!(kernel_syscalls(None), None);
        let any = Filter::new("proc.name=cat").unwrap();
        assert_eq!(kernel_syscalls(Some(&any)), None);
    }

    #[test]
    fn kernel_set_maps_event_names_to_their_syscalls() {
        // events named otherwise than their syscall
        let f = Filter::new("evt.type in (pread, pwrite, umount2, signaldeliver)").unwrap();
        let set = kernel_syscalls(Some(&f)).unwrap();
        for needed in ["pread64", "pwrite64", "umount2"] {
            assert!(set.contains(&nr(needed)), "{needed}");
        }
        assert!(!set.contains(&nr("preadv2")));
        // and those named like it
        let f =
            Filter::new("evt.type in (sendto, recvmsg, mmap, kill, nanosleep, setuid)").unwrap();
        let set = kernel_syscalls(Some(&f)).unwrap();
        for needed in ["sendto", "recvmsg", "mmap", "kill", "nanosleep", "setuid"] {
            assert!(set.contains(&nr(needed)), "{needed}");
        }
        assert!(!set.contains(&nr("read")));
    }

    #[test]
    fn sinks_narrow_the_kernel_set_within_the_filter() {
        let any = crate::Needs::default();
        let reads = crate::Needs {
            types: Some("evt.type=read".into()),
            ..Default::default()
        };
        let opens = crate::Needs {
            types: Some("evt.type=openat".into()),
            ..Default::default()
        };
        assert_eq!(kernel_syscall_set(None, std::slice::from_ref(&any)), None);
        assert_eq!(kernel_syscall_set(None, &[]), None);
        let set = kernel_syscall_set(None, &[reads.clone(), opens.clone()]).unwrap();
        assert!(set.contains(&nr("read")) && set.contains(&nr("openat")));
        assert!(!set.contains(&nr("getppid")));
        // one sink that takes everything widens it to all
        assert_eq!(kernel_syscall_set(None, &[reads.clone(), any]), None);
        // the capture filter bounds what any sink gets
        let f = Filter::new("evt.type=write").unwrap();
        let set = kernel_syscall_set(Some(&f), &[reads]).unwrap();
        assert!(!set.contains(&nr("read")) && !set.contains(&nr("write")));
        assert!(
            set.contains(&nr("close")),
            "the state engine's syscalls stay"
        );
    }

    #[test]
    fn events_that_skip_the_parser_reset_leave_the_last_event_alone() {
        use sonde_event::codes as c;
        let ev = |code| RawEvent::from_parts(1, 7, code, 0, &[], false).unwrap();
        let mut last = LastEventTypes::default();
        // a rejected read enter clears thread 7's last event ...
        last.known(&ev(c::SYSCALL_READ_E), false);
        assert!(last.is_cleared(7));
        // ... which a procinfo event (EF_SKIPPARSERESET), passed or not,
        // leaves as it is (libsinsp's `reset` returns before the update)
        last.known(&ev(c::PROCINFO_E), true);
        last.known(&ev(c::PROCINFO_E), false);
        assert!(last.is_cleared(7));
        // an enter event that passes sets it again
        last.known(&ev(c::SYSCALL_READ_E), true);
        assert!(!last.is_cleared(7));
    }

    #[test]
    fn only_hidden_inert_events_are_left_out_for_sinks_that_show() {
        let hidden: Vec<u16> = sonde_event::EVENTS
            .iter()
            .enumerate()
            .filter(|&(i, info)| hidden_inert(info, i as u16))
            .map(|(i, _)| i as u16)
            .collect();
        assert_eq!(hidden, [sonde_event::codes::PROCINFO_E]);
        assert!(skip_table(None, false).is_empty());
        assert!(!skip_table(None, true).is_empty());
    }

    #[test]
    fn tracepoints_only_when_the_filter_asks() {
        let tp = |f: &str| kernel_tracepoints(Some(&Filter::new(f).unwrap()));
        assert_eq!(kernel_tracepoints(None), Tracepoints::default());
        assert_eq!(tp("proc.name=cat"), Tracepoints::default());
        assert_eq!(tp("evt.type=open"), Tracepoints::default());
        assert_eq!(
            tp("evt.type=switch and proc.name=cat"),
            Tracepoints {
                sched_switch: true,
                page_faults: false
            }
        );
        assert_eq!(
            tp("evt.type=page_fault or evt.type=switch"),
            Tracepoints {
                sched_switch: true,
                page_faults: true
            }
        );
        assert_eq!(tp("evt.type!=switch"), Tracepoints::default());
        assert_eq!(tp("evt.type!=open"), Tracepoints::default());
    }
}

/// Type tables, with or without the live probe.
#[cfg(test)]
mod type_table_tests {
    use super::*;
    use sonde_event::codes as c;

    #[test]
    fn code_kinds_agree_with_the_event_table() {
        let kinds = code_kinds();
        assert_eq!(kinds.len(), sonde_event::EVENTS.len());
        let container = [c::CONTAINER_E, c::CONTAINER_JSON_E, c::CONTAINER_JSON_2_E];
        for (i, info) in sonde_event::EVENTS.iter().enumerate() {
            let code = i as u16;
            let k = code_kind(kinds, code);
            let modifies = (info.flags | info.old_flags) & flags::MODIFIES_STATE != 0;
            assert_eq!(k & kind::MODIFIES != 0, modifies, "{}", info.name);
            assert_eq!(
                k & kind::CLEARS != 0,
                clears_last_event(info, code),
                "{}",
                info.name
            );
            assert_eq!(k & kind::SETS != 0, sets_last_event(info), "{}", info.name);
            let reuses = !container.contains(&code) && !sonde_state::changes_threads(code);
            assert_eq!(k & kind::REUSES_VERDICT != 0, reuses, "{}", info.name);
            assert_ne!(k & kind::KNOWN, 0);
            assert_eq!(
                k & kind::ENTER != 0,
                info.dir == Direction::Enter,
                "{}",
                info.name
            );
        }
        // codes past the table: nothing
        assert_eq!(code_kind(kinds, u16::MAX), 0);
        // a read exit is reused, a clone exit and a container event are not
        assert_ne!(
            code_kind(kinds, c::SYSCALL_READ_X) & kind::REUSES_VERDICT,
            0
        );
        assert_eq!(
            code_kind(kinds, c::SYSCALL_CLONE_20_X) & kind::REUSES_VERDICT,
            0
        );
        assert_eq!(
            code_kind(kinds, c::CONTAINER_JSON_2_E) & kind::REUSES_VERDICT,
            0
        );
        assert_ne!(code_kind(kinds, c::SYSCALL_CLOSE_X) & kind::MODIFIES, 0);
    }

    fn table(f: &str) -> TypeTable {
        type_table(Some(&Filter::new(f).unwrap())).unwrap()
    }

    fn accepts(t: &TypeTable, code: u16) -> bool {
        let ev = RawEvent::from_parts(1, 1, code, 0, &[], false).unwrap();
        t.may_accept(&ev)
    }

    #[test]
    fn an_exit_that_may_pass_keeps_its_enter() {
        // every enter fails evt.dir=<, but the state reads the exit's fd
        // from it, so it is not skipped before the state sees it
        let t = table("evt.dir=< and fd.typechar=4");
        assert!(accepts(&t, c::SYSCALL_READ_X) && accepts(&t, c::SYSCALL_READ_E));
        let io = table("evt.is_io=true");
        assert!(accepts(&io, c::SYSCALL_READ_E) && accepts(&io, c::SYSCALL_READ_X));
        assert!(!accepts(&io, c::SYSCALL_OPEN_E) && !accepts(&io, c::SYSCALL_OPEN_X));
        let open = table("evt.type=open");
        assert!(accepts(&open, c::SYSCALL_OPEN_E) && !accepts(&open, c::SYSCALL_READ_E));
    }

    fn generic(t: &TypeTable, id: u32, code: u16) -> bool {
        let mut body = 2u16.to_le_bytes().to_vec();
        body.extend_from_slice(&(id as u16).to_le_bytes());
        let ev = RawEvent::from_parts(1, 1, code, 1, &body, false).unwrap();
        t.may_accept(&ev)
    }

    #[test]
    fn a_sink_filter_without_generic_codes_takes_no_generic_event() {
        let nr = |n: &str| {
            sonde_event::SYSCALL_NAMES
                .iter()
                .find(|(_, name)| *name == n)
                .map(|(id, _)| *id)
                .unwrap()
        };
        let clock = nr("clock_gettime");
        let io = accepted_types(Some(&Filter::new("evt.is_io=true and evt.dir=<").unwrap()));
        let io = io.unwrap();
        assert!(!generic(&io, clock, c::GENERIC_E) && !generic(&io, clock, c::GENERIC_X));
        assert!(io.may_accept_code(c::SYSCALL_READ_X) && !io.may_accept_code(c::SYSCALL_READ_E));
        // by name, generic events are taken by their syscall
        let by_name = accepted_types(Some(&Filter::new("evt.type=clock_gettime").unwrap()));
        let by_name = by_name.unwrap();
        assert!(generic(&by_name, clock, c::GENERIC_X));
        assert!(!generic(&by_name, nr("getppid"), c::GENERIC_X));
        // a capture filter leaves generic events to the filter
        let capture = table("evt.is_io=true");
        assert!(generic(&capture, clock, c::GENERIC_E));
    }

    #[test]
    fn with_enters_adds_the_enter_of_every_exit_it_may_accept() {
        for f in [
            "evt.is_io=true and evt.dir=<",
            "evt.type=open",
            "fd.type=file",
            "evt.dir=>",
        ] {
            let Some(t) = accepted_types(Some(&Filter::new(f).unwrap())) else {
                continue;
            };
            let w = t.with_enters();
            for code in 0..sonde_event::EVENTS.len() as u16 + 2 {
                let generic = code == c::GENERIC_E || code == c::GENERIC_X;
                let enter = sonde_event::event_info(code)
                    .is_some_and(|i| i.dir == sonde_event::Direction::Enter);
                let want =
                    t.may_accept_code(code) || (!generic && enter && t.may_accept_code(code + 1));
                assert_eq!(w.may_accept_code(code), want, "{f}: code {code}");
            }
        }
        let io = accepted_types(Some(&Filter::new("evt.is_io=true and evt.dir=<").unwrap()));
        let w = io.unwrap().with_enters();
        assert!(w.may_accept_code(c::SYSCALL_READ_E) && !w.may_accept_code(c::SYSCALL_OPEN_E));
    }
}

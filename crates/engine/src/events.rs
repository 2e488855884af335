//! The decoded-event loop: state, `-U`, the capture filter with sysdig's
//! placement, and handing events out to the sinks.

use sonde_event::{category, codes, RawEvent};
use sonde_fields::Ctx;
use sonde_scap::{Block, Gap, DF_STATE_ONLY};

use sonde_state::{Scope, State};

use crate::engine::{Config, Engine, Report};
use crate::rules::{code_kind, code_kinds, kind, type_table, LastEventTypes, ThreadVerdicts};
use crate::sink::{Flow, Handed, SinkError};
use crate::source::{Source, SourceError};

/// How a loop ended.
pub(crate) enum LoopEnd {
    /// The source ended (with an error or not), a stop, or `-n`.
    Done(Option<SourceError>),
    /// A sink asked to quit.
    Quit,
}

/// Event numbering and times of one run.
#[derive(Default)]
struct Clock {
    num: u64,
    first_ts: u64,
    prev_ts: u64,
    /// The latest event or idle-beat time seen.
    last_ts: u64,
}

/// Which sinks get which callbacks, worked out once per run.
struct Plan {
    needs_state: bool,
    track_prev: bool,
    writers: Vec<usize>,
    /// (sink, interval, next boundary)
    tickers: Vec<(usize, u64, u64)>,
    max: u64,
    /// Light events no sink wants may pass the state and the sinks by
    /// ([`Engine::pass_over`]): no capture filter, `-U` or writer reads
    /// every event.
    pass_over_light: bool,
    /// The widest `Needs::scope` of the sinks.
    scope: Scope,
    /// The sinks allowed to hold events (`Needs::holds`, a sink alone).
    holders: Vec<usize>,
}

/// What a verdict of [`Engine::verdict_before_state`] was taken on.
#[derive(Clone, Copy, PartialEq)]
struct MemoKey {
    tid: i64,
    /// The fd number the event named, and whether it names one at all.
    fd: Option<i64>,
    fd_event: bool,
    /// `State::changes` when it was taken.
    changes: u64,
}

/// The per-run state of the loop, passed to each event's step.
struct Run {
    plan: Plan,
    types: Option<crate::rules::TypeTable>,
    /// Per-thread verdicts of the filter's thread part (files only).
    verdicts: Option<ThreadVerdicts>,
    /// What each event code is to the loop ([`code_kinds`]).
    kinds: &'static [u8],
    last_types: LastEventTypes,
    clock: Clock,
    suppress: bool,
    /// Container events at the very start of a capture describe the
    /// containers that existed; sysdig consumes them while opening it.
    opening: bool,
    /// A sink holds events ([`Flow::Held`]) it takes at the next
    /// [`Engine::settle`].
    held: bool,
    /// The capture filter reads only what an event that modifies nothing
    /// leaves alone ([`sonde_filter::Filter::reads_before_state`]), and
    /// its thread verdicts do not decide it whole (files, no `-U`, no
    /// sink holding events): such an event is judged before the state
    /// applies it ([`Engine::verdict_before_state`]).
    before_state: bool,
    /// The event at hand was judged by [`Engine::verdict_before_state`]
    /// and accepted.
    prejudged: bool,
    /// The last verdict [`Engine::verdict_before_state`] took on an event
    /// whose fd is in the table, when the filter reads only the thread
    /// and the fd's entry ([`sonde_filter::Filter::reads_thread_and_fd`]):
    /// it holds for the next event of the same thread naming the same fd
    /// while the tables stay the same (the exit after its enter).
    memo: Option<(MemoKey, bool)>,
    /// Whether `memo` is kept.
    memo_on: bool,
    /// No ticker, writer or `-U`, and a filter with thread verdicts: an
    /// event it rejects before the state may take
    /// [`Engine::quick_reject`]. (Without verdicts the decoding thread
    /// leaves out nearly all the events the type table rejects, and the
    /// check would cost the others more than it saves.)
    quick: bool,
}

impl Engine<'_> {
    /// Runs decoded events from `source` through the pipeline.
    pub(crate) fn events(
        &mut self,
        source: &mut Source,
        needs_state: bool,
        report: &mut Report,
    ) -> Result<LoopEnd, SinkError> {
        let plan = self.plan(needs_state);
        let mut run = Run {
            quick: false,
            before_state: false,
            prejudged: false,
            memo: None,
            memo_on: false,
            plan,
            types: type_table(self.cfg.filter.as_ref()),
            verdicts: if source.is_live() {
                None
            } else {
                ThreadVerdicts::new(self.cfg.filter.as_ref())
            },
            kinds: code_kinds(),
            last_types: LastEventTypes::default(),
            clock: Clock::default(),
            suppress: !self.cfg.suppress_comm.is_empty(),
            opening: true,
            held: false,
        };
        run.before_state = !source.is_live()
            && !run.suppress
            && run.plan.holders.is_empty()
            && !run.verdicts.as_ref().is_some_and(ThreadVerdicts::is_whole)
            && self
                .cfg
                .filter
                .as_ref()
                .is_some_and(sonde_filter::Filter::reads_before_state);
        run.memo_on = run.before_state
            && self
                .cfg
                .filter
                .as_ref()
                .is_some_and(sonde_filter::Filter::reads_thread_and_fd);
        run.quick = run.plan.tickers.is_empty()
            && run.plan.writers.is_empty()
            && !run.suppress
            && run.verdicts.is_some();
        for &i in &run.plan.holders {
            self.sinks[i].allow_holding();
        }
        // as sysdig: the capture filter runs before the memory updates of
        // events that do not modify state, and rejected ones never apply
        self.st.set_defer_memory(self.cfg.filter.is_some());
        self.st.set_sysdig_029(self.cfg.render.compat_029);
        loop {
            #[cfg(feature = "live")]
            if self.ctr.as_ref().is_some_and(|c| c.due(run.clock.num)) {
                if let Some(end) = self.container_events(&mut run, report, false)? {
                    return Ok(end);
                }
            }
            // the common case first: an event of the batch at hand
            if let Source::Decoded(d) = source {
                if let Some((ev, gap)) = d.next_event() {
                    if gap != Gap::default() {
                        // events left out unread: counted, their threads marked
                        run.clock.num += u64::from(gap.skipped);
                        report.events += u64::from(gap.skipped);
                        if gap.marked {
                            run.last_types.left_out(ev.tid);
                        }
                    }
                    if run.quick && self.quick_reject(&mut run, &ev, report) {
                        if self.stop.is_stopped() {
                            return Ok(LoopEnd::Done(None));
                        }
                        continue;
                    }
                    if let Some(end) = self.step(&mut run, &ev, false, report)? {
                        return Ok(end);
                    }
                    continue;
                }
                if d.advance() {
                    continue;
                }
            }
            let next = source.next_block();
            let ev = match next {
                Ok(Some(Block::Event(ev))) => {
                    // an event view owns nothing: no drop glue to run
                    std::mem::forget(next);
                    ev
                }
                Ok(Some(other)) => {
                    if run.held && self.settle(&mut run)? {
                        return Ok(LoopEnd::Done(None));
                    }
                    self.st.apply_block(&other);
                    if let Some(v) = run.verdicts.as_mut() {
                        v.clear();
                    }
                    if let Some(ts) = source.take_idle() {
                        self.idle(&mut run, ts)?;
                    }
                    if let Some(counts) = source.take_counts() {
                        for s in &mut self.sinks {
                            s.kernel_counts(&counts, &self.st)?;
                        }
                    }
                    continue;
                }
                Ok(None) => {
                    report.events += source.skipped_unreported();
                    return Ok(LoopEnd::Done(None));
                }
                Err(e) => {
                    report.events += source.skipped_unreported();
                    return Ok(LoopEnd::Done(Some(e)));
                }
            };
            if let Some(end) = self.step(&mut run, &ev, false, report)? {
                return Ok(end);
            }
        }
    }

    /// Hands out the container events the live tracker queued; with
    /// `settle` (before the first event of live capture), the containers
    /// running at start first, with the metadata found within
    /// [`SETTLE_WAIT`]: they go into the state as the opening container
    /// events of a file do.
    #[cfg(feature = "live")]
    fn container_events(
        &mut self,
        run: &mut Run,
        report: &mut Report,
        settle: bool,
    ) -> Result<Option<LoopEnd>, SinkError> {
        let Some(ctr) = self.ctr.as_mut() else {
            return Ok(None);
        };
        match settle {
            true => ctr.settle(SETTLE_WAIT),
            false => ctr.work(),
        }
        while let Some(s) = self.ctr.as_mut().and_then(|c| c.next()) {
            let Ok(ev) = RawEvent::from_parts(s.ts, -1, s.code, s.nparams, &s.body, s.large) else {
                continue;
            };
            if let Some(end) = self.step(run, &ev, true, report)? {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    /// One event through state, `-U`, the capture filter and the sinks.
    /// `synthetic` events (the live container tracker's) are written by
    /// `-w` whatever the capture filter says.
    #[inline]
    fn step(
        &mut self,
        run: &mut Run,
        ev: &RawEvent<'_>,
        synthetic: bool,
        report: &mut Report,
    ) -> Result<Option<LoopEnd>, SinkError> {
        // (a held event that ended the capture: this one never was)
        if run.held && !self.st.leaves_unchanged(ev) && self.settle(run)? {
            return Ok(Some(LoopEnd::Done(None)));
        }
        let container_json = matches!(ev.code, codes::CONTAINER_JSON_E | codes::CONTAINER_JSON_2_E);
        #[cfg(feature = "live")]
        if run.opening && !synthetic && !container_json && ev.code != codes::CONTAINER_E {
            // the first event of live capture: the containers at start first
            if let Some(end) = self.container_events(run, report, true)? {
                return Ok(Some(end));
            }
        }
        run.clock.num += 1;
        report.events += 1;
        run.opening = run.opening && (container_json || ev.code == codes::CONTAINER_E);
        if run.clock.first_ts == 0 && !container_json {
            run.clock.first_ts = ev.ts;
        }
        run.clock.last_ts = run.clock.last_ts.max(ev.ts);
        if !run.plan.tickers.is_empty() && !container_json {
            self.ticks(&mut run.plan, ev.ts)?;
        }
        for &i in &run.plan.writers {
            self.sinks[i].before(&self.st, ev)?;
        }
        if let Some(t) = &run.types {
            if !t.may_accept(ev) && code_kind(run.kinds, ev.code) & kind::MODIFIES == 0 {
                run.last_types.note_rejected(ev);
                if self.stop.is_stopped() {
                    return Ok(Some(LoopEnd::Done(None)));
                }
                return Ok(None);
            }
        }
        if !run.suppress && self.thread_rejects(run.kinds, &mut run.verdicts, ev) {
            // a thread the filter rejected, an event that changes nothing
            run.last_types.known(ev, false);
            for &i in &run.plan.writers {
                self.sinks[i].filtered(&self.st, ev, synthetic)?;
            }
            if self.stop.is_stopped() {
                return Ok(Some(LoopEnd::Done(None)));
            }
            return Ok(None);
        }
        if run.before_state && !self.verdict_before_state(run, ev) {
            // rejected before the state applied it, which passed it by
            for &i in &run.plan.writers {
                self.sinks[i].filtered(&self.st, ev, synthetic)?;
            }
            if self.stop.is_stopped() {
                return Ok(Some(LoopEnd::Done(None)));
            }
            return Ok(None);
        }
        if run.plan.pass_over_light && self.pass_over(ev, run.plan.scope) {
            // handed out as `hand_out` would, but only its time reaches
            // the sinks
            if !run.opening {
                report.handed_out += 1;
                if run.plan.track_prev {
                    run.clock.prev_ts = ev.ts;
                }
                for s in self.sinks.iter_mut() {
                    s.passed(ev.ts, run.clock.first_ts)?;
                }
            }
        } else {
            if run.plan.needs_state || run.suppress {
                self.st.process(ev);
            }
            if let Some(end) = self.filter_and_hand_out(run, ev, synthetic, report)? {
                return Ok(Some(end));
            }
        }
        if report.handed_out >= run.plan.max || self.stop.is_stopped() {
            return Ok(Some(LoopEnd::Done(None)));
        }
        Ok(None)
    }

    /// [`Engine::step`] for the most common event of a file read through
    /// a filter, in a few instructions: one the filter rejects before the
    /// state sees it, by its type or its thread's verdict. False (nothing
    /// done) when `step` must take the event. Only when `run.quick`.
    #[inline(always)]
    fn quick_reject(&mut self, run: &mut Run, ev: &RawEvent<'_>, report: &mut Report) -> bool {
        // (what step does first for these events does nothing then)
        if run.opening || run.held || run.clock.first_ts == 0 {
            return false;
        }
        let by_type = code_kind(run.kinds, ev.code) & kind::MODIFIES == 0
            && run.types.as_ref().is_some_and(|t| !t.may_accept(ev));
        if !by_type && !self.thread_rejects(run.kinds, &mut run.verdicts, ev) {
            return false;
        }
        run.clock.num += 1;
        report.events += 1;
        run.clock.last_ts = run.clock.last_ts.max(ev.ts);
        if by_type {
            run.last_types.note_rejected(ev);
        } else {
            run.last_types.known(ev, false);
        }
        true
    }

    /// The sinks holding events take them: the state is about to change.
    /// Whether one of those events ended the capture.
    fn settle(&mut self, run: &mut Run) -> Result<bool, SinkError> {
        run.held = false;
        for &i in &run.plan.holders {
            self.sinks[i].settle(&self.st)?;
        }
        Ok(self.stop.is_stopped())
    }

    /// Whether `ev` is a light event (`sonde_state::is_light`, or one that
    /// changes only what is out of `scope`) no sink wants, of a known
    /// thread, which the state then passed over.
    #[inline]
    fn pass_over(&mut self, ev: &RawEvent<'_>, scope: Scope) -> bool {
        let sinks = &self.sinks;
        ev.dump_flags & DF_STATE_ONLY == 0
            && self
                .st
                .skip_light(ev, scope, || !sinks.iter().any(|s| s.wants(ev)))
    }

    /// After the state: `-U`, the capture filter, the writers' verdicts
    /// and handing the event out.
    #[inline]
    fn filter_and_hand_out(
        &mut self,
        run: &mut Run,
        ev: &RawEvent<'_>,
        synthetic: bool,
        report: &mut Report,
    ) -> Result<Option<LoopEnd>, SinkError> {
        if run.suppress && self.comm_suppressed(ev.tid) {
            self.st.commit_deferred(true);
            return Ok(None);
        }
        let pass = match &self.cfg.filter {
            Some(_) if std::mem::take(&mut run.prejudged) => {
                self.st.commit_deferred(true);
                true
            }
            Some(f) => {
                let k = code_kind(run.kinds, ev.code);
                let modifies = k & kind::MODIFIES != 0;
                let reuses = k & kind::REUSES_VERDICT != 0 && ev.tid >= 0;
                let c = ctx(&self.st, &self.cfg, ev, &run.clock);
                let pass = match run.verdicts.as_mut() {
                    Some(v) if reuses => {
                        // the thread's verdict stands until the thread
                        // table changes (its part reads nothing else)
                        let tv = v.verdict(f, &c);
                        if tv && !v.is_whole() {
                            run.last_types.check(f, &c)
                        } else {
                            run.last_types.known(ev, tv);
                            tv
                        }
                    }
                    Some(v) => {
                        v.clear();
                        run.last_types.check(f, &c)
                    }
                    None => run.last_types.check(f, &c),
                };
                self.st.commit_deferred(pass || modifies);
                pass
            }
            None => true,
        };
        for &i in &run.plan.writers {
            self.sinks[i].filtered(&self.st, ev, pass || synthetic)?;
        }
        if pass {
            let out =
                self.hand_out(ev, &mut run.clock, run.opening, run.plan.track_prev, report)?;
            match out {
                Flow::Quit => return Ok(Some(LoopEnd::Quit)),
                Flow::Held => run.held = true,
                Flow::Continue => {}
            }
        }
        Ok(None)
    }

    /// The capture filter's verdict on an event that modifies nothing and
    /// changes no thread, taken before the state applies it (only when
    /// `run.before_state`): false, and the state passes the event by
    /// (`State::skip_enter`/`skip_exit`), as sysdig's parser skips what
    /// its filter rejects; true when accepted (`run.prejudged`: the state
    /// then applies it and the filter is not run again) or not judged
    /// here (other events, threads the state has yet to meet).
    #[inline]
    fn verdict_before_state(&mut self, run: &mut Run, ev: &RawEvent<'_>) -> bool {
        let k = code_kind(run.kinds, ev.code);
        if k & (kind::REUSES_VERDICT | kind::MODIFIES) != kind::REUSES_VERDICT {
            return true;
        }
        let Some(f) = self.cfg.filter.as_ref() else {
            return true;
        };
        if !self.st.may_pass_by(ev) {
            return true;
        }
        let Some((t, fd)) = self.st.fd_after(ev) else {
            return true;
        };
        let c = ctx(&self.st, &self.cfg, ev, &run.clock);
        let key = MemoKey {
            tid: ev.tid,
            fd,
            fd_event: c.is_fd_event(),
            changes: self.st.changes(),
        };
        let pass = match run.memo {
            Some((k, pass)) if k == key => {
                run.last_types.known(ev, pass);
                pass
            }
            _ => {
                c.assume_event_fd(t, fd);
                let pass = run.last_types.check(f, &c);
                // (without an entry, fd fields read the event instead)
                if run.memo_on && c.event_fd().is_some() {
                    run.memo = Some((key, pass));
                }
                pass
            }
        };
        if pass {
            run.prejudged = true;
            return true;
        }
        if k & kind::ENTER != 0 {
            self.st.skip_enter(ev, fd);
        } else {
            self.st.skip_exit(ev, fd);
        }
        false
    }

    /// Whether the capture filter rejects `ev` by its thread's standing
    /// verdict, before the state sees it: an event that modifies nothing
    /// (sysdig's parser skips what its filter rejects) of a thread whose
    /// verdict still holds.
    #[inline(always)]
    fn thread_rejects(
        &self,
        kinds: &[u8],
        verdicts: &mut Option<ThreadVerdicts>,
        ev: &RawEvent<'_>,
    ) -> bool {
        let k = code_kind(kinds, ev.code);
        k & (kind::REUSES_VERDICT | kind::MODIFIES) == kind::REUSES_VERDICT
            && ev.tid >= 0
            && verdicts
                .as_mut()
                .is_some_and(|v| v.rejects(ev.tid, self.st.threads.len()))
    }

    fn plan(&self, needs_state: bool) -> Plan {
        let mut plan = Plan {
            needs_state,
            track_prev: false,
            writers: Vec::new(),
            tickers: Vec::new(),
            max: self.cfg.max_events.unwrap_or(u64::MAX),
            pass_over_light: false,
            scope: Scope::Threads,
            holders: Vec::new(),
        };
        for (i, s) in self.sinks.iter().enumerate() {
            let n = s.needs();
            plan.track_prev |= n.prev_ts;
            plan.scope = plan.scope.max(n.scope);
            if n.writes {
                plan.writers.push(i);
            }
            if let Some(t) = n.tick_ns.filter(|t| *t > 0) {
                plan.tickers.push((i, t, 0));
            }
        }
        plan.pass_over_light = needs_state
            && self.cfg.filter.is_none()
            && self.cfg.suppress_comm.is_empty()
            && plan.writers.is_empty()
            && !self.sinks.is_empty();
        if let [only] = &self.sinks[..] {
            if only.needs().holds {
                plan.holders.push(0);
            }
        }
        plan
    }

    /// Live: time reached `ts` with no event; tickers tick up to it, then
    /// every sink hears of it (never going back in time).
    fn idle(&mut self, run: &mut Run, ts: u64) -> Result<(), SinkError> {
        if ts <= run.clock.last_ts {
            return Ok(());
        }
        run.clock.last_ts = ts;
        if !run.plan.tickers.is_empty() {
            self.ticks(&mut run.plan, ts)?;
        }
        for s in &mut self.sinks {
            s.idle(ts, &self.st)?;
        }
        Ok(())
    }

    /// Calls `tick` for every interval boundary event time `ts` passed.
    fn ticks(&mut self, plan: &mut Plan, ts: u64) -> Result<(), SinkError> {
        for (i, every, next) in &mut plan.tickers {
            if *next == 0 {
                *next = (ts / *every + 1) * *every;
                continue;
            }
            while ts >= *next {
                self.sinks[*i].tick(*next, &self.st)?;
                *next += *every;
            }
        }
        Ok(())
    }

    /// `-U`: whether the event's thread has one of the suppressed names.
    fn comm_suppressed(&self, tid: i64) -> bool {
        self.st.thread(tid).is_some_and(|t| {
            self.cfg.suppress_comm.iter().any(|c| {
                let c = c.as_bytes();
                t.comm == c[..c.len().min(15)]
            })
        })
    }

    /// An event the capture filter accepted: handed out to the sinks as
    /// sysdig's inspector would return it.
    fn hand_out(
        &mut self,
        ev: &RawEvent<'_>,
        clock: &mut Clock,
        opening: bool,
        track_prev: bool,
        report: &mut Report,
    ) -> Result<Flow, SinkError> {
        // state-only events of fatfile captures are applied, never shown
        let state_only = ev.dump_flags & DF_STATE_ONLY != 0;
        let internal = ev
            .info()
            .map(|i| i.old_category & category::INTERNAL != 0)
            .unwrap_or(true);
        let swallowed = state_only || self.st.suppressed();
        // events the engine filters out (state-only, failed container
        // lookups) still show with -D when they are internal ones
        let shown = if swallowed {
            self.cfg.debug && internal
        } else {
            !internal || self.cfg.debug
        };
        if opening || (!shown && swallowed) {
            return Ok(Flow::Continue);
        }
        report.handed_out += 1;
        let ctx = ctx(&self.st, &self.cfg, ev, clock);
        let how = Handed { shown };
        let mut flow = Flow::Continue;
        for s in self.sinks.iter_mut() {
            match s.event(&ctx, how)? {
                Flow::Quit => return Ok(Flow::Quit),
                Flow::Held => flow = Flow::Held,
                Flow::Continue => {}
            }
        }
        // `-t D` is relative to the previous event that was formatted
        // (sysdig formats before it applies the display filter)
        if shown && track_prev {
            clock.prev_ts = ev.ts;
        }
        Ok(flow)
    }
}

/// How long live capture waits at its start for the metadata of the
/// containers already running (lookups are local: sockets and files).
#[cfg(feature = "live")]
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The view of one event that filters and sinks read.
#[inline]
fn ctx<'a, 'e>(st: &'a State, cfg: &'a Config, ev: &'a RawEvent<'e>, clock: &Clock) -> Ctx<'a, 'e> {
    Ctx {
        st,
        ev,
        num: clock.num,
        first_ts: clock.first_ts,
        prev_ts: clock.prev_ts,
        opts: &cfg.render,
        time_fmt: cfg.time_fmt,
        lookups: Default::default(),
    }
}

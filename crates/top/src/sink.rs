//! [`ViewSink`]: a view as a sink of the shared engine. It runs the
//! view's filter (the command-line filter, the drill-down selection and
//! the view's own, combined as csysdig combines them) on every event the
//! engine hands out, feeds the [`Table`], and at each sample boundary adds
//! one pass over the thread table (as csysdig does, so idle processes
//! show) and hands the finished [`Sample`] to its publisher: `--raw`/`-j`
//! printing or the UI's shared model. Files make one sample, at their end;
//! live captures one per refresh interval of event time. Live, a view
//! with a `thread.cpu*` column also gets the procinfo events sysdig's
//! driver would have emitted (made from `/proc` once per second,
//! [`sonde_sinks::procinfo`]): CPU use comes only from them.

use sonde_engine::{Flow, Handed, Needs, Sink, SinkError, SinkResult};
use sonde_event::RawEvent;
use sonde_fields::{Ctx, TimeFmt};
use sonde_filter::Filter;
use sonde_output::RenderOpts;
use sonde_sinks::procinfo::Procinfo;
use sonde_state::State;

use crate::table::{Sample, Table};
use crate::view::View;

/// Where finished samples go.
pub type Publish<'p> = Box<dyn FnMut(Sample) -> std::io::Result<()> + 'p>;

/// The event code csysdig gives its thread-table pass (an event no
/// filter or field mistakes for a real one).
const TABLE_PASS_CODE: u16 = 197;

/// Joins two filters as csysdig does.
pub fn combine_filters(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("({a}) and ({b})"),
    }
}

/// A view fed by the engine.
pub struct ViewSink<'p> {
    table: Table,
    filter: Option<Filter>,
    filter_text: String,
    latency: bool,
    publish: Publish<'p>,
    live: bool,
    refresh_ns: u64,
    next_flush: u64,
    first_ts: u64,
    last_ts: u64,
    opts: RenderOpts,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
    max_events: Option<u64>,
    seen: u64,
    /// Live, for a view that reads CPU use: the source of its procinfo events.
    procinfo: Option<Procinfo>,
    /// A filter on `evt.type` alone: its verdict per event code, found
    /// once (0: not yet, 1: accepts, 2: rejects).
    by_code: Option<Vec<u8>>,
}

/// Whether a filter reads nothing but `evt.type` (compared with
/// literals): its verdict is then a function of the event code.
fn type_only(e: &sonde_filter::ast::Expr) -> bool {
    use sonde_filter::ast::{Expr, Operand, Rhs};
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().all(type_only),
        Expr::Not(e) => type_only(e),
        Expr::Check(c) => {
            matches!(&c.lhs, Operand::Field(f) if f.name == "evt.type" && f.arg.is_none())
                && matches!(c.rhs, Rhs::None | Rhs::Value(_) | Rhs::List(_))
        }
        Expr::Macro { .. } => false,
    }
}

/// The verdict of `f` on `ctx`, cached per event code when `by_code` is
/// set (generic syscall events name their syscall in a parameter: never
/// cached).
#[inline]
fn matches_cached(f: &Filter, by_code: &mut Option<Vec<u8>>, ctx: &Ctx<'_, '_>) -> bool {
    use sonde_event::codes::{GENERIC_E, GENERIC_X};
    let code = ctx.ev.code;
    let Some(slot) = by_code
        .as_mut()
        .filter(|_| code != GENERIC_E && code != GENERIC_X)
        .and_then(|v| v.get_mut(code as usize))
    else {
        return f.matches(ctx);
    };
    match *slot {
        1 => true,
        2 => false,
        _ => {
            let m = f.matches(ctx);
            *slot = if m { 1 } else { 2 };
            m
        }
    }
}

impl<'p> ViewSink<'p> {
    /// A sink for `view` at `depth`, keeping the events `filter` (the
    /// complete filter: command line, drill-down and view) accepts.
    pub fn new(
        view: &View,
        depth: u32,
        filter: &str,
        live: bool,
        refresh_ns: u64,
        publish: Publish<'p>,
    ) -> Result<ViewSink<'p>, String> {
        let table = Table::new(view, depth)?;
        let f = match filter.trim().is_empty() {
            true => None,
            false => Some(Filter::new(filter).map_err(|e| format!("invalid filter:\n{e}"))?),
        };
        let reads_cpu = |f: &str| f.contains("thread.cpu") || f.contains("procinfo");
        let cpu = reads_cpu(filter) || view.columns.iter().any(|c| reads_cpu(&c.field));
        let latency = Needs::names_latency(filter)
            || view.columns.iter().any(|c| Needs::names_latency(&c.field));
        // csysdig refreshes list views more often
        let refresh_ns = match view.view_type {
            crate::view::ViewType::List => 200_000_000,
            _ => refresh_ns.max(1),
        };
        let by_code = sonde_filter::parse(filter)
            .ok()
            .filter(|e| f.is_some() && type_only(e))
            .map(|_| vec![0; sonde_event::EVENT_COUNT]);
        Ok(ViewSink {
            table,
            filter: f,
            filter_text: filter.to_string(),
            latency,
            publish,
            live,
            refresh_ns,
            next_flush: 0,
            first_ts: 0,
            last_ts: 0,
            opts: RenderOpts::default(),
            paused: Default::default(),
            max_events: None,
            seen: 0,
            procinfo: (live && cpu).then(Procinfo::default),
            by_code,
        })
    }

    /// `-n`: after this many events the run ends at once, without the
    /// end-of-file sample (as csysdig does).
    pub fn set_max_events(&mut self, n: Option<u64>) {
        self.max_events = n;
    }

    /// A flag that, while set, keeps samples from being produced (`p`).
    pub fn pause_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.paused.clone()
    }

    fn time_delta(&self) -> u64 {
        match self.live {
            true => self.refresh_ns,
            false => self.last_ts.saturating_sub(self.first_ts),
        }
    }

    /// A sample boundary at event time `ts` (csysdig's flush: the first
    /// one only arms the timer and yields an empty sample).
    fn flush(&mut self, st: &State, ts: u64) -> SinkResult {
        let paused = self.paused.load(std::sync::atomic::Ordering::Relaxed);
        let sample = if self.next_flush != 0 && !paused {
            self.table_pass(st, ts);
            Some(self.table.take_sample(self.time_delta()))
        } else if self.next_flush == 0 && self.table.is_list() {
            // a list keeps its rows: csysdig prints them at the first flush too
            Some(self.table.take_sample(self.time_delta()))
        } else if self.next_flush == 0 {
            Some(Sample {
                types: self.table.value_types(),
                ..Sample::default()
            })
        } else {
            None
        };
        self.next_flush = ts - ts % self.refresh_ns + self.refresh_ns;
        if let Some(s) = sample {
            (self.publish)(s).map_err(|e| SinkError::io("cannot write the view", e))?;
        }
        Ok(())
    }

    /// Every thread of the table as one event at the end of the second
    /// before `ts`, through the view's filter.
    fn table_pass(&mut self, st: &State, ts: u64) {
        let fake_ts = (ts - ts % 1_000_000_000).wrapping_sub(1);
        let tids: Vec<i64> = st
            .threads
            .keys()
            .copied()
            .filter(|&t| t != i64::MIN)
            .collect();
        for tid in tids {
            if let Ok(ev) = RawEvent::from_parts(fake_ts, tid, TABLE_PASS_CODE, 0, &[], false) {
                self.feed(st, &ev);
            }
        }
    }

    /// Live: the procinfo events due at `ts`, through the view's filter.
    fn cpu_events(&mut self, st: &State, ts: u64) {
        let due = match self.procinfo.as_mut() {
            Some(p) => p.due(ts, st),
            None => return,
        };
        for s in due {
            let body = s.body();
            if let Some(ev) = s.event(ts, &body) {
                self.feed(st, &ev);
            }
        }
    }

    /// An event the engine did not hand out (table pass, procinfo),
    /// through the view's filter into the table.
    fn feed(&mut self, st: &State, ev: &RawEvent<'_>) {
        let ctx = Ctx {
            st,
            ev,
            num: 0,
            first_ts: self.first_ts,
            prev_ts: 0,
            opts: &self.opts,
            time_fmt: TimeFmt::default(),
            lookups: Default::default(),
        };
        if self.filter.as_ref().is_some_and(|f| !f.matches(&ctx)) {
            return;
        }
        self.table.process(&ctx);
    }
}

impl Sink for ViewSink<'_> {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            latency: self.latency,
            types: None,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        if self.max_events.is_some_and(|n| self.seen >= n) {
            return Ok(Flow::Quit);
        }
        self.seen += 1;
        let ts = ctx.ev.ts;
        if self.first_ts == 0 {
            self.first_ts = ts;
        }
        self.last_ts = ts;
        if self.live && ts > self.next_flush {
            self.flush(ctx.st, ts)?;
        }
        if self.procinfo.is_some() {
            self.cpu_events(ctx.st, ts);
        }
        let pass = match &self.filter {
            Some(f) => matches_cached(f, &mut self.by_code, ctx),
            None => true,
        };
        if pass {
            self.table.process(ctx);
        }
        Ok(Flow::Continue)
    }

    /// A quiet live host still gets its samples, one per refresh, as
    /// csysdig's do on its driver's timer.
    fn idle(&mut self, ts: u64, st: &State) -> SinkResult {
        if self.next_flush != 0 {
            self.cpu_events(st, ts);
        }
        if self.live && self.next_flush != 0 && ts > self.next_flush {
            self.last_ts = self.last_ts.max(ts);
            self.flush(st, ts)?;
        }
        Ok(())
    }

    fn finish(&mut self, st: &State) -> SinkResult {
        let ts = self.last_ts;
        if !self.live {
            // csysdig's end of file: the flush that arms the timer, then
            // the one that emits the whole file as one sample
            self.flush(st, ts)?;
        }
        if self.next_flush != 0 {
            self.flush(st, ts)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for ViewSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewSink")
            .field("filter", &self.filter_text)
            .field("live", &self.live)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Only filters on `evt.type` against literals have a verdict per code.
    #[test]
    fn type_only_filters() {
        let only = |f: &str| type_only(&sonde_filter::parse(f).unwrap());
        assert!(only("evt.type!=switch"));
        assert!(only("evt.type in (open, openat) or not evt.type=close"));
        assert!(!only("evt.type!=switch and proc.name=sh"));
        assert!(!only("evt.type=val(evt.arg.name)"));
        assert!(!only("some_macro"));
    }

    /// Live, with no event at all after the first: idle beats still make
    /// one sample per refresh (and none before the refresh is due).
    #[test]
    fn idle_beats_refresh_a_live_view() {
        let views = crate::loader::bundled().unwrap();
        let view = views.iter().find(|v| v.id == "procs").unwrap();
        let got = Arc::new(Mutex::new(0usize));
        let g = got.clone();
        let publish: Publish<'_> = Box::new(move |_s| {
            *g.lock().unwrap() += 1;
            Ok(())
        });
        let mut sink = ViewSink::new(view, 0, "", true, 1_000_000_000, publish).unwrap();
        let st = State::default();
        let t0 = 5_000_000_000u64;
        // the first flush arms the timer (csysdig's empty first sample)
        sink.flush(&st, t0).unwrap();
        assert_eq!(*got.lock().unwrap(), 1);
        sink.idle(t0 + 500_000_000, &st).unwrap();
        assert_eq!(*got.lock().unwrap(), 1, "not due yet");
        sink.idle(t0 + 1_200_000_000, &st).unwrap();
        assert_eq!(*got.lock().unwrap(), 2);
        sink.idle(t0 + 2_300_000_000, &st).unwrap();
        assert_eq!(*got.lock().unwrap(), 3);
    }
}

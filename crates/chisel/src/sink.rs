//! [`ChiselSink`]: a loaded chisel as a sink of the shared engine. It
//! calls `on_capture_start` before the first event, then per event what
//! sysdig's chisel runner does (interval callbacks on event time, the
//! chisel's filter, `on_event`, its event formatter), and
//! `on_capture_end` after the last.

use mlua::{Function, Value};
use sonde_engine::rules::{accepted_types, TypeTable};
use sonde_engine::{Flow, Handed, Needs, Sink, SinkError, SinkResult, StopHandle};
use sonde_fields::{Ctx, Format};
use sonde_filter::Filter;
use sonde_state::{Scope, State};

use crate::call::RawCallback;
use crate::held::{Batch, Driver, Held, MAX_HELD};
use crate::{Chisel, ChiselError};

/// The default event format (`set_event_formatter("default")`).
const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.args";

/// A chisel run by the engine.
pub struct ChiselSink {
    ch: Chisel,
    stop: StopHandle,
    /// `on_event`, called through the C API (the error of keeping it in
    /// the registry, reported at the first event, if that failed).
    on_event: Option<Result<RawCallback, mlua::Error>>,
    /// The chisel's filter, compiled, and the text it was compiled from.
    filter: Option<(String, Filter)>,
    /// The event types the filter can accept (a quick first test).
    types: Option<TypeTable>,
    /// `types` with the enter events of its exits ([`Sink::wants`]).
    wanted: Option<TypeTable>,
    /// The chisel's event formatter, parsed, and its text.
    formatter: Option<(String, Format)>,
    /// The host's `edits` when the filter and formatter were compiled.
    compiled: Option<u64>,
    first: bool,
    last_sample: u64,
    last_interval_ts: u64,
    out: Vec<u8>,
    /// Live, for a chisel that reads procinfo events: their source.
    procinfo: Option<sonde_sinks::procinfo::Procinfo>,
    /// Live, with `procinfo`: the last event's numbering and rendering,
    /// for the procinfo events of an idle beat ([`Sink::idle`]).
    live_clock: Option<LiveClock>,
    /// `on_event` and the Lua loop that takes held events, where the
    /// chisel can hold them (see [`crate::held`]).
    driver: Option<(Function, Driver)>,
    /// The engine allowed holding events (the chisel runs alone).
    may_hold: bool,
    held: Held,
}

/// What the procinfo events of an idle beat take from the last event.
#[derive(Clone, Copy)]
struct LiveClock {
    num: u64,
    first_ts: u64,
    opts: sonde_output::RenderOpts,
    time_fmt: sonde_fields::TimeFmt,
}

/// A chisel error as the engine's sink error (the CLI finds the
/// [`ChiselError`] inside to exit with 2).
pub fn sink_error(e: ChiselError) -> SinkError {
    SinkError::io("", std::io::Error::other(e))
}

impl ChiselSink {
    /// A sink running `ch` (already given its arguments and initialised);
    /// `sysdig.end_capture()` stops the run through `stop`.
    pub fn new(ch: Chisel, stop: StopHandle) -> ChiselSink {
        let on_event_fn = ch.function("on_event");
        let on_event = on_event_fn.as_ref().map(|f| RawCallback::new(&ch.lua, f));
        let driver = on_event_fn.and_then(|f| Some((f, Driver::new(&ch.lua)?)));
        ChiselSink {
            ch,
            stop,
            on_event,
            filter: None,
            types: None,
            wanted: None,
            formatter: None,
            compiled: None,
            first: true,
            last_sample: 0,
            last_interval_ts: 0,
            out: Vec::new(),
            procinfo: None,
            live_clock: None,
            driver,
            may_hold: false,
            held: Held::default(),
        }
    }

    /// The snaplen the chisel asked for (see [`Chisel::requested_snaplen`]).
    pub fn requested_snaplen(&self) -> Option<u32> {
        self.ch.requested_snaplen()
    }

    /// How much of the state the chisel reads: the widest scope of its
    /// requested fields, its filter and its formatter
    /// (`sonde_fields::field_scope`), and all of it when its code asks for
    /// the thread table through the API (which holds fd tables and
    /// memory sizes).
    fn scope(&self, filter: Option<&str>, fmt: Option<&str>) -> Scope {
        if self.ch.code_mentions("get_thread_table") {
            return Scope::All;
        }
        let fields = self.ch.host.fields.borrow();
        fields
            .iter()
            .map(|r| sonde_fields::field_scope(&r.name))
            .chain(filter.map(sonde_fields::text_scope))
            .chain(fmt.map(sonde_fields::text_scope))
            .max()
            .unwrap_or(Scope::Threads)
    }

    /// Whether the chisel reads procinfo events (its filter names them or
    /// it requested `thread.cpu*`).
    fn reads_procinfo(&self) -> bool {
        let host = &self.ch.host;
        host.filter
            .borrow()
            .as_deref()
            .is_some_and(|f| f.contains("procinfo"))
            || host
                .fields
                .borrow()
                .iter()
                .any(|r| r.name.starts_with("thread.cpu"))
    }

    /// Live: the procinfo events due at the current event's time, each
    /// handed to the chisel as sysdig's driver would have.
    fn procinfo_events(&mut self, ctx: &Ctx<'_, '_>) -> Result<(), ChiselError> {
        let Some(p) = self.procinfo.as_mut() else {
            return Ok(());
        };
        self.live_clock = Some(LiveClock {
            num: ctx.num,
            first_ts: ctx.first_ts,
            opts: *ctx.opts,
            time_fmt: ctx.time_fmt,
        });
        for sample in p.due(ctx.ev.ts, ctx.st) {
            let body = sample.body();
            let Some(ev) = sample.event(ctx.ev.ts, &body) else {
                continue;
            };
            let own = Ctx {
                st: ctx.st,
                ev: &ev,
                num: ctx.num,
                first_ts: ctx.first_ts,
                prev_ts: ctx.prev_ts,
                opts: ctx.opts,
                time_fmt: ctx.time_fmt,
                lookups: Default::default(),
            };
            let host = self.ch.host.clone();
            host.with_event(&own, || self.deliver(&own))?;
        }
        Ok(())
    }

    /// Compiles the chisel's filter and formatter when they changed.
    #[inline]
    fn refresh(&mut self) -> Result<(), ChiselError> {
        // (this runs after every on_event call)
        let edits = self.ch.host.edits.get();
        if self.compiled == Some(edits) {
            return Ok(());
        }
        self.recompile(edits)
    }

    #[cold]
    fn recompile(&mut self, edits: u64) -> Result<(), ChiselError> {
        self.compiled = Some(edits);
        let same =
            self.ch.host.filter.borrow().as_deref() == self.filter.as_ref().map(|f| f.0.as_str());
        if !same {
            let want = self.ch.host.filter.borrow().clone();
            self.filter = match want {
                None => None,
                Some(t) => {
                    let f = Filter::new(&t).map_err(|e| ChiselError::Api {
                        chisel: self.ch.name.clone(),
                        msg: format!("invalid filter: {e}"),
                    })?;
                    Some((t, f))
                }
            };
            self.types = accepted_types(self.filter.as_ref().map(|f| &f.1));
            self.wanted = self.types.as_ref().map(TypeTable::with_enters);
        }
        let same = self.ch.host.formatter.borrow().as_deref()
            == self.formatter.as_ref().map(|f| f.0.as_str());
        if !same {
            let want = self.ch.host.formatter.borrow().clone();
            self.formatter = match want {
                None => None,
                Some(t) => {
                    let text = match t.as_str() {
                        "" | "default" => DEFAULT_FORMAT,
                        other => other,
                    };
                    let f = Format::parse(text).map_err(|e| ChiselError::Api {
                        chisel: self.ch.name.clone(),
                        msg: format!("invalid event formatter: {e}"),
                    })?;
                    Some((t, f))
                }
            };
        }
        Ok(())
    }

    /// Live, an idle beat at `ts`: the procinfo events due then, and the
    /// interval callback after them (with the last of them current), as
    /// sysdig's driver timer events would bring on a quiet host.
    fn idle_procinfo(&mut self, ts: u64, st: &State) -> Result<(), ChiselError> {
        let Some(p) = self.procinfo.as_mut() else {
            return Ok(());
        };
        let host = self.ch.host.clone();
        // before any event reached the chisel: sysdig's defaults
        let c = self.live_clock.unwrap_or(LiveClock {
            num: 0,
            first_ts: if host.first_ts.get() == 0 {
                ts
            } else {
                host.first_ts.get()
            },
            opts: sonde_output::RenderOpts::default(),
            time_fmt: sonde_fields::TimeFmt::default(),
        });
        if host.first_ts.get() == 0 {
            host.first_ts.set(c.first_ts);
        }
        let samples = p.due(ts, st);
        host.last_ts.set(ts);
        for (i, sample) in samples.iter().enumerate() {
            let body = sample.body();
            let Some(ev) = sample.event(ts, &body) else {
                continue;
            };
            let ctx = Ctx {
                st,
                ev: &ev,
                num: c.num,
                first_ts: c.first_ts,
                prev_ts: ts,
                opts: &c.opts,
                time_fmt: c.time_fmt,
                lookups: Default::default(),
            };
            host.with_event(&ctx, || {
                self.deliver(&ctx)?;
                if i + 1 == samples.len() {
                    self.timeout(ts)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Live, an idle beat at `ts` for a chisel without procinfo events:
    /// time passes for `on_interval` (and the capture's end time) while
    /// no event reaches the chisel, as sysdig's always-busy driver makes
    /// it pass. Before the first event the beat starts the interval clock.
    fn idle_interval(&mut self, ts: u64, st: &State) -> Result<(), ChiselError> {
        let host = self.ch.host.clone();
        if ts <= host.last_ts.get() {
            return Ok(());
        }
        if host.first_ts.get() == 0 {
            host.first_ts.set(ts);
        }
        host.last_ts.set(ts);
        host.with_state(st, || self.timeout(ts))
    }

    /// Calls `on_interval` as sysdig does, on event time: once when an
    /// event falls in a new interval (with the event's time), or, for a
    /// precise interval, once per interval passed. Live, an event older
    /// than the interval already reported (after an idle beat) is no new
    /// interval.
    #[inline]
    fn timeout(&mut self, ts: u64) -> Result<(), ChiselError> {
        if !self.first && !self.interval_due(ts) {
            return Ok(());
        }
        self.interval_timeout(ts)
    }

    #[inline(never)]
    fn interval_timeout(&mut self, ts: u64) -> Result<(), ChiselError> {
        let every = self.ch.host.interval_ns.get();
        let precise = self.ch.host.precise_ns.get();
        if self.first {
            self.first = false;
            if every != 0 {
                self.last_sample = ts - ts % every;
            } else if precise != 0 {
                self.last_sample = ts;
            }
            return Ok(());
        }
        if !self.interval_due(ts) {
            return Ok(());
        }
        if every != 0 {
            let sample = ts - ts % every;
            if self.ch.host.env().live && sample < self.last_sample {
                return Ok(());
            }
            let mut delta = 0;
            if self.last_interval_ts != 0 {
                delta = ts.wrapping_sub(self.last_interval_ts);
                if delta == 0 {
                    return Ok(());
                }
            }
            self.interval(ts, delta)?;
            self.last_sample = sample;
            self.last_interval_ts = ts;
        } else {
            let mut t = self.last_sample;
            while t <= ts - precise {
                self.interval(t, precise)?;
                t += precise;
            }
            self.last_sample = t;
        }
        Ok(())
    }

    fn interval(&self, ts: u64, delta: u64) -> Result<(), ChiselError> {
        let f: Value = self
            .ch
            .lua
            .globals()
            .get("on_interval")
            .map_err(|e| self.ch.err(e))?;
        let r = match f {
            Value::Function(f) => f.call::<Value>((
                (ts / 1_000_000_000) as f64,
                (ts % 1_000_000_000) as f64,
                delta as i64 as f64,
            )),
            _ => Err(mlua::Error::RuntimeError(
                "attempt to call a nil value (on_interval)".into(),
            )),
        };
        match r {
            Ok(v) if truthy(&v) => Ok(()),
            Ok(_) => Err(ChiselError::Api {
                chisel: self.ch.name.clone(),
                msg: format!("execution terminated by the {} chisel", self.ch.name),
            }),
            Err(e) => Err(self.ch.err_in("on_interval()", e)),
        }
    }

    /// One event, as sysdig's chisel runner takes it (the event is
    /// current for `on_interval` too), or held for later (see
    /// [`crate::held`]); whether the chisel holds events now.
    fn run(&mut self, ctx: &Ctx<'_, '_>) -> Result<bool, ChiselError> {
        if self.can_hold(ctx.ev) {
            self.timeout(ctx.ev.ts)?;
            self.held.push(ctx);
            if self.held.len() >= MAX_HELD {
                self.take_held(ctx.st)?;
            }
            return Ok(self.held.len() != 0);
        }
        if self.held.len() != 0 {
            // what was held comes first (the state is as it left it)
            self.take_held(ctx.st)?;
        }
        let host = self.ch.host.clone();
        host.with_event(ctx, || self.run_current(ctx))?;
        Ok(false)
    }

    /// Whether the chisel may hold `ev` (see [`crate::held`]): allowed,
    /// an event that leaves the state alone, and nothing but `on_event`
    /// to run for it (no formatter, no interval, not live).
    fn can_hold(&self, ev: &sonde_event::RawEvent<'_>) -> bool {
        self.may_hold
            && sonde_state::is_inert(ev.code)
            && self.only_on_event()
            && !self.ch.host.env().live
            && matches!(self.on_event, Some(Ok(_)))
    }

    /// Whether `on_event` is all there is to run per event: no formatter
    /// and no interval (what the held events' loop does).
    fn only_on_event(&self) -> bool {
        let host = &self.ch.host;
        self.formatter.is_none() && host.interval_ns.get() == 0 && host.precise_ns.get() == 0
    }

    /// Hands the held events to the chisel, with `st` as they left it.
    fn take_held(&mut self, st: &State) -> Result<(), ChiselError> {
        if self.held.len() == 0 {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        let r = self.deliver_held(&held, st);
        self.held = held;
        self.held.clear();
        r
    }

    /// The Lua loop over the held events; one by one (as `run_current`)
    /// from where `on_event` set a formatter or an interval, the loop
    /// being for `on_event` only.
    fn deliver_held(&mut self, held: &Held, st: &State) -> Result<(), ChiselError> {
        let evs = held.events();
        let ctxs = held.ctxs(st, &evs);
        let mut from = 1;
        while from <= ctxs.len() && !self.ch.host.end.get() {
            let Some((on_event, driver)) = self.driver.as_ref().filter(|_| self.only_on_event())
            else {
                for ctx in &ctxs[from - 1..] {
                    if self.ch.host.end.get() {
                        break;
                    }
                    let host = self.ch.host.clone();
                    host.with_event(ctx, || self.run_current(ctx))?;
                }
                return Ok(());
            };
            let b = Batch {
                host: &self.ch.host,
                ctxs: &ctxs,
                types: self.types.as_ref(),
                filter: self.filter.as_ref().map(|f| &f.1),
                edits: self.compiled.unwrap_or(u64::MAX),
            };
            from = driver.run(on_event, &b, from).map_err(|e| self.ch.err(e))?;
            if self.ch.host.end.get() {
                self.stop.stop();
                return Ok(());
            }
            self.refresh()?;
        }
        Ok(())
    }

    fn run_current(&mut self, ctx: &Ctx<'_, '_>) -> Result<(), ChiselError> {
        if self.procinfo.is_some() {
            self.procinfo_events(ctx)?;
        }
        self.timeout(ctx.ev.ts)?;
        self.deliver(ctx)
    }

    /// An event of time `ts` was handed out: the capture's first and last
    /// event times, which `on_capture_end` gets.
    #[inline]
    fn see_time(&self, ts: u64, first_ts: u64) {
        let host = &self.ch.host;
        if host.first_ts.get() == 0 {
            host.first_ts.set(first_ts);
        }
        host.last_ts.set(ts);
    }

    /// Whether event time `ts` may make something due: procinfo events
    /// (live), the first event of an interval chisel (it arms the timer),
    /// or an interval boundary that `ts` crosses. An event that is not
    /// due and that the filter's types exclude has nothing to do.
    #[inline]
    fn due(&self, ts: u64) -> bool {
        self.procinfo.is_some() || self.interval_due(ts)
    }

    /// Whether `timeout` has something to do at `ts`: with an interval
    /// set, the first event (it arms the timer), or a new interval (an
    /// `interval_ns` boundary crossed, or `precise_ns` passed).
    #[inline]
    fn interval_due(&self, ts: u64) -> bool {
        let every = self.ch.host.interval_ns.get();
        let precise = self.ch.host.precise_ns.get();
        if every == 0 && precise == 0 {
            return false;
        }
        if self.first {
            return true;
        }
        match every {
            0 => ts.wrapping_sub(self.last_sample) >= precise,
            _ => ts - ts % every != self.last_sample,
        }
    }

    /// Whether the event can be passed over with nothing to do: nothing
    /// is due at its time and the filter's event types exclude it (the
    /// common case of a chisel that filters on `evt.type`).
    #[inline]
    fn skips(&mut self, ev: &sonde_event::RawEvent<'_>) -> bool {
        if !self.due(ev.ts) && self.types.as_ref().is_some_and(|t| !t.may_accept(ev)) {
            // what `timeout` does with a first event and no interval
            self.first = false;
            return true;
        }
        false
    }

    /// The chisel's filter, `on_event` and formatter on one event.
    fn deliver(&mut self, ctx: &Ctx<'_, '_>) -> Result<(), ChiselError> {
        if !crate::held::takes(self.types.as_ref(), self.filter.as_ref().map(|f| &f.1), ctx) {
            return Ok(());
        }
        if let Some(on_event) = &self.on_event {
            let host = self.ch.host.clone();
            let r = match on_event {
                Ok(raw) => raw.call(),
                Err(e) => Err(e.clone()),
            };
            let keep = r.map_err(|e| self.ch.err(e))?;
            if host.end.get() {
                self.stop.stop();
                return Ok(());
            }
            // the callback may have changed the filter or the formatter
            self.refresh()?;
            if !keep {
                return Ok(());
            }
        }
        if let Some((_, fmt)) = &self.formatter {
            let mut out = std::mem::take(&mut self.out);
            out.clear();
            let r = match fmt.render(ctx, &mut out) {
                true => {
                    out.push(b'\n');
                    self.write_line(&out)
                }
                false => Ok(()),
            };
            self.out = out;
            r?;
        }
        Ok(())
    }

    /// Writes a formatted event line to C's `stdout` stream, as sysdig
    /// writes it to `cout` (kept in step with stdio): the chisel's own
    /// `print`s (LuaJIT writes them to the same stream) and these lines
    /// stay in order. A failed write (a closed pipe) is not an error of
    /// the chisel, as with Lua's `io.write`.
    fn write_line(&mut self, b: &[u8]) -> Result<(), ChiselError> {
        extern "C" {
            static mut stdout: *mut libc::FILE;
        }
        // SAFETY: glibc's `stdout` is a valid stream for the whole run;
        // `b` is valid for reads of its length.
        unsafe {
            libc::fwrite(b.as_ptr().cast(), 1, b.len(), stdout);
        }
        Ok(())
    }

    fn call_bool(&self, name: &str, st: &State) -> Result<(), ChiselError> {
        let Some(f) = self.ch.function(name) else {
            return Ok(());
        };
        let r = self.ch.host.with_state(st, || f.call::<Value>(()));
        match r {
            Ok(Value::Boolean(true)) => Ok(()),
            Ok(Value::Boolean(false)) => Err(ChiselError::Api {
                chisel: self.ch.name.clone(),
                msg: "init() failed.".into(),
            }),
            Ok(_) => Err(ChiselError::Api {
                chisel: self.ch.name.clone(),
                msg: format!("wrong {name}() return value. Boolean expected."),
            }),
            Err(e) => Err(self.ch.err(e)),
        }
    }
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Boolean(false))
}

impl Sink for ChiselSink {
    fn needs(&self) -> Needs {
        let host = &self.ch.host;
        let filter = host.filter.borrow().clone();
        let fmt = host.formatter.borrow().clone();
        let latency = host
            .fields
            .borrow()
            .iter()
            .any(|r| Needs::names_latency(&r.name))
            || filter.as_deref().is_some_and(Needs::names_latency)
            || fmt.as_deref().is_some_and(Needs::names_latency);
        let scope = self.scope(filter.as_deref(), fmt.as_deref());
        Needs {
            state: true,
            latency,
            // live procinfo events are made here from the events' times,
            // so such a chisel needs every event, not only its filter's
            types: if host.env().live && self.reads_procinfo() {
                None
            } else {
                filter
            },
            prev_ts: true,
            scope,
            holds: self.driver.is_some(),
            ..Needs::default()
        }
    }

    fn allow_holding(&mut self) {
        self.may_hold = true;
    }

    fn settle(&mut self, st: &State) -> SinkResult {
        self.take_held(st).map_err(sink_error)
    }

    fn begin(&mut self, st: &State) -> SinkResult {
        self.refresh().map_err(sink_error)?;
        self.call_bool("on_capture_start", st).map_err(sink_error)?;
        if self.ch.host.env().live && self.reads_procinfo() {
            self.procinfo = Some(Default::default());
        }
        self.refresh().map_err(sink_error)
    }

    /// What the chisel's filter may accept, with the enter events of the
    /// exits it may accept (their latency, parameters and fd); every
    /// event at whose time something is due (an interval boundary,
    /// procinfo events) or when its filter is not bound to event types.
    #[inline]
    fn wants(&self, ev: &sonde_event::RawEvent<'_>) -> bool {
        match &self.wanted {
            None => true,
            Some(t) => self.due(ev.ts) || t.may_accept(ev),
        }
    }

    /// An event passed over: what [`ChiselSink::event`] does with one the
    /// chisel does not want.
    fn passed(&mut self, ts: u64, first_ts: u64) -> SinkResult {
        self.see_time(ts, first_ts);
        if !self.ch.host.end.get() {
            // what `skips` does with an event the chisel does not take
            self.first = false;
        }
        Ok(())
    }

    #[inline]
    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        self.see_time(ctx.ev.ts, ctx.first_ts);
        let host = &self.ch.host;
        // sysdig runs chisels on every event its inspector returns,
        // internal ones (procinfo) included
        if host.end.get() {
            return Ok(Flow::Continue);
        }
        if self.skips(ctx.ev) {
            return Ok(Flow::Continue);
        }
        let held = match self.ch.host.buf_fmt.get() {
            // the chisel chose how buffers render: its own view of the event
            Some(fmt) if fmt != ctx.opts.buf_fmt => {
                let opts = sonde_output::RenderOpts {
                    buf_fmt: fmt,
                    ..*ctx.opts
                };
                let own = Ctx {
                    st: ctx.st,
                    ev: ctx.ev,
                    num: ctx.num,
                    first_ts: ctx.first_ts,
                    prev_ts: ctx.prev_ts,
                    opts: &opts,
                    time_fmt: ctx.time_fmt,
                    lookups: Default::default(),
                };
                self.run(&own).map_err(sink_error)?
            }
            _ => self.run(ctx).map_err(sink_error)?,
        };
        Ok(if held { Flow::Held } else { Flow::Continue })
    }

    fn idle(&mut self, ts: u64, st: &State) -> SinkResult {
        self.take_held(st).map_err(sink_error)?;
        if self.ch.host.end.get() {
            return Ok(());
        }
        if self.procinfo.is_some() {
            return self.idle_procinfo(ts, st).map_err(sink_error);
        }
        self.idle_interval(ts, st).map_err(sink_error)
    }

    fn finish(&mut self, st: &State) -> SinkResult {
        self.take_held(st).map_err(sink_error)?;
        if let Some(f) = self.ch.function("on_capture_end") {
            let host = self.ch.host.clone();
            let (ts, te) = (host.first_ts.get(), host.last_ts.get());
            let delta = te.wrapping_sub(ts) as i64;
            let r = host.with_state(st, || {
                f.call::<()>((
                    (te / 1_000_000_000) as f64,
                    (te % 1_000_000_000) as f64,
                    delta as f64,
                ))
            });
            r.map_err(|e| sink_error(self.ch.err(e)))?;
        }
        // the chisel prints through C's stdio
        // SAFETY: fflush(NULL) flushes every open output stream.
        unsafe {
            libc::fflush(std::ptr::null_mut());
        }
        Ok(())
    }
}

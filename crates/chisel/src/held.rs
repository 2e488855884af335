//! Events a chisel holds ([`Held`]) while the state stays as they left
//! it, and the Lua loop that then takes them all in one call
//! ([`Driver`]).
//!
//! Why: calling `on_event` from Rust costs a protected call through the C
//! API per event, and LuaJIT cannot compile the start of a callback
//! entered from C when its body has a loop it compiled first (sysdig's
//! `topprocs_*` chisels loop over their key fields): that part runs in
//! the interpreter. Called from a Lua loop, `on_event` is compiled into
//! the loop's traces whole. The engine lets a sink running alone hold
//! events and tells it when the state is about to change
//! (`Sink::settle`): each held event then sees exactly the state it saw
//! when handed out, and the output is in the same order.

use std::cell::Cell;

use mlua::{Function, Lua};
use sonde_engine::rules::TypeTable;
use sonde_event::RawEvent;
use sonde_fields::{Ctx, TimeFmt};
use sonde_filter::Filter;
use sonde_output::RenderOpts;
use sonde_state::State;

use crate::host::Host;

/// How many events are held at most before they are taken anyway (the
/// state is still as they left it then).
pub(crate) const MAX_HELD: usize = 4096;

/// One held event: its header, where its body lies, and its `Ctx`.
struct HeldEv {
    ts: u64,
    tid: i64,
    code: u16,
    cpu: u16,
    dump_flags: u32,
    latency: u64,
    nparams: u32,
    large: bool,
    body: std::ops::Range<usize>,
    num: u64,
    first_ts: u64,
    prev_ts: u64,
    opts: RenderOpts,
    time_fmt: TimeFmt,
}

/// Events handed to the chisel and not taken yet, in order.
#[derive(Default)]
pub(crate) struct Held {
    bodies: Vec<u8>,
    evs: Vec<HeldEv>,
}

impl Held {
    pub(crate) fn len(&self) -> usize {
        self.evs.len()
    }

    /// Keeps a copy of the event of `ctx`.
    pub(crate) fn push(&mut self, ctx: &Ctx<'_, '_>) {
        let ev = ctx.ev;
        let start = self.bodies.len();
        let large = ev.copy_body(&mut self.bodies);
        self.evs.push(HeldEv {
            ts: ev.ts,
            tid: ev.tid,
            code: ev.code,
            cpu: ev.cpu,
            dump_flags: ev.dump_flags,
            latency: ev.latency,
            nparams: ev.nparams() as u32,
            large,
            body: start..self.bodies.len(),
            num: ctx.num,
            first_ts: ctx.first_ts,
            prev_ts: ctx.prev_ts,
            opts: *ctx.opts,
            time_fmt: ctx.time_fmt,
        });
    }

    /// The held events again, in order (None for one that does not parse
    /// back, which cannot happen: each parsed when it was handed out).
    pub(crate) fn events(&self) -> Vec<Option<RawEvent<'_>>> {
        let mut out = Vec::with_capacity(self.evs.len());
        for h in &self.evs {
            let body = &self.bodies[h.body.clone()];
            let ev = RawEvent::from_parts(h.ts, h.tid, h.code, h.nparams, body, h.large).ok();
            out.push(ev.map(|mut ev| {
                ev.cpu = h.cpu;
                ev.dump_flags = h.dump_flags;
                ev.latency = h.latency;
                ev
            }));
        }
        out
    }

    /// The `Ctx` of each held event (`evs` from [`Held::events`]).
    pub(crate) fn ctxs<'a, 'e>(
        &'a self,
        st: &'a State,
        evs: &'a [Option<RawEvent<'e>>],
    ) -> Vec<Ctx<'a, 'e>> {
        self.evs
            .iter()
            .zip(evs)
            .filter_map(|(h, ev)| Some((h, ev.as_ref()?)))
            .map(|(h, ev)| Ctx {
                st,
                ev,
                num: h.num,
                first_ts: h.first_ts,
                prev_ts: h.prev_ts,
                opts: &h.opts,
                time_fmt: h.time_fmt,
                lookups: Default::default(),
            })
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.bodies.clear();
        self.evs.clear();
    }
}

/// What the loop's calls into Rust read while it runs.
pub(crate) struct Batch<'b, 'a, 'e> {
    pub host: &'b Host,
    pub ctxs: &'b [Ctx<'a, 'e>],
    pub types: Option<&'b TypeTable>,
    pub filter: Option<&'b Filter>,
    /// The host's `edits` the filter was compiled at.
    pub edits: u64,
}

thread_local! {
    /// The batch the Lua loop is taking (set by [`Driver::run`]).
    static BATCH: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// The loop: `loop(on_event, from, to)` calls `on_event` for each held
/// event from `from` to `to` (1-based) the chisel's filter accepts, and
/// returns where it stopped: after `to`, or after an event whose
/// `on_event` ended the capture, changed the filter or formatter, or set
/// an interval.
const DRIVER_LUA: &str = r#"
local next_addr, after_addr = ...
local ffi = require("ffi")
ffi.cdef[[
typedef int32_t (*sonde_held_next_fn)(int32_t);
typedef int32_t (*sonde_held_after_fn)(void);
]]
local next_ev = ffi.cast("sonde_held_next_fn", next_addr)
local after = ffi.cast("sonde_held_after_fn", after_addr)
return function(on_event, from, to)
  for i = from, to do
    if next_ev(i) ~= 0 then
      on_event()
      if after() ~= 0 then return i + 1 end
    end
  end
  return to + 1
end
"#;

/// How many empty rounds make the loop hot (LuaJIT's `hotloop` is 56).
const WARM_UP: usize = 300;

/// The Lua loop of a chisel's state, where LuaJIT's FFI is at hand.
pub(crate) struct Driver {
    f: Function,
}

impl Driver {
    pub(crate) fn new(lua: &Lua) -> Option<Driver> {
        let next = held_next as *const () as usize as f64;
        let after = held_after as *const () as usize as f64;
        let f = lua
            .load(DRIVER_LUA)
            .set_name("=held events")
            .call::<Function>((next, after))
            .ok()?;
        // the loop runs hot once with no event (each `next` says skip):
        // LuaJIT compiles it now, and `on_event` later into a side trace
        // of it, whole (a loop of its own included, unrolled). Were
        // `on_event`'s own loop compiled first, the loop taking it could
        // not be compiled around it and the rest would stay interpreted.
        f.call::<usize>((mlua::Value::Nil, 1, WARM_UP)).ok()?;
        Some(Driver { f })
    }

    /// Runs the loop over `b.ctxs[from - 1..]` (the host pointing at each
    /// event in turn); where it stopped (1-based, past the end when done).
    pub(crate) fn run(
        &self,
        on_event: &Function,
        b: &Batch<'_, '_, '_>,
        from: usize,
    ) -> mlua::Result<usize> {
        let Some(first) = b.ctxs.first() else {
            return Ok(from);
        };
        let prev = BATCH.with(|c| c.replace(b as *const Batch<'_, '_, '_> as *const ()));
        let r = b.host.with_event(first, || {
            self.f.call::<usize>((on_event.clone(), from, b.ctxs.len()))
        });
        BATCH.with(|c| c.set(prev));
        r
    }
}

/// The batch being taken, if any.
fn with_batch<R>(f: impl FnOnce(&Batch<'_, '_, '_>) -> R) -> Option<R> {
    let p = BATCH.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: `BATCH` is non-null only inside `Driver::run`, which holds
    // the batch borrowed for the whole call.
    Some(f(unsafe { &*(p as *const Batch<'_, '_, '_>) }))
}

/// Whether the chisel's filter (its event types first) takes the event
/// of `ctx`: what `on_event` runs for, held or not.
#[inline]
pub(crate) fn takes(types: Option<&TypeTable>, filter: Option<&Filter>, ctx: &Ctx<'_, '_>) -> bool {
    !types.is_some_and(|t| !t.may_accept(ctx.ev)) && !filter.is_some_and(|f| !f.matches(ctx))
}

/// Points the host at held event `i` (1-based); whether the chisel's
/// filter takes it (0: skip it).
extern "C" fn held_next(i: i32) -> i32 {
    with_batch(|b| {
        let Some(ctx) = usize::try_from(i)
            .ok()
            .and_then(|i| b.ctxs.get(i.checked_sub(1)?))
        else {
            return 0;
        };
        b.host.point_at(ctx);
        i32::from(takes(b.types, b.filter, ctx))
    })
    .unwrap_or(0)
}

/// After `on_event`: whether the loop must stop (the capture ends, the
/// filter or formatter changed, or an interval was set: Rust takes over).
extern "C" fn held_after() -> i32 {
    with_batch(|b| {
        let h = b.host;
        let stop = h.end.get()
            || h.edits.get() != b.edits
            || h.interval_ns.get() != 0
            || h.precise_ns.get() != 0;
        i32::from(stop)
    })
    .unwrap_or(1)
}

//! What a chisel's API calls read and write on the Rust side: the fields
//! it requested, its filter, interval and formatter, a pending `exec`, and
//! (during a callback) the event and state it may look at.

use std::cell::{Cell, RefCell};

use sonde_fields::registry::FieldType;
use sonde_fields::{Ctx, Field};
use sonde_state::State;

/// How sonde runs, as chisels may ask (`sysdig.is_live()`, ...).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// Live capture rather than a file.
    pub live: bool,
    /// `-j`: `sysdig.get_output_format()` is `json`.
    pub json: bool,
    /// `-pc`/`-pcontainer`: `sysdig.is_print_container_data()`.
    pub print_container: bool,
    /// The capture filter given on the command line.
    pub filter: Option<String>,
    /// Standard output is a terminal.
    pub tty: bool,
    /// The capture file (`-r`), if any.
    pub file: Option<String>,
    /// `-s`.
    pub snaplen: Option<u32>,
    /// A buffer format was given on the command line (`-A`, `-x`, ...):
    /// `sysdig.set_output_format` then changes nothing.
    pub buf_fmt_forced: bool,
}

/// How a field's value reaches Lua, by its type (sysdig pushes numbers as
/// numbers, booleans as booleans, the rest as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Num,
    Bool,
    Str,
    /// A type that depends on the event (`evt.rawarg.*`): a number when
    /// it reads as one.
    Dyn,
}

impl Kind {
    pub(crate) fn of(name: &str) -> Kind {
        let base = name.split('[').next().unwrap_or(name);
        let Some((info, _)) = sonde_fields::registry::resolve(base) else {
            return Kind::Str;
        };
        match info.ty {
            t if t.is_integer() || t == FieldType::Double => Kind::Num,
            FieldType::Bool => Kind::Bool,
            FieldType::Dynamic => Kind::Dyn,
            _ => Kind::Str,
        }
    }
}

/// A field a chisel requested.
pub(crate) struct Req {
    pub field: Field,
    pub kind: Kind,
    pub name: String,
}

/// The Rust side of one chisel's API.
#[derive(Default)]
pub(crate) struct Host {
    pub name: String,
    /// Settable once more after loading ([`Host::set_env`]).
    env: RefCell<Env>,
    pub fields: RefCell<Vec<Req>>,
    pub filter: RefCell<Option<String>>,
    /// `sysdig.set_filter`: the capture filter the chisel asks for.
    pub capture_filter: RefCell<Option<String>>,
    pub interval_ns: Cell<u64>,
    pub precise_ns: Cell<u64>,
    /// `sysdig.run_sysdig`: arguments of a next run (not supported).
    pub next_run: RefCell<Option<String>>,
    /// `sysdig.get_read_progress`.
    pub progress: Cell<f64>,
    /// `sysdig.udp_setpeername`.
    pub udp: RefCell<Option<(std::net::UdpSocket, std::net::SocketAddrV4)>>,
    pub formatter: RefCell<Option<String>>,
    /// Bumped by every `set_filter` and `set_event_formatter`, so the sink
    /// recompiles only after one (checked after each `on_event`).
    pub edits: Cell<u64>,
    pub exec: RefCell<Option<(String, Vec<String>)>>,
    pub end: Cell<bool>,
    pub first_ts: Cell<u64>,
    pub last_ts: Cell<u64>,
    pub snaplen: Cell<u32>,
    /// The chisel called `sysdig.set_snaplen`.
    pub snaplen_asked: Cell<bool>,
    /// `sysdig.set_output_format`: how buffers render in fields.
    pub buf_fmt: Cell<Option<sonde_output::BufFmt>>,
    /// The event being handed to `on_event` (a `Ctx`), or null.
    cur: Cell<*const ()>,
    /// The state, during any callback that runs with one, or null.
    state: Cell<*const State>,
    pub buf: RefCell<Vec<u8>>,
}

impl Host {
    pub(crate) fn new(name: &str, env: Env) -> Host {
        Host {
            name: name.to_string(),
            snaplen: Cell::new(env.snaplen.unwrap_or(80)),
            env: RefCell::new(env),
            ..Host::default()
        }
    }

    /// What the chisel runs in.
    pub(crate) fn env(&self) -> std::cell::Ref<'_, Env> {
        self.env.borrow()
    }

    /// Replaces what the chisel runs in (a chisel loaded while the command
    /// line was read, to learn its arguments, runs in what the rest of the
    /// line says); `-s` replaces the default snaplen, not the chisel's own.
    pub(crate) fn set_env(&self, env: Env) {
        if !self.snaplen_asked.get() {
            self.snaplen.set(env.snaplen.unwrap_or(80));
        }
        *self.env.borrow_mut() = env;
    }

    /// Runs `f` with `ctx` as the current event (for `evt.*`).
    pub(crate) fn with_event<R>(&self, ctx: &Ctx<'_, '_>, f: impl FnOnce() -> R) -> R {
        let prev = self.cur.replace(ctx as *const Ctx<'_, '_> as *const ());
        let prev_st = self.state.replace(ctx.st as *const State);
        let prev_host = crate::values::CURRENT.with(|c| c.replace(self as *const Host));
        let r = f();
        crate::values::CURRENT.with(|c| c.set(prev_host));
        self.cur.set(prev);
        self.state.set(prev_st);
        r
    }

    /// Runs `f` with `st` as the state (for `sysdig.get_thread_table`).
    pub(crate) fn with_state<R>(&self, st: &State, f: impl FnOnce() -> R) -> R {
        let prev = self.state.replace(st as *const State);
        let r = f();
        self.state.set(prev);
        r
    }

    /// Makes `ctx` the current event, inside [`Host::with_event`] (which
    /// puts back the one before it when it returns): the held events'
    /// loop points at each in turn. `ctx` must live until then.
    pub(crate) fn point_at(&self, ctx: &Ctx<'_, '_>) {
        self.cur.set(ctx as *const Ctx<'_, '_> as *const ());
    }

    /// The current event, if a callback is running with one.
    pub(crate) fn event<R>(&self, f: impl FnOnce(&Ctx<'_, '_>) -> R) -> Option<R> {
        let p = self.cur.get();
        if p.is_null() {
            return None;
        }
        // SAFETY: `cur` is only non-null inside `with_event`, which holds
        // the borrow of the `Ctx` it points to for the whole call; the
        // reference given to `f` cannot outlive that call.
        let ctx = unsafe { &*(p as *const Ctx<'_, '_>) };
        Some(f(ctx))
    }

    /// The state, if a callback is running with one.
    pub(crate) fn state<R>(&self, f: impl FnOnce(&State) -> R) -> Option<R> {
        let p = self.state.get();
        if p.is_null() {
            return None;
        }
        // SAFETY: as in `event`: set only for the duration of a borrow
        // held by `with_state`/`with_event`.
        Some(f(unsafe { &*p }))
    }
}

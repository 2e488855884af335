//! The extension point of the pipeline: a [`Sink`] receives the events
//! the engine hands out, and says up front what it needs, so the engine
//! (and the live probe under it) does only that work.

use sonde_event::RawEvent;
use sonde_fields::Ctx;
use sonde_state::{Scope, State};

/// What a sink needs from the engine. The engine takes the union over its
/// sinks: the state engine runs if any sink reads it, latencies are
/// measured if any sink reads them, and the live probe passes on the event
/// types some sink (or the capture filter) can use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Reads the thread/fd state (fields, tables). A sink that only copies
    /// events (a plain `-w`) leaves it false, and with no other reader the
    /// engine skips the state engine altogether.
    pub state: bool,
    /// Reads syscall latencies (`evt.latency`, `-t d`, written enter
    /// timestamps): the live probe then measures them.
    pub latency: bool,
    /// A filter whose event types are all this sink can use (`None`: any
    /// event type). The live probe passes on the union over sinks.
    pub types: Option<String>,
    /// Reads `Ctx::prev_ts`: the time of the previous event shown.
    pub prev_ts: bool,
    /// Sees every event before the state engine applies it
    /// ([`Sink::before`]) and the capture filter's verdict on it
    /// ([`Sink::filtered`]): file writers.
    pub writes: bool,
    /// Can take event blocks undecoded ([`Sink::raw_block`]) when nothing
    /// else reads the events: a plain file copy.
    pub raw_blocks: bool,
    /// Wants [`Sink::tick`] every this many nanoseconds of event time.
    pub tick_ns: Option<u64>,
    /// How much of the state it reads (`sonde_fields::field_scope` of
    /// its fields): the engine takes the widest over its sinks, and the
    /// events that change only what none of them reads, and that no sink
    /// wants, pass over the state (`State::skip_light`).
    pub scope: Scope,
    /// May hold events it was handed and take them later, all at once
    /// ([`Sink::settle`]), while the state stays as they left it. Granted
    /// ([`Sink::allow_holding`]) only to a sink that runs alone, so no
    /// other sink's output comes between.
    pub holds: bool,
    /// Takes only the events sysdig shows ([`Handed::shown`]): a printer.
    /// When every sink does, and neither `-D` nor `-n` (which counts the
    /// others too) is given, the events sysdig never shows that change no
    /// state (`procinfo`) are left out unread.
    pub shown_only: bool,
    /// Syscalls (by name) this sink only counts, per process and result:
    /// in live capture, when every sink says so of a syscall and no capture
    /// filter runs, the kernel counts it instead of sending its events,
    /// and the counts come to [`Sink::kernel_counts`].
    pub counted: &'static [&'static str],
}

impl Needs {
    /// Whether a field name, format or filter text reads latencies (any
    /// name containing `latency`: `evt.latency*`, `evt.wait_latency`, ...).
    pub fn names_latency(text: &str) -> bool {
        text.contains("latency")
    }
}

/// Calls of a syscall the kernel counted instead of sending its events
/// ([`Needs::counted`]): one process, one syscall, one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelCount {
    /// The calling process (its main thread's id).
    pub pid: i64,
    /// The syscall's exit event (its name and category), or the generic
    /// syscall event for a syscall without one.
    pub code: u16,
    /// 0: the calls succeeded; else the errno they failed with.
    pub errno: u16,
    /// Calls since the previous counts.
    pub calls: u64,
}

/// What the engine does after a sink took an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// End now, quietly, without finishing any sink (a closed pipe).
    Quit,
    /// Go on; the sink holds the event (`Needs::holds`) and takes it in
    /// [`Sink::settle`], which the engine calls before the state changes.
    Held,
}

/// A sink failed: what it was doing (`cannot write 'x.scap'`) and why.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct SinkError {
    /// What the sink was doing.
    pub context: String,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

impl SinkError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SinkError {
            context: context.into(),
            source,
        }
    }
}

/// The result of a sink's callback.
pub type SinkResult<T = ()> = Result<T, SinkError>;

/// How an event handed out by the engine is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handed {
    /// sysdig would show it (false for internal and state-only events
    /// without `-D`): printers print only these.
    pub shown: bool,
}

/// A consumer of events: printer, file writer, summary, chisel, view,
/// metrics. Callbacks come in this order: [`Sink::begin`], then per event
/// [`Sink::settle`] (for a sink that holds events, when the state is
/// about to change), [`Sink::before`], [`Sink::filtered`], [`Sink::event`]
/// (or [`Sink::passed`]; each only where it applies), [`Sink::tick`] as
/// event time passes, and [`Sink::finish`].
/// Sinks only read the state.
pub trait Sink {
    /// What this sink needs (asked once, before the source opens).
    fn needs(&self) -> Needs;

    /// Before the first event, with the state of the capture's start.
    fn begin(&mut self, _st: &State) -> SinkResult {
        Ok(())
    }

    /// Every event the source yields, before the state engine applies it,
    /// for sinks that declare `writes` (a rotating writer starts its next file with the state before it).
    fn before(&mut self, _st: &State, _ev: &RawEvent<'_>) -> SinkResult {
        Ok(())
    }

    /// Every event the capture filter looked at, after the state engine
    /// applied it, with the filter's verdict (what `-w` writes, `-F` too),
    /// for sinks that declare `writes`.
    fn filtered(&mut self, _st: &State, _ev: &RawEvent<'_>, _pass: bool) -> SinkResult {
        Ok(())
    }

    /// Whether this sink may read `ev` (its fields, or the state it
    /// leaves) or, for an enter event, the exit that follows it. When no
    /// sink does, the engine may pass over an event that changes nothing
    /// but its own thread's call bookkeeping (`State::skip_light`), and
    /// the sinks get only its time ([`Sink::passed`]). By default a sink
    /// wants every event.
    fn wants(&self, _ev: &RawEvent<'_>) -> bool {
        true
    }

    /// An event no sink wanted ([`Sink::wants`]) was passed over: its
    /// time `ts`, and the capture's first event time `first_ts`. It counts
    /// as handed out.
    fn passed(&mut self, _ts: u64, _first_ts: u64) -> SinkResult {
        Ok(())
    }

    /// An event the engine hands out (what sysdig's inspector returns:
    /// accepted by the capture filter, not consumed while opening).
    fn event(&mut self, _ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        Ok(Flow::Continue)
    }

    /// An undecoded event block (v2 layout), in plain-copy mode only
    /// (every sink declared `raw_blocks` and none reads the state).
    fn raw_block(&mut self, _st: &State, _block_type: u32, _body: &[u8], _ts: u64) -> SinkResult {
        Ok(())
    }

    /// Whole event blocks as they lie in the file (v2 layout, headers and
    /// trailers included, `events` of them, the first at `first_ts`), in
    /// plain-copy mode only. By default each goes to [`Sink::raw_block`].
    fn raw_blocks(&mut self, st: &State, blocks: &[u8], events: u64, first_ts: u64) -> SinkResult {
        let _ = (events, first_ts);
        for (bt, body) in sonde_scap::split_blocks(blocks) {
            self.raw_block(st, bt, body, sonde_scap::event_block_ts(bt, body))?;
        }
        Ok(())
    }

    /// Event time passed a multiple of `Needs::tick_ns`: `ts` is that
    /// boundary.
    fn tick(&mut self, _ts: u64, _st: &State) -> SinkResult {
        Ok(())
    }

    /// Live capture only: no event came for a while, and none older than
    /// `ts` (epoch ns, the events' clock) is to come. Sinks that act on
    /// time passing act here too, as sysdig's do on its driver's timer
    /// events. Tickers get their [`Sink::tick`]s up to `ts` before this.
    fn idle(&mut self, _ts: u64, _st: &State) -> SinkResult {
        Ok(())
    }

    /// Live capture only, about once a second: calls of the syscalls the
    /// kernel counted instead of sending ([`Needs::counted`]) since the
    /// previous counts.
    fn kernel_counts(&mut self, _counts: &[KernelCount], _st: &State) -> SinkResult {
        Ok(())
    }

    /// A sink that declared `holds` may hold the events it is handed
    /// (and then takes them in [`Sink::settle`], [`Sink::idle`] and
    /// [`Sink::finish`] at the latest).
    fn allow_holding(&mut self) {}

    /// The state is about to change (the next event changes it, or a
    /// block of the capture does), with `st` still as the events held so
    /// far left it: a sink allowed to hold events takes them now.
    fn settle(&mut self, _st: &State) -> SinkResult {
        Ok(())
    }

    /// After the last event (not after [`Flow::Quit`]).
    fn finish(&mut self, _st: &State) -> SinkResult {
        Ok(())
    }
}

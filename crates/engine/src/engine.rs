//! The event loop: one pass over a source, with sysdig's rules for which
//! events reach the state engine, the capture filter and the sinks.

use sonde_fields::TimeFmt;
use sonde_filter::Filter;
use sonde_output::RenderOpts;
use sonde_state::State;

use crate::events::LoopEnd;
use crate::sink::{Needs, Sink, SinkError};
use crate::source::{Source, SourceError};
use crate::StopHandle;

/// How the engine runs, whatever the sinks.
#[derive(Default)]
pub struct Config {
    /// The capture filter: events it rejects are neither counted, written
    /// nor handed out (a display filter belongs to the printing sink).
    pub filter: Option<Filter>,
    /// `-U`: events of processes with these names are ignored altogether.
    pub suppress_comm: Vec<String>,
    /// `-D`: internal events (and those the engine would swallow) are shown.
    pub debug: bool,
    /// `-n`: stop after this many events handed out.
    pub max_events: Option<u64>,
    /// How parameters render in fields (`evt.args`, `-p`).
    pub render: RenderOpts,
    /// How time fields render.
    pub time_fmt: TimeFmt,
    /// Live capture settings.
    #[cfg(feature = "live")]
    pub live: crate::LiveOptions,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Events read from the source.
    pub events: u64,
    /// Events handed out (what `-n` counts).
    pub handed_out: u64,
    /// Events the driver delivered and dropped (live capture).
    pub driver: (u64, u64),
    /// A sink asked to end quietly ([`crate::Flow::Quit`]); sinks were not finished.
    pub quit: bool,
    /// The source stopped on an error (after the events before it were
    /// handed out and the sinks finished).
    pub error: Option<SourceError>,
    /// Lines for `-v` beyond sysdig's summary (live containers: counts,
    /// metadata sources and why they failed).
    pub notes: Vec<String>,
}

/// The pipeline: a source, the state engine, the capture filter and any
/// number of sinks, in one pass.
pub struct Engine<'s> {
    pub(crate) cfg: Config,
    pub(crate) sinks: Vec<Box<dyn Sink + 's>>,
    pub(crate) stop: StopHandle,
    pub(crate) st: State,
    /// Live capture: container attribution and metadata lookups.
    #[cfg(feature = "live")]
    pub(crate) ctr: Option<crate::containers::Tracker>,
    /// Live capture: Kubernetes metadata for the container tracker.
    #[cfg(feature = "k8s")]
    pub(crate) k8s: Option<std::sync::Arc<sonde_k8s::Shared>>,
}

impl<'s> Engine<'s> {
    /// An engine with no sinks yet.
    pub fn new(cfg: Config) -> Self {
        Engine {
            cfg,
            sinks: Vec::new(),
            stop: StopHandle::new(),
            st: State::new(),
            #[cfg(feature = "live")]
            ctr: None,
            #[cfg(feature = "k8s")]
            k8s: None,
        }
    }

    /// Live capture: adds the pod metadata `k8s` holds (the watches of
    /// `sonde-k8s`) to the containers' events. Call before
    /// [`Engine::open_live`]; needs container attribution (the default).
    #[cfg(feature = "k8s")]
    pub fn set_k8s(&mut self, k8s: std::sync::Arc<sonde_k8s::Shared>) {
        self.k8s = Some(k8s);
    }

    /// Adds a sink; sinks see each event in the order they were added.
    pub fn add_sink(&mut self, sink: Box<dyn Sink + 's>) {
        self.sinks.push(sink);
    }

    /// A handle that stops [`Engine::run`] from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Uses `stop` as this engine's stop handle (a signal handler's).
    pub fn set_stop_handle(&mut self, stop: StopHandle) {
        self.stop = stop;
    }

    /// The state engine (for sinks that read it after a run).
    pub fn state(&self) -> &State {
        &self.st
    }

    /// The union of the sinks' needs.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::default();
        for s in &self.sinks {
            let m = s.needs();
            n.state |= m.state;
            n.latency |= m.latency;
            n.prev_ts |= m.prev_ts;
            n.writes |= m.writes;
        }
        n.raw_blocks = !self.sinks.is_empty() && self.sinks.iter().all(|s| s.needs().raw_blocks);
        n
    }

    /// What the decoding thread may leave out: the events the capture
    /// filter's type table rejects unread, and those no sink would show
    /// ([`Needs::shown_only`]), when no sink reads them all (a writer, a
    /// ticker, a sink holding events).
    fn skip_table(&self) -> sonde_scap::SkipTable {
        let needs: Vec<Needs> = self.sinks.iter().map(|s| s.needs()).collect();
        let all = needs
            .iter()
            .any(|n| n.writes || n.holds || n.tick_ns.is_some_and(|t| t > 0));
        let filter = self.cfg.filter.as_ref();
        let types = crate::rules::type_table(filter);
        let hidden = !self.cfg.debug
            && self.cfg.max_events.is_none()
            && !filter.is_some_and(Filter::is_stateful)
            && !needs.is_empty()
            && needs.iter().all(|n| n.shown_only);
        if all || (types.is_none() && !hidden) {
            return sonde_scap::SkipTable::default();
        }
        crate::rules::skip_table(types.as_ref(), hidden)
    }

    /// Starts live capture with what the filter and the sinks need: the
    /// syscalls they can select (plus what the state engine needs), the
    /// optional tracepoints, and latencies only when something reads them.
    #[cfg(feature = "live")]
    pub fn open_live(&mut self) -> Result<Source, SourceError> {
        let filter = self.cfg.filter.as_ref();
        let tp = crate::rules::kernel_tracepoints(filter);
        let needs: Vec<Needs> = self.sinks.iter().map(|s| s.needs()).collect();
        let latency = needs.iter().any(|n| n.latency)
            || filter.is_some_and(|f| Needs::names_latency(f.text()));
        let cfg = sonde_probe::Config {
            snaplen: self.cfg.live.snaplen.unwrap_or(80),
            syscalls: crate::rules::kernel_syscall_set(filter, &needs),
            sched_switch: tp.sched_switch,
            page_faults: tp.page_faults,
            ring_bytes: self
                .cfg
                .live
                .ring_bytes
                .unwrap_or(sonde_probe::Config::default().ring_bytes),
            suppress_comms: self.cfg.suppress_comm.clone(),
            latency,
            counted: crate::rules::kernel_counted(filter, &needs),
            ..sonde_probe::Config::default()
        };
        let live = crate::Live::start(cfg, self.cfg.live.max_seconds, self.stop.clone())?;
        // threads that started while /proc was being scanned: look them up
        self.st.set_resolver(Box::new(|tid| {
            sonde_probe::proc::read_process_at(std::path::Path::new("/proc"), tid)
                .map(|p| (p.threads, p.fds))
        }));
        // containers: identified from cgroups, named off the event path
        if self.cfg.live.containers {
            #[allow(unused_mut)]
            let mut t = crate::containers::Tracker::install(&mut self.st);
            #[cfg(feature = "k8s")]
            {
                t.k8s = self.k8s.clone().map(crate::k8s::K8sLink::new);
            }
            self.ctr = Some(t);
        }
        Ok(Source::Live(Box::new(live)))
    }

    /// Runs the source to its end (or a stop, `-n`, a sink's quit), then
    /// finishes every sink. A sink's error ends the run at once.
    pub fn run(&mut self, source: Source) -> Result<Report, SinkError> {
        let needs = self.needs();
        let needs_state = needs.state || self.cfg.filter.is_some();
        // live containers are found by the state engine
        #[cfg(feature = "live")]
        let needs_state = needs_state || self.ctr.is_some();
        let suppress = !self.cfg.suppress_comm.is_empty();
        let plain_copy = needs.raw_blocks && !needs_state && !suppress;
        let mut report = Report::default();
        for s in &mut self.sinks {
            s.begin(&self.st)?;
        }
        let mut source = source;
        let result = match (plain_copy, &mut source) {
            (true, Source::File(r)) => self.copy_blocks(r, &mut report),
            _ => {
                // decoding moves to a helper thread: this one keeps state,
                // filter and sinks
                source = source.decode_ahead(self.skip_table());
                self.events(&mut source, needs_state, &mut report)
            }
        };
        report.driver = source.driver_stats();
        #[cfg(feature = "live")]
        if let Some(c) = &self.ctr {
            report.notes = c.notes(&self.st);
        }
        match result {
            Ok(LoopEnd::Done(e)) => report.error = e,
            Ok(LoopEnd::Quit) => {
                report.quit = true;
                return Ok(report);
            }
            Err(e) => return Err(e),
        }
        for s in &mut self.sinks {
            s.finish(&self.st)?;
        }
        Ok(report)
    }
}

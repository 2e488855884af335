//! Live capture as a source: the machine's processes and fds from /proc
//! first (as a capture file's process and fd lists), then the probe's
//! events until a stop, the time limit or the end of the pipeline.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sonde_probe::{Config, Probe};
use sonde_scap::Block;

use crate::{KernelCount, StopHandle};
use sonde_event::Direction;

/// How to run the probe, besides what the filter and sinks decide (the
/// syscall set, latencies, optional tracepoints).
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Bytes of I/O buffers captured per event (`-s`, default 80).
    pub snaplen: Option<u32>,
    /// Ring size per CPU in bytes (default: the probe's).
    pub ring_bytes: Option<u32>,
    /// Stop after this many seconds (`-M`).
    pub max_seconds: Option<u64>,
    /// Attribute threads to containers and look up their metadata (the
    /// default; false keeps sysdig's capture-file rule, for benchmarks).
    pub containers: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: None,
            ring_bytes: None,
            max_seconds: None,
            containers: true,
        }
    }
}

/// The live source.
pub struct Live {
    probe: Probe,
    /// Events received from the probe so far.
    received: u64,
    blocks: VecDeque<Block<'static>>,
    deadline: Option<Instant>,
    finished: bool,
    stop: StopHandle,
    /// Kept at the kernel's drop count (about once a second) for a reader
    /// on another side of the pipeline ([`Live::set_drop_counter`]).
    drop_counter: Option<(std::sync::Arc<std::sync::atomic::AtomicU64>, Instant)>,
    /// When an event or an idle beat was last handed out.
    last_out: Instant,
    /// The time of the idle beat handed out last ([`Live::take_idle`]).
    idle: Option<u64>,
    /// Kernel counts: when last read, and what was read and not yet
    /// taken ([`Live::take_counts`]); None when nothing is counted.
    counts: Option<(Instant, Vec<KernelCount>)>,
    /// Exit event per counted syscall number.
    count_codes: Vec<(u32, u16)>,
}

/// How often the kernel's syscall counts are read.
const COUNTS_EVERY: Duration = Duration::from_secs(1);

/// The exit event of native syscall `nr` (the generic one if it has none).
fn exit_code(nr: u32) -> u16 {
    let name = sonde_probe::syscall_table()
        .iter()
        .find(|e| e.0 == nr)
        .map(|e| e.1);
    name.and_then(|n| {
        sonde_event::codes_named(n)
            .filter(|&c| sonde_event::event_info(c).is_some_and(|i| i.dir == Direction::Exit))
            .last()
    })
    .unwrap_or(sonde_event::codes::GENERIC_X)
}

/// How long the probe stays silent before the pipeline hears that time
/// passed: sinks that act on time (chisel intervals, metrics) go on when
/// a quiet host makes no events, as sysdig's driver timer events make
/// them go on.
const IDLE_BEAT: Duration = Duration::from_millis(100);

impl Live {
    /// Loads and attaches the probe, then reads /proc. `cfg` says what
    /// the kernel passes on.
    pub fn start(
        cfg: Config,
        max_seconds: Option<u64>,
        stop: StopHandle,
    ) -> Result<Live, sonde_probe::Error> {
        let probe = Probe::open(&cfg)?;
        let count_codes: Vec<(u32, u16)> = cfg.counted.iter().map(|&n| (n, exit_code(n))).collect();
        let mut blocks = VecDeque::new();
        let root = std::path::Path::new("/");
        blocks.push_back(Block::Machine(sonde_probe::host::machine(root)));
        blocks.push_back(Block::Users(sonde_probe::host::users(root)));
        blocks.push_back(Block::Ifaces(sonde_probe::host::interfaces()));
        for p in sonde_probe::proc::scan(std::path::Path::new("/proc")) {
            let pid = p.threads[0].pid;
            blocks.push_back(Block::Threads(p.threads));
            blocks.push_back(Block::Fds {
                tid: pid,
                fds: p.fds,
            });
        }
        Ok(Live {
            probe,
            received: 0,
            blocks,
            deadline: max_seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            finished: false,
            stop,
            drop_counter: None,
            last_out: Instant::now(),
            idle: None,
            counts: (!count_codes.is_empty()).then(|| (Instant::now(), Vec::new())),
            count_codes,
        })
    }

    /// Keeps `c` at the number of events the kernel dropped, updated
    /// about once a second while the capture runs (the metrics agent
    /// reports it as it goes).
    pub fn set_drop_counter(&mut self, c: std::sync::Arc<std::sync::atomic::AtomicU64>) {
        self.drop_counter = Some((c, Instant::now()));
    }

    /// Events received and events the kernel dropped.
    pub fn stats(&self) -> (u64, u64) {
        (self.received, self.probe.drops().total())
    }

    /// The time (epoch ns, the events' clock) of the idle beat the last
    /// block stood for, if it was one: no event older than it is to come.
    pub(crate) fn take_idle(&mut self) -> Option<u64> {
        self.idle.take()
    }

    /// The calls the kernel counted since the last counts, when the last
    /// (empty) block stood for them.
    pub(crate) fn take_counts(&mut self) -> Option<Vec<KernelCount>> {
        let (_, c) = self.counts.as_mut()?;
        (!c.is_empty()).then(|| std::mem::take(c))
    }

    /// Reads the kernel's counts when they are due; whether there are
    /// counts to hand out.
    fn counts_due(&mut self) -> bool {
        let Some((at, pending)) = &mut self.counts else {
            return false;
        };
        // (at the end: once more, whatever the time)
        if at.elapsed() < COUNTS_EVERY && !self.finished {
            return false;
        }
        *at = Instant::now();
        let codes = &self.count_codes;
        pending.extend(self.probe.take_counts().into_iter().map(|c| {
            KernelCount {
                pid: i64::from(c.tgid),
                code: codes
                    .iter()
                    .find(|e| e.0 == c.nr)
                    .map_or(sonde_event::codes::GENERIC_X, |e| e.1),
                errno: c.errno,
                calls: c.calls,
            }
        }));
        !pending.is_empty()
    }

    pub(crate) fn next_block(&mut self) -> Result<Option<Block<'_>>, sonde_probe::Error> {
        if let Some(b) = self.blocks.pop_front() {
            return Ok(Some(b));
        }
        loop {
            // (a busy probe never runs dry: counts are due by event count too)
            if self.counts.is_some() && self.received % 4096 == 0 && self.counts_due() {
                return Ok(Some(Block::Skipped { block_type: 0 }));
            }
            // events are handed out straight from the probe's queues
            if self.probe.has_ready() {
                self.received += 1;
                self.last_out = Instant::now();
                return Ok(self.probe.next_event().map(Block::Event));
            }
            if !self.finished && self.last_out.elapsed() >= IDLE_BEAT {
                // an empty block: the engine asks take_idle what it meant
                self.last_out = Instant::now();
                self.idle = Some(self.probe.watermark()).filter(|t| *t > 0);
                return Ok(Some(Block::Skipped { block_type: 0 }));
            }
            if self.finished {
                // the calls counted since the last counts, once
                if self.counts_due() {
                    return Ok(Some(Block::Skipped { block_type: 0 }));
                }
                self.counts = None;
                self.report_drops();
                return Ok(None);
            }
            if self.stop.is_stopped() || self.deadline.is_some_and(|d| Instant::now() >= d) {
                // hand out what the probe still holds, then stop
                self.finished = true;
                self.probe.finish()?;
                continue;
            }
            if self.counts_due() {
                return Ok(Some(Block::Skipped { block_type: 0 }));
            }
            if let Some((c, at)) = &mut self.drop_counter {
                if at.elapsed() >= Duration::from_secs(1) {
                    *at = Instant::now();
                    c.store(
                        self.probe.drops().total(),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
            }
            self.probe.fill(Duration::from_millis(1))?;
        }
    }

    fn report_drops(&self) {
        let d = self.probe.drops();
        if d.total() > 0 {
            eprintln!(
                "sonde: {} events dropped (ring buffer full): {} file/io, {} network, {} process, {} other",
                d.total(),
                d.file,
                d.net,
                d.process,
                d.generic
            );
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // -n and broken pipes end the loop without asking the source
        if !self.finished {
            self.report_drops();
        }
    }
}

//! The event sources of the pipeline: a capture file, or live capture with
//! the eBPF probe (`sonde-probe`), both read block by block.

#[cfg(feature = "live")]
use std::collections::VecDeque;
#[cfg(feature = "live")]
use std::time::{Duration, Instant};

#[cfg(feature = "live")]
use sonde_probe::{Config, Probe};
use sonde_scap::{Block, DecodeAhead, FileReader};

/// Why the source stopped early.
#[derive(Debug)]
pub enum SourceError {
    File(sonde_scap::Error),
    #[cfg(feature = "live")]
    Live(sonde_probe::Error),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::File(e) => e.fmt(f),
            #[cfg(feature = "live")]
            SourceError::Live(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    /// As an error for `main`, keeping capture-file errors downcastable.
    pub fn into_anyhow(self, what: &str) -> anyhow::Error {
        match self {
            SourceError::File(e) => {
                anyhow::Error::new(e).context(format!("error reading '{what}'"))
            }
            #[cfg(feature = "live")]
            SourceError::Live(e) => anyhow::Error::new(e),
        }
    }
}

/// Where events come from.
pub enum Source {
    File(FileReader),
    /// A file decoded on a helper thread.
    Decoded(DecodeAhead),
    #[cfg(feature = "live")]
    Live(Box<Live>),
}

impl Source {
    /// Events the driver delivered and events it dropped (0 for files).
    pub fn driver_stats(&self) -> (u64, u64) {
        match self {
            Source::File(_) | Source::Decoded(_) => (0, 0),
            #[cfg(feature = "live")]
            Source::Live(l) => (l.received, l.probe.drops().total()),
        }
    }

    /// The next block; `None` at the end of the file or of the capture.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, SourceError> {
        match self {
            Source::File(r) => r.next_block().map_err(SourceError::File),
            Source::Decoded(r) => r.next_block().map_err(SourceError::File),
            #[cfg(feature = "live")]
            Source::Live(l) => l.next_block().map_err(SourceError::Live),
        }
    }
}

#[cfg(feature = "live")]
/// Live capture: the machine's processes and fds from /proc first (as a
/// capture file's process and fd lists), then the probe's events until
/// Ctrl-C, the time limit or the end of the pipeline.
pub struct Live {
    probe: Probe,
    /// Events received from the probe so far.
    received: u64,
    blocks: VecDeque<Block<'static>>,
    deadline: Option<Instant>,
    finished: bool,
}

#[cfg(feature = "live")]
impl Live {
    /// Loads and attaches the probe, then reads /proc.
    /// `cfg` says what the kernel passes on: syscalls, and whether context
    /// switches and page faults are captured.
    pub fn start(cfg: Config, max_seconds: Option<u64>) -> Result<Live, sonde_probe::Error> {
        let probe = Probe::open(&cfg)?;
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
        })
    }

    fn next_block(&mut self) -> Result<Option<Block<'_>>, sonde_probe::Error> {
        if let Some(b) = self.blocks.pop_front() {
            return Ok(Some(b));
        }
        loop {
            // events are handed out straight from the probe's queues
            if self.probe.has_ready() {
                self.received += 1;
                return Ok(self.probe.next_event().map(Block::Event));
            }
            if self.finished {
                self.report_drops();
                return Ok(None);
            }
            if crate::signals::stop_requested()
                || self.deadline.is_some_and(|d| Instant::now() >= d)
            {
                // hand out what the probe still holds, then stop
                self.finished = true;
                self.probe.finish()?;
                continue;
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

#[cfg(feature = "live")]
impl Drop for Live {
    fn drop(&mut self) {
        // -n and broken pipes end the loop without asking the source
        if !self.finished {
            self.report_drops();
        }
    }
}

//! Where events come from: a capture file (read on this thread, or
//! decoded on a helper thread), or live capture with the eBPF probe.

use sonde_scap::{Block, DecodeAhead, FileReader, SkipTable};

#[cfg(feature = "live")]
pub use crate::live::{Live, LiveOptions};

/// Why the source stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The capture file is damaged or unreadable (bad input: exit code 2).
    #[error("{0}")]
    File(#[from] sonde_scap::Error),
    /// Live capture failed.
    #[cfg(feature = "live")]
    #[error("{0}")]
    Live(#[from] sonde_probe::Error),
}

/// A source of events.
pub enum Source {
    /// A capture file read on this thread.
    File(FileReader),
    /// A capture file decoded on a helper thread.
    Decoded(DecodeAhead),
    /// Live capture.
    #[cfg(feature = "live")]
    Live(Box<Live>),
}

impl Source {
    /// Opens a capture file (plain or gzip).
    pub fn open_file(path: &std::path::Path) -> Result<Source, sonde_scap::Error> {
        FileReader::open(path).map(Source::File)
    }

    /// Whether events come from the live probe.
    pub fn is_live(&self) -> bool {
        !matches!(self, Source::File(_) | Source::Decoded(_))
    }

    /// Events the driver delivered and events it dropped (0 for files).
    pub fn driver_stats(&self) -> (u64, u64) {
        match self {
            Source::File(_) | Source::Decoded(_) => (0, 0),
            #[cfg(feature = "live")]
            Source::Live(l) => l.stats(),
        }
    }

    /// Moves decoding of a file to a helper thread (no-op otherwise),
    /// which leaves out the events `skips` names.
    pub(crate) fn decode_ahead(self, skips: SkipTable) -> Source {
        match self {
            Source::File(r) => Source::Decoded(DecodeAhead::with_skips(r, skips)),
            other => other,
        }
    }

    /// Events the decoding thread left out that no [`Gap`](sonde_scap::Gap) reported
    /// ([`DecodeAhead::skipped_unreported`]).
    pub(crate) fn skipped_unreported(&self) -> u64 {
        match self {
            Source::Decoded(d) => d.skipped_unreported(),
            _ => 0,
        }
    }

    /// The next block; `None` at the end of the file or of the capture.
    #[inline]
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, SourceError> {
        match self {
            Source::File(r) => r.next_block().map_err(SourceError::File),
            Source::Decoded(r) => r.next_block().map_err(SourceError::File),
            #[cfg(feature = "live")]
            Source::Live(l) => l.next_block().map_err(SourceError::Live),
        }
    }

    /// Live capture: the kernel's syscall counts the last (empty) block
    /// stood for, if it did (see [`Sink::kernel_counts`](crate::Sink::kernel_counts)).
    pub(crate) fn take_counts(&mut self) -> Option<Vec<crate::KernelCount>> {
        match self {
            #[cfg(feature = "live")]
            Source::Live(l) => l.take_counts(),
            _ => None,
        }
    }

    /// Live capture: the time of the idle beat the last (empty) block
    /// stood for, if it was one (see [`Sink::idle`](crate::Sink::idle)).
    pub(crate) fn take_idle(&mut self) -> Option<u64> {
        match self {
            #[cfg(feature = "live")]
            Source::Live(l) => l.take_idle(),
            _ => None,
        }
    }
}

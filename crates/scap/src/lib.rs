//! # sonde-scap: capture files
//!
//! Owns the `.scap` file format of sysdig and Falco: the block layout
//! (section header with or without options, machine info, interface lists
//! v1/v2, user lists v1/v2, process lists v1-v9, fd lists v1/v2, event blocks
//! v1/v2/large and flagged), gzip detection, and streaming reads with one
//! reused buffer so memory stays flat whatever the file size, optionally
//! decoded on a helper thread ([`DecodeAhead`]). A truncated or
//! corrupt file yields every block before the damage, then an [`Error`]
//! naming the byte offset. Encodes and decodes the metadata records of
//! `sonde_event::meta` (re-exported here and in [`blocks`] under their old
//! paths) from and into blocks; [`Block::meta`] hands a block's records to
//! the state engine.
//!
//! Does **not** own: the metadata records themselves (`sonde-event`), what
//! events mean (`sonde-event` describes them, `sonde-state` applies them)
//! or how they print (`sonde-output`).

#![warn(missing_docs)]

mod ahead;
pub mod blocks;
mod gzwrite;
pub mod layout;
mod parse;
mod readahead;
mod reader;
#[cfg(test)]
mod testsink;
mod writebehind;
mod writer;

pub use ahead::{DecodeAhead, Gap, SkipTable};
pub use blocks::{
    FdDetail, FdInfo, GroupInfo, IfList, IfaceV4, IfaceV6, MachineInfo, SectionHeader, ThreadInfo,
    UserInfo, UserList,
};
pub use gzwrite::ParallelGz;
pub use readahead::ReadAhead;
pub use reader::{
    decode_block, decode_event, event_block_known, event_block_ts, split_blocks, v1_event_to_v2,
    Block, EventSpan, FileReader, Reader,
};
pub use writebehind::WriteBehind;
pub use writer::{Metadata, Writer, DF_STATE_ONLY};

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[error("{kind} (at byte offset {offset})")]
pub struct Error {
    /// Offset of the damaged block in the (decompressed) stream.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error of `kind` at byte `offset`.
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, kind }
    }
}

/// The kinds of capture-file errors.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The input is not a capture file.
    #[error("not a capture file: {0}")]
    NotCapture(String),
    /// The capture ends inside a block.
    #[error("capture truncated: {0}")]
    Truncated(String),
    /// A block or event is malformed.
    #[error("corrupt capture: {0}")]
    Corrupt(String),
}

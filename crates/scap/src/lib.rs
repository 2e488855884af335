//! # sonde-scap: capture files
//!
//! Owns the `.scap` file format of sysdig and Falco: the block layout
//! (section header with or without options, machine info, interface lists
//! v1/v2, user lists v1/v2, process lists v1-v9, fd lists v1/v2, event blocks
//! v1/v2/large and flagged), gzip detection, and streaming reads with one
//! reused buffer so memory stays flat whatever the file size, optionally
//! decoded on a helper thread ([`DecodeAhead`]). A truncated or
//! corrupt file yields every block before the damage, then an [`Error`]
//! naming the byte offset.
//!
//! Does **not** own: what events mean (`sonde-event` describes them,
//! `sonde-state` applies them) or how they print (`sonde-output`).

mod ahead;
pub mod blocks;
mod gzwrite;
pub mod layout;
mod parse;
mod readahead;
mod reader;
mod writebehind;
mod writer;

pub use ahead::DecodeAhead;
pub use blocks::{
    FdDetail, FdInfo, GroupInfo, IfList, IfaceV4, IfaceV6, MachineInfo, SectionHeader, ThreadInfo,
    UserInfo, UserList,
};
pub use gzwrite::ParallelGz;
pub use readahead::ReadAhead;
pub use reader::{
    decode_block, decode_event, event_block_known, v1_event_to_v2, Block, FileReader, Reader,
};
pub use writebehind::WriteBehind;
pub use writer::{Metadata, Writer, DF_STATE_ONLY};

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[error("{kind} (at byte offset {offset})")]
pub struct Error {
    /// Offset of the damaged block in the (decompressed) stream.
    pub offset: u64,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, kind }
    }
}

/// The kinds of capture-file errors.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a capture file: {0}")]
    NotCapture(String),
    #[error("capture truncated: {0}")]
    Truncated(String),
    #[error("corrupt capture: {0}")]
    Corrupt(String),
}

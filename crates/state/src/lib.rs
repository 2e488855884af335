//! # sonde-state: the state engine
//!
//! Owns the meaning raw events acquire over time: the thread table (from
//! process-list blocks, /proc scans and clone/fork/vfork/clone3/execve/
//! execveat/procexit events), per-process fd tables (from fd-list blocks and
//! every fd-creating, fd-changing and fd-closing event), working
//! directories so relative paths resolve, users and groups, interfaces and
//! machine info. Tables are bounded by [`Limits`]; exited threads are reaped.
//! Metadata arrives as `sonde_event::meta` records ([`State::apply_meta`],
//! or [`State::apply_block`] for anything that carries them, such as a
//! `sonde_scap::Block`), so this crate depends on `sonde-event` only.
//!
//! Does **not** own: decoding bytes (`sonde-event`, `sonde-scap`), deciding
//! which events to keep (`sonde-filter`) or rendering (`sonde-output`).
//! Sinks read the state through [`State`]'s accessors right after
//! [`State::process`] has applied the event they are looking at.

#![warn(missing_docs)]

mod container;
mod engine;
mod fd;
pub mod path;
mod snapshot;
mod sock;
mod thread;

pub use container::{
    container_id_from_cgroups, parse_container_json, Container, ContainerMeta, Mount,
};
pub use engine::{
    changes_threads, fmt_v6, is_inert, is_light, is_memory, is_rw_exit, keeps_threads,
    leaves_threads, parse_tuple, ContainerHook, ContainerIdent, Limits, Scope, State,
};
pub use fd::{Fd, FdType, L4Proto, SockAddrs};
pub use snapshot::{fd_info, thread_info, Referenced};
pub use sock::{inet_ntop6, ntop6, render_tuple};
pub use thread::{category, clone_flags, split_nul, LastEnter, Thread};

//! [`Extra`]: fields added for filters and Falco rules, kept together as
//! one variant of [`crate::Field`] for the crates that match on them.
//! Each is parsed, extracted and listed in the registry by the module of
//! its class: `evt.is_open_read/write/exec`, `syscall.type` and
//! `evt.type.is.X` in `evt.rs`; `proc.sname`, `proc.duration`,
//! `proc.pexe`, `proc.pexepath`, `proc.aexe[N]` and `proc.aexepath[N]` in
//! `proc/`; `user.loginname` in `user.rs`.

/// A field of this group. Each variant is parsed and extracted by the
/// module of its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    /// `evt.is_open_read`.
    IsOpenRead,
    /// `evt.is_open_write`.
    IsOpenWrite,
    /// `evt.is_open_exec`.
    IsOpenExec,
    /// `syscall.type`.
    SyscallType,
    /// `evt.type.is.NAME`: 1 for events of that type, else 0 (for
    /// filters; it prints no value).
    TypeIs(String),
    /// `proc.sname`.
    ProcSname,
    /// `proc.duration`.
    ProcDuration,
    /// `user.loginname`.
    UserLoginname,
    /// `proc.pexe`.
    ProcPexe,
    /// `proc.pexepath`.
    ProcPexepath,
    /// `proc.aexe`.
    ProcAexe(usize),
    /// `proc.aexepath`.
    ProcAexepath(usize),
}

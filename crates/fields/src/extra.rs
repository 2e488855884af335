//! Fields added for filters and Falco rules, kept apart from `extract.rs`:
//! `evt.is_open_read/write/exec`, `syscall.type`, `evt.type.is.X`,
//! `proc.sname`, `proc.duration`, `user.loginname`, and the newer
//! `proc.pexe`, `proc.pexepath`, `proc.aexe[N]`, `proc.aexepath[N]`.
//! Semantics follow libsinsp 0.29.3 (`filterchecks.cpp`) or, for the newer
//! fields, current libs.

use sonde_event::codes as c;
use sonde_state::Thread;

use crate::extract::{Ctx, FieldError};

/// A field of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    IsOpenRead,
    IsOpenWrite,
    IsOpenExec,
    SyscallType,
    /// `evt.type.is.NAME`: 1 for events of that type, else 0 (for
    /// filters; it prints no value).
    TypeIs(String),
    ProcSname,
    ProcDuration,
    UserLoginname,
    ProcPexe,
    ProcPexepath,
    ProcAexe(usize),
    ProcAexepath(usize),
}

/// Parses a field of this module (`base` without its `[arg]`).
pub(crate) fn parse(base: &str, arg: Option<&str>) -> Option<Result<Extra, FieldError>> {
    let idx = || -> Result<usize, FieldError> {
        match arg {
            None => Ok(0),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| FieldError(format!("bad index '{s}' in {base}"))),
        }
    };
    if let Some(t) = base.strip_prefix("evt.type.is.") {
        return Some(Ok(Extra::TypeIs(t.to_string())));
    }
    Some(Ok(match base {
        "evt.is_open_read" => Extra::IsOpenRead,
        "evt.is_open_write" => Extra::IsOpenWrite,
        "evt.is_open_exec" => Extra::IsOpenExec,
        "syscall.type" => Extra::SyscallType,
        "proc.sname" => Extra::ProcSname,
        "proc.duration" => Extra::ProcDuration,
        "user.loginname" => Extra::UserLoginname,
        "proc.pexe" => Extra::ProcPexe,
        "proc.pexepath" => Extra::ProcPexepath,
        "proc.aexe" => match idx() {
            Ok(n) => Extra::ProcAexe(n),
            Err(e) => return Some(Err(e)),
        },
        "proc.aexepath" => match idx() {
            Ok(n) => Extra::ProcAexepath(n),
            Err(e) => return Some(Err(e)),
        },
        _ => return None,
    }))
}

const PPM_O_RDONLY: u64 = 1;
const PPM_O_WRONLY: u64 = 1 << 1;
const PPM_O_CREAT: u64 = 1 << 2;
const PPM_O_TMPFILE: u64 = 1 << 13;
const EXEC_BITS: u64 = (1 << 6) | (1 << 3) | 1;

impl Ctx<'_, '_> {
    /// `evt.type.is.NAME` as a number.
    pub(crate) fn type_is(&self, name: &str) -> u64 {
        let ev = self.ev;
        (ev.info().is_some() && crate::event_name(ev, self.opts) == name) as u64
    }

    fn x_main(&self) -> Option<&Thread> {
        let t = self.st.event_thread(self.ev)?;
        self.st.thread(t.pid).or(Some(t))
    }

    /// The `n`th ancestor's main thread (0: the process itself).
    fn x_ancestor(&self, n: usize) -> Option<&Thread> {
        let mut t = self.x_main()?;
        for _ in 0..n {
            let p = self.st.thread(t.ptid)?;
            t = self.st.thread(p.pid).unwrap_or(p);
        }
        Some(t)
    }

    /// Appends the value of an [`Extra`] field; false when it has none.
    pub(crate) fn extract_extra(&self, x: &Extra, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        let b =
            |out: &mut Vec<u8>, v: bool| out.extend_from_slice(if v { b"true" } else { b"false" });
        match x {
            Extra::IsOpenRead | Extra::IsOpenWrite | Extra::IsOpenExec => {
                // sysdig 0.29.3 looks at the open exit, the *enter* of the
                // old openat, and the new openat/openat2 exits
                let (flags_i, mode_i) = match ev.code {
                    c::SYSCALL_OPEN_X | c::SYSCALL_OPENAT_E => (Some(2), 3),
                    c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => (Some(3), 4),
                    c::SYSCALL_CREAT_X => (None, 2),
                    _ => (None, 0),
                };
                let v = match (x, flags_i) {
                    (Extra::IsOpenRead, Some(i)) => {
                        ev.param_u64(i).unwrap_or(0) & PPM_O_RDONLY != 0
                    }
                    (Extra::IsOpenWrite, Some(i)) => {
                        ev.param_u64(i).unwrap_or(0) & PPM_O_WRONLY != 0
                    }
                    (Extra::IsOpenExec, Some(i)) => {
                        ev.param_u64(i).unwrap_or(0) & (PPM_O_TMPFILE | PPM_O_CREAT) != 0
                            && ev.param_u64(mode_i).unwrap_or(0) & EXEC_BITS != 0
                    }
                    (Extra::IsOpenExec, None) if ev.code == c::SYSCALL_CREAT_X => {
                        ev.param_u64(mode_i).unwrap_or(0) & EXEC_BITS != 0
                    }
                    _ => false,
                };
                b(out, v);
            }
            Extra::SyscallType => {
                // as 0.29.3: not for switches and "skip parse reset" events
                // (its test of EC_INTERNAL against the flags is that bit)
                let Some(info) = ev.info() else { return false };
                if ev.code == c::SCHEDSWITCH_6_E
                    || info.old_flags & sonde_event::flags::SKIPPARSERESET != 0
                {
                    return false;
                }
                out.extend_from_slice(crate::event_name(ev, self.opts).as_bytes());
            }
            // sysdig 0.29.3 prints no value for it (an unsigned number
            // without a print format); filters get the number
            Extra::TypeIs(_) => return false,
            Extra::ProcSname => {
                let Some(t) = self.st.event_thread(ev) else {
                    return false;
                };
                if let Some(s) = self.st.thread(t.sid).or((t.tid == t.sid).then_some(t)) {
                    out.extend_from_slice(&s.comm);
                    return true;
                }
                // the leader has exited: the highest ancestor in the session
                let Some(mut mt) = self.x_main() else {
                    return false;
                };
                let sid = mt.sid;
                for _ in 0..512 {
                    match self.st.thread(mt.ptid) {
                        Some(p) if p.sid == sid && p.tid != mt.tid => mt = p,
                        _ => break,
                    }
                }
                out.extend_from_slice(&mt.comm);
            }
            Extra::ProcDuration => {
                let Some(t) = self.st.event_thread(ev) else {
                    return false;
                };
                if t.clone_ts == 0 {
                    return false;
                }
                let _ = std::io::Write::write_fmt(
                    out,
                    format_args!("{}", ev.ts as i64 - t.clone_ts as i64),
                );
            }
            Extra::UserLoginname => {
                let Some(t) = self.st.event_thread(ev) else {
                    return false;
                };
                match self.st.users.get(&t.loginuid) {
                    Some(u) => out.extend_from_slice(&u.name),
                    None => return false,
                }
            }
            Extra::ProcPexe | Extra::ProcPexepath => {
                let Some(p) = self.x_main().and_then(|t| self.st.thread(t.ptid)) else {
                    return false;
                };
                out.extend_from_slice(if matches!(x, Extra::ProcPexe) {
                    &p.exe
                } else {
                    &p.exepath
                });
            }
            Extra::ProcAexe(n) | Extra::ProcAexepath(n) => {
                let Some(t) = self.x_ancestor(*n) else {
                    return false;
                };
                out.extend_from_slice(if matches!(x, Extra::ProcAexe(_)) {
                    &t.exe
                } else {
                    &t.exepath
                });
            }
        }
        true
    }
}

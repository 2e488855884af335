//! The `proc.*` fields that walk the process tree: ancestors (`proc.aname`
//! & co are in `mod.rs`; here `proc.aargs`, `proc.acmdline`, `proc.aenv`,
//! `proc.aexe`, `proc.pexe`), session and process-group leaders
//! (`proc.sname`, `proc.sid.exe`, `proc.vpgid.*`, `proc.pgid.*`) and the
//! login shell (`proc.loginshellid`).

use sonde_state::{clone_flags, Thread};

use super::{cmdline, env_value, join, ProcX};
use crate::ctx::{write_i, Ctx};
use crate::extra::Extra;

impl<'s> Ctx<'s, '_> {
    /// The parent threads of `t` (by `ptid`), nearest first, as sysdig's
    /// `traverse_parent_state` walks them: it stops at a missing parent,
    /// at tid -1, and where it detects a loop.
    pub(crate) fn traverse_parents(
        &self,
        t: &'s Thread,
        mut visit: impl FnMut(&'s Thread) -> bool,
    ) {
        let st = self.st;
        let parent = |x: &Thread| st.thread(x.ptid);
        let mut slow = parent(t);
        let mut fast = slow.and_then(parent);
        while let Some(s) = slow {
            if s.tid == -1 || !visit(s) {
                return;
            }
            slow = parent(s);
            for _ in 0..2 {
                fast = fast.and_then(parent);
                if let Some(s) = slow {
                    let same = fast.is_some_and(|f| std::ptr::eq(f, s));
                    if same || s.tid == s.ptid {
                        return;
                    }
                }
            }
        }
    }

    /// The main thread of the `n`th ancestor process (0: the process).
    pub(crate) fn ancestor_process(&self, t: &'s Thread, n: usize) -> Option<&'s Thread> {
        let st = self.st;
        let mut mt = st.thread(t.pid).or(Some(t))?;
        for _ in 0..n {
            let p = st.thread(mt.ptid)?;
            mt = st.thread(p.pid).unwrap_or(p);
        }
        Some(mt)
    }

    /// The eldest ancestor sharing an id with the thread (the session or
    /// group leader): the thread with that id when there is one and the
    /// id is not namespaced, else the last parent with the same id.
    fn leader(
        &self,
        t: &'s Thread,
        id: fn(&Thread) -> i64,
        virtual_id: bool,
    ) -> Option<&'s Thread> {
        let v = id(t);
        if v == -1 {
            return None;
        }
        let in_ns = t.flags & clone_flags::CHILD_IN_PIDNS != 0 || t.tid != t.vtid;
        if !virtual_id || !in_ns {
            if let Some(l) = self.st.thread(v) {
                return Some(l);
            }
        }
        let mut leader = None;
        self.traverse_parents(t, |p| {
            if id(p) != v {
                return false;
            }
            leader = Some(p);
            true
        });
        leader
    }

    /// The [`ProcX`] fields that walk the process tree.
    pub(super) fn procx_lineage(
        &self,
        x: &ProcX,
        t: &'s Thread,
        main: &'s Thread,
        out: &mut Vec<u8>,
    ) -> bool {
        match x {
            ProcX::Loginshellid => {
                let mut res = None;
                let mut check = |p: &Thread| {
                    if p.comm.ends_with(b"sh") {
                        res = Some(p.pid);
                    }
                    true
                };
                check(main);
                self.traverse_parents(main, check);
                match res {
                    Some(p) => write_i(out, p),
                    None => return false,
                }
            }
            ProcX::Aargs(n) | ProcX::Acmdline(n) => {
                let one = |p: &Thread, out: &mut Vec<u8>| {
                    if matches!(x, ProcX::Aargs(_)) {
                        join(&p.args, out)
                    } else {
                        cmdline(p, out)
                    }
                };
                match n {
                    Some(n) => match self.ancestor_process(t, *n) {
                        Some(p) => one(p, out),
                        None => return false,
                    },
                    None => {
                        // every ancestor, parent first
                        let start = out.len();
                        self.traverse_parents(main, |p| {
                            if out.len() > start {
                                out.push(b' ');
                            }
                            one(p, out);
                            true
                        });
                        if out.len() == start {
                            return false;
                        }
                    }
                }
            }
            ProcX::Aenv(n, name) => match (n, name) {
                (_, Some(name)) => {
                    let mut mt = main;
                    for _ in 0..20 {
                        let Some(p) = self.st.thread(mt.ptid) else {
                            break;
                        };
                        mt = p;
                        if let Some(v) = env_value(self.env_of(mt), name.as_bytes()) {
                            out.extend_from_slice(v);
                            break;
                        }
                    }
                }
                (Some(n), None) if *n >= 1 => {
                    let mut mt = main;
                    for _ in 0..*n {
                        match self.st.thread(mt.ptid) {
                            Some(p) => mt = p,
                            None => return false,
                        }
                    }
                    join(self.env_of(mt), out);
                }
                _ => join(self.env_of(t), out),
            },
            ProcX::SidExe | ProcX::SidExepath => {
                if let Some(l) = self.leader(t, |x| x.sid, true) {
                    out.extend_from_slice(if matches!(x, ProcX::SidExe) {
                        &l.exe
                    } else {
                        &l.exepath
                    });
                }
            }
            ProcX::VpgidName | ProcX::VpgidExe | ProcX::VpgidExepath => {
                if let Some(l) = self.leader(t, |x| x.vpgid, true) {
                    out.extend_from_slice(match x {
                        ProcX::VpgidName => &l.comm,
                        ProcX::VpgidExe => &l.exe,
                        _ => &l.exepath,
                    });
                }
            }
            ProcX::PgidName | ProcX::PgidExe | ProcX::PgidExepath => {
                if let Some(l) = self.leader(t, |x| x.pgid, false) {
                    out.extend_from_slice(match x {
                        ProcX::PgidName => &l.comm,
                        ProcX::PgidExe => &l.exe,
                        _ => &l.exepath,
                    });
                }
            }
            _ => return false,
        }
        true
    }

    /// The main thread of the event's process.
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

    /// The `proc.*` fields of [`Extra`]: `proc.sname`, `proc.duration`,
    /// `proc.pexe`, `proc.pexepath`, `proc.aexe[N]`, `proc.aexepath[N]`.
    pub(crate) fn extract_proc_extra(&self, x: &Extra, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match x {
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
            _ => return false,
        }
        true
    }
}

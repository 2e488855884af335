//! The `proc.*` and `thread.*` fields beyond the basics in `extract.rs`.
//! Semantics follow libsinsp 0.29.3 (`sinsp_filter_check_thread`) or, for
//! the newer fields, current libs.

use std::io::Write;

use sonde_event::codes as c;
use sonde_state::{category, clone_flags, split_nul, Thread};

use crate::extract::{Ctx, FieldError};
use crate::memo::Memo;

/// A field of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcX {
    Nthreads,
    Nchilds,
    Loginshellid,
    Fdopencount,
    Fdusage,
    Vmsize,
    Vmrss,
    Vmswap,
    Pfmajor,
    Pfminor,
    /// Remembers the last switch time per CPU.
    Exectime(Memo),
    /// Remembers the last switch time per CPU and each thread's total.
    Totexectime(Memo),
    Cgroups,
    Cgroup(String),
    /// `thread.cpu`, `thread.cpu.user`, `thread.cpu.system` (user, system
    /// time counted); remembers each thread's last total.
    Cpu(bool, bool, Memo),
    ThreadVmsize,
    ThreadVmrss,
    Vpgid,
    IsHealthcheck,
    IsLivenessProbe,
    IsReadinessProbe,
    IsExeWritable,
    Aargs(Option<usize>),
    Acmdline(Option<usize>),
    Cmdnargs,
    Cmdlenargs,
    /// `proc.aenv`, `proc.aenv[N]`, `proc.aenv[NAME]`.
    Aenv(Option<usize>, Option<String>),
    Pvpid,
    SidExe,
    SidExepath,
    VpgidName,
    VpgidExe,
    VpgidExepath,
    Pgid,
    PgidName,
    PgidExe,
    PgidExepath,
    PpidDuration,
    PidTs,
    PpidTs,
    IsExeUpperLayer,
    IsExeLowerLayer,
    IsExeFromMemfd,
    IsSidLeader,
    IsVpgidLeader,
    IsPgidLeader,
    ExeIno,
    ExeInoCtime,
    ExeInoMtime,
    ExeInoCtimeDurationProcStart,
    ExeInoCtimeDurationPidnsStart,
    PidnsInitStartTs,
    CapPermitted,
    CapInheritable,
    CapEffective,
    /// `proc.stdin.type` & co: fd 0, 1 or 2, its type (true) or name.
    Std(i64, bool),
}

/// Parses a field of this module (`base` without its `[arg]`).
pub(crate) fn parse(base: &str, arg: Option<&str>) -> Option<Result<ProcX, FieldError>> {
    let idx = || -> Result<Option<usize>, FieldError> {
        match arg {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| FieldError(format!("bad index '{s}' in {base}"))),
        }
    };
    if let Some(sub) = base.strip_prefix("thread.cgroup.") {
        // sysdig reads letters and underscores as the subsystem
        let n = sub
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
            .count();
        return Some(Ok(ProcX::Cgroup(sub[..n].to_string())));
    }
    Some(Ok(match base {
        "proc.nthreads" => ProcX::Nthreads,
        "proc.nchilds" => ProcX::Nchilds,
        "proc.loginshellid" => ProcX::Loginshellid,
        "proc.fdopencount" => ProcX::Fdopencount,
        "proc.fdusage" => ProcX::Fdusage,
        "proc.vmsize" => ProcX::Vmsize,
        "proc.vmrss" => ProcX::Vmrss,
        "proc.vmswap" => ProcX::Vmswap,
        "thread.pfmajor" => ProcX::Pfmajor,
        "thread.pfminor" => ProcX::Pfminor,
        "thread.exectime" => ProcX::Exectime(Memo::default()),
        "thread.totexectime" => ProcX::Totexectime(Memo::default()),
        "thread.cgroups" => ProcX::Cgroups,
        "thread.cgroup" => match arg {
            Some(a) => ProcX::Cgroup(a.to_string()),
            None => return Some(Err(FieldError("thread.cgroup requires a subsystem".into()))),
        },
        "thread.cpu" => ProcX::Cpu(true, true, Memo::default()),
        "thread.cpu.user" => ProcX::Cpu(true, false, Memo::default()),
        "thread.cpu.system" => ProcX::Cpu(false, true, Memo::default()),
        "thread.vmsize" => ProcX::ThreadVmsize,
        "thread.vmrss" => ProcX::ThreadVmrss,
        "proc.vpgid" => ProcX::Vpgid,
        "proc.is_container_healthcheck" => ProcX::IsHealthcheck,
        "proc.is_container_liveness_probe" => ProcX::IsLivenessProbe,
        "proc.is_container_readiness_probe" => ProcX::IsReadinessProbe,
        "proc.is_exe_writable" => ProcX::IsExeWritable,
        "proc.aargs" => match idx() {
            Ok(n) => ProcX::Aargs(n),
            Err(e) => return Some(Err(e)),
        },
        "proc.acmdline" => match idx() {
            Ok(n) => ProcX::Acmdline(n),
            Err(e) => return Some(Err(e)),
        },
        "proc.cmdnargs" => ProcX::Cmdnargs,
        "proc.cmdlenargs" => ProcX::Cmdlenargs,
        "proc.aenv" => match arg.map(str::trim) {
            None => ProcX::Aenv(None, None),
            Some(a) => match a.parse::<usize>() {
                Ok(n) => ProcX::Aenv(Some(n), None),
                Err(_) => ProcX::Aenv(None, Some(a.to_string())),
            },
        },
        "proc.pvpid" => ProcX::Pvpid,
        "proc.sid.exe" => ProcX::SidExe,
        "proc.sid.exepath" => ProcX::SidExepath,
        "proc.vpgid.name" => ProcX::VpgidName,
        "proc.vpgid.exe" => ProcX::VpgidExe,
        "proc.vpgid.exepath" => ProcX::VpgidExepath,
        "proc.pgid" => ProcX::Pgid,
        "proc.pgid.name" => ProcX::PgidName,
        "proc.pgid.exe" => ProcX::PgidExe,
        "proc.pgid.exepath" => ProcX::PgidExepath,
        "proc.ppid.duration" => ProcX::PpidDuration,
        "proc.pid.ts" => ProcX::PidTs,
        "proc.ppid.ts" => ProcX::PpidTs,
        "proc.is_exe_upper_layer" => ProcX::IsExeUpperLayer,
        "proc.is_exe_lower_layer" => ProcX::IsExeLowerLayer,
        "proc.is_exe_from_memfd" => ProcX::IsExeFromMemfd,
        "proc.is_sid_leader" => ProcX::IsSidLeader,
        "proc.is_vpgid_leader" => ProcX::IsVpgidLeader,
        "proc.is_pgid_leader" => ProcX::IsPgidLeader,
        "proc.exe_ino" => ProcX::ExeIno,
        "proc.exe_ino.ctime" => ProcX::ExeInoCtime,
        "proc.exe_ino.mtime" => ProcX::ExeInoMtime,
        "proc.exe_ino.ctime_duration_proc_start" => ProcX::ExeInoCtimeDurationProcStart,
        "proc.exe_ino.ctime_duration_pidns_start" => ProcX::ExeInoCtimeDurationPidnsStart,
        "proc.pidns_init_start_ts" => ProcX::PidnsInitStartTs,
        "thread.cap_permitted" => ProcX::CapPermitted,
        "thread.cap_inheritable" => ProcX::CapInheritable,
        "thread.cap_effective" => ProcX::CapEffective,
        "proc.stdin.type" => ProcX::Std(0, true),
        "proc.stdout.type" => ProcX::Std(1, true),
        "proc.stderr.type" => ProcX::Std(2, true),
        "proc.stdin.name" => ProcX::Std(0, false),
        "proc.stdout.name" => ProcX::Std(1, false),
        "proc.stderr.name" => ProcX::Std(2, false),
        _ => return None,
    }))
}

/// Capability names, by bit.
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The names of the capabilities set in `caps`, space-separated.
fn caps_to_string(caps: u64, out: &mut Vec<u8>) {
    let start = out.len();
    for (i, name) in CAPS.iter().enumerate() {
        if caps & (1u64 << i) != 0 {
            if out.len() > start {
                out.push(b' ');
            }
            out.extend_from_slice(name.as_bytes());
        }
    }
}

fn join(list: &[u8], out: &mut Vec<u8>) {
    for (i, a) in split_nul(list).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a);
    }
}

/// `comm` followed by the arguments (sysdig's `populate_cmdline`).
fn cmdline(t: &Thread, out: &mut Vec<u8>) {
    out.extend_from_slice(&t.comm);
    for a in t.args_iter() {
        out.push(b' ');
        out.extend_from_slice(a);
    }
}

fn num(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

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

    /// Appends the value of a [`ProcX`] field; false when it has none.
    pub(crate) fn extract_procx(&self, x: &ProcX, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        // the CPU time of switch events needs no thread
        if let ProcX::Exectime(m) | ProcX::Totexectime(m) = x {
            let d = self.exectime(m);
            if let ProcX::Exectime(_) = x {
                num(out, d);
                return true;
            }
            let Some(t) = self.st.event_thread(ev) else {
                return false;
            };
            let mut m = m.0.borrow_mut();
            let tot = m.per_thread.entry(t.tid).or_insert(0);
            *tot += d;
            num(out, *tot);
            return true;
        }
        let Some(t) = self.st.event_thread(ev) else {
            return false;
        };
        let b =
            |out: &mut Vec<u8>, v: bool| out.extend_from_slice(if v { b"true" } else { b"false" });
        let main = self.st.thread(t.pid).unwrap_or(t);
        match x {
            ProcX::Nthreads => num(out, main.nchilds as u64 + 1),
            ProcX::Nchilds => num(out, t.nchilds),
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
                    Some(p) => num(out, p),
                    None => return false,
                }
            }
            ProcX::Fdopencount => num(out, self.fd_open_count(t)),
            ProcX::Fdusage | ProcX::Cpu(..) => match self.procx_double(x) {
                Some(v) => {
                    let _ = write!(out, "{v:.1}");
                }
                None => return false,
            },
            ProcX::Vmsize => num(out, t.vmsize_kb),
            ProcX::Vmrss => num(out, t.vmrss_kb),
            ProcX::Vmswap => num(out, t.vmswap_kb),
            ProcX::Pfmajor => num(out, t.pfmajor),
            ProcX::Pfminor => num(out, t.pfminor),
            ProcX::Cgroups => {
                if t.cgroups.is_empty() {
                    return false;
                }
                for (i, (sub, path)) in cgroups(&t.cgroups).enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(&sub);
                    out.push(b'=');
                    out.extend_from_slice(path);
                }
            }
            ProcX::Cgroup(want) => {
                let found = cgroups(&t.cgroups)
                    .find_map(|(sub, path)| (sub == want.as_bytes()).then_some(path));
                match found {
                    Some(p) => out.extend_from_slice(p),
                    None => return false,
                }
            }
            ProcX::ThreadVmsize => num(out, if t.is_main() { t.vmsize_kb } else { 0 }),
            ProcX::ThreadVmrss => num(out, if t.is_main() { t.vmrss_kb } else { 0 }),
            ProcX::Vpgid => num(out, t.vpgid),
            ProcX::IsHealthcheck => b(out, t.category == category::HEALTHCHECK),
            ProcX::IsLivenessProbe => b(out, t.category == category::LIVENESS_PROBE),
            ProcX::IsReadinessProbe => b(out, t.category == category::READINESS_PROBE),
            ProcX::IsExeWritable => b(out, t.exe_writable),
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
            ProcX::Cmdnargs => num(out, t.args_iter().count()),
            ProcX::Cmdlenargs => num(out, t.args_iter().map(|a| a.len()).sum::<usize>()),
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
            ProcX::Pvpid => match self.st.thread(t.ptid) {
                Some(p) => num(out, p.vpid),
                None => return false,
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
            ProcX::Pgid => num(out, t.pgid),
            ProcX::PgidName | ProcX::PgidExe | ProcX::PgidExepath => {
                if let Some(l) = self.leader(t, |x| x.pgid, false) {
                    out.extend_from_slice(match x {
                        ProcX::PgidName => &l.comm,
                        ProcX::PgidExe => &l.exe,
                        _ => &l.exepath,
                    });
                }
            }
            ProcX::PpidDuration => {
                let Some(p) = self.ancestor_process(t, 1) else {
                    return false;
                };
                if p.clone_ts != 0 {
                    num(out, ev.ts as i64 - p.clone_ts as i64);
                } else {
                    // current libs fall through to proc.fdopencount here
                    num(out, self.fd_open_count(t));
                }
            }
            ProcX::PidTs => {
                if t.clone_ts == 0 {
                    return false;
                }
                num(out, t.clone_ts);
            }
            ProcX::PpidTs => match self.st.thread(t.ptid) {
                Some(p) => num(out, p.clone_ts),
                None => return false,
            },
            ProcX::IsExeUpperLayer => b(out, t.exe_upper_layer),
            ProcX::IsExeLowerLayer => b(out, t.exe_lower_layer),
            ProcX::IsExeFromMemfd => b(out, t.exe_from_memfd),
            ProcX::IsSidLeader => b(out, t.sid == t.vpid),
            ProcX::IsVpgidLeader => b(out, t.vpgid == t.vpid),
            ProcX::IsPgidLeader => b(out, t.pgid == t.pid),
            ProcX::ExeIno
            | ProcX::ExeInoCtime
            | ProcX::ExeInoMtime
            | ProcX::ExeInoCtimeDurationProcStart
            | ProcX::ExeInoCtimeDurationPidnsStart
            | ProcX::PidnsInitStartTs => {
                let v = match x {
                    ProcX::ExeIno => t.exe_ino,
                    ProcX::ExeInoCtime => t.exe_ino_ctime,
                    ProcX::ExeInoMtime => t.exe_ino_mtime,
                    ProcX::ExeInoCtimeDurationProcStart => t.exe_ino_ctime_duration_clone_ts,
                    ProcX::ExeInoCtimeDurationPidnsStart => t.exe_ino_ctime_duration_pidns_start,
                    _ => t.pidns_init_start_ts,
                };
                if v == 0 {
                    return false;
                }
                num(out, v);
            }
            ProcX::CapPermitted => caps_to_string(t.cap_permitted, out),
            ProcX::CapInheritable => caps_to_string(t.cap_inheritable, out),
            ProcX::CapEffective => caps_to_string(t.cap_effective, out),
            ProcX::Std(n, ty) => match self.st.fd(t.tid, *n) {
                Some(f) if *ty => out.extend_from_slice(f.kind.name().as_bytes()),
                Some(f) => out.extend_from_slice(&f.name),
                None => return false,
            },
            ProcX::Exectime(_) | ProcX::Totexectime(_) => unreachable!("handled above"),
        }
        true
    }

    /// The value of a DOUBLE field (`proc.fdusage`, `thread.cpu*`).
    pub(crate) fn procx_double(&self, x: &ProcX) -> Option<f64> {
        let ev = self.ev;
        let t = self.st.event_thread(ev)?;
        match x {
            ProcX::Fdusage => {
                let limit = self.st.thread(t.pid).unwrap_or(t).fdlimit;
                Some(if limit > 0 {
                    let n = self.fd_open_count(t);
                    if n <= limit as u64 {
                        n as f64 * 100.0 / limit as f64
                    } else {
                        100.0
                    }
                } else {
                    0.0
                })
            }
            // the CPU the thread used since the previous procinfo event
            ProcX::Cpu(user, system, m) => {
                if ev.code != c::PROCINFO_E {
                    return None;
                }
                let mut tcpu = 0u64;
                if *user {
                    tcpu = tcpu.wrapping_add(ev.param_u64(0).unwrap_or(0));
                }
                if *system {
                    tcpu = tcpu.wrapping_add(ev.param_u64(1).unwrap_or(0));
                }
                let mut m = m.0.borrow_mut();
                let last = m.per_thread.entry(t.tid).or_insert(0);
                let v = if *last != 0 {
                    (tcpu.wrapping_sub(*last) as f64).min(100.0)
                } else {
                    0.0
                };
                *last = tcpu;
                Some(v)
            }
            _ => None,
        }
    }

    /// The CPU time of the thread a switch event switches out: the time
    /// since the previous switch on that CPU (0 for other events).
    fn exectime(&self, m: &Memo) -> u64 {
        let ev = self.ev;
        if !matches!(ev.code, c::SCHEDSWITCH_1_E | c::SCHEDSWITCH_6_E) {
            return 0;
        }
        let mut m = m.0.borrow_mut();
        let cpu = ev.cpu as usize;
        if m.per_cpu.len() <= cpu {
            m.per_cpu.resize(cpu + 1, 0);
        }
        let last = m.per_cpu[cpu];
        m.per_cpu[cpu] = ev.ts;
        if last != 0 {
            ev.ts.wrapping_sub(last)
        } else {
            0
        }
    }

    /// The number of fds the process has open (its main thread's table).
    fn fd_open_count(&self, t: &Thread) -> u64 {
        let main = self.st.thread(t.pid).unwrap_or(t);
        main.fds.len() as u64
    }

    /// The environment of a thread's process.
    fn env_of(&self, t: &'s Thread) -> &'s [u8] {
        if t.is_main() {
            return &t.env;
        }
        match self.st.thread(t.pid) {
            Some(m) => &m.env,
            None => &t.env,
        }
    }
}

/// A thread's cgroups as sysdig keeps them: (subsystem, path), split at
/// the last `=`, with the subsystem names it renames (`io` is `blkio`,
/// `mem` is `memory`, `perf` is `perf_event`, no `_cgroup` suffix).
fn cgroups(list: &[u8]) -> impl Iterator<Item = (Vec<u8>, &[u8])> {
    split_nul(list).filter_map(|e| {
        let i = e.iter().rposition(|&ch| ch == b'=')?;
        let mut sub = e[..i].to_vec();
        if let Some(p) = sub.windows(7).position(|w| w == b"_cgroup") {
            sub.drain(p..p + 7);
        }
        let sub = match sub.as_slice() {
            b"perf" => b"perf_event".to_vec(),
            b"mem" => b"memory".to_vec(),
            b"io" => b"blkio".to_vec(),
            _ => sub,
        };
        Some((sub, &e[i + 1..]))
    })
}

/// The value of `name` in a NUL-separated environment, spaces trimmed;
/// None when unset or empty.
fn env_value<'e>(env: &'e [u8], name: &[u8]) -> Option<&'e [u8]> {
    for e in split_nul(env) {
        if e.len() > name.len() + 1 && e.starts_with(name) && e[name.len()] == b'=' {
            let v = &e[name.len() + 1..];
            let first = v.iter().position(|&c| c != b' ')?;
            let last = v.iter().rposition(|&c| c != b' ').unwrap_or(first);
            return Some(&v[first..=last]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_by_name() {
        let mut o = Vec::new();
        caps_to_string((1 << 0) | (1 << 21) | (1 << 40), &mut o);
        assert_eq!(o, b"CAP_CHOWN CAP_SYS_ADMIN CAP_CHECKPOINT_RESTORE");
        o.clear();
        caps_to_string(0, &mut o);
        assert!(o.is_empty());
    }

    #[test]
    fn environment_values() {
        let env = b"A=1\0PATH=/bin\0S=  x y \0E=\0";
        assert_eq!(env_value(env, b"PATH"), Some(&b"/bin"[..]));
        assert_eq!(env_value(env, b"S"), Some(&b"x y"[..]));
        assert_eq!(env_value(env, b"E"), None);
        assert_eq!(env_value(env, b"B"), None);
    }
}

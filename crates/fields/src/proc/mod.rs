//! The `proc.*` and `thread.*` fields (sysdig's `process` class): their
//! names, parsing, extraction and registry rows. Semantics follow
//! libsinsp 0.29.3 (`sinsp_filter_check_thread`) or, for the newer fields,
//! current libs. `proc.name` and `thread.tid` are extracted inline by
//! [`Ctx::extract`] (the default formats); the fields that walk the
//! process tree are in `lineage.rs`, the registry rows in `rows.rs`.

use std::io::Write;

use sonde_event::codes as c;
use sonde_state::{category, split_nul, Thread};

use crate::ctx::{push_bool, write_i, Ctx};
use crate::error::FieldError;
use crate::extra::Extra;
use crate::field::{index_arg, Field};
use crate::memo::Memo;
use crate::value::Value;

mod lineage;
mod rows;
#[cfg(test)]
mod tests;

pub(crate) use rows::{CLASS, ROWS};

/// A `proc.*` or `thread.*` field beyond the variants of [`Field`] and
/// [`Extra`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcX {
    /// `proc.nthreads`.
    Nthreads,
    /// `proc.nchilds`.
    Nchilds,
    /// `proc.loginshellid`.
    Loginshellid,
    /// `proc.fdopencount`.
    Fdopencount,
    /// `proc.fdusage`.
    Fdusage,
    /// `proc.vmsize`.
    Vmsize,
    /// `proc.vmrss`.
    Vmrss,
    /// `proc.vmswap`.
    Vmswap,
    /// `thread.pfmajor`.
    Pfmajor,
    /// `thread.pfminor`.
    Pfminor,
    /// Remembers the last switch time per CPU.
    Exectime(Memo),
    /// Remembers the last switch time per CPU and each thread's total.
    Totexectime(Memo),
    /// `thread.cgroups`.
    Cgroups,
    /// `thread.cgroup[SUBSYS]`, `thread.cgroup.SUBSYS`.
    Cgroup(String),
    /// `thread.cpu`, `thread.cpu.user`, `thread.cpu.system` (user, system
    /// time counted); remembers each thread's last total.
    Cpu(bool, bool, Memo),
    /// `thread.vmsize`.
    ThreadVmsize,
    /// `thread.vmrss`.
    ThreadVmrss,
    /// `proc.vpgid`.
    Vpgid,
    /// `proc.is_container_healthcheck`.
    IsHealthcheck,
    /// `proc.is_container_liveness_probe`.
    IsLivenessProbe,
    /// `proc.is_container_readiness_probe`.
    IsReadinessProbe,
    /// `proc.is_exe_writable`.
    IsExeWritable,
    /// `proc.aargs`, `proc.aargs[N]`.
    Aargs(Option<usize>),
    /// `proc.acmdline`, `proc.acmdline[N]`.
    Acmdline(Option<usize>),
    /// `proc.cmdnargs`.
    Cmdnargs,
    /// `proc.cmdlenargs`.
    Cmdlenargs,
    /// `proc.aenv`, `proc.aenv[N]`, `proc.aenv[NAME]`.
    Aenv(Option<usize>, Option<String>),
    /// `proc.pvpid`.
    Pvpid,
    /// `proc.sid.exe`.
    SidExe,
    /// `proc.sid.exepath`.
    SidExepath,
    /// `proc.vpgid.name`.
    VpgidName,
    /// `proc.vpgid.exe`.
    VpgidExe,
    /// `proc.vpgid.exepath`.
    VpgidExepath,
    /// `proc.pgid`.
    Pgid,
    /// `proc.pgid.name`.
    PgidName,
    /// `proc.pgid.exe`.
    PgidExe,
    /// `proc.pgid.exepath`.
    PgidExepath,
    /// `proc.ppid.duration`.
    PpidDuration,
    /// `proc.pid.ts`.
    PidTs,
    /// `proc.ppid.ts`.
    PpidTs,
    /// `proc.is_exe_upper_layer`.
    IsExeUpperLayer,
    /// `proc.is_exe_lower_layer`.
    IsExeLowerLayer,
    /// `proc.is_exe_from_memfd`.
    IsExeFromMemfd,
    /// `proc.is_sid_leader`.
    IsSidLeader,
    /// `proc.is_vpgid_leader`.
    IsVpgidLeader,
    /// `proc.is_pgid_leader`.
    IsPgidLeader,
    /// `proc.exe_ino`.
    ExeIno,
    /// `proc.exe_ino.ctime`.
    ExeInoCtime,
    /// `proc.exe_ino.mtime`.
    ExeInoMtime,
    /// `proc.exe_ino.ctime_duration_proc_start`.
    ExeInoCtimeDurationProcStart,
    /// `proc.exe_ino.ctime_duration_pidns_start`.
    ExeInoCtimeDurationPidnsStart,
    /// `proc.pidns_init_start_ts`.
    PidnsInitStartTs,
    /// `thread.cap_permitted`.
    CapPermitted,
    /// `thread.cap_inheritable`.
    CapInheritable,
    /// `thread.cap_effective`.
    CapEffective,
    /// `proc.stdin.type` & co: fd 0, 1 or 2, its type (true) or name.
    Std(i64, bool),
}

/// Parses a `proc.*` or `thread.*` field (`base`: `name` without its
/// `[arg]`).
pub(crate) fn parse(
    name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    let index = || index_arg(name, arg);
    // the index of `proc.aexe[N]` & co, as `extra` fields read it
    let extra_index = || -> Result<usize, FieldError> {
        match arg {
            None => Ok(0),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| FieldError(format!("bad index '{s}' in {base}"))),
        }
    };
    let f = match base {
        "proc.name" => Ok(Field::ProcName),
        "proc.pid" => Ok(Field::ProcPid),
        "proc.ppid" => Ok(Field::ProcPpid),
        "proc.exe" => Ok(Field::ProcExe),
        "proc.exepath" => Ok(Field::ProcExepath),
        "proc.args" => Ok(Field::ProcArgs),
        "proc.cmdline" => Ok(Field::ProcCmdline),
        "proc.exeline" => Ok(Field::ProcExeline),
        "proc.cwd" => Ok(Field::ProcCwd),
        "proc.pname" => Ok(Field::ProcPname),
        "proc.pcmdline" => Ok(Field::ProcPcmdline),
        "proc.aname" => index().map(Field::ProcAname),
        "proc.apid" => index().map(Field::ProcApid),
        "proc.vpid" => Ok(Field::ProcVpid),
        "proc.sid" => Ok(Field::ProcSid),
        "proc.tty" => Ok(Field::ProcTty),
        "proc.env" => Ok(Field::ProcEnv),
        "proc.fdlimit" => Ok(Field::ProcFdlimit),
        "thread.tid" => Ok(Field::ThreadTid),
        "thread.vtid" => Ok(Field::ThreadVtid),
        "thread.ismain" => Ok(Field::ThreadIsMain),
        "proc.sname" => Ok(Field::Extra(Extra::ProcSname)),
        "proc.duration" => Ok(Field::Extra(Extra::ProcDuration)),
        "proc.pexe" => Ok(Field::Extra(Extra::ProcPexe)),
        "proc.pexepath" => Ok(Field::Extra(Extra::ProcPexepath)),
        "proc.aexe" => extra_index().map(|n| Field::Extra(Extra::ProcAexe(n))),
        "proc.aexepath" => extra_index().map(|n| Field::Extra(Extra::ProcAexepath(n))),
        _ => return parse_x(base, arg).map(|x| x.map(Field::Proc)),
    };
    Some(f)
}

/// Parses a [`ProcX`] field.
fn parse_x(base: &str, arg: Option<&str>) -> Option<Result<ProcX, FieldError>> {
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

/// The arguments of a thread, space-separated.
fn join_args(t: &Thread, out: &mut Vec<u8>) {
    for (i, a) in t.args_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a);
    }
}

impl<'s> Ctx<'s, '_> {
    /// The `proc.*` and `thread.*` fields that are variants of [`Field`]
    /// itself (`proc.name` and `thread.tid` are extracted in
    /// [`Ctx::extract`]).
    pub(crate) fn extract_proc(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match f {
            Field::ProcPid => match self.thread() {
                Some(t) => write_i(out, t.pid),
                None => return false,
            },
            Field::ProcPpid => match self.main_thread() {
                Some(t) => write_i(out, t.ptid),
                None => return false,
            },
            Field::ProcExe => match self.thread() {
                Some(t) => out.extend_from_slice(&t.exe),
                None => return false,
            },
            Field::ProcExepath => match self.thread() {
                Some(t) => out.extend_from_slice(&t.exepath),
                None => return false,
            },
            Field::ProcArgs => match self.thread() {
                Some(t) => join_args(t, out),
                None => return false,
            },
            Field::ProcCmdline => match self.thread() {
                Some(t) => {
                    out.extend_from_slice(&t.comm);
                    if !t.args.is_empty() {
                        out.push(b' ');
                        join_args(t, out);
                    }
                }
                None => return false,
            },
            Field::ProcExeline => match self.thread() {
                Some(t) => {
                    // sysdig always puts the space after the exe
                    out.extend_from_slice(&t.exe);
                    out.push(b' ');
                    join_args(t, out);
                }
                None => return false,
            },
            Field::ProcCwd => match self.thread() {
                Some(_) => out.extend_from_slice(self.st.cwd(ev.tid)),
                None => return false,
            },
            Field::ProcPname | Field::ProcPcmdline => {
                // the parent of this very thread, as sysdig looks it up
                let Some(p) = self.thread().and_then(|t| self.st.thread(t.ptid)) else {
                    return false;
                };
                out.extend_from_slice(&p.comm);
                if matches!(f, Field::ProcPcmdline) && !p.args.is_empty() {
                    out.push(b' ');
                    join_args(p, out);
                }
            }
            Field::ProcAname(n) | Field::ProcApid(n) => {
                let mut t = match self.main_thread() {
                    Some(t) => t,
                    None => return false,
                };
                for _ in 0..*n {
                    match self.st.thread(t.ptid) {
                        Some(p) => t = self.st.thread(p.pid).unwrap_or(p),
                        None => return false,
                    }
                }
                if matches!(f, Field::ProcAname(_)) {
                    out.extend_from_slice(&t.comm);
                } else {
                    write_i(out, t.pid);
                }
            }
            Field::ProcVpid => match self.thread() {
                Some(t) if t.vpid != -1 => write_i(out, t.vpid),
                _ => return false,
            },
            Field::ProcSid => match self.thread() {
                Some(t) => write_i(out, t.sid),
                None => return false,
            },
            Field::ProcTty => match self.thread() {
                Some(t) => write_i(out, t.tty),
                None => return false,
            },
            Field::ProcEnv => match self.thread() {
                Some(t) => {
                    for (i, e) in split_nul(&t.env).enumerate() {
                        if i > 0 {
                            out.push(b' ');
                        }
                        out.extend_from_slice(e);
                    }
                }
                None => return false,
            },
            Field::ProcFdlimit => match self.thread() {
                Some(t) => write_i(out, t.fdlimit),
                None => return false,
            },
            Field::ThreadVtid => match self.thread() {
                Some(t) if t.vtid != -1 => write_i(out, t.vtid),
                _ => return false,
            },
            Field::ThreadIsMain => match self.thread() {
                Some(t) => out.extend_from_slice(if t.is_main() { b"true" } else { b"false" }),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// The typed value of `thread.tid`, `proc.pid`, `proc.ppid`,
    /// `proc.fdusage` and `thread.cpu*` (see [`Ctx::extract_value`]).
    #[inline]
    pub(crate) fn proc_value(&self, f: &Field) -> Option<Value<'static>> {
        match f {
            Field::ThreadTid => Some(Value::Int(self.ev.tid)),
            Field::ProcPid => self.thread().map(|t| Value::Int(t.pid)),
            Field::ProcPpid => self.main_thread().map(|t| Value::Int(t.ptid)),
            Field::Proc(x) => self.procx_double(x).map(Value::Double),
            _ => None,
        }
    }

    /// Appends the value of a [`ProcX`] field; false when it has none.
    pub(crate) fn extract_procx(&self, x: &ProcX, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        // the CPU time of switch events needs no thread
        if let ProcX::Exectime(m) | ProcX::Totexectime(m) = x {
            return self.procx_exectime(x, m, out);
        }
        let Some(t) = self.thread() else {
            return false;
        };
        let main = self.st.thread(t.pid).unwrap_or(t);
        match x {
            ProcX::Loginshellid
            | ProcX::Aargs(_)
            | ProcX::Acmdline(_)
            | ProcX::Aenv(..)
            | ProcX::SidExe
            | ProcX::SidExepath
            | ProcX::VpgidName
            | ProcX::VpgidExe
            | ProcX::VpgidExepath
            | ProcX::PgidName
            | ProcX::PgidExe
            | ProcX::PgidExepath => return self.procx_lineage(x, t, main, out),
            ProcX::IsExeUpperLayer
            | ProcX::IsExeLowerLayer
            | ProcX::IsExeFromMemfd
            | ProcX::IsSidLeader
            | ProcX::IsVpgidLeader
            | ProcX::IsPgidLeader
            | ProcX::ExeIno
            | ProcX::ExeInoCtime
            | ProcX::ExeInoMtime
            | ProcX::ExeInoCtimeDurationProcStart
            | ProcX::ExeInoCtimeDurationPidnsStart
            | ProcX::PidnsInitStartTs
            | ProcX::CapPermitted
            | ProcX::CapInheritable
            | ProcX::CapEffective
            | ProcX::Std(..) => return self.procx_exe(x, t, out),
            ProcX::Nthreads => write_i(out, main.nchilds as u64 + 1),
            ProcX::Nchilds => write_i(out, t.nchilds),
            ProcX::Fdopencount => write_i(out, self.fd_open_count(t)),
            ProcX::Fdusage | ProcX::Cpu(..) => match self.procx_double(x) {
                Some(v) => {
                    let _ = write!(out, "{v:.1}");
                }
                None => return false,
            },
            ProcX::Vmsize => write_i(out, t.vmsize_kb),
            ProcX::Vmrss => write_i(out, t.vmrss_kb),
            ProcX::Vmswap => write_i(out, t.vmswap_kb),
            ProcX::Pfmajor => write_i(out, t.pfmajor),
            ProcX::Pfminor => write_i(out, t.pfminor),
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
            ProcX::ThreadVmsize => write_i(out, if t.is_main() { t.vmsize_kb } else { 0 }),
            ProcX::ThreadVmrss => write_i(out, if t.is_main() { t.vmrss_kb } else { 0 }),
            ProcX::Vpgid => write_i(out, t.vpgid),
            ProcX::IsHealthcheck => push_bool(out, t.category == category::HEALTHCHECK),
            ProcX::IsLivenessProbe => push_bool(out, t.category == category::LIVENESS_PROBE),
            ProcX::IsReadinessProbe => push_bool(out, t.category == category::READINESS_PROBE),
            ProcX::IsExeWritable => push_bool(out, t.exe_writable),
            ProcX::Cmdnargs => write_i(out, t.args_iter().count()),
            ProcX::Cmdlenargs => write_i(out, t.args_iter().map(|a| a.len()).sum::<usize>()),
            ProcX::Pvpid => match self.st.thread(t.ptid) {
                Some(p) => write_i(out, p.vpid),
                None => return false,
            },
            ProcX::Pgid => write_i(out, t.pgid),
            ProcX::PpidDuration => {
                let Some(p) = self.ancestor_process(t, 1) else {
                    return false;
                };
                if p.clone_ts != 0 {
                    write_i(out, ev.ts as i64 - p.clone_ts as i64);
                } else {
                    // current libs fall through to proc.fdopencount here
                    write_i(out, self.fd_open_count(t));
                }
            }
            ProcX::PidTs => {
                if t.clone_ts == 0 {
                    return false;
                }
                write_i(out, t.clone_ts);
            }
            ProcX::PpidTs => match self.st.thread(t.ptid) {
                Some(p) => write_i(out, p.clone_ts),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// `thread.exectime` and `thread.totexectime`.
    fn procx_exectime(&self, x: &ProcX, m: &Memo, out: &mut Vec<u8>) -> bool {
        let d = self.exectime(m);
        if let ProcX::Exectime(_) = x {
            write_i(out, d);
            return true;
        }
        let Some(t) = self.st.event_thread(self.ev) else {
            return false;
        };
        let mut m = m.0.borrow_mut();
        let tot = m.per_thread.entry(t.tid).or_insert(0);
        *tot += d;
        write_i(out, *tot);
        true
    }

    /// The [`ProcX`] fields of the executable, the leaders, the
    /// capabilities and the standard fds.
    fn procx_exe(&self, x: &ProcX, t: &Thread, out: &mut Vec<u8>) -> bool {
        match x {
            ProcX::IsExeUpperLayer => push_bool(out, t.exe_upper_layer),
            ProcX::IsExeLowerLayer => push_bool(out, t.exe_lower_layer),
            ProcX::IsExeFromMemfd => push_bool(out, t.exe_from_memfd),
            ProcX::IsSidLeader => push_bool(out, t.sid == t.vpid),
            ProcX::IsVpgidLeader => push_bool(out, t.vpgid == t.vpid),
            ProcX::IsPgidLeader => push_bool(out, t.pgid == t.pid),
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
                write_i(out, v);
            }
            ProcX::CapPermitted => caps_to_string(t.cap_permitted, out),
            ProcX::CapInheritable => caps_to_string(t.cap_inheritable, out),
            ProcX::CapEffective => caps_to_string(t.cap_effective, out),
            ProcX::Std(n, ty) => match self.st.fd(t.tid, *n) {
                Some(f) if *ty => out.extend_from_slice(f.kind.name().as_bytes()),
                Some(f) => out.extend_from_slice(&f.name),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// The value of a DOUBLE field (`proc.fdusage`, `thread.cpu*`).
    pub(crate) fn procx_double(&self, x: &ProcX) -> Option<f64> {
        let ev = self.ev;
        let t = self.thread()?;
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

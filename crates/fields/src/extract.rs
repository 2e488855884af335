//! Field references and their extraction.

use std::io::Write;

use sonde_event::{category, Direction, RawEvent};
use sonde_output::{info_into, render_param, RenderOpts};
use sonde_state::{split_nul, State, Thread};

use crate::time::{fmt_local_datetime, fmt_local_time, fmt_secs, TimeFmt};

/// Why a field reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FieldError {}

/// A field reference, resolved once at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtDatetime,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltime,
    EvtOutputtime,
    EvtLatency,
    EvtDeltatime,
    EvtDir,
    EvtType,
    EvtCpu,
    EvtArgs,
    EvtInfo,
    EvtArgName(String),
    EvtArgIdx(usize),
    EvtRawargName(String),
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtCategory,
    EvtBuffer,
    EvtBuflen,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    ProcName,
    ProcPid,
    ProcPpid,
    ProcExe,
    ProcExepath,
    ProcArgs,
    ProcCmdline,
    ProcExeline,
    ProcCwd,
    ProcPname,
    ProcPcmdline,
    ProcAname(usize),
    ProcApid(usize),
    ProcVpid,
    ProcSid,
    ProcTty,
    ProcEnv,
    ProcFdlimit,
    ThreadTid,
    ThreadVtid,
    ThreadIsMain,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    GroupGid,
    GroupName,
    FdNum,
    FdName,
    FdType,
    FdTypechar,
    FdDirectory,
    FdFilename,
    FdL4proto,
    FdSip,
    FdCip,
    FdSport,
    FdCport,
    FdIno,
    ContainerId,
    ContainerName,
}

impl Field {
    /// Parses a field name with its optional argument (`proc.aname[2]`,
    /// `evt.arg.fd`, `evt.arg[0]`).
    pub fn parse(name: &str) -> Result<Field, FieldError> {
        let (base, arg) = match name.find('[') {
            Some(i) if name.ends_with(']') => (&name[..i], Some(&name[i + 1..name.len() - 1])),
            _ => (name, None),
        };
        let idx = |a: Option<&str>| -> Result<usize, FieldError> {
            match a {
                None => Ok(0),
                Some(s) => s
                    .parse()
                    .map_err(|_| FieldError(format!("bad index '{s}' in {name}"))),
            }
        };
        if let Some(rest) = base.strip_prefix("evt.arg.") {
            return Ok(Field::EvtArgName(rest.to_string()));
        }
        if let Some(rest) = base.strip_prefix("evt.rawarg.") {
            return Ok(Field::EvtRawargName(rest.to_string()));
        }
        Ok(match base {
            "evt.num" => Field::EvtNum,
            "evt.time" => Field::EvtTime,
            "evt.time.s" => Field::EvtTimeS,
            "evt.datetime" => Field::EvtDatetime,
            "evt.rawtime" => Field::EvtRawtime,
            "evt.rawtime.s" => Field::EvtRawtimeS,
            "evt.rawtime.ns" => Field::EvtRawtimeNs,
            "evt.reltime" => Field::EvtReltime,
            "evt.outputtime" => Field::EvtOutputtime,
            "evt.latency" => Field::EvtLatency,
            "evt.deltatime" => Field::EvtDeltatime,
            "evt.dir" => Field::EvtDir,
            "evt.type" => Field::EvtType,
            "evt.cpu" => Field::EvtCpu,
            "evt.args" => Field::EvtArgs,
            "evt.info" => Field::EvtInfo,
            "evt.arg" => Field::EvtArgIdx(idx(arg)?),
            "evt.res" => Field::EvtRes,
            "evt.rawres" => Field::EvtRawres,
            "evt.failed" => Field::EvtFailed,
            "evt.category" => Field::EvtCategory,
            "evt.buffer" => Field::EvtBuffer,
            "evt.buflen" => Field::EvtBuflen,
            "evt.is_io" => Field::EvtIsIo,
            "evt.is_io_read" => Field::EvtIsIoRead,
            "evt.is_io_write" => Field::EvtIsIoWrite,
            "proc.name" => Field::ProcName,
            "proc.pid" => Field::ProcPid,
            "proc.ppid" => Field::ProcPpid,
            "proc.exe" => Field::ProcExe,
            "proc.exepath" => Field::ProcExepath,
            "proc.args" => Field::ProcArgs,
            "proc.cmdline" => Field::ProcCmdline,
            "proc.exeline" => Field::ProcExeline,
            "proc.cwd" => Field::ProcCwd,
            "proc.pname" => Field::ProcPname,
            "proc.pcmdline" => Field::ProcPcmdline,
            "proc.aname" => Field::ProcAname(idx(arg)?),
            "proc.apid" => Field::ProcApid(idx(arg)?),
            "proc.vpid" => Field::ProcVpid,
            "proc.sid" => Field::ProcSid,
            "proc.tty" => Field::ProcTty,
            "proc.env" => Field::ProcEnv,
            "proc.fdlimit" => Field::ProcFdlimit,
            "thread.tid" => Field::ThreadTid,
            "thread.vtid" => Field::ThreadVtid,
            "thread.ismain" => Field::ThreadIsMain,
            "user.uid" => Field::UserUid,
            "user.name" => Field::UserName,
            "user.homedir" => Field::UserHomedir,
            "user.shell" => Field::UserShell,
            "user.loginuid" => Field::UserLoginuid,
            "group.gid" => Field::GroupGid,
            "group.name" => Field::GroupName,
            "fd.num" => Field::FdNum,
            "fd.name" => Field::FdName,
            "fd.type" => Field::FdType,
            "fd.typechar" => Field::FdTypechar,
            "fd.directory" => Field::FdDirectory,
            "fd.filename" => Field::FdFilename,
            "fd.l4proto" => Field::FdL4proto,
            "fd.sip" => Field::FdSip,
            "fd.cip" => Field::FdCip,
            "fd.sport" => Field::FdSport,
            "fd.cport" => Field::FdCport,
            "fd.ino" => Field::FdIno,
            "container.id" => Field::ContainerId,
            "container.name" => Field::ContainerName,
            _ => return Err(FieldError(format!("unknown field '{name}'"))),
        })
    }
}

/// Everything a field may look at for one event.
pub struct Ctx<'a, 'e> {
    pub st: &'a State,
    pub ev: &'a RawEvent<'e>,
    /// 1-based event number.
    pub num: u64,
    /// Timestamp of the first event of the capture.
    pub first_ts: u64,
    /// Timestamp of the previous event.
    pub prev_ts: u64,
    pub opts: &'a RenderOpts,
    pub time_fmt: TimeFmt,
}

fn write_i(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

impl Ctx<'_, '_> {
    fn thread(&self) -> Option<&Thread> {
        self.st.thread(self.ev.tid)
    }

    fn main_thread(&self) -> Option<&Thread> {
        let t = self.thread()?;
        self.st.thread(t.pid).or(Some(t))
    }

    fn latency(&self) -> Option<u64> {
        let info = self.ev.info()?;
        if info.dir != Direction::Exit {
            return None;
        }
        let t = self.thread()?;
        // the enter event was consumed by the state engine; use its timestamp
        if t.last_enter.ts != 0
            && t.last_enter.code == self.ev.code.wrapping_sub(1)
            && self.ev.ts >= t.last_enter.ts
        {
            Some(self.ev.ts - t.last_enter.ts)
        } else {
            None
        }
    }

    fn param_index(&self, name: &str) -> Option<usize> {
        let infos = sonde_output::param_infos(self.ev, self.opts);
        infos
            .iter()
            .take(self.ev.nparams())
            .position(|p| p.name == name)
    }

    fn fd_num(&self) -> Option<i64> {
        let info = self.ev.info()?;
        if info.flags & (sonde_event::flags::USES_FD | sonde_event::flags::CREATES_FD) == 0 {
            return None;
        }
        self.thread()?.last_fd
    }

    /// Appends the field's text to `out`. Returns false when the field has
    /// no value for this event (sysdig's `<NA>` / skipped line).
    pub fn extract(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match f {
            Field::EvtNum => write_i(out, self.num),
            Field::EvtTime => fmt_local_time(ev.ts, out),
            Field::EvtTimeS => {
                let mut tmp = Vec::new();
                fmt_local_time(ev.ts, &mut tmp);
                out.extend_from_slice(&tmp[..8.min(tmp.len())]);
            }
            Field::EvtDatetime => fmt_local_datetime(ev.ts, out),
            Field::EvtRawtime => write_i(out, ev.ts),
            Field::EvtRawtimeS => write_i(out, ev.ts / 1_000_000_000),
            Field::EvtRawtimeNs => write_i(out, ev.ts % 1_000_000_000),
            Field::EvtReltime => fmt_secs(ev.ts.saturating_sub(self.first_ts), out),
            Field::EvtOutputtime => match self.time_fmt {
                TimeFmt::Human => fmt_local_time(ev.ts, out),
                TimeFmt::Absolute => fmt_secs(ev.ts, out),
                TimeFmt::Relative => fmt_secs(ev.ts.saturating_sub(self.first_ts), out),
                TimeFmt::Delta => fmt_secs(self.latency().unwrap_or(0), out),
                TimeFmt::DeltaPrev => fmt_secs(ev.ts.saturating_sub(self.prev_ts), out),
            },
            Field::EvtLatency => write_i(out, self.latency().unwrap_or(0)),
            Field::EvtDeltatime => fmt_secs(ev.ts.saturating_sub(self.prev_ts), out),
            Field::EvtDir => match ev.info() {
                Some(i) => out.extend_from_slice(i.dir.symbol().as_bytes()),
                None => return false,
            },
            Field::EvtType => match ev.info() {
                Some(_) => out.extend_from_slice(event_name(ev, self.opts).as_bytes()),
                None if ev.info().is_none() => return false,
                None => {
                    let _ = i32::default();
                }
            },
            Field::EvtCpu => write_i(out, ev.cpu),
            Field::EvtArgs | Field::EvtInfo => info_into(self.st, ev, self.opts, out),
            Field::EvtArgName(n) => {
                let Some(i) = self.param_index(n) else {
                    return false;
                };
                return self.arg_str(i, out);
            }
            Field::EvtArgIdx(i) => {
                if *i >= ev.nparams() {
                    return false;
                }
                return self.arg_str(*i, out);
            }
            Field::EvtRawargName(n) => {
                let Some(i) = self.param_index(n) else {
                    return false;
                };
                let mut v = Vec::new();
                let mut r = Vec::new();
                render_param(self.st, ev, i, self.opts, &mut v, &mut r);
                out.extend_from_slice(&v);
            }
            Field::EvtRes | Field::EvtRawres => {
                let Some(i) = self.param_index("res") else {
                    return false;
                };
                let v = ev.param_i64(i).unwrap_or(0);
                if matches!(f, Field::EvtRes) {
                    if v >= 0 {
                        out.extend_from_slice(b"SUCCESS");
                    } else {
                        match sonde_event::errno_name(-v) {
                            Some(n) => out.extend_from_slice(n.as_bytes()),
                            None => write_i(out, v),
                        }
                    }
                } else {
                    write_i(out, v);
                }
            }
            Field::EvtFailed => {
                let Some(i) = self.param_index("res") else {
                    return false;
                };
                out.extend_from_slice(if ev.param_i64(i).unwrap_or(0) < 0 {
                    b"true"
                } else {
                    b"false"
                });
            }
            Field::EvtCategory => match ev.info() {
                Some(i) => out.extend_from_slice(category::base_name(i.category).as_bytes()),
                None => return false,
            },
            Field::EvtBuffer => {
                let Some(i) = self.param_index("data") else {
                    return false;
                };
                let mut r = Vec::new();
                render_param(self.st, ev, i, self.opts, out, &mut r);
            }
            Field::EvtBuflen => {
                let Some(i) = self.param_index("res") else {
                    return false;
                };
                let v = ev.param_i64(i).unwrap_or(-1);
                if v < 0 || self.param_index("data").is_none() {
                    return false;
                }
                write_i(out, v);
            }
            Field::EvtIsIo | Field::EvtIsIoRead | Field::EvtIsIoWrite => {
                let c = ev.info().map(|i| i.category & 0x3f).unwrap_or(0);
                let yes = match f {
                    Field::EvtIsIo => c == category::IO_READ || c == category::IO_WRITE,
                    Field::EvtIsIoRead => c == category::IO_READ,
                    _ => c == category::IO_WRITE,
                };
                out.extend_from_slice(if yes { b"true" } else { b"false" });
            }
            Field::ProcName => match self.thread() {
                Some(t) if !t.comm.is_empty() => out.extend_from_slice(&t.comm),
                _ => return false,
            },
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
                    out.extend_from_slice(&t.exe);
                    if !t.args.is_empty() {
                        out.push(b' ');
                        join_args(t, out);
                    }
                }
                None => return false,
            },
            Field::ProcCwd => match self.thread() {
                Some(_) => out.extend_from_slice(self.st.cwd(ev.tid)),
                None => return false,
            },
            Field::ProcPname | Field::ProcPcmdline => {
                let Some(p) = self.main_thread().and_then(|t| self.st.thread(t.ptid)) else {
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
                Some(t) => write_i(out, t.vpid),
                None => return false,
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
            Field::ThreadTid => write_i(out, ev.tid),
            Field::ThreadVtid => match self.thread() {
                Some(t) => write_i(out, t.vtid),
                None => return false,
            },
            Field::ThreadIsMain => match self.thread() {
                Some(t) => out.extend_from_slice(if t.is_main() { b"true" } else { b"false" }),
                None => return false,
            },
            Field::UserUid => match self.thread() {
                Some(t) => write_i(out, t.uid),
                None => return false,
            },
            Field::UserName | Field::UserHomedir | Field::UserShell => {
                let Some(t) = self.thread() else { return false };
                let Some(u) = self.st.users.get(&t.uid) else {
                    return false;
                };
                out.extend_from_slice(match f {
                    Field::UserName => &u.name,
                    Field::UserHomedir => &u.homedir,
                    _ => &u.shell,
                });
            }
            Field::UserLoginuid => match self.thread() {
                Some(t) => write_i(out, t.loginuid as i32),
                None => return false,
            },
            Field::GroupGid => match self.thread() {
                Some(t) => write_i(out, t.gid),
                None => return false,
            },
            Field::GroupName => {
                let Some(t) = self.thread() else { return false };
                let Some(g) = self.st.groups.get(&t.gid) else {
                    return false;
                };
                out.extend_from_slice(&g.name);
            }
            Field::FdNum => match self.fd_num() {
                Some(n) => write_i(out, n),
                None => return false,
            },
            _ => {
                let Some(n) = self.fd_num() else { return false };
                let Some(fd) = self.st.fd(ev.tid, n) else {
                    return false;
                };
                match f {
                    Field::FdName => out.extend_from_slice(&fd.name),
                    Field::FdType => out.extend_from_slice(fd.kind.name().as_bytes()),
                    Field::FdTypechar => {
                        let mut b = [0u8; 4];
                        out.extend_from_slice(fd.kind.type_char().encode_utf8(&mut b).as_bytes());
                    }
                    Field::FdDirectory | Field::FdFilename => {
                        if !matches!(
                            fd.kind,
                            sonde_state::FdType::File | sonde_state::FdType::Directory
                        ) {
                            return false;
                        }
                        let name = &fd.name;
                        let cut = name.iter().rposition(|&c| c == b'/').unwrap_or(0);
                        if matches!(f, Field::FdDirectory) {
                            out.extend_from_slice(if cut == 0 { b"/" } else { &name[..cut] });
                        } else {
                            out.extend_from_slice(&name[(cut + 1).min(name.len())..]);
                        }
                    }
                    Field::FdL4proto => out.extend_from_slice(fd.l4.name().as_bytes()),
                    Field::FdIno => write_i(out, fd.ino),
                    Field::FdSip | Field::FdCip | Field::FdSport | Field::FdCport => {
                        use sonde_state::SockAddrs as S;
                        match (f, fd.addrs) {
                            (Field::FdCip, S::V4 { sip, .. }) => write_i(out, sip),
                            (Field::FdSip, S::V4 { dip, .. }) => write_i(out, dip),
                            (Field::FdCport, S::V4 { sport, .. }) => write_i(out, sport),
                            (Field::FdSport, S::V4 { dport, .. }) => write_i(out, dport),
                            (Field::FdCip, S::V6 { sip, .. }) => write_i(out, sip),
                            (Field::FdSip, S::V6 { dip, .. }) => write_i(out, dip),
                            (Field::FdCport, S::V6 { sport, .. }) => write_i(out, sport),
                            (Field::FdSport, S::V6 { dport, .. }) => write_i(out, dport),
                            (Field::FdSip, S::V4Server { ip, .. }) => write_i(out, ip),
                            (Field::FdSport, S::V4Server { port, .. }) => write_i(out, port),
                            (Field::FdSip, S::V6Server { ip, .. }) => write_i(out, ip),
                            (Field::FdSport, S::V6Server { port, .. }) => write_i(out, port),
                            _ => return false,
                        }
                    }
                    _ => return false,
                }
            }
        }
        true
    }

    fn arg_str(&self, i: usize, out: &mut Vec<u8>) -> bool {
        let mut v = Vec::new();
        let mut r = Vec::new();
        render_param(self.st, self.ev, i, self.opts, &mut v, &mut r);
        if r.is_empty() {
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&r);
        }
        true
    }
}

/// The event name sysdig shows for `evt.type`.
pub fn event_name(ev: &RawEvent<'_>, opts: &RenderOpts) -> &'static str {
    match ev.info() {
        Some(i) => {
            if ev.code == sonde_event::codes::GENERIC_E || ev.code == sonde_event::codes::GENERIC_X
            {
                if let Some(id) = ev.param_u64(0) {
                    if let Some(n) = sonde_event::syscall_name(id as u32) {
                        return n;
                    }
                }
                return "<unknown>";
            }
            if opts.compat_029 {
                i.old_name
            } else {
                i.name
            }
        }
        None => "<unknown>",
    }
}

fn join_args(t: &Thread, out: &mut Vec<u8>) {
    for (i, a) in t.args_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a);
    }
}

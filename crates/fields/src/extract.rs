//! Field references and their extraction.

use std::io::Write;

use sonde_event::{category, RawEvent};
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
    K8sPodName,
    MesosTaskName,
    /// Fields for filters and Falco rules (`extra.rs`).
    Extra(crate::extra::Extra),
    /// More `fd.*` fields and `fdlist.*` (`fdx.rs`).
    Fd(crate::fdx::FdX),
    /// More `evt.*` fields and `syslog.*` (`evtx.rs`).
    Evt(crate::evtx::EvtX),
    /// More `proc.*` and `thread.*` fields (`procx.rs`).
    Proc(crate::procx::ProcX),
    /// More `container.*` fields (`contx.rs`).
    Cont(crate::contx::ContX),
    /// `fs.path.*` (`fspath.rs`).
    FsPath(crate::fspath::FsPath),
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
            "k8s.pod.name" => Field::K8sPodName,
            "mesos.task.name" => Field::MesosTaskName,
            other => {
                if let Some(x) = crate::extra::parse(other, arg) {
                    return Ok(Field::Extra(x?));
                }
                if let Some(x) = crate::fdx::parse(other, arg) {
                    return Ok(Field::Fd(x?));
                }
                if let Some(x) = crate::evtx::parse(other, arg) {
                    return Ok(Field::Evt(x?));
                }
                if let Some(x) = crate::procx::parse(other, arg) {
                    return Ok(Field::Proc(x?));
                }
                if let Some(x) = crate::contx::parse(other, arg) {
                    return Ok(Field::Cont(x?));
                }
                if let Some(x) = crate::fspath::parse(other) {
                    return Ok(Field::FsPath(x?));
                }
                return Err(FieldError(format!("unknown field '{name}'")));
            }
        })
    }
}

impl Field {
    /// Whether the field remembers values between events (sysdig keeps
    /// per-field state for these): every evaluation counts.
    pub fn is_stateful(&self) -> bool {
        use crate::procx::ProcX;
        matches!(
            self,
            Field::Proc(ProcX::Exectime(_) | ProcX::Totexectime(_) | ProcX::Cpu(..))
                | Field::Evt(crate::evtx::EvtX::LatencyHuman(_))
        )
    }
}

/// The fields [`Ctx::extract`] handles inline, as a small tag that formats
/// find once per field rather than per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hot {
    /// Any other field.
    No,
    EvtNum,
    EvtOutputtime,
    EvtCpu,
    ThreadTid,
    EvtDir,
    EvtType,
    ProcName,
    EvtInfo,
}

impl Hot {
    #[inline]
    pub(crate) fn of(f: &Field) -> Hot {
        match f {
            Field::EvtNum => Hot::EvtNum,
            Field::EvtOutputtime => Hot::EvtOutputtime,
            Field::EvtCpu => Hot::EvtCpu,
            Field::ThreadTid => Hot::ThreadTid,
            Field::EvtDir => Hot::EvtDir,
            Field::EvtType => Hot::EvtType,
            Field::ProcName => Hot::ProcName,
            Field::EvtInfo => Hot::EvtInfo,
            _ => Hot::No,
        }
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
    /// The event's thread and fd once looked up, for the other fields of
    /// the same event (start with `Lookups::default()`).
    pub lookups: Lookups<'a>,
}

/// Table lookups made for one event, kept in its [`Ctx`]: filters and
/// formats read several fields of the same thread and fd. The state
/// cannot change while a `Ctx` borrows it, so they stay valid.
#[derive(Default)]
pub struct Lookups<'a> {
    thread: std::cell::Cell<Option<Option<&'a Thread>>>,
    fd: std::cell::Cell<Option<FdEntry<'a>>>,
}

/// The event's thread, fd number and fd (when in the table); None when
/// the event has no fd or no thread.
type FdEntry<'a> = Option<(&'a Thread, i64, Option<&'a sonde_state::Fd>)>;

fn write_i(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

impl<'a> Ctx<'a, '_> {
    #[inline]
    pub(crate) fn thread(&self) -> Option<&'a Thread> {
        if let Some(t) = self.lookups.thread.get() {
            return t;
        }
        let t = self.st.event_thread(self.ev);
        self.lookups.thread.set(Some(t));
        t
    }

    pub(crate) fn main_thread(&self) -> Option<&Thread> {
        let t = self.thread()?;
        self.st.thread(t.pid).or(Some(t))
    }

    /// The latency of the event's thread (time since its last enter
    /// event; 0 right after an enter event). None when sysdig would not
    /// have the thread at hand: events that skip the thread lookup.
    pub(crate) fn latency(&self) -> Option<u64> {
        let info = self.ev.info()?;
        if info.old_flags & sonde_event::flags::SKIPPARSERESET != 0
            && self.ev.code != sonde_event::codes::PROCINFO_E
        {
            return None;
        }
        Some(self.thread()?.latency)
    }

    /// The parameter holding the result: `res`, or for exit events that
    /// create an fd and have no `res`, the `fd`.
    pub(crate) fn res_index(&self) -> Option<usize> {
        self.param_index("res").or_else(|| {
            let info = self.ev.info()?;
            let fd_result = info.dir == sonde_event::Direction::Exit
                && info.old_flags & sonde_event::flags::CREATES_FD != 0;
            fd_result.then(|| self.param_index("fd")).flatten()
        })
    }

    pub(crate) fn param_index(&self, name: &str) -> Option<usize> {
        let infos = sonde_output::param_infos(self.ev, self.opts);
        infos
            .iter()
            .take(self.ev.nparams())
            .position(|p| p.name == name)
    }

    pub(crate) fn fd_num(&self) -> Option<i64> {
        if !self.is_fd_event() {
            return None;
        }
        // like sysdig's "last event fd": -1 when the call names no fd
        Some(self.thread()?.last_fd.unwrap_or(-1))
    }

    /// Whether the event works on an fd (uses, creates or destroys one).
    #[inline]
    fn is_fd_event(&self) -> bool {
        let Some(info) = self.ev.info() else {
            return false;
        };
        // sysdig 0.29's table: e.g. mmap enter events did not use an fd yet
        let flags = if self.opts.compat_029 {
            info.old_flags
        } else {
            info.flags
        };
        use sonde_event::flags::{CREATES_FD, DESTROYS_FD, USES_FD};
        flags & (USES_FD | CREATES_FD | DESTROYS_FD) != 0
    }

    /// The fd the event operates on, when it is in the table.
    pub(crate) fn event_fd(&self) -> Option<&sonde_state::Fd> {
        self.event_fd_entry()?.2
    }

    /// The event's thread, [`Ctx::fd_num`] and the fd when it is in the
    /// table (`self.st.fd(ev.tid, n)`), with the thread looked up once.
    #[inline]
    pub(crate) fn event_fd_entry(&self) -> FdEntry<'a> {
        if let Some(e) = self.lookups.fd.get() {
            return e;
        }
        let e = self.find_event_fd();
        self.lookups.fd.set(Some(e));
        e
    }

    fn find_event_fd(&self) -> FdEntry<'a> {
        if !self.is_fd_event() {
            return None;
        }
        let t = self.thread()?;
        let n = t.last_fd.unwrap_or(-1);
        use sonde_event::codes as c;
        let fd = if matches!(self.ev.code, c::CONTAINER_JSON_E | c::CONTAINER_JSON_2_E) {
            // the thread is a stand-in, not the event's tid
            self.st.fd(self.ev.tid, n)
        } else {
            self.st.fd_of(t, n)
        };
        Some((t, n, fd))
    }

    /// `evt.category`, from sysdig 0.29's categories; I/O events are
    /// named after the kind of fd they use.
    fn category_name(&self, info: &sonde_event::EventInfo) -> &'static str {
        use sonde_state::FdType as T;
        let generic = self.ev.code == sonde_event::codes::GENERIC_E
            || self.ev.code == sonde_event::codes::GENERIC_X;
        let cat = if generic {
            let id = self.ev.param_u64(0).unwrap_or(0) as usize;
            match crate::syscall_category::SYSCALL_CATEGORY.get(id) {
                // generic I/O calls have no fd kind to refine them
                Some(32..=34) => return "unknown",
                Some(&c) => u32::from(c),
                None => return "unknown",
            }
        } else {
            info.old_category
        };
        match cat {
            category::IO_READ | category::IO_WRITE | category::IO_OTHER => {
                match self.event_fd().map(|f| f.kind) {
                    Some(T::File | T::Directory) => "file",
                    Some(T::Ipv4Sock | T::Ipv6Sock | T::Ipv4ServSock | T::Ipv6ServSock) => "net",
                    Some(T::Fifo | T::UnixSock | T::Event | T::Signalfd | T::Inotify) => "ipc",
                    _ => "unknown",
                }
            }
            category::IPC => "IPC",
            category::WAIT => "wait",
            category::SCHEDULER => "scheduler",
            c if c & !0x3f != 0 => "unknown",
            c => category::base_name(c),
        }
    }

    /// The fd name sysdig derives from an exit event that creates an fd
    /// when the fd itself is not in the table: the path or tuple argument;
    /// empty for other exit events; None for enter events.
    pub(crate) fn fdname_from_creator(&self, out: &mut Vec<u8>) -> bool {
        use sonde_event::codes as c;
        let ev = self.ev;
        let Some(info) = ev.info() else { return false };
        if info.dir != sonde_event::Direction::Exit {
            return false;
        }
        match ev.code {
            c::SYSCALL_OPEN_X
            | c::SOCKET_ACCEPT_X
            | c::SOCKET_ACCEPT_5_X
            | c::SOCKET_ACCEPT4_X
            | c::SOCKET_ACCEPT4_5_X
            | c::SYSCALL_CREAT_X
            | c::SOCKET_CONNECT_X => {
                if ev.nparams() > 1 {
                    self.arg_str(1, out);
                }
                true
            }
            // sysdig has already dropped the saved enter event by the time
            // it formats, so an old-style openat exit has no name to give
            c::SYSCALL_OPENAT_X => false,
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => {
                let (dirfd, name) = (ev.param_i64(1), ev.param(2));
                let name = sonde_event::cstr(name.unwrap_or_default());
                let dir: Vec<u8> = if name.first() == Some(&b'/') {
                    b".".to_vec()
                } else if dirfd == Some(-100) {
                    self.st.cwd(ev.tid).to_vec()
                } else {
                    match dirfd.and_then(|d| self.st.fd(ev.tid, d)) {
                        Some(f) => f.name.clone(),
                        None => b"<UNKNOWN>".to_vec(),
                    }
                };
                if dir == b"<UNKNOWN>" {
                    // sysdig glues the name on without a separator
                    out.extend_from_slice(&dir);
                    out.extend_from_slice(name);
                } else {
                    out.extend_from_slice(&sonde_state::path::concat_path(&dir, name));
                }
                true
            }
            _ => true,
        }
    }

    /// fd fields of an event whose fd is not in the table.
    fn extract_null_fd(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        use sonde_event::codes as c;
        match f {
            Field::FdName => self.fdname_from_creator(out),
            Field::FdDirectory => {
                let start = out.len();
                if !self.fdname_from_creator(out) {
                    return false;
                }
                let name = out[start..].to_vec();
                out.truncate(start);
                file_directory(&name, out);
                true
            }
            Field::FdTypechar => {
                let enter = self.ev.code & !1;
                out.push(match enter {
                    c::SYSCALL_OPEN_E
                    | c::SYSCALL_OPENAT_E
                    | c::SYSCALL_OPENAT_2_E
                    | c::SYSCALL_OPENAT2_E
                    | c::SYSCALL_CREAT_E => b'f',
                    c::SOCKET_SOCKET_E
                    | c::SOCKET_ACCEPT_E
                    | c::SOCKET_ACCEPT_5_E
                    | c::SOCKET_ACCEPT4_E
                    | c::SOCKET_ACCEPT4_5_E => b'4',
                    c::SYSCALL_PIPE_E => b'p',
                    c::SYSCALL_EVENTFD_E => b'e',
                    c::SYSCALL_SIGNALFD_E => b's',
                    c::SYSCALL_TIMERFD_CREATE_E => b't',
                    c::SYSCALL_INOTIFY_INIT_E => b'i',
                    _ => b'o',
                });
                true
            }
            _ => false,
        }
    }

    /// Appends the field's text to `out`. Returns false when the field has
    /// no value for this event (sysdig's `<NA>` / skipped line).
    #[inline]
    pub fn extract(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        self.extract_as(f, Hot::of(f), out)
    }

    /// [`Ctx::extract`] with the field's [`Hot`] kind found beforehand:
    /// the fields of the default formats are extracted inline in the
    /// caller, the others in [`Ctx::extract_other`].
    #[inline(always)]
    pub(crate) fn extract_as(&self, f: &Field, hot: Hot, out: &mut Vec<u8>) -> bool {
        match self.extract_hot(hot, out) {
            Some(found) => found,
            None => self.extract_other(f, out),
        }
    }

    /// The fields of the default formats: `Some(found)` as
    /// [`Ctx::extract`] returns it, None (nothing appended) for the others.
    #[inline(always)]
    fn extract_hot(&self, hot: Hot, out: &mut Vec<u8>) -> Option<bool> {
        let ev = self.ev;
        match hot {
            Hot::No => return None,
            Hot::EvtNum => sonde_output::num::push_u64(out, self.num),
            Hot::EvtOutputtime if self.time_fmt == TimeFmt::Human => fmt_local_time(ev.ts, out),
            Hot::EvtOutputtime => return None,
            Hot::EvtCpu => sonde_output::num::push_u64(out, ev.cpu as u64),
            Hot::ThreadTid => sonde_output::num::push_i64(out, ev.tid),
            Hot::EvtDir => match ev.info() {
                Some(i) => out.extend_from_slice(i.dir.symbol().as_bytes()),
                None => return Some(false),
            },
            Hot::EvtType => match ev.info() {
                Some(_) => out.extend_from_slice(event_name(ev, self.opts).as_bytes()),
                None => return Some(false),
            },
            Hot::ProcName => match self.thread() {
                Some(t) => out.extend_from_slice(&t.comm),
                None => return Some(false),
            },
            // a decoded syslog write (when a syslog field is in use)
            Hot::EvtInfo if self.syslog_info(out) => {}
            Hot::EvtInfo => info_into(self.st, ev, self.opts, out),
        }
        Some(true)
    }

    /// [`Ctx::extract`] for the fields [`Ctx::extract_hot`] leaves.
    #[inline(never)]
    fn extract_other(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match f {
            Field::EvtNum
            | Field::EvtCpu
            | Field::ThreadTid
            | Field::EvtDir
            | Field::EvtType
            | Field::ProcName
            | Field::EvtInfo => return self.extract_hot(Hot::of(f), out).unwrap_or(false),
            Field::EvtTime => fmt_local_time(ev.ts, out),
            Field::EvtTimeS => {
                let mut tmp = Vec::new();
                fmt_local_time(ev.ts, &mut tmp);
                out.extend_from_slice(&tmp[..8.min(tmp.len())]);
            }
            Field::EvtDatetime => fmt_local_datetime(ev.ts, out),
            Field::EvtRawtime => write_i(out, ev.ts),
            Field::EvtRawtimeS => write_i(out, ev.ts / 1_000_000_000),
            // zero-padded to 9 digits, as sysdig prints it
            Field::EvtRawtimeNs => write_i(out, format_args!("{:09}", ev.ts % 1_000_000_000)),
            // nanoseconds since the first event, zero-padded to 9 digits
            Field::EvtReltime => write_i(
                out,
                format_args!("{:09}", ev.ts.wrapping_sub(self.first_ts)),
            ),
            Field::EvtOutputtime => match self.time_fmt {
                TimeFmt::Human => fmt_local_time(ev.ts, out),
                // sysdig does not pad the nanoseconds here
                TimeFmt::Absolute => write_i(
                    out,
                    format_args!("{}.{}", ev.ts / 1_000_000_000, ev.ts % 1_000_000_000),
                ),
                TimeFmt::Relative => fmt_secs(ev.ts.wrapping_sub(self.first_ts), out),
                TimeFmt::Delta => fmt_secs(self.latency().unwrap_or(0), out),
                TimeFmt::DeltaPrev if self.prev_ts == 0 => fmt_secs(0, out),
                TimeFmt::DeltaPrev => fmt_secs(ev.ts.wrapping_sub(self.prev_ts), out),
            },
            Field::EvtLatency => {
                if ev
                    .info()
                    .is_some_and(|i| i.old_category & category::INTERNAL != 0)
                {
                    return false;
                }
                write_i(out, self.latency().unwrap_or(0))
            }
            // nanoseconds since the previous formatted event
            Field::EvtDeltatime if self.prev_ts == 0 => write_i(out, 0),
            Field::EvtDeltatime => write_i(out, ev.ts.wrapping_sub(self.prev_ts)),
            Field::EvtArgs => info_into(self.st, ev, self.opts, out),
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
                // the raw value: integers in decimal whatever their format
                let infos = sonde_output::param_infos(ev, self.opts);
                let raw = ev.param(i).unwrap_or_default();
                use sonde_event::ParamType as T;
                let signed = match infos.get(i).map(|p| p.ptype) {
                    Some(T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid) => {
                        Some(true)
                    }
                    Some(
                        T::Uint8
                        | T::Uint16
                        | T::Uint32
                        | T::Uint64
                        | T::Flags8
                        | T::Flags16
                        | T::Flags32
                        | T::Uid
                        | T::Gid
                        | T::Mode
                        | T::Reltime
                        | T::Abstime
                        | T::Port
                        | T::Sigtype
                        | T::Syscallid,
                    ) => Some(false),
                    _ => None,
                };
                match signed {
                    Some(true) if !raw.is_empty() && raw.len() <= 8 => {
                        write_i(out, sonde_event::le_int(raw))
                    }
                    Some(false) if !raw.is_empty() && raw.len() <= 8 => {
                        write_i(out, sonde_event::le_uint(raw))
                    }
                    _ => {
                        let mut v = Vec::new();
                        let mut r = Vec::new();
                        render_param(self.st, ev, i, self.opts, &mut v, &mut r);
                        out.extend_from_slice(&v);
                    }
                }
            }
            Field::EvtRes | Field::EvtRawres => {
                let Some(i) = self.res_index() else {
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
                // events without a result have not failed
                let failed = self
                    .res_index()
                    .is_some_and(|i| ev.param_i64(i).unwrap_or(0) < 0);
                out.extend_from_slice(if failed { b"true" } else { b"false" });
            }
            Field::EvtCategory => match ev.info() {
                Some(i) => out.extend_from_slice(self.category_name(i).as_bytes()),
                None => return false,
            },
            Field::EvtBuffer => {
                let Some(i) = self.param_index("data") else {
                    return false;
                };
                // render_param clears its buffers: render aside
                let mut v = Vec::new();
                let mut r = Vec::new();
                render_param(self.st, ev, i, self.opts, &mut v, &mut r);
                out.extend_from_slice(&v);
            }
            Field::EvtBuflen => {
                // the result of a successful I/O exit on a known fd
                let Some(info) = ev.info() else { return false };
                if info.old_category & category::IO_BASE == 0
                    || info.dir != sonde_event::Direction::Exit
                    || self.event_fd().is_none()
                {
                    return false;
                }
                match ev.param_i64(0) {
                    Some(v) if v >= 0 => write_i(out, v),
                    _ => return false,
                }
            }
            Field::EvtIsIo | Field::EvtIsIoRead | Field::EvtIsIoWrite => {
                use sonde_event::flags::{READS_FROM_FD, WRITES_TO_FD};
                let fl = ev.info().map(|i| i.old_flags).unwrap_or(0);
                let yes = match f {
                    Field::EvtIsIo => fl & (READS_FROM_FD | WRITES_TO_FD) != 0,
                    Field::EvtIsIoRead => fl & READS_FROM_FD != 0,
                    _ => fl & WRITES_TO_FD != 0,
                };
                out.extend_from_slice(if yes { b"true" } else { b"false" });
            }
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
            // from the container's labels (a capture has no orchestrator
            // connection to ask)
            Field::K8sPodName => {
                let Some(t) = self.thread() else { return false };
                match self
                    .st
                    .containers
                    .get(&t.container_id)
                    .and_then(|c| c.label(b"io.kubernetes.pod.name"))
                {
                    Some(v) => out.extend_from_slice(v),
                    None => return false,
                }
            }
            Field::MesosTaskName => return false,
            Field::Extra(x) => return self.extract_extra(x, out),
            Field::Fd(x) => return self.extract_fdx(x, out),
            Field::Evt(x) => return self.extract_evtx(x, out),
            Field::Proc(x) => return self.extract_procx(x, out),
            Field::Cont(x) => return self.extract_contx(x, out),
            Field::FsPath(x) => return self.extract_fspath(x, out),
            Field::ContainerId | Field::ContainerName => {
                let Some(t) = self.thread() else { return false };
                if t.container_id.is_empty() {
                    out.extend_from_slice(b"host");
                } else if matches!(f, Field::ContainerId) {
                    out.extend_from_slice(&t.container_id);
                } else {
                    match self.st.containers.get(&t.container_id) {
                        Some(c) if !c.name.is_empty() => out.extend_from_slice(&c.name),
                        _ => return false,
                    }
                }
            }
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
                let Some((_, _, fd)) = self.event_fd_entry() else {
                    return false;
                };
                // a failed connect names its fd after the attempted tuple
                let failed_connect = matches!(f, Field::FdName)
                    && ev.code == sonde_event::codes::SOCKET_CONNECT_X
                    && ev.param_i64(0).unwrap_or(0) < 0;
                let fd = match fd {
                    Some(fd) if !failed_connect => fd,
                    _ => return self.extract_null_fd(f, out),
                };
                match f {
                    Field::FdName => out.extend_from_slice(&fd.name),
                    Field::FdType => out.extend_from_slice(fd.kind.name().as_bytes()),
                    Field::FdTypechar => {
                        let mut b = [0u8; 4];
                        out.extend_from_slice(fd.kind.type_char().encode_utf8(&mut b).as_bytes());
                    }
                    Field::FdDirectory => match fd.kind {
                        sonde_state::FdType::Directory => out.extend_from_slice(&fd.name),
                        sonde_state::FdType::File => file_directory(&fd.name, out),
                        _ => return false,
                    },
                    Field::FdFilename => {
                        if fd.kind != sonde_state::FdType::File {
                            return false;
                        }
                        let name = &fd.name;
                        match name.iter().rposition(|&c| c == b'/') {
                            Some(p) if p + 1 < name.len() => out.extend_from_slice(&name[p + 1..]),
                            Some(_) => out.extend_from_slice(name),
                            None => out.push(b'/'),
                        }
                    }
                    Field::FdL4proto => out.extend_from_slice(fd.l4proto().name().as_bytes()),
                    Field::FdIno => write_i(out, fd.ino),
                    Field::FdSip | Field::FdCip | Field::FdSport | Field::FdCport => {
                        return crate::fdx::client_server(f, fd, out);
                    }
                    _ => return false,
                }
            }
        }
        true
    }

    pub(crate) fn arg_str(&self, i: usize, out: &mut Vec<u8>) -> bool {
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

/// The directory part of a file path as `fd.directory` shows it: up to
/// the last `/` (a path ending in `/` stays whole), `/` when there is no
/// other.
pub(crate) fn file_directory(name: &[u8], out: &mut Vec<u8>) {
    match name.iter().rposition(|&c| c == b'/') {
        Some(p) if p != 0 && p + 1 < name.len() => out.extend_from_slice(&name[..p]),
        Some(p) if p != 0 => out.extend_from_slice(name),
        _ => out.push(b'/'),
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

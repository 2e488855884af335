//! [`Field`]: a field reference resolved once at parse time. Its variants
//! are the basic fields of each class plus one variant per class module
//! holding that class's own enum ([`crate::EvtX`], [`crate::ProcX`], ...):
//! the class modules use this type, and this module uses nothing else of
//! theirs. Parsing and extraction dispatch in `extract.rs`.

use crate::error::FieldError;

/// A field reference, resolved once at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `evt.num`.
    EvtNum,
    /// `evt.time`.
    EvtTime,
    /// `evt.time.s`.
    EvtTimeS,
    /// `evt.datetime`.
    EvtDatetime,
    /// `evt.rawtime`.
    EvtRawtime,
    /// `evt.rawtime.s`.
    EvtRawtimeS,
    /// `evt.rawtime.ns`.
    EvtRawtimeNs,
    /// `evt.reltime`.
    EvtReltime,
    /// `evt.outputtime`.
    EvtOutputtime,
    /// `evt.latency`.
    EvtLatency,
    /// `evt.deltatime`.
    EvtDeltatime,
    /// `evt.dir`.
    EvtDir,
    /// `evt.type`.
    EvtType,
    /// `evt.cpu`.
    EvtCpu,
    /// `evt.args`.
    EvtArgs,
    /// `evt.info`.
    EvtInfo,
    /// `evt.arg.NAME`.
    EvtArgName(String),
    /// `evt.arg`.
    EvtArgIdx(usize),
    /// `evt.rawarg.NAME`.
    EvtRawargName(String),
    /// `evt.res`.
    EvtRes,
    /// `evt.rawres`.
    EvtRawres,
    /// `evt.failed`.
    EvtFailed,
    /// `evt.category`.
    EvtCategory,
    /// `evt.buffer`.
    EvtBuffer,
    /// `evt.buflen`.
    EvtBuflen,
    /// `evt.is_io`.
    EvtIsIo,
    /// `evt.is_io_read`.
    EvtIsIoRead,
    /// `evt.is_io_write`.
    EvtIsIoWrite,
    /// `proc.name`.
    ProcName,
    /// `proc.pid`.
    ProcPid,
    /// `proc.ppid`.
    ProcPpid,
    /// `proc.exe`.
    ProcExe,
    /// `proc.exepath`.
    ProcExepath,
    /// `proc.args`.
    ProcArgs,
    /// `proc.cmdline`.
    ProcCmdline,
    /// `proc.exeline`.
    ProcExeline,
    /// `proc.cwd`.
    ProcCwd,
    /// `proc.pname`.
    ProcPname,
    /// `proc.pcmdline`.
    ProcPcmdline,
    /// `proc.aname`.
    ProcAname(usize),
    /// `proc.apid`.
    ProcApid(usize),
    /// `proc.vpid`.
    ProcVpid,
    /// `proc.sid`.
    ProcSid,
    /// `proc.tty`.
    ProcTty,
    /// `proc.env`.
    ProcEnv,
    /// `proc.fdlimit`.
    ProcFdlimit,
    /// `thread.tid`.
    ThreadTid,
    /// `thread.vtid`.
    ThreadVtid,
    /// `thread.ismain`.
    ThreadIsMain,
    /// `user.uid`.
    UserUid,
    /// `user.name`.
    UserName,
    /// `user.homedir`.
    UserHomedir,
    /// `user.shell`.
    UserShell,
    /// `user.loginuid`.
    UserLoginuid,
    /// `group.gid`.
    GroupGid,
    /// `group.name`.
    GroupName,
    /// `fd.num`.
    FdNum,
    /// `fd.name`.
    FdName,
    /// `fd.type`.
    FdType,
    /// `fd.typechar`.
    FdTypechar,
    /// `fd.directory`.
    FdDirectory,
    /// `fd.filename`.
    FdFilename,
    /// `fd.l4proto`.
    FdL4proto,
    /// `fd.sip`.
    FdSip,
    /// `fd.cip`.
    FdCip,
    /// `fd.sport`.
    FdSport,
    /// `fd.cport`.
    FdCport,
    /// `fd.ino`.
    FdIno,
    /// `container.id`.
    ContainerId,
    /// `container.name`.
    ContainerName,
    /// `k8s.pod.name`.
    K8sPodName,
    /// `mesos.task.name` (never a value).
    MesosTaskName,
    /// Fields kept together for filters and Falco rules (parsed and
    /// extracted by their class modules: `evt`, `proc`, `user`).
    Extra(crate::extra::Extra),
    /// More `fd.*` fields (`fd.rs`) and `fdlist.*` (`fdlist.rs`).
    Fd(crate::fd::FdX),
    /// More `evt.*` fields (`evt.rs`) and `syslog.*` (`syslog.rs`).
    Evt(crate::evt::EvtX),
    /// More `proc.*` and `thread.*` fields (`proc/`).
    Proc(crate::proc::ProcX),
    /// More `container.*` fields (`container.rs`).
    Cont(crate::container::ContX),
    /// More `k8s.*` fields (`k8s.rs`).
    K8s(crate::k8s::K8sX),
    /// `fs.path.*` (`fspath.rs`).
    FsPath(crate::fspath::FsPath),
}

impl Field {
    /// Whether the field remembers values between events (sysdig keeps
    /// per-field state for these): every evaluation counts.
    pub fn is_stateful(&self) -> bool {
        self.depends_on_evaluations()
            || matches!(self, Field::Evt(crate::evt::EvtX::LatencyHuman(_)))
    }

    /// Whether the value depends on which events this use of the field
    /// was evaluated on: sysdig keeps, per check, the last switch of each
    /// CPU (`thread.exectime`, `thread.totexectime`) or the last CPU
    /// times (`thread.cpu*`), updated only when it evaluates that check.
    /// (`evt.latency.human` only repeats its last text for events without
    /// a thread: [`Field::is_stateful`] but not this.)
    pub fn depends_on_evaluations(&self) -> bool {
        use crate::proc::ProcX;
        matches!(
            self,
            Field::Proc(ProcX::Exectime(_) | ProcX::Totexectime(_) | ProcX::Cpu(..))
        )
    }
}

/// The index argument of `evt.arg[N]`, `proc.aname[N]`, `proc.apid[N]`
/// (0 without one).
pub(crate) fn index_arg(name: &str, arg: Option<&str>) -> Result<usize, FieldError> {
    match arg {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| FieldError(format!("bad index '{s}' in {name}"))),
    }
}

//! The dispatch from a [`Field`] to its class module: parsing
//! ([`Field::parse`] asks each class in turn) and extraction
//! ([`Ctx::extract`]). The fields of the default formats are extracted
//! inline here ([`Hot`]); every other field is extracted by its class.
//! Only this module (and `format.rs`, for [`Hot`]) calls into the classes
//! this way; the class modules do not use it.

use sonde_output::info_into;

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::extra::Extra;
use crate::field::Field;
use crate::time::{fmt_local_time, TimeFmt};
use crate::value::Value;

/// A class module's parser: the field for `name` (`base` without its
/// `[arg]`), None when the name is not one of the class's.
type Parser = fn(&str, &str, Option<&str>) -> Option<Result<Field, FieldError>>;

/// Every class's parser (their names are disjoint).
const PARSERS: [Parser; 10] = [
    crate::evt::parse,
    crate::proc::parse,
    crate::user::parse,
    crate::fd::parse,
    crate::fdlist::parse,
    crate::container::parse,
    crate::k8s::parse,
    crate::mesos::parse,
    crate::syslog::parse,
    crate::fspath::parse,
];

impl Field {
    /// Parses a field name with its optional argument (`proc.aname[2]`,
    /// `evt.arg.fd`, `evt.arg[0]`).
    pub fn parse(name: &str) -> Result<Field, FieldError> {
        let (base, arg) = match name.find('[') {
            Some(i) if name.ends_with(']') => (&name[..i], Some(&name[i + 1..name.len() - 1])),
            _ => (name, None),
        };
        for parse in PARSERS {
            if let Some(f) = parse(name, base, arg) {
                return f;
            }
        }
        Err(FieldError(format!("unknown field '{name}'")))
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

impl Ctx<'_, '_> {
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
                Some(_) => out.extend_from_slice(crate::evt::event_name(ev, self.opts).as_bytes()),
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

    /// [`Ctx::extract`] for the fields [`Ctx::extract_hot`] leaves: each
    /// class module extracts its own.
    #[inline(never)]
    fn extract_other(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        use Field as F;
        match f {
            F::EvtNum
            | F::EvtCpu
            | F::ThreadTid
            | F::EvtDir
            | F::EvtType
            | F::ProcName
            | F::EvtInfo => self.extract_hot(Hot::of(f), out).unwrap_or(false),
            F::EvtTime
            | F::EvtTimeS
            | F::EvtDatetime
            | F::EvtRawtime
            | F::EvtRawtimeS
            | F::EvtRawtimeNs
            | F::EvtReltime
            | F::EvtOutputtime
            | F::EvtLatency
            | F::EvtDeltatime
            | F::EvtArgs
            | F::EvtArgName(_)
            | F::EvtArgIdx(_)
            | F::EvtRawargName(_)
            | F::EvtRes
            | F::EvtRawres
            | F::EvtFailed
            | F::EvtCategory
            | F::EvtBuffer
            | F::EvtBuflen
            | F::EvtIsIo
            | F::EvtIsIoRead
            | F::EvtIsIoWrite => self.extract_evt(f, out),
            F::Evt(x) => self.extract_evtx(x, out),
            F::ProcPid
            | F::ProcPpid
            | F::ProcExe
            | F::ProcExepath
            | F::ProcArgs
            | F::ProcCmdline
            | F::ProcExeline
            | F::ProcCwd
            | F::ProcPname
            | F::ProcPcmdline
            | F::ProcAname(_)
            | F::ProcApid(_)
            | F::ProcVpid
            | F::ProcSid
            | F::ProcTty
            | F::ProcEnv
            | F::ProcFdlimit
            | F::ThreadVtid
            | F::ThreadIsMain => self.extract_proc(f, out),
            F::Proc(x) => self.extract_procx(x, out),
            F::UserUid
            | F::UserName
            | F::UserHomedir
            | F::UserShell
            | F::UserLoginuid
            | F::GroupGid
            | F::GroupName => self.extract_user(f, out),
            F::FdNum
            | F::FdName
            | F::FdType
            | F::FdTypechar
            | F::FdDirectory
            | F::FdFilename
            | F::FdL4proto
            | F::FdSip
            | F::FdCip
            | F::FdSport
            | F::FdCport
            | F::FdIno => self.extract_fd(f, out),
            F::Fd(x) => self.extract_fdx(x, out),
            F::ContainerId | F::ContainerName => self.extract_container(f, out),
            F::Cont(x) => self.extract_contx(x, out),
            F::K8sPodName => self.extract_k8s_pod_name(out),
            F::K8s(x) => self.extract_k8s(x, out),
            F::MesosTaskName => crate::mesos::extract(),
            F::Extra(
                x @ (Extra::IsOpenRead
                | Extra::IsOpenWrite
                | Extra::IsOpenExec
                | Extra::SyscallType
                | Extra::TypeIs(_)),
            ) => self.extract_evt_extra(x, out),
            F::Extra(Extra::UserLoginname) => self.extract_loginname(out),
            F::Extra(x) => self.extract_proc_extra(x, out),
            F::FsPath(x) => self.extract_fspath(x, out),
        }
    }
}

impl<'a> Ctx<'a, '_> {
    /// The text of `f` borrowed from the tables, without a copy, for the
    /// fields whose text is a string the state holds as it is
    /// (`proc.name`, and `fd.name` of an fd in the table): `Some(Some(t))`
    /// is what [`Ctx::extract`] would append, `Some(None)` means the
    /// field has no value for the event. `None`: not such a field here,
    /// use [`Ctx::extract_value`].
    #[inline(always)]
    pub fn borrowed_text(&self, f: &Field) -> Option<Option<&'a [u8]>> {
        match f {
            Field::ProcName => Some(self.thread().map(|t| t.comm.as_slice())),
            Field::FdName => {
                let Some((_, _, fd)) = self.event_fd_entry() else {
                    return Some(None);
                };
                let fd = fd?;
                // a failed connect names its fd after the attempted tuple
                if self.ev.code == sonde_event::codes::SOCKET_CONNECT_X
                    && self.ev.param_i64(0).unwrap_or(0) < 0
                {
                    return None;
                }
                Some(Some(fd.name.as_slice()))
            }
            _ => None,
        }
    }
}

impl Ctx<'_, '_> {
    /// Extracts `f` as a typed value. Strings are written to `buf` and
    /// borrowed from it. Returns None when the field has no value for this
    /// event (the same cases in which [`Ctx::extract`] returns false).
    ///
    /// The fields filters compare as numbers are read by their class
    /// modules straight from the event or the tables (the same values and
    /// the same "no value" cases as their text); the others are their text.
    pub fn extract_value<'b>(&self, f: &Field, buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
        use crate::{fd::FdX, proc::ProcX};
        match f {
            Field::EvtNum
            | Field::EvtCpu
            | Field::EvtRawtime
            | Field::EvtRawres
            | Field::EvtFailed
            | Field::EvtBuflen
            | Field::Extra(Extra::TypeIs(_)) => self.evt_value(f),
            Field::ThreadTid
            | Field::ProcPid
            | Field::ProcPpid
            | Field::Proc(ProcX::Fdusage | ProcX::Cpu(..)) => self.proc_value(f),
            Field::UserUid => self.user_value(),
            Field::FdNum | Field::Fd(FdX::NameChanged | FdX::Dev) => self.fd_value(f),
            Field::FdSport | Field::FdCport => self.port_value(f, buf),
            Field::EvtBuffer => {
                // filters compare the bytes themselves, not their rendering
                // (sysdig's BYTEBUF): `.` in a value is a dot, not any byte
                let i = self.param_index("data")?;
                buf.clear();
                buf.extend_from_slice(self.ev.param(i)?);
                Some(Value::Str(buf))
            }
            _ => {
                buf.clear();
                if !self.extract(f, buf) {
                    return None;
                }
                Some(Value::Str(buf))
            }
        }
    }
}

//! The `evt.*` fields (sysdig's `evt` classes: all events, and syscall
//! events): their names, parsing, extraction and registry rows. Semantics
//! follow libsinsp 0.29.3 (`sinsp_filter_check_event`,
//! `sinsp_filter_check_gen_event`) or, for the newer fields
//! (`evt.is_open_create`, `evt.source`, `evt.is_async`, `evt.asynctype`,
//! `evt.hostname`), current libs. `evt.num`, `evt.cpu`, `evt.dir`,
//! `evt.type` and `evt.info` are extracted inline by [`Ctx::extract`] (the
//! default formats); `evt.info` of a syslog write is in `syslog.rs`.

use std::io::Write;

use sonde_event::{category, codes as c, flags as ef, Direction, RawEvent};
use sonde_output::{info_into, render_param, RenderOpts};
use sonde_state::FdType;

use crate::ctx::{contains, push_bool, write_i, Ctx};
use crate::error::FieldError;
use crate::extra::Extra;
use crate::field::{index_arg, Field};
use crate::memo::Memo;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};
use crate::time::{fmt_local_datetime, fmt_local_time, fmt_secs, TimeFmt};
use crate::value::Value;

/// An `evt.*` field beyond the variants of [`Field`] (and the
/// `syslog.*` fields, parsed and extracted in `syslog.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvtX {
    /// `evt.time.iso8601`.
    TimeIso8601,
    /// `evt.datetime.s`.
    DatetimeS,
    /// `evt.reltime.s`.
    ReltimeS,
    /// `evt.reltime.ns`.
    ReltimeNs,
    /// `evt.latency.s`.
    LatencyS,
    /// `evt.latency.ns`.
    LatencyNs,
    /// Remembers its last text: sysdig repeats it for events without a
    /// thread.
    LatencyHuman(Memo),
    /// `evt.deltatime.s`.
    DeltatimeS,
    /// `evt.deltatime.ns`.
    DeltatimeNs,
    /// `evt.io_dir`.
    IoDir,
    /// `evt.is_wait`.
    IsWait,
    /// `evt.wait_latency`.
    WaitLatency,
    /// `evt.is_syslog`.
    IsSyslog,
    /// `evt.count`.
    Count,
    /// `evt.count.error`.
    CountError,
    /// `evt.count.error.file`.
    CountErrorFile,
    /// `evt.count.error.net`.
    CountErrorNet,
    /// `evt.count.error.memory`.
    CountErrorMemory,
    /// `evt.count.error.other`.
    CountErrorOther,
    /// `evt.count.exit`.
    CountExit,
    /// `evt.abspath` (0), `evt.abspath.src` (1), `evt.abspath.dst` (2).
    Abspath(u8),
    /// `evt.is_open_create`.
    IsOpenCreate,
    /// `evt.source`.
    Source,
    /// `evt.is_async`.
    IsAsync,
    /// `evt.asynctype`.
    Asynctype,
    /// `evt.hostname`.
    Hostname,
    /// `evt.around[T]`: the event's timestamp; filters compare it with
    /// `T` and a window (see [`EvtX::around`]).
    Around(u64),
    /// `syslog.facility.str`.
    SyslogFacilityStr,
    /// `syslog.facility`.
    SyslogFacility,
    /// `syslog.severity.str`.
    SyslogSeverityStr,
    /// `syslog.severity`.
    SyslogSeverity,
    /// `syslog.message`.
    SyslogMessage,
}

/// Parses an `evt.*` field (`base`: `name` without its `[arg]`).
pub(crate) fn parse(
    name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    if let Some(rest) = base.strip_prefix("evt.arg.") {
        return Some(Ok(Field::EvtArgName(rest.to_string())));
    }
    if let Some(rest) = base.strip_prefix("evt.rawarg.") {
        return Some(Ok(Field::EvtRawargName(rest.to_string())));
    }
    if let Some(t) = base.strip_prefix("evt.type.is.") {
        return Some(Ok(Field::Extra(Extra::TypeIs(t.to_string()))));
    }
    Some(Ok(match base {
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
        "evt.arg" => Field::EvtArgIdx(match index_arg(name, arg) {
            Ok(i) => i,
            Err(e) => return Some(Err(e)),
        }),
        "evt.res" => Field::EvtRes,
        "evt.rawres" => Field::EvtRawres,
        "evt.failed" => Field::EvtFailed,
        "evt.category" => Field::EvtCategory,
        "evt.buffer" => Field::EvtBuffer,
        "evt.buflen" => Field::EvtBuflen,
        "evt.is_io" => Field::EvtIsIo,
        "evt.is_io_read" => Field::EvtIsIoRead,
        "evt.is_io_write" => Field::EvtIsIoWrite,
        "evt.is_open_read" => Field::Extra(Extra::IsOpenRead),
        "evt.is_open_write" => Field::Extra(Extra::IsOpenWrite),
        "evt.is_open_exec" => Field::Extra(Extra::IsOpenExec),
        "syscall.type" => Field::Extra(Extra::SyscallType),
        "evt.time.iso8601" => Field::Evt(EvtX::TimeIso8601),
        "evt.datetime.s" => Field::Evt(EvtX::DatetimeS),
        "evt.reltime.s" => Field::Evt(EvtX::ReltimeS),
        "evt.reltime.ns" => Field::Evt(EvtX::ReltimeNs),
        "evt.latency.s" => Field::Evt(EvtX::LatencyS),
        "evt.latency.ns" => Field::Evt(EvtX::LatencyNs),
        "evt.latency.human" => Field::Evt(EvtX::LatencyHuman(Memo::default())),
        "evt.deltatime.s" => Field::Evt(EvtX::DeltatimeS),
        "evt.deltatime.ns" => Field::Evt(EvtX::DeltatimeNs),
        "evt.io_dir" => Field::Evt(EvtX::IoDir),
        "evt.is_wait" => Field::Evt(EvtX::IsWait),
        "evt.wait_latency" => Field::Evt(EvtX::WaitLatency),
        "evt.is_syslog" => Field::Evt(EvtX::IsSyslog),
        "evt.count" => Field::Evt(EvtX::Count),
        "evt.count.error" => Field::Evt(EvtX::CountError),
        "evt.count.error.file" => Field::Evt(EvtX::CountErrorFile),
        "evt.count.error.net" => Field::Evt(EvtX::CountErrorNet),
        "evt.count.error.memory" => Field::Evt(EvtX::CountErrorMemory),
        "evt.count.error.other" => Field::Evt(EvtX::CountErrorOther),
        "evt.count.exit" => Field::Evt(EvtX::CountExit),
        "evt.abspath" => Field::Evt(EvtX::Abspath(0)),
        "evt.abspath.src" => Field::Evt(EvtX::Abspath(1)),
        "evt.abspath.dst" => Field::Evt(EvtX::Abspath(2)),
        "evt.is_open_create" => Field::Evt(EvtX::IsOpenCreate),
        "evt.source" => Field::Evt(EvtX::Source),
        "evt.is_async" => Field::Evt(EvtX::IsAsync),
        "evt.asynctype" => Field::Evt(EvtX::Asynctype),
        "evt.hostname" => Field::Evt(EvtX::Hostname),
        "evt.around" => {
            let Some(a) = arg else {
                return Some(Err(FieldError("evt.around requires a timestamp".into())));
            };
            match a.trim().parse() {
                Ok(t) => Field::Evt(EvtX::Around(t)),
                Err(_) => {
                    return Some(Err(FieldError(format!(
                        "wrong syntax for evt.around: '{a}'"
                    ))))
                }
            }
        }

        _ => return None,
    }))
}

impl EvtX {
    /// `evt.around[T] = D`: whether an event at `ts` lies within `D`
    /// milliseconds of `T`.
    pub fn around(t: u64, ts: u64, delta_ms: u64) -> bool {
        let d = delta_ms.wrapping_mul(1_000_000);
        let (lo, hi) = (ts.wrapping_sub(d), ts.wrapping_add(d));
        t >= lo && t <= hi
    }
}

/// The value of a field that depends on nothing but the event code
/// (`evt.is_io`, `evt.is_io_read`, `evt.is_io_write`, `evt.dir`), as the
/// text extraction gives it; None for every other field and for codes
/// outside the event table. Filters decide such comparisons per code once.
pub fn code_value(f: &Field, code: u16) -> Option<&'static str> {
    use sonde_event::flags::{READS_FROM_FD, WRITES_TO_FD};
    let info = sonde_event::event_info(code)?;
    let fl = info.old_flags;
    let yes = match f {
        Field::EvtIsIo => fl & (READS_FROM_FD | WRITES_TO_FD) != 0,
        Field::EvtIsIoRead => fl & READS_FROM_FD != 0,
        Field::EvtIsIoWrite => fl & WRITES_TO_FD != 0,
        Field::EvtDir => return Some(info.dir.symbol()),
        _ => return None,
    };
    Some(if yes { "true" } else { "false" })
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

/// Whether the event is a meta event (an async event of current libs).
fn is_meta(ev: &sonde_event::RawEvent<'_>) -> bool {
    ev.info()
        .is_some_and(|i| i.category & category::METAEVENT != 0)
}

/// A duration as sysdig's `format_time` writes it: `1.10s`, `12ms`,
/// `3.05ms`, `250us`, `1.50us`, `800ns`, `1:05`, `01:00:00`.
pub(crate) fn format_time(val: u64, out: &mut Vec<u8>) {
    const S: u64 = 1_000_000_000;
    let _ = if val >= 3600 * S {
        write!(
            out,
            "{:02}:{:02}:{:02}",
            (val / (3600 * S)) as u32,
            ((val / (60 * S)) % 60) as u32,
            ((val / S) % 60) as u32
        )
    } else if val >= 60 * S {
        write!(
            out,
            "{}:{}",
            (val / (60 * S)) as u32,
            ((val / S) % 60) as u32
        )
    } else if val >= S {
        write!(
            out,
            "{}.{:02}s",
            (val / S) as u32,
            ((val % S) / 10_000_000) as u32
        )
    } else if val >= S / 100 {
        write!(out, "{}ms", (val / (S / 1000)) as u32)
    } else if val >= S / 1000 {
        write!(
            out,
            "{}.{:02}ms",
            (val / (S / 1000)) as u32,
            ((val % 1_000_000) / 10_000) as u32
        )
    } else if val >= S / 100_000 {
        write!(out, "{}us", (val / (S / 1_000_000)) as u32)
    } else if val >= S / 1_000_000 {
        write!(
            out,
            "{}.{:02}us",
            (val / (S / 1_000_000)) as u32,
            ((val % 1000) / 10) as u32
        )
    } else {
        write!(out, "{}ns", val as u32)
    };
}

/// Open flags of the `evt.is_open_*` fields (`PPM_O_*`).
const PPM_O_RDONLY: u64 = 1;
const PPM_O_WRONLY: u64 = 1 << 1;
const PPM_O_CREAT: u64 = 1 << 2;
const PPM_O_TMPFILE: u64 = 1 << 13;
const EXEC_BITS: u64 = (1 << 6) | (1 << 3) | 1;

impl Ctx<'_, '_> {
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

    /// The `evt.*` fields that are variants of [`Field`] itself (those of
    /// the default formats are extracted in [`Ctx::extract`]).
    pub(crate) fn extract_evt(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match f {
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
            Field::EvtRawargName(n) => return self.rawarg(n, out),
            Field::EvtRes | Field::EvtRawres => {
                let Some(v) = self.rawres() else {
                    return false;
                };
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
                out.extend_from_slice(if self.failed() { b"true" } else { b"false" })
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
            Field::EvtBuflen => match self.buflen() {
                Some(v) => write_i(out, v),
                None => return false,
            },
            Field::EvtIsIo | Field::EvtIsIoRead | Field::EvtIsIoWrite => {
                let v = code_value(f, ev.code).unwrap_or("false");
                out.extend_from_slice(v.as_bytes());
            }
            _ => return false,
        }
        true
    }

    /// `evt.rawarg.NAME`: the raw value, integers in decimal whatever
    /// their format.
    fn rawarg(&self, n: &str, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        let Some(i) = self.param_index(n) else {
            return false;
        };
        let infos = sonde_output::param_infos(ev, self.opts);
        let raw = ev.param(i).unwrap_or_default();
        let signed = infos.get(i).and_then(|p| p.ptype.int_sign());
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
        true
    }

    /// sysdig's error count: 1 for a failed call (by `res`, or by `fd` for
    /// exits that create an fd), else no value.
    fn error_count(&self, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        if let Some(i) = self.param_index("res") {
            if ev.param_i64(i).unwrap_or(0) < 0 {
                out.push(b'1');
                return true;
            }
            return false;
        }
        let exit = ev.info().is_some_and(|i| i.dir == Direction::Exit);
        if exit && self.ev_flags() & ef::CREATES_FD != 0 {
            if let Some(i) = self.param_index("fd") {
                if ev.param_i64(i).unwrap_or(0) < 0 {
                    out.push(b'1');
                    return true;
                }
            }
        }
        false
    }

    fn old_category(&self) -> u32 {
        self.ev.info().map_or(0, |i| {
            if self.opts.compat_029 {
                i.old_category
            } else {
                i.category & !(category::SYSCALL | category::METAEVENT)
            }
        })
    }

    /// Appends the value of an [`EvtX`] field; false when it has none.
    pub(crate) fn extract_evtx(&self, x: &EvtX, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match x {
            EvtX::TimeIso8601
            | EvtX::DatetimeS
            | EvtX::ReltimeS
            | EvtX::ReltimeNs
            | EvtX::LatencyS
            | EvtX::LatencyNs
            | EvtX::LatencyHuman(_)
            | EvtX::DeltatimeS
            | EvtX::DeltatimeNs => return self.evt_time(x, out),
            EvtX::Count
            | EvtX::CountError
            | EvtX::CountErrorFile
            | EvtX::CountErrorNet
            | EvtX::CountErrorMemory
            | EvtX::CountErrorOther
            | EvtX::CountExit => return self.evt_count(x, out),
            EvtX::SyslogFacilityStr
            | EvtX::SyslogFacility
            | EvtX::SyslogSeverityStr
            | EvtX::SyslogSeverity
            | EvtX::SyslogMessage => return self.extract_syslog(x, out),
            EvtX::IoDir => {
                let fl = self.ev_flags();
                if fl & ef::WRITES_TO_FD != 0 {
                    out.extend_from_slice(b"write");
                } else if fl & ef::READS_FROM_FD != 0 {
                    out.extend_from_slice(b"read");
                } else {
                    return false;
                }
            }
            EvtX::IsWait => push_bool(out, self.ev_flags() & ef::WAITS != 0),
            EvtX::WaitLatency => {
                let exit = ev.info().is_some_and(|i| i.dir == Direction::Exit);
                if self.ev_flags() & ef::WAITS == 0 || !exit {
                    return false;
                }
                let _ = write!(out, "{}", self.latency().unwrap_or(0));
            }
            EvtX::IsSyslog => {
                let v = self.ev_flags() & ef::WRITES_TO_FD != 0
                    && self
                        .event_fd()
                        .is_some_and(|f| contains(&f.name, b"/dev/log"));
                push_bool(out, v);
            }
            EvtX::Abspath(which) => return self.abspath(*which, out),
            EvtX::IsOpenCreate => {
                const PPM_O_TMPFILE: u64 = 1 << 13;
                const PPM_O_F_CREATED: u64 = 1 << 14;
                let flags_i = match ev.code {
                    c::SYSCALL_OPEN_X | c::SYSCALL_OPEN_BY_HANDLE_AT_X => Some(2),
                    c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => Some(3),
                    _ => None,
                };
                let v = flags_i.is_some_and(|i| {
                    let fl = ev.param_u64(i).unwrap_or(0);
                    fl & PPM_O_F_CREATED != 0
                        || (fl & PPM_O_TMPFILE != 0 && ev.param_i64(0).unwrap_or(-1) >= 0)
                });
                push_bool(out, v);
            }
            EvtX::Source => out.extend_from_slice(b"syscall"),
            EvtX::IsAsync => push_bool(out, is_meta(ev)),
            EvtX::Asynctype => {
                if !is_meta(ev) {
                    return false;
                }
                match ev.info() {
                    Some(i) if ev.code == c::ASYNCEVENT_E => {
                        let _ = i;
                        out.extend_from_slice(ev.param_str(1).unwrap_or_default())
                    }
                    Some(i) => out.extend_from_slice(i.name.as_bytes()),
                    None => return false,
                }
            }
            EvtX::Hostname => match &self.st.machine {
                Some(m) => out.extend_from_slice(m.hostname.as_bytes()),
                None => return false,
            },
            EvtX::Around(_) => {
                let _ = write!(out, "{}", ev.ts);
            }
        }
        true
    }

    /// The time and latency fields of [`EvtX`].
    fn evt_time(&self, x: &EvtX, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        let internal = || {
            ev.info()
                .is_some_and(|i| i.old_category & category::INTERNAL != 0)
        };
        match x {
            EvtX::TimeIso8601 => {
                let secs = (ev.ts / 1_000_000_000) as libc::time_t;
                // SAFETY: gmtime_r writes into the tm we own.
                let mut tm: libc::tm = unsafe { std::mem::zeroed() };
                unsafe { libc::gmtime_r(&secs, &mut tm) };
                let _ = write!(
                    out,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}+0000",
                    tm.tm_year + 1900,
                    tm.tm_mon + 1,
                    tm.tm_mday,
                    tm.tm_hour,
                    tm.tm_min,
                    tm.tm_sec,
                    ev.ts % 1_000_000_000
                );
            }
            EvtX::DatetimeS => {
                let start = out.len();
                crate::time::fmt_local_datetime(ev.ts, out);
                // drop the nanoseconds
                out.truncate(start + 19);
            }
            EvtX::ReltimeS => {
                let _ = write!(out, "{}", ev.ts.wrapping_sub(self.first_ts) / 1_000_000_000);
            }
            EvtX::ReltimeNs => {
                let _ = write!(
                    out,
                    "{:09}",
                    ev.ts.wrapping_sub(self.first_ts) % 1_000_000_000
                );
            }
            EvtX::LatencyS | EvtX::LatencyNs => {
                let lat = match self.latency() {
                    Some(_) if internal() => return false,
                    Some(l) => l,
                    None => 0,
                };
                if matches!(x, EvtX::LatencyS) {
                    let _ = write!(out, "{}", lat / 1_000_000_000);
                } else {
                    let _ = write!(out, "{:09}", lat % 1_000_000_000);
                }
            }
            EvtX::LatencyHuman(memo) => {
                let mut m = memo.0.borrow_mut();
                match self.latency() {
                    Some(_) if internal() => return false,
                    Some(l) => {
                        m.text.clear();
                        format_time(l, &mut m.text);
                    }
                    // no thread: sysdig repeats its last text
                    None => {}
                }
                out.extend_from_slice(&m.text);
            }
            EvtX::DeltatimeS | EvtX::DeltatimeNs => {
                let d = if self.prev_ts == 0 {
                    0
                } else {
                    ev.ts.wrapping_sub(self.prev_ts)
                };
                if matches!(x, EvtX::DeltatimeS) {
                    let _ = write!(out, "{}", d / 1_000_000_000);
                } else {
                    let _ = write!(out, "{:09}", d % 1_000_000_000);
                }
            }
            _ => return false,
        }
        true
    }

    /// The `evt.count*` fields.
    fn evt_count(&self, x: &EvtX, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        match x {
            EvtX::Count => out.push(b'1'),
            EvtX::CountError => return self.error_count(out),
            EvtX::CountErrorFile | EvtX::CountErrorNet | EvtX::CountErrorOther => {
                let (file, net) = match self.event_fd() {
                    Some(f) => (
                        matches!(f.kind, FdType::File | FdType::Directory),
                        matches!(
                            f.kind,
                            FdType::Ipv4Sock
                                | FdType::Ipv6Sock
                                | FdType::Ipv4ServSock
                                | FdType::Ipv6ServSock
                                | FdType::UnixSock
                        ),
                    ),
                    None => (
                        matches!(
                            ev.code,
                            c::SYSCALL_OPEN_X
                                | c::SYSCALL_CREAT_X
                                | c::SYSCALL_OPENAT_X
                                | c::SYSCALL_OPENAT_2_X
                                | c::SYSCALL_OPENAT2_X
                        ),
                        matches!(
                            ev.code,
                            c::SOCKET_ACCEPT_X
                                | c::SOCKET_ACCEPT_5_X
                                | c::SOCKET_ACCEPT4_X
                                | c::SOCKET_ACCEPT4_5_X
                                | c::SOCKET_CONNECT_X
                        ),
                    ),
                };
                let memory = self.event_fd().is_none() && self.old_category() == category::MEMORY;
                let yes = match x {
                    EvtX::CountErrorFile => file,
                    EvtX::CountErrorNet => net,
                    _ => !file && !net && !memory,
                };
                if !yes {
                    return false;
                }
                return self.error_count(out);
            }
            EvtX::CountErrorMemory => {
                if self.old_category() != category::MEMORY {
                    return false;
                }
                return self.error_count(out);
            }
            EvtX::CountExit => {
                if !ev.info().is_some_and(|i| i.dir == Direction::Exit) {
                    return false;
                }
                out.push(b'1');
            }
            _ => return false,
        }
        true
    }

    /// `evt.abspath`: the directory fd and path arguments of the *at
    /// calls joined into an absolute path.
    fn abspath(&self, which: u8, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        let Some(t) = self.thread() else { return false };
        let (dirarg, patharg) = match ev.code {
            c::SYSCALL_RENAMEAT_X | c::SYSCALL_RENAMEAT2_X => match which {
                0 | 1 => ("olddirfd", "oldpath"),
                _ => ("newdirfd", "newpath"),
            },
            c::SYSCALL_SYMLINKAT_X => ("linkdirfd", "linkpath"),
            c::SYSCALL_OPENAT_E | c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => ("dirfd", "name"),
            c::SYSCALL_LINKAT_E | c::SYSCALL_LINKAT_2_X => match which {
                0 | 1 => ("olddir", "oldpath"),
                _ => ("newdir", "newpath"),
            },
            c::SYSCALL_UNLINKAT_E | c::SYSCALL_UNLINKAT_2_X => ("dirfd", "name"),
            c::SYSCALL_MKDIRAT_X => ("dirfd", "path"),
            c::SYSCALL_FCHMODAT_X => ("dirfd", "filename"),
            _ => return false,
        };
        let (Some(di), Some(pi)) = (self.param_index(dirarg), self.param_index(patharg)) else {
            return false;
        };
        let dirfd = ev.param_i64(di).unwrap_or(0);
        let path = sonde_event::cstr(ev.param(pi).unwrap_or_default());
        let dir: Vec<u8> = if path.first() == Some(&b'/') {
            b".".to_vec()
        } else if dirfd == -100 {
            let _ = t;
            self.st.cwd(ev.tid).to_vec()
        } else {
            match self.st.fd(ev.tid, dirfd) {
                Some(f) => {
                    let mut d = f.name.clone();
                    d.push(b'/');
                    d
                }
                None => b"<UNKNOWN>/".to_vec(),
            }
        };
        out.extend_from_slice(&crate::fspath::concatenate(&dir, path));
        true
    }

    /// The typed value of `evt.num`, `evt.cpu`, `evt.rawtime` and
    /// `evt.type.is.NAME` (see [`Ctx::extract_value`]).
    #[inline]
    pub(crate) fn evt_value(&self, f: &Field) -> Option<Value<'static>> {
        match f {
            Field::EvtNum => Some(Value::Uint(self.num)),
            Field::EvtCpu => Some(Value::Int(self.ev.cpu as i64)),
            Field::EvtRawtime => Some(Value::Uint(self.ev.ts)),
            Field::Extra(Extra::TypeIs(name)) => Some(Value::Uint(self.type_is(name))),
            Field::EvtFailed => Some(Value::Bool(self.failed())),
            Field::EvtRawres => self.rawres().map(Value::Int),
            Field::EvtBuflen => self.buflen().map(|v| Value::Uint(v as u64)),
            _ => None,
        }
    }

    /// `evt.buflen`: the result of a successful I/O exit on a known fd.
    pub fn buflen(&self) -> Option<i64> {
        let info = self.ev.info()?;
        if info.old_category & category::IO_BASE == 0
            || info.dir != sonde_event::Direction::Exit
            || self.event_fd().is_none()
        {
            return None;
        }
        self.ev.param_i64(0).filter(|&v| v >= 0)
    }

    /// `evt.failed`: the result is an error (events without a result
    /// have not failed: [`has_result`] is false for their code).
    #[inline]
    pub fn failed(&self) -> bool {
        self.rawres().is_some_and(|v| v < 0)
    }

    /// The result parameter as a number (0 when it is empty); None for
    /// events without one.
    #[inline]
    fn rawres(&self) -> Option<i64> {
        let i = self.res_index()?;
        Some(self.ev.param_i64(i).unwrap_or(0))
    }

    /// `evt.type.is.NAME` as a number.
    pub(crate) fn type_is(&self, name: &str) -> u64 {
        let ev = self.ev;
        (ev.info().is_some() && event_name(ev, self.opts) == name) as u64
    }

    /// The `evt.*` fields of [`Extra`]: `evt.is_open_read/write/exec`,
    /// `syscall.type`, `evt.type.is.X`.
    pub(crate) fn extract_evt_extra(&self, x: &Extra, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
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
                push_bool(out, v);
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
                out.extend_from_slice(event_name(ev, self.opts).as_bytes());
            }
            // sysdig 0.29.3 prints no value for it (an unsigned number
            // without a print format); filters get the number
            Extra::TypeIs(_) => return false,
            _ => return false,
        }
        true
    }
}

/// The `evt` class of `sysdig -l` (all events).
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "evt", shortdesc: "All event types", desc: "These fields can be used for all event types" };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "evt.num", class: class::EVT, ty: T::Uint64, flags: 0, desc: "event number." },
    FieldInfo { name: "evt.time", class: class::EVT, ty: T::Charbuf, flags: JSON_TS, desc: "event timestamp as a time string that includes the nanosecond part." },
    FieldInfo { name: "evt.time.s", class: class::EVT, ty: T::Charbuf, flags: JSON_TS, desc: "event timestamp as a time string with no nanoseconds." },
    FieldInfo { name: "evt.time.iso8601", class: class::EVT, ty: T::Charbuf, flags: JSON_TS, desc: "event timestamp in ISO 8601 format, including nanoseconds and time zone offset (in UTC)." },
    FieldInfo { name: "evt.datetime", class: class::EVT, ty: T::Charbuf, flags: JSON_TS, desc: "event timestamp as a time string that includes the date." },
    FieldInfo { name: "evt.datetime.s", class: class::EVT, ty: T::Charbuf, flags: JSON_TS, desc: "event timestamp as a datetime string with no nanoseconds." },
    FieldInfo { name: "evt.rawtime", class: class::EVT, ty: T::AbsTime, flags: 0, desc: "absolute event timestamp, i.e. nanoseconds from epoch." },
    FieldInfo { name: "evt.rawtime.s", class: class::EVT, ty: T::AbsTime, flags: 0, desc: "integer part of the event timestamp (e.g. seconds since epoch)." },
    FieldInfo { name: "evt.rawtime.ns", class: class::EVT, ty: T::AbsTime, flags: 0, desc: "fractional part of the absolute event timestamp." },
    FieldInfo { name: "evt.reltime", class: class::EVT, ty: T::RelTime, flags: 0, desc: "number of nanoseconds from the beginning of the capture." },
    FieldInfo { name: "evt.reltime.s", class: class::EVT, ty: T::RelTime, flags: 0, desc: "number of seconds from the beginning of the capture." },
    FieldInfo { name: "evt.reltime.ns", class: class::EVT, ty: T::RelTime, flags: 0, desc: "fractional part (in ns) of the time from the beginning of the capture." },
    FieldInfo { name: "evt.pluginname", class: class::EVT, ty: T::Charbuf, flags: 0, desc: "if the event comes from a plugin, the name of the plugin that generated it. The plugin must be currently loaded." },
    FieldInfo { name: "evt.plugininfo", class: class::EVT, ty: T::Charbuf, flags: 0, desc: "if the event comes from a plugin, a summary of the event as formatted by the plugin. The plugin must be currently loaded." },
];

/// The `evt` class of `sysdig -l` (syscall events).
#[rustfmt::skip]
pub(crate) const SYSCALL_CLASS: FieldClass = FieldClass { name: "evt", shortdesc: "Syscall events only", desc: "Event fields applicable to syscall events. Note that for most events you can access the individual arguments/parameters of each syscall via evt.arg, e.g. evt.arg.filename." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const SYSCALL_ROWS: &[FieldInfo] = &[
    FieldInfo { name: "evt.latency", class: class::EVT_SYSCALL, ty: T::RelTime, flags: 0, desc: "delta between an exit event and the correspondent enter event, in nanoseconds." },
    FieldInfo { name: "evt.latency.s", class: class::EVT_SYSCALL, ty: T::RelTime, flags: 0, desc: "integer part of the event latency delta." },
    FieldInfo { name: "evt.latency.ns", class: class::EVT_SYSCALL, ty: T::RelTime, flags: 0, desc: "fractional part of the event latency delta." },
    FieldInfo { name: "evt.latency.human", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "delta between an exit event and the correspondent enter event, as a human readable string (e.g. 10.3ms)." },
    FieldInfo { name: "evt.deltatime", class: class::EVT_SYSCALL, ty: T::RelTime, flags: JSON_ZERO, desc: "delta between this event and the previous event, in nanoseconds." },
    FieldInfo { name: "evt.deltatime.s", class: class::EVT_SYSCALL, ty: T::RelTime, flags: JSON_ZERO, desc: "integer part of the delta between this event and the previous event." },
    FieldInfo { name: "evt.deltatime.ns", class: class::EVT_SYSCALL, ty: T::RelTime, flags: JSON_ZERO, desc: "fractional part of the delta between this event and the previous event." },
    FieldInfo { name: "evt.dir", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "event direction can be either '>' for enter events or '<' for exit events." },
    FieldInfo { name: "evt.type", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "The name of the event (e.g. 'open')." },
    FieldInfo { name: "evt.type.is", class: class::EVT_SYSCALL, ty: T::Uint32, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "allows one to specify an event type, and returns 1 for events that are of that type. For example, evt.type.is.open returns 1 for open events, 0 for any other event." },
    FieldInfo { name: "syscall.type", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "For system call events, the name of the system call (e.g. 'open'). Unset for other events (e.g. switch or internal events). Use this field instead of evt.type if you need to make sure that the filtered/printed value is actually a system call." },
    FieldInfo { name: "evt.category", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "The event category. Example values are 'file' (for file operations like open and close), 'net' (for network operations like socket and bind), memory (for things like brk or mmap), and so on." },
    FieldInfo { name: "evt.cpu", class: class::EVT_SYSCALL, ty: T::Int16, flags: 0, desc: "number of the CPU where this event happened." },
    FieldInfo { name: "evt.args", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "all the event arguments, aggregated into a single string." },
    FieldInfo { name: "evt.arg", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "one of the event arguments specified by name or by number. Some events (e.g. return codes or FDs) will be converted into a text representation when possible. E.g. 'evt.arg.fd' or 'evt.arg[0]'." },
    FieldInfo { name: "evt.rawarg", class: class::EVT_SYSCALL, ty: T::Dynamic, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "one of the event arguments specified by name. E.g. 'evt.rawarg.fd'." },
    FieldInfo { name: "evt.info", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "for most events, this field returns the same value as evt.args. However, for some events (like writes to /dev/log) it provides higher level information coming from decoding the arguments." },
    FieldInfo { name: "evt.buffer", class: class::EVT_SYSCALL, ty: T::Bytebuf, flags: 0, desc: "the binary data buffer for events that have one, like read(), recvfrom(), etc. Use this field in filters with 'contains' to search into I/O data buffers." },
    FieldInfo { name: "evt.buflen", class: class::EVT_SYSCALL, ty: T::Uint64, flags: 0, desc: "the length of the binary data buffer for events that have one, like read(), recvfrom(), etc." },
    FieldInfo { name: "evt.res", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "event return value, as a string. If the event failed, the result is an error code string (e.g. 'ENOENT'), otherwise the result is the string 'SUCCESS'." },
    FieldInfo { name: "evt.rawres", class: class::EVT_SYSCALL, ty: T::Int64, flags: 0, desc: "event return value, as a number (e.g. -2). Useful for range comparisons." },
    FieldInfo { name: "evt.failed", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that returned an error status." },
    FieldInfo { name: "evt.is_io", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that read or write to FDs, like read(), send, recvfrom(), etc." },
    FieldInfo { name: "evt.is_io_read", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that read from FDs, like read(), recv(), recvfrom(), etc." },
    FieldInfo { name: "evt.is_io_write", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that write to FDs, like write(), send(), etc." },
    FieldInfo { name: "evt.io_dir", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: 0, desc: "'r' for events that read from FDs, like read(); 'w' for events that write to FDs, like write()." },
    FieldInfo { name: "evt.is_wait", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that make the thread wait, e.g. sleep(), select(), poll()." },
    FieldInfo { name: "evt.wait_latency", class: class::EVT_SYSCALL, ty: T::RelTime, flags: 0, desc: "for events that make the thread wait (e.g. sleep(), select(), poll()), this is the time spent waiting for the event to return, in nanoseconds." },
    FieldInfo { name: "evt.is_syslog", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for events that are writes to /dev/log." },
    FieldInfo { name: "evt.count", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field always returns 1 and can be used to count events from inside chisels." },
    FieldInfo { name: "evt.count.error", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for events that returned with an error, and can be used to count event failures from inside chisels." },
    FieldInfo { name: "evt.count.error.file", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for events that returned with an error and are related to file I/O, and can be used to count event failures from inside chisels." },
    FieldInfo { name: "evt.count.error.net", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for events that returned with an error and are related to network I/O, and can be used to count event failures from inside chisels." },
    FieldInfo { name: "evt.count.error.memory", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for events that returned with an error and are related to memory allocation, and can be used to count event failures from inside chisels." },
    FieldInfo { name: "evt.count.error.other", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for events that returned with an error and are related to none of the previous categories, and can be used to count event failures from inside chisels." },
    FieldInfo { name: "evt.count.exit", class: class::EVT_SYSCALL, ty: T::Uint32, flags: 0, desc: "This filter field returns 1 for exit events, and can be used to count single events from inside chisels." },
    FieldInfo { name: "evt.around", class: class::EVT_SYSCALL, ty: T::Uint64, flags: FILTER_ONLY | ARG_KEY | ARG_REQUIRED, desc: "Accepts the event if it's around the specified time interval. The syntax is evt.around[T]=D, where T is the value returned by %evt.rawtime for the event and D is a delta in milliseconds. For example, evt.around[1404996934793590564]=1000 will return the events with timestamp with one second before the timestamp and one second after it, for a total of two seconds of capture." },
    FieldInfo { name: "evt.abspath", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: ARG_DOT, desc: "Absolute path calculated from dirfd and name during syscalls like renameat and symlinkat. Use 'evt.abspath.src' or 'evt.abspath.dst' for syscalls that support multiple paths." },
    FieldInfo { name: "evt.is_open_read", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for open/openat/openat2 events where the path was opened for reading" },
    FieldInfo { name: "evt.is_open_write", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for open/openat/openat2 events where the path was opened for writing" },
    FieldInfo { name: "evt.is_open_exec", class: class::EVT_SYSCALL, ty: T::Bool, flags: 0, desc: "'true' for open/openat/openat2 or creat events where a file is created with execute permissions" },
    FieldInfo { name: "evt.is_open_create", class: class::EVT_SYSCALL, ty: T::Bool, flags: NEWER, desc: "'true' for for open/openat/openat2/open_by_handle_at events where a file is created." },
    FieldInfo { name: "evt.source", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: NEWER, desc: "the name of the source that produced the event." },
    FieldInfo { name: "evt.is_async", class: class::EVT_SYSCALL, ty: T::Bool, flags: NEWER, desc: "'true' for asynchronous events, 'false' otherwise." },
    FieldInfo { name: "evt.asynctype", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: NEWER, desc: "If the event is asynchronous, the type of the event (e.g. 'container')." },
    FieldInfo { name: "evt.hostname", class: class::EVT_SYSCALL, ty: T::Charbuf, flags: NEWER, desc: "The hostname of the underlying host can be customized by setting an environment variable (e.g. FALCO_HOSTNAME for the Falco agent). This is valuable in Kubernetes setups, where the hostname can match the pod name particularly in DaemonSet deployments. To achieve this, assign Kubernetes' spec.nodeName to the environment variable. Notably, spec.nodeName generally includes the cluster name." },
];

/// Whether events of `code` carry a result (`evt.res`, `evt.rawres`,
/// `evt.failed` read it) in sysdig 0.29's parameter lists (`compat`) or
/// the current ones: events of other codes never fail.
pub fn has_result(code: u16, compat: bool) -> bool {
    crate::ctx::res_positions(compat)
        .get(code as usize)
        .is_some_and(crate::ctx::ResAt::any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_sysdig() {
        let f = |v| {
            let mut o = Vec::new();
            format_time(v, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(f(800), "800ns");
        assert_eq!(f(1500), "1.50us");
        assert_eq!(f(250_000), "250us");
        assert_eq!(f(3_050_000), "3.05ms");
        assert_eq!(f(12_000_000), "12ms");
        assert_eq!(f(1_100_000_000), "1.10s");
        assert_eq!(f(65_000_000_000), "1:5");
        assert_eq!(f(3_600_000_000_000), "01:00:00");
    }

    #[test]
    fn around_is_a_window_in_milliseconds() {
        assert!(EvtX::around(1_000_000_000, 1_500_000_000, 1000));
        assert!(!EvtX::around(1_000_000_000, 2_500_000_000, 1000));
        assert!(EvtX::around(5, 5, 0));
    }
}

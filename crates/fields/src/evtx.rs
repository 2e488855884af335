//! The `evt.*` fields beyond the basics in `extract.rs`, and `syslog.*`.
//! Semantics follow libsinsp 0.29.3 (`sinsp_filter_check_event`,
//! `sinsp_filter_check_gen_event`, the syslog decoder) or, for the newer
//! fields (`evt.is_open_create`, `evt.source`, `evt.is_async`,
//! `evt.asynctype`, `evt.hostname`), current libs.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use sonde_event::{category, codes as c, flags as ef, Direction};
use sonde_state::FdType;

use crate::extract::{Ctx, FieldError};
use crate::memo::Memo;

/// A field of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvtX {
    TimeIso8601,
    DatetimeS,
    ReltimeS,
    ReltimeNs,
    LatencyS,
    LatencyNs,
    /// Remembers its last text: sysdig repeats it for events without a
    /// thread.
    LatencyHuman(Memo),
    DeltatimeS,
    DeltatimeNs,
    IoDir,
    IsWait,
    WaitLatency,
    IsSyslog,
    Count,
    CountError,
    CountErrorFile,
    CountErrorNet,
    CountErrorMemory,
    CountErrorOther,
    CountExit,
    /// `evt.abspath` (0), `evt.abspath.src` (1), `evt.abspath.dst` (2).
    Abspath(u8),
    IsOpenCreate,
    Source,
    IsAsync,
    Asynctype,
    Hostname,
    /// `evt.around[T]`: the event's timestamp; filters compare it with
    /// `T` and a window (see [`EvtX::around`]).
    Around(u64),
    SyslogFacilityStr,
    SyslogFacility,
    SyslogSeverityStr,
    SyslogSeverity,
    SyslogMessage,
}

/// Whether writes to `/dev/log` are decoded (and shown decoded in
/// `evt.info`). sysdig always decodes them; libsinsp alone does when a
/// `syslog.*` field is in use.
static SYSLOG_DECODER: AtomicBool = AtomicBool::new(true);

/// Whether writes to `/dev/log` are decoded.
pub fn syslog_decoding() -> bool {
    SYSLOG_DECODER.load(Ordering::Relaxed)
}

/// Turns the decoding of writes to `/dev/log` on or off.
pub fn set_syslog_decoding(on: bool) {
    SYSLOG_DECODER.store(on, Ordering::Relaxed);
}

/// Parses a field of this module (`base` without its `[arg]`).
pub(crate) fn parse(base: &str, arg: Option<&str>) -> Option<Result<EvtX, FieldError>> {
    let x = match base {
        "evt.time.iso8601" => EvtX::TimeIso8601,
        "evt.datetime.s" => EvtX::DatetimeS,
        "evt.reltime.s" => EvtX::ReltimeS,
        "evt.reltime.ns" => EvtX::ReltimeNs,
        "evt.latency.s" => EvtX::LatencyS,
        "evt.latency.ns" => EvtX::LatencyNs,
        "evt.latency.human" => EvtX::LatencyHuman(Memo::default()),
        "evt.deltatime.s" => EvtX::DeltatimeS,
        "evt.deltatime.ns" => EvtX::DeltatimeNs,
        "evt.io_dir" => EvtX::IoDir,
        "evt.is_wait" => EvtX::IsWait,
        "evt.wait_latency" => EvtX::WaitLatency,
        "evt.is_syslog" => EvtX::IsSyslog,
        "evt.count" => EvtX::Count,
        "evt.count.error" => EvtX::CountError,
        "evt.count.error.file" => EvtX::CountErrorFile,
        "evt.count.error.net" => EvtX::CountErrorNet,
        "evt.count.error.memory" => EvtX::CountErrorMemory,
        "evt.count.error.other" => EvtX::CountErrorOther,
        "evt.count.exit" => EvtX::CountExit,
        "evt.abspath" => EvtX::Abspath(0),
        "evt.abspath.src" => EvtX::Abspath(1),
        "evt.abspath.dst" => EvtX::Abspath(2),
        "evt.is_open_create" => EvtX::IsOpenCreate,
        "evt.source" => EvtX::Source,
        "evt.is_async" => EvtX::IsAsync,
        "evt.asynctype" => EvtX::Asynctype,
        "evt.hostname" => EvtX::Hostname,
        "evt.around" => {
            let Some(a) = arg else {
                return Some(Err(FieldError("evt.around requires a timestamp".into())));
            };
            match a.trim().parse() {
                Ok(t) => EvtX::Around(t),
                Err(_) => {
                    return Some(Err(FieldError(format!(
                        "wrong syntax for evt.around: '{a}'"
                    ))))
                }
            }
        }
        "syslog.facility.str" => EvtX::SyslogFacilityStr,
        "syslog.facility" => EvtX::SyslogFacility,
        "syslog.severity.str" => EvtX::SyslogSeverityStr,
        "syslog.severity" => EvtX::SyslogSeverity,
        "syslog.message" => EvtX::SyslogMessage,
        _ => return None,
    };
    Some(Ok(x))
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

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
];
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "clock", "authpriv",
    "ftp", "ntp", "logaudit", "logalert", "cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// A decoded syslog message.
pub(crate) struct Syslog<'e> {
    pub priority: i32,
    pub msg: &'e [u8],
}

impl Syslog<'_> {
    fn severity(&self) -> u32 {
        (self.priority & 7) as u32
    }

    fn facility(&self) -> u32 {
        (self.priority >> 3) as u32
    }

    fn severity_str(&self) -> &'static str {
        SEVERITIES
            .get(self.severity() as usize)
            .copied()
            .unwrap_or("<NA>")
    }

    fn facility_str(&self) -> &'static str {
        FACILITIES
            .get(self.facility() as usize)
            .copied()
            .unwrap_or("<NA>")
    }
}

/// Decodes a syslog message the way sysdig's decoder does: the priority
/// is the digits after the first byte up to `>` (at most 15), the message
/// what follows the `>`.
fn decode_syslog(data: &[u8]) -> Option<Syslog<'_>> {
    let mut j = 0;
    while 1 + j < data.len() && j < 15 {
        let ch = data[1 + j];
        if ch == b'>' || ch == 0 {
            break;
        }
        j += 1;
    }
    if j == 0 || data.len() < j + 2 {
        return None;
    }
    let mut pri: i32 = 0;
    for &ch in &data[1..1 + j] {
        if !ch.is_ascii_digit() {
            return None;
        }
        pri = pri.wrapping_mul(10).wrapping_add((ch - b'0') as i32);
    }
    Some(Syslog {
        priority: pri,
        msg: &data[j + 2..],
    })
}

impl<'e> Ctx<'_, 'e> {
    /// The flags of the event as the table in use has them.
    #[inline]
    pub(crate) fn ev_flags(&self) -> u32 {
        match self.ev.info() {
            Some(i) if self.opts.compat_029 => i.old_flags,
            Some(i) => i.flags,
            None => 0,
        }
    }

    /// The syslog message this event writes, when sonde decodes syslog: a
    /// successful write to an fd whose name holds `/dev/log`.
    pub(crate) fn syslog(&self) -> Option<Syslog<'e>> {
        if !syslog_decoding() {
            return None;
        }
        let ev = self.ev;
        let info = ev.info()?;
        if info.dir != Direction::Exit || self.ev_flags() & ef::WRITES_TO_FD == 0 {
            return None;
        }
        if !sonde_state::is_rw_exit(ev.code) || ev.param_i64(0).unwrap_or(-1) < 0 {
            return None;
        }
        let f = self.event_fd()?;
        if !contains(&f.name, b"/dev/log") {
            return None;
        }
        decode_syslog(ev.param(1)?)
    }

    /// `evt.info` of a decoded syslog write.
    #[inline]
    pub(crate) fn syslog_info(&self, out: &mut Vec<u8>) -> bool {
        // (most events write to no fd: no need to look further)
        self.ev_flags() & ef::WRITES_TO_FD != 0 && self.write_syslog_info(out)
    }

    fn write_syslog_info(&self, out: &mut Vec<u8>) -> bool {
        match self.syslog() {
            Some(s) => {
                out.extend_from_slice(b"syslog sev=");
                out.extend_from_slice(s.severity_str().as_bytes());
                out.extend_from_slice(b" msg=");
                out.extend_from_slice(s.msg);
                true
            }
            None => false,
        }
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
        let b =
            |out: &mut Vec<u8>, v: bool| out.extend_from_slice(if v { b"true" } else { b"false" });
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
            EvtX::IsWait => b(out, self.ev_flags() & ef::WAITS != 0),
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
                b(out, v);
            }
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
                b(out, v);
            }
            EvtX::Source => out.extend_from_slice(b"syscall"),
            EvtX::IsAsync => b(out, is_meta(ev)),
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
            EvtX::SyslogFacilityStr
            | EvtX::SyslogFacility
            | EvtX::SyslogSeverityStr
            | EvtX::SyslogSeverity
            | EvtX::SyslogMessage => {
                let Some(s) = self.syslog() else { return false };
                match x {
                    EvtX::SyslogFacilityStr => out.extend_from_slice(s.facility_str().as_bytes()),
                    EvtX::SyslogFacility => {
                        let _ = write!(out, "{}", s.facility());
                    }
                    EvtX::SyslogSeverityStr => out.extend_from_slice(s.severity_str().as_bytes()),
                    EvtX::SyslogSeverity => {
                        let _ = write!(out, "{}", s.severity());
                    }
                    _ => out.extend_from_slice(s.msg),
                }
            }
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
}

fn is_meta(ev: &sonde_event::RawEvent<'_>) -> bool {
    ev.info()
        .is_some_and(|i| i.category & category::METAEVENT != 0)
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_messages_decode_like_sysdig() {
        let s = decode_syslog(b"<34>Oct 11 22:14:15 mymachine su: failed").unwrap();
        assert_eq!(
            (s.priority, s.severity_str(), s.facility_str()),
            (34, "crit", "auth")
        );
        assert_eq!(s.msg, b"Oct 11 22:14:15 mymachine su: failed");
        let s = decode_syslog(b"<191>raw").unwrap();
        assert_eq!(
            (s.severity(), s.facility(), s.facility_str()),
            (7, 23, "local7")
        );
        // the first byte is not checked
        assert_eq!(decode_syslog(b"x13>m").unwrap().priority, 13);
        assert!(decode_syslog(b"no priority here").is_none());
        assert!(decode_syslog(b"<13").is_none());
        assert!(decode_syslog(b"<>x").is_none());
        let s = decode_syslog(b"<999>x").unwrap();
        assert_eq!((s.severity_str(), s.facility_str()), ("debug", "<NA>"));
    }

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

//! The `syslog.*` fields: messages written to `/dev/log`, decoded the
//! way sysdig's syslog decoder does (libsinsp 0.29.3), which also gives
//! such writes their `evt.info` text. Names, parsing, decoding,
//! extraction and registry rows.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use sonde_event::{flags as ef, Direction};

use crate::ctx::{contains, Ctx};
use crate::error::FieldError;
use crate::evt::EvtX;
use crate::field::Field;
use crate::row::{class, FieldClass, FieldInfo, FieldType as T};

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

/// Parses a `syslog.*` field.
pub(crate) fn parse(
    _name: &str,
    base: &str,
    _arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    Some(Ok(Field::Evt(match base {
        "syslog.facility.str" => EvtX::SyslogFacilityStr,
        "syslog.facility" => EvtX::SyslogFacility,
        "syslog.severity.str" => EvtX::SyslogSeverityStr,
        "syslog.severity" => EvtX::SyslogSeverity,
        "syslog.message" => EvtX::SyslogMessage,
        _ => return None,
    })))
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
    /// The syslog message this event writes, when sonde decodes syslog: a
    /// successful write to an fd whose name holds `/dev/log`.
    pub(crate) fn syslog(&self) -> Option<Syslog<'e>> {
        if !syslog_decoding() || self.before_parse() {
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

    /// Appends the value of a `syslog.*` field; false when it has none.
    pub(crate) fn extract_syslog(&self, x: &EvtX, out: &mut Vec<u8>) -> bool {
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
        true
    }
}

/// The `syslog` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "syslog", shortdesc: "", desc: "Content of Syslog messages." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "syslog.facility.str", class: class::SYSLOG, ty: T::Charbuf, flags: 0, desc: "facility as a string." },
    FieldInfo { name: "syslog.facility", class: class::SYSLOG, ty: T::Uint32, flags: 0, desc: "facility as a number (0-23)." },
    FieldInfo { name: "syslog.severity.str", class: class::SYSLOG, ty: T::Charbuf, flags: 0, desc: "severity as a string. Can have one of these values: emerg, alert, crit, err, warn, notice, info, debug" },
    FieldInfo { name: "syslog.severity", class: class::SYSLOG, ty: T::Uint32, flags: 0, desc: "severity as a number (0-7)." },
    FieldInfo { name: "syslog.message", class: class::SYSLOG, ty: T::Charbuf, flags: 0, desc: "message sent to syslog." },
];

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
}

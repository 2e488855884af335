//! `-j`: one JSON object per event, as sysdig 0.29.3 (jsoncpp) writes it.

use std::io::Write;

use sonde_fields::{ContX, Ctx, EvtX, Extra, FdX, Field, Format, ProcX};

/// How sysdig (jsoncpp) writes a field's value in `-j` output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    /// A string.
    Str,
    /// A number: the extracted decimal text as is.
    Num,
    /// `true`/`false`.
    Bool,
    /// The event timestamp in nanoseconds (time fields whose text is a
    /// formatted date).
    Ts,
    /// Always 0: sysdig evaluates `evt.deltatime` twice per event for
    /// JSON, so the second evaluation measures from the first.
    Zero,
}

fn json_kind(f: &Field) -> JsonKind {
    use JsonKind::*;
    match f {
        Field::EvtOutputtime | Field::EvtTime | Field::EvtTimeS | Field::EvtDatetime => Ts,
        Field::EvtDeltatime => Zero,
        Field::EvtNum
        | Field::EvtCpu
        | Field::EvtRawtime
        | Field::EvtRawtimeS
        | Field::EvtRawtimeNs
        | Field::EvtReltime
        | Field::EvtLatency
        | Field::EvtRawres
        | Field::EvtBuflen
        | Field::ThreadTid
        | Field::ThreadVtid
        | Field::ProcPid
        | Field::ProcPpid
        | Field::ProcVpid
        | Field::ProcSid
        | Field::ProcTty
        | Field::ProcFdlimit
        | Field::ProcApid(_)
        | Field::FdNum
        | Field::FdIno
        | Field::FdSport
        | Field::FdCport
        | Field::UserUid
        | Field::UserLoginuid
        | Field::GroupGid => Num,
        Field::EvtFailed | Field::EvtIsIo | Field::EvtIsIoRead | Field::EvtIsIoWrite => Bool,
        Field::ThreadIsMain => Bool,
        Field::Evt(x) => match x {
            EvtX::TimeIso8601 | EvtX::DatetimeS => Ts,
            // evaluated twice per event, as evt.deltatime
            EvtX::DeltatimeS | EvtX::DeltatimeNs => Zero,
            EvtX::ReltimeS
            | EvtX::ReltimeNs
            | EvtX::LatencyS
            | EvtX::LatencyNs
            | EvtX::WaitLatency
            | EvtX::Count
            | EvtX::CountError
            | EvtX::CountErrorFile
            | EvtX::CountErrorNet
            | EvtX::CountErrorMemory
            | EvtX::CountErrorOther
            | EvtX::CountExit
            | EvtX::Around(_)
            | EvtX::SyslogFacility
            | EvtX::SyslogSeverity => Num,
            EvtX::IsWait | EvtX::IsSyslog | EvtX::IsOpenCreate | EvtX::IsAsync => Bool,
            _ => Str,
        },
        Field::Fd(x) => match x {
            FdX::Lport | FdX::Rport | FdX::DevMajor | FdX::DevMinor => Num,
            FdX::IsServer
            | FdX::Connected
            | FdX::NameChanged
            | FdX::IsUpperLayer
            | FdX::IsLowerLayer => Bool,
            _ => Str,
        },
        Field::Proc(x) => match x {
            ProcX::Cgroups
            | ProcX::Cgroup(_)
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
            | ProcX::PgidExepath
            | ProcX::CapPermitted
            | ProcX::CapInheritable
            | ProcX::CapEffective
            | ProcX::Std(..) => Str,
            ProcX::IsHealthcheck
            | ProcX::IsLivenessProbe
            | ProcX::IsReadinessProbe
            | ProcX::IsExeWritable
            | ProcX::IsExeUpperLayer
            | ProcX::IsExeLowerLayer
            | ProcX::IsExeFromMemfd
            | ProcX::IsSidLeader
            | ProcX::IsVpgidLeader
            | ProcX::IsPgidLeader => Bool,
            _ => Num,
        },
        Field::Cont(ContX::Privileged) => Bool,
        Field::Extra(Extra::IsOpenRead | Extra::IsOpenWrite | Extra::IsOpenExec) => Bool,
        Field::Extra(Extra::ProcDuration) => Num,
        _ => Str,
    }
}

/// Quotes a string like jsoncpp 1.9's writer: the usual short escapes,
/// other control characters and every non-ASCII character as `\uXXXX`
/// (UTF-16, lower-case hex), malformed UTF-8 as U+FFFD.
fn json_escape(s: &[u8], out: &mut Vec<u8>) {
    fn u(out: &mut Vec<u8>, cp: u32) {
        let _ = write!(out, "\\u{cp:04x}");
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7f => out.push(c),
            0..=0x1f => u(out, u32::from(c)),
            _ => {
                let (cp, n) = utf8_codepoint(&s[i..]);
                if cp < 0x10000 {
                    u(out, cp);
                } else {
                    let v = cp - 0x10000;
                    u(out, 0xd800 + (v >> 10));
                    u(out, 0xdc00 + (v & 0x3ff));
                }
                i += n;
                continue;
            }
        }
        i += 1;
    }
}

/// Decodes one UTF-8 sequence the lenient way jsoncpp does; returns the
/// code point (U+FFFD when malformed) and the bytes consumed.
fn utf8_codepoint(s: &[u8]) -> (u32, usize) {
    const BAD: u32 = 0xfffd;
    let b = |i: usize| u32::from(s[i] & 0x3f);
    let first = u32::from(s[0]);
    if first < 0xe0 {
        if s.len() < 2 {
            return (BAD, 1);
        }
        let cp = ((first & 0x1f) << 6) | b(1);
        (if cp < 0x80 { BAD } else { cp }, 2)
    } else if first < 0xf0 {
        if s.len() < 3 {
            return (BAD, 1);
        }
        let cp = ((first & 0x0f) << 12) | (b(1) << 6) | b(2);
        let bad = (0xd800..=0xdfff).contains(&cp) || cp < 0x800;
        (if bad { BAD } else { cp }, 3)
    } else if first < 0xf8 {
        if s.len() < 4 {
            return (BAD, 1);
        }
        let cp = ((first & 0x07) << 18) | (b(1) << 12) | (b(2) << 6) | b(3);
        (if cp < 0x10000 { BAD } else { cp }, 4)
    } else {
        (BAD, 1)
    }
}

/// Renders the format's fields as a JSON object with keys in sorted order.
/// Returns false when a field is missing and the format has no `*`: sysdig
/// skips such events in JSON as in text.
pub(crate) fn json_line(format: &Format, ctx: &Ctx<'_, '_>, out: &mut Vec<u8>) -> bool {
    let mut fields: Vec<(&str, &Field)> = format.fields().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    out.push(b'{');
    let mut val = Vec::new();
    for (i, (name, f)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        val.clear();
        // sysdig asks for each value twice: fields that measure from
        // their previous use measure from the first ask
        if f.is_stateful() {
            ctx.extract(f, &mut val);
            val.clear();
        }
        if !ctx.extract(f, &mut val) {
            if !format.always {
                return false;
            }
            out.extend_from_slice(b"null");
            continue;
        }
        match json_kind(f) {
            JsonKind::Ts => {
                let _ = write!(out, "{}", ctx.ev.ts);
            }
            JsonKind::Zero => out.push(b'0'),
            JsonKind::Num if !val.is_empty() => {
                // numbers printed zero-padded are plain numbers in JSON
                let digits = if val.iter().all(u8::is_ascii_digit) {
                    val.iter().position(|&c| c != b'0').unwrap_or(val.len() - 1)
                } else {
                    0
                };
                out.extend_from_slice(&val[digits..]);
            }
            JsonKind::Bool if val == b"true" || val == b"false" => out.extend_from_slice(&val),
            _ => {
                out.push(b'"');
                json_escape(&val, out);
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
    true
}

//! Typed extraction: a field's value as a number, boolean, address or bytes,
//! for filters that compare by type rather than by rendered text.

use std::net::IpAddr;

use crate::ctx::Ctx;
use crate::field::Field;

/// A field's value for one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'b> {
    /// A signed number.
    Int(i64),
    /// An unsigned number.
    Uint(u64),
    /// A floating-point number.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// An address.
    Ip(IpAddr),
    /// Text or bytes (the field's rendering).
    Str(&'b [u8]),
}

impl<'b> Value<'b> {
    /// The value as a signed number, when it is one (or text that reads as one).
    #[inline]
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Value::Int(v) => Some(v as i128),
            Value::Uint(v) => Some(v as i128),
            Value::Bool(b) => Some(b as i128),
            Value::Double(d) => Some(d as i128),
            Value::Str(s) => parse_int(s),
            Value::Ip(_) => None,
        }
    }
}

/// Parses a decimal or `0x` hexadecimal integer, optionally signed.
pub fn parse_int(s: &[u8]) -> Option<i128> {
    let s = std::str::from_utf8(s).ok()?.trim();
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(h, 16).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
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
        use crate::{extra::Extra, fd::FdX, proc::ProcX};
        match f {
            Field::EvtNum | Field::EvtCpu | Field::EvtRawtime | Field::Extra(Extra::TypeIs(_)) => {
                self.evt_value(f)
            }
            Field::ThreadTid
            | Field::ProcPid
            | Field::ProcPpid
            | Field::Proc(ProcX::Fdusage | ProcX::Cpu(..)) => self.proc_value(f),
            Field::UserUid => self.user_value(),
            Field::FdNum | Field::Fd(FdX::NameChanged) => self.fd_value(f),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_integers() {
        assert_eq!(parse_int(b"42"), Some(42));
        assert_eq!(parse_int(b"-2"), Some(-2));
        assert_eq!(parse_int(b"0x1f"), Some(31));
        assert_eq!(parse_int(b"abc"), None);
        assert_eq!(parse_int(b""), None);
    }
}

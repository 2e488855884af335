//! Typed extraction: a field's value as a number, boolean, address or bytes,
//! for filters that compare by type rather than by rendered text.

use std::net::IpAddr;

use crate::extract::{Ctx, Field};

/// A field's value for one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'b> {
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
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
    pub fn extract_value<'b>(&self, f: &Field, buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
        match f {
            Field::EvtNum => return Some(Value::Uint(self.num)),
            Field::ThreadTid => return Some(Value::Int(self.ev.tid)),
            Field::EvtCpu => return Some(Value::Int(self.ev.cpu as i64)),
            Field::EvtRawtime => return Some(Value::Uint(self.ev.ts)),
            // numbers read straight from the tables (the same values and
            // the same "no value" cases as their text in `extract`)
            Field::ProcPid => return self.thread().map(|t| Value::Int(t.pid)),
            Field::ProcPpid => return self.main_thread().map(|t| Value::Int(t.ptid)),
            Field::UserUid => return self.thread().map(|t| Value::Uint(t.uid as u64)),
            Field::FdNum => return self.fd_num().map(Value::Int),
            Field::Extra(crate::Extra::TypeIs(name)) => {
                return Some(Value::Uint(self.type_is(name)))
            }
            // sysdig notes a name change after it has run its filters: to
            // a filter the name never changed
            Field::Fd(crate::FdX::NameChanged) => {
                let mut tmp = Vec::new();
                return self.extract(f, &mut tmp).then_some(Value::Bool(false));
            }
            Field::Proc(x @ (crate::ProcX::Fdusage | crate::ProcX::Cpu(..))) => {
                return self.procx_double(x).map(Value::Double)
            }
            _ => {}
        }
        buf.clear();
        if !self.extract(f, buf) {
            return None;
        }
        Some(Value::Str(buf))
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

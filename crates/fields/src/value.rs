//! Typed values: a field's value as a number, boolean, address or bytes,
//! for filters that compare by type rather than by rendered text
//! ([`crate::Ctx::extract_value`] in `extract.rs`, the numbers read by
//! the class modules).

use std::net::IpAddr;

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

//! Converting the values of a comparison once, by the type of the field
//! they are compared with: numbers, booleans, addresses and networks,
//! bytes (decoded from hex for `bcontains`), regular expressions.

use std::net::IpAddr;

use sonde_fields::parse_int;
use sonde_fields::registry::FieldType;

use super::err;
use super::node::{Cmp, Net, StrCmp};
use crate::ast::{Lit, Op};
use crate::error::FilterError;

/// Parses `ADDR` or `ADDR/PREFIX`.
fn parse_net(s: &str) -> Option<Net> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max)?,
        None => max,
    };
    Some(Net {
        addr,
        prefix,
        v6_net: false,
    })
}

/// Parses the value of a network field. An IPv6 address without a prefix
/// length is what sysdig 0.29.3 takes as an IPv6 network (matched by its
/// first 64 bits, see `Net::contains`). Networks with a prefix length
/// (`10.0.0.0/8`, and as an extension `2607:f8b0::/32`, which sysdig
/// refuses) and a plain IPv4 address (sysdig refuses it; here the /32
/// network) are plain networks.
fn parse_net_field(s: &str) -> Option<Net> {
    if !s.contains('/') {
        if let Ok(addr) = s.parse::<std::net::Ipv6Addr>() {
            return Some(Net {
                addr: IpAddr::V6(addr),
                prefix: 128,
                v6_net: true,
            });
        }
    }
    parse_net(s)
}

/// Decodes hexadecimal bytes (`bcontains 0a0b`).
fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A literal too wide for the field's type, cut to its width as sysdig's
/// value parser stores it (`user.uid >= 4294967296` compares with 0).
fn wrap_to_width(n: i128, t: FieldType) -> i128 {
    let (bits, signed) = match t {
        FieldType::Int8 => (8, true),
        FieldType::Int16 => (16, true),
        FieldType::Int32 => (32, true),
        FieldType::Uint8 => (8, false),
        FieldType::Uint16 | FieldType::Port => (16, false),
        FieldType::Uint32 => (32, false),
        FieldType::Int64 => (64, true),
        _ => (64, false),
    };
    let m = n.rem_euclid(1i128 << bits);
    if signed && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

/// The comparison of a field of type `ty` with `lits` by `op`.
pub(super) fn values(op: Op, ty: FieldType, lits: &[&Lit], text: &str) -> Result<Cmp, FilterError> {
    if !op.is_list() && lits.len() != 1 {
        let pos = lits.get(1).map(|l| l.pos).unwrap_or(0);
        return Err(err(text, pos, format!("'{}' takes one value", op.name())));
    }
    let bad = |l: &Lit, what: &str| {
        err(
            text,
            l.pos,
            format!("bad value '{}': expected {what}", l.text),
        )
    };
    Ok(match ty {
        FieldType::Double => Cmp::Float(
            op,
            lits.iter()
                .map(|l| l.text.trim().parse::<f64>().map_err(|_| bad(l, "a number")))
                .collect::<Result<_, _>>()?,
        ),
        t if t.is_integer() => {
            let mut v = Vec::new();
            for l in lits {
                let mut n = parse_int(l.text.as_bytes()).ok_or_else(|| bad(l, "an integer"))?;
                if !t.is_signed() && n < 0 {
                    // as sysdig: -1 for a UINT32 is 4294967295
                    let bits = match t {
                        FieldType::Uint8 => 8,
                        FieldType::Uint16 | FieldType::Port => 16,
                        FieldType::Uint32 => 32,
                        _ => 64,
                    };
                    if n < -(1i128 << (bits - 1)) {
                        return Err(bad(l, "an integer in range"));
                    }
                    n += 1i128 << bits;
                }
                v.push(wrap_to_width(n, t));
            }
            Cmp::Int(op, v)
        }
        FieldType::Bool => Cmp::Bool(
            op,
            lits.iter()
                .map(|l| match l.text.as_str() {
                    "true" | "TRUE" | "True" | "1" => Ok(true),
                    "false" | "FALSE" | "False" | "0" => Ok(false),
                    _ => Err(bad(l, "true or false")),
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::IpAddr => Cmp::Ip(
            op,
            lits.iter()
                .map(|l| parse_net(l.text.trim()).ok_or_else(|| bad(l, "an IP address or network")))
                .collect::<Result<_, _>>()?,
        ),
        FieldType::IpNet => Cmp::Ip(
            op,
            lits.iter()
                .map(|l| {
                    parse_net_field(l.text.trim()).ok_or_else(|| bad(l, "an IP address or network"))
                })
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Dynamic => {
            let num: Option<Vec<i128>> =
                lits.iter().map(|l| parse_int(l.text.as_bytes())).collect();
            let num = match (num, op) {
                (Some(v), Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In) => {
                    Some(Box::new(Cmp::Int(op, v)))
                }
                _ => None,
            };
            Cmp::Dynamic(num, Box::new(str_cmp(op, lits, text)?))
        }
        _ => str_cmp(op, lits, text)?,
    })
}

/// A string comparison (bytes, or a regular expression).
fn str_cmp(op: Op, lits: &[&Lit], text: &str) -> Result<Cmp, FilterError> {
    let mut vals: Vec<Vec<u8>> = Vec::with_capacity(lits.len());
    for l in lits {
        let v = match op {
            Op::BContains | Op::BStartsWith => unhex(&l.text).ok_or_else(|| {
                err(
                    text,
                    l.pos,
                    format!("bad value '{}': expected hexadecimal bytes", l.text),
                )
            })?,
            Op::IContains => l.text.to_ascii_lowercase().into_bytes(),
            _ => l.text.clone().into_bytes(),
        };
        vals.push(v);
    }
    let regex = if op == Op::Regex {
        let l = lits[0];
        Some(
            regex_lite::Regex::new(&format!("^(?:{})$", l.text))
                .map_err(|e| err(text, l.pos, format!("bad regular expression: {e}")))?,
        )
    } else {
        None
    };
    let set = if matches!(op, Op::In | Op::Intersects) && vals.len() > 8 {
        Some(vals.iter().cloned().collect())
    } else {
        None
    };
    Ok(Cmp::Str(StrCmp::new(op, vals, set, regex)))
}

#[cfg(test)]
mod tests {
    use super::{parse_net_field, wrap_to_width};
    use sonde_fields::registry::FieldType;
    use std::net::IpAddr;

    #[test]
    fn network_values_as_sysdig_takes_them() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let n = parse_net_field("127.0.0.0/8").unwrap();
        assert!(n.contains(ip("127.1.2.3")) && !n.contains(ip("10.0.0.1")));
        assert!(!n.contains(ip("::1")));
        // an IPv6 network with a prefix length (an extension): as written
        let n = parse_net_field("2607:f8b0::/32").unwrap();
        assert!(n.contains(ip("2607:f8b0:1::1")) && !n.contains(ip("127.0.0.1")));
        // without one (sysdig's form): matched on the first 64 bits ...
        let n = parse_net_field("2607:f8b0:4004:802::").unwrap();
        assert!(n.contains(ip("2607:f8b0:4004:802::2004")));
        assert!(!n.contains(ip("2607:f8b0:4004:803::2004")));
        // ... and on an IPv4 address its bytes are an IPv4 address and mask
        assert!(parse_net_field("::1").unwrap().contains(ip("127.0.0.1")));
        let n = parse_net_field("7f00:0:ff00::").unwrap();
        assert!(n.contains(ip("127.9.9.9")) && !n.contains(ip("10.0.0.1")));
        assert!(!parse_net_field("0:0:0:1::")
            .unwrap()
            .contains(ip("127.0.0.1")));
    }

    #[test]
    fn literals_wrap_to_the_field_width() {
        assert_eq!(wrap_to_width(4294967296, FieldType::Uint32), 0);
        assert_eq!(wrap_to_width(4294967297, FieldType::Uint32), 1);
        assert_eq!(wrap_to_width(4294967295, FieldType::Uint32), 4294967295);
        assert_eq!(wrap_to_width(65536 + 80, FieldType::Port), 80);
        assert_eq!(wrap_to_width(128, FieldType::Int8), -128);
        assert_eq!(wrap_to_width(-1, FieldType::Int64), -1);
        assert_eq!(wrap_to_width(-1, FieldType::Int32), -1);
        assert_eq!(wrap_to_width(1 << 64, FieldType::Uint64), 0);
    }
}

//! Comparing an extracted value with a compiled comparison, per type:
//! the value is read as the comparison's type (integers and times,
//! doubles, booleans, addresses, bytes) or fails the comparison.

use std::net::IpAddr;

use sonde_fields::registry::FieldType;
use sonde_fields::{parse_int, Ctx, Value};

use super::eval::get;
use super::node::{Cmp, StrCmp};
use super::strmatch::str_match;
use crate::ast::Op;

/// The value as bytes (numbers and addresses as text, in `tmp`).
#[inline]
fn as_bytes<'v>(v: &'v Value<'_>, tmp: &'v mut String) -> &'v [u8] {
    match v {
        Value::Str(s) => s,
        other => as_text(other, tmp),
    }
}

/// A value that is not a string as text, in `tmp` (out of line: rare).
fn as_text<'v>(v: &Value<'_>, tmp: &'v mut String) -> &'v [u8] {
    *tmp = match v {
        Value::Int(i) => i.to_string(),
        Value::Uint(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Ip(ip) => ip.to_string(),
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
    };
    tmp.as_bytes()
}

/// The value as an integer (a time in `S.NNNNNNNNN` form as nanoseconds).
#[inline]
pub(super) fn as_int(v: &Value<'_>) -> Option<i128> {
    match v {
        Value::Str(s) => parse_time(s),
        other => other.as_i128(),
    }
}

/// The value as a boolean (`true`/`false` or a number).
fn as_bool(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Str(s) => match *s {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => parse_int(s).map(|n| n != 0),
        },
        other => other.as_i128().map(|n| n != 0),
    }
}

/// The value as an address.
fn as_ip(v: &Value<'_>) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) => Some(*ip),
        Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// `a op b` for an ordering operator (list operators: equality).
fn ord_op<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => false,
    }
}

/// `op` over the values: any of them for `in`, the first otherwise.
fn list_op<T>(op: Op, vals: &[T], f: impl Fn(Op, &T) -> bool) -> bool {
    match op {
        Op::In | Op::Intersects => vals.iter().any(|v| f(Op::Eq, v)),
        _ => vals.first().is_some_and(|v| f(op, v)),
    }
}

/// A boolean comparison on the boolean `x`.
#[inline]
pub(super) fn bool_op(op: Op, vals: &[bool], x: bool) -> bool {
    list_op(op, vals, |o, n| ord_op(o, x, *n))
}

/// What [`cmp_value`] gives for `v` when the comparison needs no event
/// (booleans and strings); None for the other comparisons.
pub(super) fn cmp_const(c: &Cmp, v: Value<'_>) -> Option<bool> {
    Some(match c {
        Cmp::Bool(op, vals) => match as_bool(&v) {
            Some(x) => bool_op(*op, vals, x),
            None => false,
        },
        Cmp::Str(s) => {
            let mut tmp = String::new();
            str_match(s, as_bytes(&v, &mut tmp))
        }
        Cmp::Code { fallback, .. } => return cmp_const(fallback, v),
        _ => return None,
    })
}

/// Whether `v` passes the comparison.
pub(super) fn cmp_value(c: &Cmp, v: Value<'_>, ctx: &Ctx<'_, '_>, b: &mut Vec<u8>) -> bool {
    match c {
        Cmp::Exists => true,
        Cmp::Int(op, vals) => match as_int(&v) {
            Some(x) => list_op(*op, vals, |o, n| ord_op(o, x, *n)),
            None => false,
        },
        Cmp::Float(op, vals) => {
            let x = match v {
                Value::Double(d) => Some(d),
                Value::Str(s) => std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse().ok()),
                other => other.as_i128().map(|n| n as f64),
            };
            match x {
                Some(x) => list_op(*op, vals, |o, n| ord_op(o, x, *n)),
                None => false,
            }
        }
        Cmp::Bool(..) | Cmp::Str(_) => cmp_const(c, v).unwrap_or(false),
        // (decided by the event, never by an extracted value)
        Cmp::Domain(d) => d.matches(ctx),
        Cmp::Ip(op, nets) => match as_ip(&v) {
            Some(ip) => match op {
                Op::Ne => nets.first().is_some_and(|n| !n.contains(ip)),
                Op::Eq => nets.first().is_some_and(|n| n.contains(ip)),
                _ => nets.iter().any(|n| n.contains(ip)),
            },
            None => false,
        },
        Cmp::EvtType { fallback, .. } | Cmp::Code { fallback, .. } => {
            cmp_value(fallback, v, ctx, b)
        }
        Cmp::Dynamic(num, s) => {
            if let Some(n) = num {
                if as_int(&v).is_some() {
                    return cmp_value(n, v, ctx, b);
                }
            }
            cmp_value(s, v, ctx, b)
        }
        Cmp::Field(op, rsrc, ty) => {
            let Some(w) = get(rsrc, ctx, b) else {
                return false;
            };
            let op = if op.is_list() { Op::Eq } else { *op };
            match ty {
                t if t.is_integer() => match (as_int(&v), as_int(&w)) {
                    (Some(x), Some(y)) => ord_op(op, x, y),
                    _ => false,
                },
                FieldType::Bool => match (as_bool(&v), as_bool(&w)) {
                    (Some(x), Some(y)) => ord_op(op, x, y),
                    _ => false,
                },
                FieldType::IpAddr | FieldType::IpNet => match (as_ip(&v), as_ip(&w)) {
                    (Some(x), Some(y)) => ord_op(op, x, y),
                    _ => false,
                },
                _ => {
                    let (mut t1, mut t2) = (String::new(), String::new());
                    let x = as_bytes(&v, &mut t1);
                    let y = as_bytes(&w, &mut t2);
                    let s = StrCmp::new(
                        op,
                        vec![if op == Op::IContains {
                            y.to_ascii_lowercase()
                        } else {
                            y.to_vec()
                        }],
                        None,
                        None,
                    );
                    str_match(&s, x)
                }
            }
        }
    }
}

/// Parses a time: `S.NNNNNNNNN` or plain nanoseconds.
fn parse_time(s: &[u8]) -> Option<i128> {
    // "S.NNNNNNNNN" (how sonde renders times) or plain nanoseconds
    let t = std::str::from_utf8(s).ok()?;
    match t.split_once('.') {
        Some((a, b)) if b.len() <= 9 && b.bytes().all(|c| c.is_ascii_digit()) => {
            let secs: i128 = a.parse().ok()?;
            let mut frac: i128 = if b.is_empty() { 0 } else { b.parse().ok()? };
            for _ in b.len()..9 {
                frac *= 10;
            }
            Some(secs * 1_000_000_000 + frac)
        }
        _ => parse_int(s),
    }
}

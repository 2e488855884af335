//! Running the compiled tree on one event: `and`/`or`/`not`, and each
//! leaf's source extracted (fields, any-of fields, ancestors, environment
//! variables, transformers) and compared.

use std::net::IpAddr;

use sonde_fields::{Ctx, EvtX, FdX, Field, Value};

use super::compare::{as_int, bool_op, cmp_value};
use super::node::{Ancestor, Cmp, DeltaKind, Leaf, Node, Src};
use super::strmatch::str_match;
use crate::ast::{Op, Transformer};

/// What the evaluation knows besides the event (see [`super::Filter::matches_with`]).
pub(super) struct Env {
    /// The event has no fd of its own.
    pub(super) no_event_fd: bool,
}

/// Whether the event passes the node. `a` and `b` are scratch buffers.
pub(super) fn eval(
    n: &Node,
    ctx: &Ctx<'_, '_>,
    env: &Env,
    a: &mut Vec<u8>,
    b: &mut Vec<u8>,
) -> bool {
    match n {
        Node::And(v) => v.iter().all(|x| child(x, ctx, env, a, b)),
        Node::Or(v) => v.iter().any(|x| child(x, ctx, env, a, b)),
        Node::Not(x) => !eval(x, ctx, env, a, b),
        Node::Leaf(l) => eval_leaf(l, ctx, env, a, b),
        Node::Codes(m, x) => m.may_pass(ctx) && eval(x, ctx, env, a, b),
    }
}

/// An operand of `and`/`or`: a leaf evaluated in place (most operands
/// are leaves; no recursion for them), anything else through [`eval`].
#[inline(always)]
fn child(n: &Node, ctx: &Ctx<'_, '_>, env: &Env, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    match n {
        Node::Leaf(l) => eval_leaf(l, ctx, env, a, b),
        Node::Codes(m, x) => {
            m.may_pass(ctx)
                && match &**x {
                    Node::Leaf(l) => eval_leaf(l, ctx, env, a, b),
                    x => eval(x, ctx, env, a, b),
                }
        }
        _ => eval(n, ctx, env, a, b),
    }
}

/// Whether the event passes one comparison: the comparisons decided by
/// the event's code or a borrowed string inline, the rest out of line.
#[inline(always)]
fn eval_leaf(l: &Leaf, ctx: &Ctx<'_, '_>, env: &Env, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    if env.no_event_fd {
        if let Some(v) = without_event_fd(l, ctx, b) {
            return v;
        }
    }
    match (&l.cmp, &l.src) {
        (Cmp::Code { table, .. }, _) => {
            if let Some(&t) = table.get(ctx.ev.code as usize) {
                return t;
            }
        }
        // strings the state holds: compared in place, no copy
        (Cmp::Str(s), Src::Field(f)) => {
            if let Some(t) = ctx.borrowed_text(f) {
                return t.is_some_and(|t| str_match(s, t));
            }
        }
        // the event's own result, read in place
        (Cmp::Bool(op, vals), Src::Field(Field::EvtFailed)) => {
            return bool_op(*op, vals, ctx.failed());
        }
        (Cmp::EvtType { new, old, .. }, Src::Field(Field::EvtType)) => {
            let code = ctx.ev.code;
            if code != sonde_event::codes::GENERIC_E
                && code != sonde_event::codes::GENERIC_X
                && ctx.ev.info().is_some()
            {
                let t = if ctx.opts.compat_029 { old } else { new };
                return t.get(code as usize).copied().unwrap_or(false);
            }
        }
        _ => {}
    }
    eval_general(l, ctx, a, b)
}

/// The fields that read differently when the event has no fd of its own
/// (its thread lost its enter event): None for every other comparison.
#[inline(never)]
fn without_event_fd(l: &Leaf, ctx: &Ctx<'_, '_>, b: &mut Vec<u8>) -> Option<bool> {
    match &l.src {
        Src::Field(Field::EvtBuflen) => Some(false),
        Src::Field(Field::EvtCategory) => {
            let io = ctx
                .ev
                .info()
                .is_some_and(|i| matches!(i.old_category & 0x3f, 32..=34));
            io.then(|| cmp_value(&l.cmp, Value::Str(b"unknown"), ctx, b))
        }
        _ => None,
    }
}

/// [`eval_leaf`] for what it does not decide inline (out of line, so that
/// the common comparisons do not pay for its registers): `evt.type` of
/// generic and unknown events, leaves over several values, and every
/// value extracted and compared.
#[inline(never)]
fn eval_general(l: &Leaf, ctx: &Ctx<'_, '_>, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    if let (Cmp::EvtType { by_id, unknown, .. }, Src::Field(Field::EvtType)) = (&l.cmp, &l.src) {
        let code = ctx.ev.code;
        if code != sonde_event::codes::GENERIC_E && code != sonde_event::codes::GENERIC_X {
            // (an event of the table was decided inline)
            return false;
        }
        // a generic event: by its syscall's name (the id read as
        // `event_name` reads it)
        return match ctx.ev.param_u64(0) {
            Some(id) => by_id.get(id as u32 as usize).copied().unwrap_or(*unknown),
            None => *unknown,
        };
    }
    if let Cmp::Domain(d) = &l.cmp {
        return d.matches(ctx);
    }
    match &l.src {
        Src::Around(_) | Src::Ancestors(_) | Src::Any(_) => eval_rare(l, ctx, a, b),
        src => match get(src, ctx, a) {
            Some(v) => cmp_value(&l.cmp, v, ctx, b),
            None => false,
        },
    }
}

/// The leaves whose source is not one value of the event: `evt.around`,
/// the ancestors (`proc.aname`...) and any-of fields (`fd.ip`...). Out of
/// line, so that the common leaves do not pay for their registers.
#[inline(never)]
fn eval_rare(l: &Leaf, ctx: &Ctx<'_, '_>, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    match &l.src {
        Src::Around(t) => match &l.cmp {
            Cmp::Int(_, v) => v
                .first()
                .is_some_and(|&d| EvtX::around(*t, ctx.ev.ts, d as u64)),
            _ => false,
        },
        Src::Ancestors(k) => ancestors(ctx).any(|p| {
            let v = match k {
                Ancestor::Pid => Value::Int(p.pid),
                _ => Value::Str(ancestor_text(*k, p)),
            };
            cmp_value(&l.cmp, v, ctx, b)
        }),
        Src::Any(fields) => {
            // as sysdig's fd.ip/fd.port/fd.net: only for a valid fd of the event
            match ctx.extract_value(&Field::FdNum, a).and_then(|v| as_int(&v)) {
                Some(n) if n >= 0 => {}
                _ => return false,
            }
            // `fd.ip != x`: neither address is x; `fd.ip = x`: either is
            let ne = matches!(&l.cmp, Cmp::Ip(Op::Ne, _) | Cmp::Int(Op::Ne, _));
            let mut seen = false;
            for f in fields {
                if let Some(v) = ctx.extract_value(f, a) {
                    seen = true;
                    let r = cmp_value(&l.cmp, v, ctx, b);
                    if r != ne {
                        return r;
                    }
                }
            }
            if seen {
                return ne;
            }
            // a socket with no addresses yet: sysdig compares its zeroed ones
            let zero = match ctx.extract_value(&Field::FdTypechar, a) {
                Some(Value::Str(b"4")) => IpAddr::from([0u8; 4]),
                Some(Value::Str(b"6")) => IpAddr::from([0u8; 16]),
                _ => return false,
            };
            let v = if matches!(fields.first(), Some(Field::Fd(FdX::AnyCport))) {
                Value::Uint(0)
            } else {
                Value::Ip(zero)
            };
            cmp_value(&l.cmp, v, ctx, b)
        }
        _ => false,
    }
}

/// The text of an ancestor that `proc.aname`/`aexe`/`aexepath` compares.
fn ancestor_text(k: Ancestor, p: &sonde_state::Thread) -> &[u8] {
    match k {
        Ancestor::Exe => &p.exe,
        Ancestor::Exepath => &p.exepath,
        _ => &p.comm,
    }
}

/// The ancestors of the event's process, parent first (main threads).
fn ancestors<'s>(ctx: &'s Ctx<'_, '_>) -> impl Iterator<Item = &'s sonde_state::Thread> + 's {
    let st = ctx.st;
    let main = st
        .event_thread(ctx.ev)
        .map(|t| st.thread(t.pid).unwrap_or(t));
    let mut cur = main;
    let mut steps = 0;
    std::iter::from_fn(move || {
        let t = cur?;
        steps += 1;
        if steps > 512 {
            return None;
        }
        let p = st.thread(t.ptid)?;
        let p = st.thread(p.pid).unwrap_or(p);
        if p.tid == t.tid {
            return None;
        }
        cur = Some(p);
        Some(p)
    })
}

/// Extracts a source's value (strings into `buf`).
pub(super) fn get<'b>(s: &Src, ctx: &Ctx<'_, '_>, buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
    match s {
        Src::Field(f) => ctx.extract_value(f, buf),
        Src::Any(v) => ctx.extract_value(v.first()?, buf),
        Src::Missing => None,
        Src::Around(_) => Some(Value::Uint(ctx.ev.ts)),
        Src::Delta(kind, last) => {
            // sysdig: 0 the first time, then the time since the previous
            // evaluation of this use of the field
            let ts = ctx.ev.ts;
            let prev = last.replace(ts);
            if prev == 0 {
                return Some(Value::Uint(0));
            }
            let d = ts.wrapping_sub(prev);
            Some(Value::Uint(match kind {
                DeltaKind::Full => d,
                DeltaKind::Secs => d / 1_000_000_000,
                DeltaKind::Nanos => d % 1_000_000_000,
            }))
        }
        Src::EnvVar(name) => {
            let t = ctx.st.event_thread(ctx.ev)?;
            let t = ctx.st.thread(t.pid).unwrap_or(t);
            let v = t.env_iter().find_map(|e| {
                e.strip_prefix(name.as_slice())
                    .and_then(|r| r.strip_prefix(b"="))
            })?;
            buf.clear();
            buf.extend_from_slice(v);
            Some(Value::Str(buf))
        }
        // as a value (val(), transformers): the parent
        Src::Ancestors(k) => {
            let p = ancestors(ctx).next()?;
            buf.clear();
            Some(match k {
                Ancestor::Pid => Value::Int(p.pid),
                _ => {
                    buf.extend_from_slice(ancestor_text(*k, p));
                    Value::Str(buf)
                }
            })
        }
        Src::Transform(t, inner) => {
            let mut tmp = Vec::new();
            let bytes: Vec<u8> = match get(inner, ctx, &mut tmp)? {
                Value::Str(s) => s.to_vec(),
                Value::Int(i) => i.to_string().into_bytes(),
                Value::Uint(i) => i.to_string().into_bytes(),
                Value::Double(d) => d.to_string().into_bytes(),
                Value::Bool(x) => x.to_string().into_bytes(),
                Value::Ip(ip) => ip.to_string().into_bytes(),
            };
            buf.clear();
            match t {
                Transformer::ToLower => buf.extend(bytes.iter().map(|c| c.to_ascii_lowercase())),
                Transformer::ToUpper => buf.extend(bytes.iter().map(|c| c.to_ascii_uppercase())),
                Transformer::Basename => {
                    let cut = bytes.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
                    buf.extend_from_slice(&bytes[cut..]);
                }
                Transformer::B64 => buf.extend(b64_decode(&bytes)?),
                Transformer::Len => return Some(Value::Uint(bytes.len() as u64)),
            }
            Some(Value::Str(buf))
        }
    }
}

/// Decodes base64 (the `b64` transformer); None when it is not base64.
fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s: Vec<u8> = s.iter().copied().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        out.push((acc >> 16) as u8);
        if chunk.len() > 2 {
            out.push((acc >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(acc as u8);
        }
    }
    Some(out)
}

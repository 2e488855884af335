//! Compiling an AST into a typed evaluator, and running it per event.
//!
//! Values in the filter are converted once, by the type of the field they
//! are compared with (numbers as numbers, addresses and networks as
//! addresses, strings as bytes). A comparison whose field has no value for
//! the event is false, whatever the operator (sysdig's rule); `not` then
//! makes it true. `and`/`or` operands are reordered cheapest first, which
//! cannot change the result: evaluation has no side effects.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use sonde_fields::registry::{self, FieldType};
use sonde_fields::{parse_int, Ctx, EvtX, FdX, Field, Value};

use crate::ast::{Check, Expr, FieldRef, Lit, Op, Operand, Rhs, Transformer};
use crate::error::FilterError;
use crate::glob::glob_match;

/// A compiled filter.
pub struct Filter {
    root: Node,
    text: String,
    scratch: RefCell<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("text", &self.text).finish()
    }
}

enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Box<Leaf>),
}

/// Where a compared value comes from.
enum Src {
    Field(Field),
    /// Any of these fields (`fd.ip`: client or server address).
    Any(Vec<Field>),
    /// A registry field sonde does not extract yet: never has a value.
    Missing,
    /// `proc.aname` / `proc.apid` without an index: matches when any
    /// ancestor of the process (parent, grandparent, ...) matches.
    Ancestors(Ancestor),
    /// `proc.env[NAME]`: the value of one environment variable.
    EnvVar(Vec<u8>),
    /// `evt.around[T]`: compared with a window in milliseconds.
    Around(u64),
    Transform(Transformer, Box<Src>),
}

#[derive(Clone, Copy)]
enum Ancestor {
    Name,
    Pid,
    Exe,
    Exepath,
}

struct Leaf {
    src: Src,
    cmp: Cmp,
    cost: u8,
}

#[derive(Clone, Copy)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                u32::from(n) & m == u32::from(a) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                u128::from(n) & m == u128::from(a) & m
            }
            _ => false,
        }
    }
}

enum Cmp {
    Exists,
    /// evt.type, decided per event code; generic events use `fallback`.
    EvtType {
        new: Vec<bool>,
        old: Vec<bool>,
        fallback: Box<Cmp>,
    },
    Int(Op, Vec<i128>),
    Float(Op, Vec<f64>),
    Bool(Op, Vec<bool>),
    Ip(Op, Vec<Net>),
    Str(StrCmp),
    /// `evt.rawarg.*`: numeric when both sides read as numbers.
    Dynamic(Option<Box<Cmp>>, Box<Cmp>),
    /// Against another field (`val(...)`), compared as `ty`.
    Field(Op, Box<Src>, FieldType),
}

struct StrCmp {
    op: Op,
    vals: Vec<Vec<u8>>,
    set: Option<HashSet<Vec<u8>>>,
    regex: Option<regex_lite::Regex>,
}

fn err(text: &str, pos: usize, msg: impl Into<String>) -> FilterError {
    FilterError::new(text, pos, msg)
}

impl Filter {
    /// Parses and compiles `text`.
    pub fn new(text: &str) -> Result<Filter, FilterError> {
        let ast = crate::parse::parse(text)?;
        Filter::from_ast(&ast, text)
    }

    /// Compiles a parsed filter. `text` is the source the positions refer to.
    pub fn from_ast(ast: &Expr, text: &str) -> Result<Filter, FilterError> {
        let root = compile(ast, text)?;
        Ok(Filter {
            root,
            text: text.to_string(),
            scratch: RefCell::new((Vec::new(), Vec::new())),
        })
    }

    /// The filter text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the event in `ctx` passes the filter.
    pub fn matches(&self, ctx: &Ctx<'_, '_>) -> bool {
        self.matches_with(ctx, false)
    }

    /// As [`Filter::matches`]; `no_event_fd` says the event has no fd of
    /// its own (sysdig's `m_fdinfo`): what libsinsp gives an exit event
    /// after its enter event was rejected by the capture filter. Then
    /// `evt.buflen` has no value and I/O events have category "unknown";
    /// `fd.*` fields still find the thread's last fd.
    pub fn matches_with(&self, ctx: &Ctx<'_, '_>, no_event_fd: bool) -> bool {
        let mut s = self.scratch.borrow_mut();
        let (a, b) = &mut *s;
        let env = Env { no_event_fd };
        eval(&self.root, ctx, &env, a, b)
    }

    /// The event codes this filter can accept, or None when it may accept
    /// any event (no usable `evt.type` restriction).
    pub fn event_types(&self) -> Option<BTreeSet<u16>> {
        types(&self.root)
    }

    /// Of `candidates` (event or syscall names), those this filter's
    /// `evt.type` checks can accept, or None when it may accept any event.
    /// The live probe uses it to choose the syscalls the kernel passes on,
    /// including those that arrive as generic `syscall` events.
    pub fn event_type_names<'a>(&self, candidates: &[&'a str]) -> Option<BTreeSet<&'a str>> {
        names(&self.root, candidates)
    }
}

fn names<'a>(n: &Node, cands: &[&'a str]) -> Option<BTreeSet<&'a str>> {
    match n {
        Node::And(v) => {
            let mut acc: Option<BTreeSet<&'a str>> = None;
            for c in v {
                if let Some(s) = names(c, cands) {
                    acc = Some(match acc {
                        None => s,
                        Some(a) => a.intersection(&s).copied().collect(),
                    });
                }
            }
            acc
        }
        Node::Or(v) => {
            let mut acc = BTreeSet::new();
            for c in v {
                acc.extend(names(c, cands)?);
            }
            Some(acc)
        }
        Node::Not(_) => None,
        Node::Leaf(l) => match (&l.cmp, &l.src) {
            (Cmp::EvtType { fallback, .. }, Src::Field(Field::EvtType)) => {
                match fallback.as_ref() {
                    Cmp::Str(s) => Some(
                        cands
                            .iter()
                            .copied()
                            .filter(|c| str_match(s, c.as_bytes()))
                            .collect(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        },
    }
}

fn types(n: &Node) -> Option<BTreeSet<u16>> {
    match n {
        Node::And(v) => {
            let mut acc: Option<BTreeSet<u16>> = None;
            for c in v {
                if let Some(s) = types(c) {
                    acc = Some(match acc {
                        None => s,
                        Some(a) => a.intersection(&s).copied().collect(),
                    });
                }
            }
            acc
        }
        Node::Or(v) => {
            let mut acc = BTreeSet::new();
            for c in v {
                acc.extend(types(c)?);
            }
            Some(acc)
        }
        Node::Not(_) => None,
        Node::Leaf(l) => match &l.cmp {
            Cmp::EvtType { new, old, .. } if matches!(l.src, Src::Field(Field::EvtType)) => {
                let mut s: BTreeSet<u16> = (0..new.len())
                    .filter(|&c| new[c] || old[c])
                    .map(|c| c as u16)
                    .collect();
                s.insert(sonde_event::codes::GENERIC_E);
                s.insert(sonde_event::codes::GENERIC_X);
                Some(s)
            }
            _ => None,
        },
    }
}

// ---------------------------------------------------------------- compile

fn compile(e: &Expr, text: &str) -> Result<Node, FilterError> {
    Ok(match e {
        Expr::And(v) | Expr::Or(v) => {
            let mut nodes = v
                .iter()
                .map(|x| compile(x, text))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(e, Expr::Or(_)) {
                nodes = merge_equalities(nodes);
            }
            nodes.sort_by_key(cost);
            if matches!(e, Expr::And(_)) {
                Node::And(nodes)
            } else {
                Node::Or(nodes)
            }
        }
        Expr::Not(x) => Node::Not(Box::new(compile(x, text)?)),
        Expr::Macro { name, pos } => {
            return Err(err(
                text,
                *pos,
                format!("'{name}' is not a field: expected a field name such as evt.type (or an undefined macro)"),
            ))
        }
        Expr::Check(c) => Node::Leaf(Box::new(compile_check(c, text)?)),
    })
}

/// `f = a or f = b or f in (c, d)` becomes `f in (a, b, c, d)`: one
/// extraction of `f` instead of one per value. The same result: a field
/// without a value fails every one of them, and nothing has side effects.
fn merge_equalities(nodes: Vec<Node>) -> Vec<Node> {
    /// The field and the list of a plain string or integer equality.
    fn eq_parts(n: &mut Node) -> Option<(&Field, &mut Cmp)> {
        let Node::Leaf(l) = n else { return None };
        let Src::Field(f) = &l.src else { return None };
        let ok = match &l.cmp {
            Cmp::Str(s) => matches!(s.op, Op::Eq | Op::In) && s.regex.is_none(),
            Cmp::Int(op, _) => matches!(op, Op::Eq | Op::In),
            _ => false,
        };
        ok.then_some((f, &mut l.cmp))
    }
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    'nodes: for mut n in nodes {
        if let Some((f, cmp)) = eq_parts(&mut n) {
            for m in out.iter_mut() {
                let Some((g, into)) = eq_parts(m) else {
                    continue;
                };
                if g != f {
                    continue;
                }
                match (into, &mut *cmp) {
                    (Cmp::Str(a), Cmp::Str(b)) => {
                        a.op = Op::In;
                        a.vals.append(&mut b.vals);
                        a.set = (a.vals.len() > 8).then(|| a.vals.iter().cloned().collect());
                    }
                    (Cmp::Int(aop, a), Cmp::Int(_, b)) => {
                        *aop = Op::In;
                        a.append(b);
                    }
                    _ => continue,
                }
                continue 'nodes;
            }
        }
        out.push(n);
    }
    out
}

fn cost(n: &Node) -> u8 {
    match n {
        Node::Leaf(l) => l.cost,
        Node::Not(x) => cost(x),
        Node::And(v) | Node::Or(v) => v.iter().map(cost).max().unwrap_or(0).saturating_add(1),
    }
}

fn field_cost(f: &Field) -> u8 {
    match f {
        Field::EvtType | Field::EvtDir | Field::EvtNum | Field::ThreadTid | Field::EvtCpu => 0,
        Field::EvtRawtime | Field::EvtCategory | Field::EvtIsIo => 0,
        Field::EvtArgs
        | Field::EvtInfo
        | Field::EvtBuffer
        | Field::EvtArgName(_)
        | Field::EvtArgIdx(_)
        | Field::EvtRawargName(_)
        | Field::ProcEnv
        | Field::ProcCmdline
        | Field::ProcArgs => 3,
        Field::FdName | Field::FdType | Field::FdNum | Field::FdSip | Field::FdCip => 2,
        _ => 1,
    }
}

fn src_cost(s: &Src) -> u8 {
    match s {
        Src::Field(f) => field_cost(f),
        Src::Any(v) => v.iter().map(field_cost).max().unwrap_or(0) + 1,
        Src::Missing => 0,
        Src::Ancestors(_) => 2,
        Src::EnvVar(_) => 2,
        Src::Around(_) => 0,
        Src::Transform(_, s) => src_cost(s) + 1,
    }
}

/// Resolves a field reference to a source and its type.
fn resolve(fr: &FieldRef, text: &str) -> Result<(Src, FieldType), FilterError> {
    let full = match &fr.arg {
        Some(a) => format!("{}[{}]", fr.name, a),
        None => fr.name.clone(),
    };
    let Some((info, dot)) = registry::resolve(&fr.name) else {
        // a field sonde knows that sysdig does not list (print-only ones)
        return match Field::parse(&full) {
            Ok(f) => Ok((Src::Field(f), FieldType::Charbuf)),
            Err(_) => Err(err(text, fr.pos, format!("unknown field '{}'", fr.name))),
        };
    };
    if fr.arg.is_some() && !info.takes_arg() {
        return Err(err(
            text,
            fr.pos,
            format!("field '{}' does not take an argument", info.name),
        ));
    }
    if dot.is_some() && fr.arg.is_some() {
        return Err(err(
            text,
            fr.pos,
            format!("field '{}' takes one argument, not two", info.name),
        ));
    }
    if info.has(registry::flags::ARG_REQUIRED) && dot.is_none() && fr.arg.is_none() {
        return Err(err(
            text,
            fr.pos,
            format!("field '{}' requires an argument", info.name),
        ));
    }
    if info.has(registry::flags::ARG_INDEX) {
        if let Some(a) = &fr.arg {
            if a.trim().parse::<i64>().is_err() {
                return Err(err(
                    text,
                    fr.pos,
                    format!("field '{}' takes a numeric index, not '{a}'", info.name),
                ));
            }
        }
    }
    let ty = info.ty;
    let src = match info.name {
        // both ends whatever the socket's role (sysdig's compare_ip/port)
        "fd.ip" | "fd.net" => Src::Any(vec![Field::Fd(FdX::AnyCip), Field::Fd(FdX::AnySip)]),
        "fd.cnet" => Src::Field(Field::FdCip),
        "fd.snet" => Src::Field(Field::FdSip),
        "fd.port" | "fd.proto" => {
            Src::Any(vec![Field::Fd(FdX::AnyCport), Field::Fd(FdX::AnySport)])
        }
        "proc.env" if fr.arg.is_some() => {
            Src::EnvVar(fr.arg.clone().unwrap_or_default().into_bytes())
        }
        "proc.aname" if fr.arg.is_none() => Src::Ancestors(Ancestor::Name),
        "proc.apid" if fr.arg.is_none() => Src::Ancestors(Ancestor::Pid),
        "proc.aexe" if fr.arg.is_none() => Src::Ancestors(Ancestor::Exe),
        "proc.aexepath" if fr.arg.is_none() => Src::Ancestors(Ancestor::Exepath),
        _ => match Field::parse(&full) {
            Ok(Field::Evt(EvtX::Around(t))) => Src::Around(t),
            Ok(f) => Src::Field(f),
            Err(e) if info.extracted() && info.name != "evt.rawarg" && info.name != "evt.arg" => {
                return Err(err(text, fr.pos, e.0))
            }
            Err(_) => Src::Missing,
        },
    };
    // evt.arg[N] / evt.rawarg by index are typed like the names
    Ok((src, ty))
}

fn operand(o: &Operand, text: &str) -> Result<(Src, FieldType), FilterError> {
    match o {
        Operand::Field(fr) => resolve(fr, text),
        Operand::Transform { t, arg, pos } => {
            let (s, ty) = operand(arg, text)?;
            if !(ty.is_string() || ty == FieldType::Bytebuf || ty == FieldType::Dynamic) {
                return Err(err(
                    text,
                    *pos,
                    format!(
                        "transformer '{}' not supported for type {}",
                        t.name(),
                        ty.name()
                    ),
                ));
            }
            let out = match t {
                Transformer::Len => FieldType::Uint64,
                _ => FieldType::Charbuf,
            };
            Ok((Src::Transform(*t, Box::new(s)), out))
        }
    }
}

fn allowed(op: Op, ty: FieldType) -> Option<&'static str> {
    use Op::*;
    let ok = match ty {
        t if t.is_integer() || t == FieldType::Double => {
            matches!(op, Eq | Ne | Lt | Le | Gt | Ge | In | Intersects | Exists)
        }
        FieldType::Bool => matches!(op, Eq | Ne | In | Intersects | Exists),
        FieldType::IpAddr | FieldType::IpNet => matches!(op, Eq | Ne | In | Intersects | Exists),
        FieldType::Bytebuf => matches!(
            op,
            Eq | Ne
                | Contains
                | In
                | Exists
                | StartsWith
                | EndsWith
                | Intersects
                | BContains
                | BStartsWith
        ),
        _ => true,
    };
    if ok {
        return None;
    }
    Some(match ty {
        t if t.is_integer() || t == FieldType::Double => "numeric",
        FieldType::Bool => "boolean",
        FieldType::Bytebuf => "buffer",
        _ => "ip address and network",
    })
}

fn compile_check(c: &Check, text: &str) -> Result<Leaf, FilterError> {
    let (src, ty) = operand(&c.lhs, text)?;
    if let Some(kind) = allowed(c.op, ty) {
        return Err(err(
            text,
            c.op_pos,
            format!(
                "'{}' operator not supported for {kind} filters ({} is {})",
                c.op.name(),
                lhs_name(&c.lhs),
                ty.name()
            ),
        ));
    }
    let lits: Vec<&Lit> = match &c.rhs {
        Rhs::None => Vec::new(),
        Rhs::Value(l) => vec![l],
        Rhs::List(v) => v.iter().collect(),
        Rhs::ListRef { name, pos } => {
            return Err(err(text, *pos, format!("unknown list '{name}'")));
        }
        Rhs::Operand(o) => {
            let (rs, _) = operand(o, text)?;
            let cost = src_cost(&src) + src_cost(&rs);
            return Ok(Leaf {
                src,
                cmp: Cmp::Field(c.op, Box::new(rs), ty),
                cost,
            });
        }
    };
    if matches!(src, Src::Around(_)) && c.op != Op::Eq {
        return Err(err(
            text,
            c.op_pos,
            "evt.around supports only '=' comparison operator".to_string(),
        ));
    }
    let cmp = if c.op == Op::Exists {
        Cmp::Exists
    } else {
        values(c.op, ty, &lits, text)?
    };
    if matches!(src, Src::Field(Field::EvtType))
        && matches!(c.op, Op::Eq | Op::Ne | Op::In | Op::Intersects)
    {
        // as sysdig: a name that is no event is a typo, not a filter
        for l in &lits {
            if !known_event_type(&l.text) {
                return Err(err(text, l.pos, format!("unknown event type '{}'", l.text)));
            }
        }
    }
    let cmp = match (&src, cmp) {
        (Src::Field(Field::EvtType), Cmp::Str(s)) => evt_type_cmp(s),
        (_, cmp) => cmp,
    };
    let mut cost = src_cost(&src);
    if let Cmp::Str(s) = &cmp {
        if s.regex.is_some() {
            cost += 2;
        }
    }
    Ok(Leaf { src, cmp, cost })
}

fn lhs_name(o: &Operand) -> String {
    match o {
        Operand::Field(f) => f.name.clone(),
        Operand::Transform { t, arg, .. } => format!("{}({})", t.name(), lhs_name(arg)),
    }
}

fn known_event_type(name: &str) -> bool {
    sonde_event::EVENTS
        .iter()
        .any(|e| e.name == name || e.old_name == name)
        || sonde_event::SYSCALL_NAMES.iter().any(|(_, n)| *n == name)
}

/// Precomputes an evt.type comparison over every event code.
fn evt_type_cmp(s: StrCmp) -> Cmp {
    let n = sonde_event::EVENTS.len();
    let mut new = vec![false; n];
    let mut old = vec![false; n];
    for (i, e) in sonde_event::EVENTS.iter().enumerate() {
        new[i] = str_match(&s, e.name.as_bytes());
        old[i] = str_match(&s, e.old_name.as_bytes());
    }
    Cmp::EvtType {
        new,
        old,
        fallback: Box::new(Cmp::Str(s)),
    }
}

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
    Some(Net { addr, prefix })
}

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

fn values(op: Op, ty: FieldType, lits: &[&Lit], text: &str) -> Result<Cmp, FilterError> {
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
                v.push(n);
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
        FieldType::IpAddr | FieldType::IpNet => Cmp::Ip(
            op,
            lits.iter()
                .map(|l| parse_net(l.text.trim()).ok_or_else(|| bad(l, "an IP address or network")))
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
    Ok(Cmp::Str(StrCmp {
        op,
        vals,
        set,
        regex,
    }))
}

// ---------------------------------------------------------------- evaluate

struct Env {
    no_event_fd: bool,
}

fn eval(n: &Node, ctx: &Ctx<'_, '_>, env: &Env, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    match n {
        Node::And(v) => v.iter().all(|x| eval(x, ctx, env, a, b)),
        Node::Or(v) => v.iter().any(|x| eval(x, ctx, env, a, b)),
        Node::Not(x) => !eval(x, ctx, env, a, b),
        Node::Leaf(l) => eval_leaf(l, ctx, env, a, b),
    }
}

fn eval_leaf(l: &Leaf, ctx: &Ctx<'_, '_>, env: &Env, a: &mut Vec<u8>, b: &mut Vec<u8>) -> bool {
    if env.no_event_fd {
        match &l.src {
            Src::Field(Field::EvtBuflen) => return false,
            Src::Field(Field::EvtCategory) => {
                let io = ctx
                    .ev
                    .info()
                    .is_some_and(|i| matches!(i.old_category & 0x3f, 32..=34));
                if io {
                    return cmp_value(&l.cmp, Value::Str(b"unknown"), ctx, b);
                }
            }
            _ => {}
        }
    }
    if let (Cmp::EvtType { new, old, fallback }, Src::Field(Field::EvtType)) = (&l.cmp, &l.src) {
        let code = ctx.ev.code;
        if code != sonde_event::codes::GENERIC_E && code != sonde_event::codes::GENERIC_X {
            if ctx.ev.info().is_none() {
                return false;
            }
            let t = if ctx.opts.compat_029 { old } else { new };
            return t.get(code as usize).copied().unwrap_or(false);
        }
        return match get(&l.src, ctx, a) {
            Some(v) => cmp_value(fallback, v, ctx, b),
            None => false,
        };
    }
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
        src => match get(src, ctx, a) {
            Some(v) => cmp_value(&l.cmp, v, ctx, b),
            None => false,
        },
    }
}

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
fn get<'b>(s: &Src, ctx: &Ctx<'_, '_>, buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
    match s {
        Src::Field(f) => ctx.extract_value(f, buf),
        Src::Any(v) => ctx.extract_value(v.first()?, buf),
        Src::Missing => None,
        Src::Around(_) => Some(Value::Uint(ctx.ev.ts)),
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

#[inline]
fn as_bytes<'v>(v: &'v Value<'_>, tmp: &'v mut String) -> &'v [u8] {
    match v {
        Value::Str(s) => s,
        other => {
            *tmp = match other {
                Value::Int(i) => i.to_string(),
                Value::Uint(i) => i.to_string(),
                Value::Double(d) => d.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Ip(ip) => ip.to_string(),
                Value::Str(_) => unreachable!(),
            };
            tmp.as_bytes()
        }
    }
}

#[inline]
fn as_int(v: &Value<'_>) -> Option<i128> {
    match v {
        Value::Str(s) => parse_time(s),
        other => other.as_i128(),
    }
}

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

fn as_ip(v: &Value<'_>) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) => Some(*ip),
        Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
        _ => None,
    }
}

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

fn list_op<T>(op: Op, vals: &[T], f: impl Fn(Op, &T) -> bool) -> bool {
    match op {
        Op::In | Op::Intersects => vals.iter().any(|v| f(Op::Eq, v)),
        _ => vals.first().is_some_and(|v| f(op, v)),
    }
}

fn cmp_value(c: &Cmp, v: Value<'_>, ctx: &Ctx<'_, '_>, b: &mut Vec<u8>) -> bool {
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
        Cmp::Bool(op, vals) => match as_bool(&v) {
            Some(x) => list_op(*op, vals, |o, n| ord_op(o, x, *n)),
            None => false,
        },
        Cmp::Ip(op, nets) => match as_ip(&v) {
            Some(ip) => match op {
                Op::Ne => nets.first().is_some_and(|n| !n.contains(ip)),
                Op::Eq => nets.first().is_some_and(|n| n.contains(ip)),
                _ => nets.iter().any(|n| n.contains(ip)),
            },
            None => false,
        },
        Cmp::Str(s) => {
            let mut tmp = String::new();
            str_match(s, as_bytes(&v, &mut tmp))
        }
        Cmp::EvtType { fallback, .. } => cmp_value(fallback, v, ctx, b),
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
                    let s = StrCmp {
                        op,
                        vals: vec![if op == Op::IContains {
                            y.to_ascii_lowercase()
                        } else {
                            y.to_vec()
                        }],
                        set: None,
                        regex: None,
                    };
                    str_match(&s, x)
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    if n == 0 {
        return true;
    }
    if n > hay.len() {
        return false;
    }
    let (first, second) = (needle[0], needle.get(1).copied());
    // the last position the needle can start at
    let last = hay.len() - n;
    // whether the needle starts at `i` (its first byte is known to match)
    let at = |i: usize| second.is_none_or(|b| hay[i + 1] == b) && &hay[i..i + n] == needle;
    // eight start positions at a time: the bytes equal to the needle's
    // first become zero bytes, flagged by the classic has-zero-byte test
    // (exact for the lowest, maybe spurious above it: each is checked)
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pat = ONES * u64::from(first);
    let mut i = 0;
    while i + 8 <= last + 1 {
        let w = &hay[i..i + 8];
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pat;
        let mut m = x.wrapping_sub(ONES) & !x & HIGHS;
        while m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            if hay[k] == first && at(k) {
                return true;
            }
            m &= m - 1;
        }
        i += 8;
    }
    while i <= last {
        if hay[i] == first && at(i) {
            return true;
        }
        i += 1;
    }
    false
}

fn str_match(s: &StrCmp, x: &[u8]) -> bool {
    let v0 = || s.vals.first().map(|v| v.as_slice()).unwrap_or(b"");
    match s.op {
        Op::Eq => x == v0(),
        Op::Ne => x != v0(),
        Op::Lt => x < v0(),
        Op::Le => x <= v0(),
        Op::Gt => x > v0(),
        Op::Ge => x >= v0(),
        Op::Contains | Op::BContains => find(x, v0()),
        Op::IContains => find(&x.to_ascii_lowercase(), v0()),
        Op::StartsWith | Op::BStartsWith => x.starts_with(v0()),
        Op::EndsWith => x.ends_with(v0()),
        Op::Glob => glob_match(v0(), x, false),
        Op::IGlob => glob_match(v0(), x, true),
        Op::Regex => s
            .regex
            .as_ref()
            .is_some_and(|r| r.is_match(&String::from_utf8_lossy(x))),
        Op::In | Op::Intersects => match &s.set {
            Some(set) => set.contains(x),
            None => s.vals.iter().any(|v| v.as_slice() == x),
        },
        Op::PMatch => s.vals.iter().any(|p| {
            let p = p.strip_suffix(b"/").unwrap_or(p);
            x == p || (x.starts_with(p) && x.get(p.len()) == Some(&b'/'))
        }),
        Op::Exists => true,
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn find_agrees_with_a_naive_search() {
        let hays: [&[u8]; 8] = [
            b"",
            b"/",
            b"/proc",
            b"/usr/lib/x86_64-linux-gnu/libc.so.6",
            b"/host/proc/1/status",
            b"192.168.1.2:40000->142.250.1.1:443",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"\x80\x81\x00\x01/proc/pr/proc",
        ];
        let needles: [&[u8]; 9] = [
            b"",
            b"/",
            b"/proc",
            b"proc",
            b"c",
            b"ab",
            b"b",
            b"aab",
            b"/proc/pr/proc",
        ];
        for h in hays {
            for cut in 0..=h.len() {
                let hay = &h[cut..];
                for nd in needles {
                    let naive = nd.is_empty() || hay.windows(nd.len()).any(|w| w == nd);
                    assert_eq!(find(hay, nd), naive, "{hay:?} {nd:?}");
                }
            }
        }
    }
}

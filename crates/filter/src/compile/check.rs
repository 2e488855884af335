//! Compiling one comparison (`field op value`): resolving the field to a
//! value source, checking the operator against the field's type, and
//! building the comparison.

use sonde_fields::registry::{self, FieldType};
use sonde_fields::{EvtX, FdX, Field};

use super::cost::src_cost;
use super::domain::Domain;
use super::err;
use super::evt_type::{code_cmp, evt_type_cmp, known_event_type};
use super::literal::values;
use super::node::{Ancestor, Cmp, DeltaKind, Leaf, Src};
use crate::ast::{Check, FieldRef, Lit, Op, Operand, Rhs, Transformer};
use crate::error::FilterError;

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
        "evt.deltatime" => Src::Delta(DeltaKind::Full, Default::default()),
        "evt.deltatime.s" => Src::Delta(DeltaKind::Secs, Default::default()),
        "evt.deltatime.ns" => Src::Delta(DeltaKind::Nanos, Default::default()),
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

/// Resolves an operand (a field, maybe transformed) to a source and its type.
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

/// None when `op` applies to fields of type `ty`, else the kind of
/// filter it does not apply to (for the error message).
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

/// Compiles one comparison into a leaf.
pub(super) fn compile_check(
    c: &Check,
    text: &str,
    warnings: &mut Vec<FilterError>,
) -> Result<Leaf, FilterError> {
    let (mut src, ty) = operand(&c.lhs, text)?;
    if matches!(src, Src::Ancestors(Ancestor::Pid)) && c.op == Op::In {
        // sysdig 0.29.3 walks the ancestors for `proc.apid` with every
        // operator but `in`, which compares the process's own pid (the
        // value `%proc.apid` prints)
        src = Src::Field(Field::ProcApid(0));
    }
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
        // a name that is no event (a typo, or a syscall newer than the
        // table): sysdig 0.29.3 refuses the filter; sonde warns and the
        // value selects nothing, so rules written for other versions run
        for l in &lits {
            if !known_event_type(&l.text) {
                let msg = format!("unknown event type '{}': it selects nothing", l.text);
                warnings.push(err(text, l.pos, msg));
            }
        }
    }
    let cmp = match (&src, cmp) {
        (Src::Field(Field::EvtType), Cmp::Str(s)) => evt_type_cmp(s),
        (Src::Field(Field::Fd(FdX::IpName(end))), Cmp::Str(s)) => {
            Cmp::Domain(Box::new(Domain::new(*end, s)))
        }
        (Src::Field(f), cmp) => code_cmp(f, cmp),
        (_, cmp) => cmp,
    };
    let mut cost = match cmp {
        Cmp::Code { .. } => 0,
        _ => src_cost(&src),
    };
    if let Cmp::Str(s) = &cmp {
        if s.regex.is_some() {
            cost += 2;
        }
    }
    Ok(Leaf { src, cmp, cost })
}

/// The left operand as written, for error messages.
fn lhs_name(o: &Operand) -> String {
    match o {
        Operand::Field(f) => f.name.clone(),
        Operand::Transform { t, arg, .. } => format!("{}({})", t.name(), lhs_name(arg)),
    }
}

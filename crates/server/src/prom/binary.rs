//! PromQL's binary operators, evaluated over the series the store's
//! queries return (Prometheus's semantics, per evaluation time):
//! - arithmetic `+ - * / % ^ atan2` and comparisons `== != > < >= <=`
//!   (filtering, or 0/1 with `bool`) between two numbers, a vector and a
//!   number, or two vectors;
//! - between vectors, one-to-one matching on every label but `__name__`,
//!   `on (..)` or `ignoring (..)`, and many-to-one / one-to-many with
//!   `group_left (..)` / `group_right (..)` (the listed labels copied
//!   from the "one" side);
//! - the set operators `and`, `or`, `unless` (many-to-many).
//!
//! Arithmetic and `bool` drop the metric name; a plain comparison keeps
//! the left side's sample (the vector's, when the number is on the left).
//! A match that is not unique where the cardinality says it must be is
//! an execution error worded as Prometheus's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promql_parser::parser::ast::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use promql_parser::parser::token;

use super::eval::{EvalError, Series};
use super::translate::{translate, Plan, Unsupported};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    fn from_token(t: &token::TokenType) -> Result<BinOp, Unsupported> {
        Ok(match t.id() {
            token::T_ADD => BinOp::Add,
            token::T_SUB => BinOp::Sub,
            token::T_MUL => BinOp::Mul,
            token::T_DIV => BinOp::Div,
            token::T_MOD => BinOp::Mod,
            token::T_POW => BinOp::Pow,
            token::T_ATAN2 => BinOp::Atan2,
            token::T_EQLC => BinOp::Eq,
            token::T_NEQ => BinOp::Ne,
            token::T_GTR => BinOp::Gt,
            token::T_LSS => BinOp::Lt,
            token::T_GTE => BinOp::Ge,
            token::T_LTE => BinOp::Le,
            token::T_LAND => BinOp::And,
            token::T_LOR => BinOp::Or,
            token::T_LUNLESS => BinOp::Unless,
            _ => {
                return Err(Unsupported(format!(
                    "binary operator '{t}' is not supported"
                )))
            }
        })
    }

    /// `==` .. `<=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    /// `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// The result of `l op r`: for a comparison, `Some(l)` when it holds
    /// and None when not; None for the set operators.
    pub fn apply(self, l: f64, r: f64) -> Option<f64> {
        let holds = |c: bool| c.then_some(l);
        match self {
            BinOp::Add => Some(l + r),
            BinOp::Sub => Some(l - r),
            BinOp::Mul => Some(l * r),
            BinOp::Div => Some(l / r),
            BinOp::Mod => Some(l % r),
            BinOp::Pow => Some(l.powf(r)),
            BinOp::Atan2 => Some(l.atan2(r)),
            #[allow(clippy::float_cmp)] // PromQL's == is exact
            BinOp::Eq => holds(l == r),
            #[allow(clippy::float_cmp)]
            BinOp::Ne => holds(l != r),
            BinOp::Gt => holds(l > r),
            BinOp::Lt => holds(l < r),
            BinOp::Ge => holds(l >= r),
            BinOp::Le => holds(l <= r),
            BinOp::And | BinOp::Or | BinOp::Unless => None,
        }
    }
}

/// How two vectors' series are paired.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matching {
    /// `on (..)`: only these labels identify a pair.
    pub on: Option<Vec<String>>,
    /// `ignoring (..)`: every label but these (and `__name__`).
    pub ignoring: Vec<String>,
    /// The cardinality.
    pub card: Card,
}

/// A matching's cardinality.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Card {
    /// Each side's series match at most one of the other's.
    #[default]
    OneToOne,
    /// `group_left (..)`: many on the left for one on the right.
    ManyToOne(Vec<String>),
    /// `group_right (..)`: one on the left for many on the right.
    OneToMany(Vec<String>),
    /// The set operators.
    ManyToMany,
}

/// A binary operator between two expressions, one at least a vector.
#[derive(Debug, Clone, PartialEq)]
pub struct BinPlan {
    /// The operator.
    pub op: BinOp,
    /// The left operand.
    pub lhs: Plan,
    /// The right operand.
    pub rhs: Plan,
    /// `bool`: comparisons give 0 or 1 instead of filtering.
    pub return_bool: bool,
    /// How vectors match.
    pub matching: Matching,
}

fn no(msg: impl Into<String>) -> Unsupported {
    Unsupported(msg.into())
}

/// `l op r` between numbers (`bool` comparisons give 0/1).
fn scalar(op: BinOp, return_bool: bool, l: f64, r: f64) -> Result<f64, Unsupported> {
    if op.is_set() {
        return Err(no(format!(
            "set operator '{op:?}' needs vectors on both sides"
        )
        .to_lowercase()));
    }
    if op.is_comparison() {
        if !return_bool {
            return Err(no("comparisons between numbers must use the bool modifier"));
        }
        return Ok(if op.apply(l, r).is_some() { 1.0 } else { 0.0 });
    }
    Ok(op.apply(l, r).unwrap_or(f64::NAN))
}

/// Translates `lhs op rhs`: a number when both sides are, else a
/// [`Plan::Binary`].
pub fn translate_binary(b: &BinaryExpr) -> Result<Plan, Unsupported> {
    let op = BinOp::from_token(&b.op)?;
    let lhs = translate(&b.lhs)?;
    let rhs = translate(&b.rhs)?;
    let m = b.modifier.as_ref();
    let return_bool = m.is_some_and(|m| m.return_bool);
    if let (Plan::Scalar(l), Plan::Scalar(r)) = (&lhs, &rhs) {
        return Ok(Plan::Scalar(scalar(op, return_bool, *l, *r)?));
    }
    if op.is_set() && (matches!(lhs, Plan::Scalar(_)) || matches!(rhs, Plan::Scalar(_))) {
        return Err(no(format!(
            "set operator '{}' needs vectors on both sides",
            b.op
        )));
    }
    let mut matching = Matching::default();
    if let Some(m) = m {
        match &m.matching {
            Some(LabelModifier::Include(l)) => matching.on = Some(l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => matching.ignoring.clone_from(&l.labels),
            None => {}
        }
        matching.card = match &m.card {
            VectorMatchCardinality::OneToOne => Card::OneToOne,
            VectorMatchCardinality::ManyToOne(l) => Card::ManyToOne(l.labels.clone()),
            VectorMatchCardinality::OneToMany(l) => Card::OneToMany(l.labels.clone()),
            VectorMatchCardinality::ManyToMany => Card::ManyToMany,
        };
    }
    if op.is_set() {
        matching.card = Card::ManyToMany;
    }
    Ok(Plan::Binary(Box::new(BinPlan {
        op,
        lhs,
        rhs,
        return_bool,
        matching,
    })))
}

/// An evaluated expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (the same at every evaluation time).
    Scalar(f64),
    /// Series.
    Vector(Vec<Series>),
}

type Labels = BTreeMap<String, String>;
type Sig = Vec<(String, String)>;

fn exec(msg: impl Into<String>) -> EvalError {
    EvalError::Execution(msg.into())
}

impl BinPlan {
    /// The operator applied to evaluated operands.
    pub fn apply(&self, lhs: Value, rhs: Value) -> Result<Value, EvalError> {
        let out = match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                return scalar(self.op, self.return_bool, l, r)
                    .map(Value::Scalar)
                    .map_err(|e| EvalError::Bad(e.0));
            }
            (Value::Vector(v), Value::Scalar(s)) => self.with_scalar(v, s, false),
            (Value::Scalar(s), Value::Vector(v)) => self.with_scalar(v, s, true),
            (Value::Vector(l), Value::Vector(r)) if self.op.is_set() => self.set_op(l, r),
            (Value::Vector(l), Value::Vector(r)) => self.matched(l, r)?,
        };
        Ok(Value::Vector(out))
    }

    /// The value of a pair, None when a comparison filters it out.
    fn value(&self, l: f64, r: f64) -> Option<f64> {
        let v = self.op.apply(l, r);
        if self.op.is_comparison() && self.return_bool {
            return Some(if v.is_some() { 1.0 } else { 0.0 });
        }
        v
    }

    fn drops_name(&self) -> bool {
        !self.op.is_comparison() || self.return_bool
    }

    fn with_scalar(&self, v: Vec<Series>, s: f64, scalar_left: bool) -> Vec<Series> {
        let keep_vector_value = self.op.is_comparison() && !self.return_bool && scalar_left;
        v.into_iter()
            .map(|mut x| {
                if self.drops_name() {
                    x.labels.remove("__name__");
                }
                x.points.retain_mut(|(_, y)| {
                    let (l, r) = if scalar_left { (s, *y) } else { (*y, s) };
                    match self.value(l, r) {
                        Some(v) => {
                            *y = if keep_vector_value { *y } else { v };
                            true
                        }
                        None => false,
                    }
                });
                x
            })
            .filter(|x| !x.points.is_empty())
            .collect()
    }

    fn signature(&self, l: &Labels) -> Sig {
        match &self.matching.on {
            Some(on) => on
                .iter()
                .map(|k| (k.clone(), l.get(k).cloned().unwrap_or_default()))
                .collect(),
            None => l
                .iter()
                .filter(|(k, _)| *k != "__name__" && !self.matching.ignoring.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// `and`, `or`, `unless`, per evaluation time.
    fn set_op(&self, lhs: Vec<Series>, rhs: Vec<Series>) -> Vec<Series> {
        let times = |v: &[Series]| {
            let mut m: HashMap<Sig, BTreeSet<i64>> = HashMap::new();
            for s in v {
                m.entry(self.signature(&s.labels))
                    .or_default()
                    .extend(s.points.iter().map(|p| p.0));
            }
            m
        };
        let keep = |v: Vec<Series>, other: &HashMap<Sig, BTreeSet<i64>>, present: bool| {
            v.into_iter()
                .map(|mut s| {
                    let ts = other.get(&self.signature(&s.labels));
                    s.points
                        .retain(|(t, _)| ts.is_some_and(|ts| ts.contains(t)) == present);
                    s
                })
                .filter(|s| !s.points.is_empty())
                .collect::<Vec<_>>()
        };
        match self.op {
            BinOp::And => keep(lhs, &times(&rhs), true),
            BinOp::Unless => keep(lhs, &times(&rhs), false),
            _ => {
                let left = times(&lhs);
                let mut out = lhs;
                out.extend(keep(rhs, &left, false));
                merge(out)
            }
        }
    }

    /// The labels of a matched pair: the "many" side's, reduced as the
    /// matching says, with the `group_x` labels from the "one" side.
    fn result_labels(&self, many: &Labels, one: &Labels) -> Labels {
        let mut l = many.clone();
        if self.drops_name() {
            l.remove("__name__");
        }
        let include = match &self.matching.card {
            Card::ManyToOne(i) | Card::OneToMany(i) => i.as_slice(),
            Card::OneToOne => {
                match &self.matching.on {
                    Some(on) => l.retain(|k, _| on.contains(k)),
                    None => l.retain(|k, _| !self.matching.ignoring.contains(k)),
                }
                &[]
            }
            Card::ManyToMany => &[],
        };
        for k in include {
            match one.get(k) {
                Some(v) if !v.is_empty() => {
                    l.insert(k.clone(), v.clone());
                }
                _ => {
                    l.remove(k);
                }
            }
        }
        l
    }

    /// Arithmetic or comparison between matched series.
    fn matched(&self, lhs: Vec<Series>, rhs: Vec<Series>) -> Result<Vec<Series>, EvalError> {
        let swapped = matches!(self.matching.card, Card::OneToMany(_));
        let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
        let mut ones: HashMap<Sig, Vec<usize>> = HashMap::new();
        for (i, s) in one.iter().enumerate() {
            ones.entry(self.signature(&s.labels)).or_default().push(i);
        }
        let one_pts: Vec<HashMap<i64, f64>> = one
            .iter()
            .map(|s| s.points.iter().copied().collect())
            .collect();
        let one_to_one = self.matching.card == Card::OneToOne;
        let mut used: HashMap<Sig, BTreeSet<i64>> = HashMap::new();
        let mut out: BTreeMap<Labels, BTreeMap<i64, f64>> = BTreeMap::new();
        let mut labels: HashMap<(usize, usize), Labels> = HashMap::new();
        for (mi, ms) in many.iter().enumerate() {
            let sig = self.signature(&ms.labels);
            let Some(cands) = ones.get(&sig) else {
                continue;
            };
            for &(t, vm) in &ms.points {
                let mut found = None;
                for &c in cands {
                    if let Some(&v) = one_pts[c].get(&t) {
                        if found.is_some() {
                            return Err(exec(format!(
                                "found duplicate series for the match group {} on the {} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side",
                                show(&sig),
                                if swapped { "left" } else { "right" }
                            )));
                        }
                        found = Some((c, v));
                    }
                }
                let Some((c, vo)) = found else {
                    continue;
                };
                if one_to_one && !used.entry(sig.clone()).or_default().insert(t) {
                    return Err(exec(format!(
                        "multiple matches for labels {}: many-to-one matching must be explicit (group_left/group_right)",
                        show(&sig)
                    )));
                }
                let (vl, vr) = if swapped { (vo, vm) } else { (vm, vo) };
                let Some(v) = self.value(vl, vr) else {
                    continue;
                };
                let l = labels
                    .entry((mi, c))
                    .or_insert_with(|| self.result_labels(&ms.labels, &one[c].labels))
                    .clone();
                if out.entry(l).or_default().insert(t, v).is_some() {
                    return Err(exec(
                        "multiple matches for labels: grouping labels must ensure unique matches",
                    ));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(labels, p)| Series {
                labels,
                points: p.into_iter().collect(),
            })
            .collect())
    }
}

/// Series with the same labels joined (an `or` of disjoint times).
fn merge(v: Vec<Series>) -> Vec<Series> {
    let mut out: BTreeMap<Labels, BTreeMap<i64, f64>> = BTreeMap::new();
    for s in v {
        out.entry(s.labels).or_default().extend(s.points);
    }
    out.into_iter()
        .map(|(labels, p)| Series {
            labels,
            points: p.into_iter().collect(),
        })
        .collect()
}

fn show(sig: &Sig) -> String {
    let inner: Vec<String> = sig.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prom::translate::plan;

    fn s(labels: &[(&str, &str)], pts: &[(i64, f64)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            points: pts.to_vec(),
        }
    }

    fn bin(q: &str) -> BinPlan {
        match plan(q).unwrap() {
            Plan::Binary(b) => *b,
            other => panic!("{q}: {other:?}"),
        }
    }

    fn vec(v: Value) -> Vec<Series> {
        match v {
            Value::Vector(v) => v,
            Value::Scalar(x) => panic!("scalar {x}"),
        }
    }

    #[test]
    fn numbers_fold_and_comparisons_need_bool() {
        assert_eq!(plan("2 ^ 3 % 5").unwrap(), Plan::Scalar(3.0));
        assert_eq!(plan("1 < bool 2").unwrap(), Plan::Scalar(1.0));
        assert_eq!(plan("1 atan2 1").unwrap(), Plan::Scalar(1f64.atan2(1.0)));
        assert!(plan("1 and 2").is_err());
        assert!(plan("m and 1").unwrap_err().0.contains("binary scalar"));
    }

    #[test]
    fn vector_and_number() {
        let a = vec![s(&[("__name__", "m"), ("h", "1")], &[(1, 2.0), (2, 6.0)])];
        let r = vec(bin("m * 10")
            .apply(Value::Vector(a.clone()), Value::Scalar(10.0))
            .unwrap());
        assert_eq!(r, [s(&[("h", "1")], &[(1, 20.0), (2, 60.0)])]);
        // a plain comparison filters and keeps the name and the vector's value
        let r = vec(bin("5 < m")
            .apply(Value::Scalar(5.0), Value::Vector(a.clone()))
            .unwrap());
        assert_eq!(r, [s(&[("__name__", "m"), ("h", "1")], &[(2, 6.0)])]);
        let r = vec(bin("m > bool 5")
            .apply(Value::Vector(a), Value::Scalar(5.0))
            .unwrap());
        assert_eq!(r, [s(&[("h", "1")], &[(1, 0.0), (2, 1.0)])]);
    }

    #[test]
    fn one_to_one_and_group_left() {
        let a = vec![
            s(&[("h", "1"), ("c", "x")], &[(1, 6.0), (2, 8.0)]),
            s(&[("h", "1"), ("c", "y")], &[(1, 3.0)]),
            s(&[("h", "2"), ("c", "x")], &[(1, 1.0)]),
        ];
        let b = vec![s(&[("h", "1"), ("z", "k")], &[(1, 3.0), (2, 4.0)])];
        let va = || Value::Vector(a.clone());
        let vb = || Value::Vector(b.clone());
        let r = vec(bin("a / on(h) group_left(z) b").apply(va(), vb()).unwrap());
        assert_eq!(
            r,
            [
                s(&[("c", "x"), ("h", "1"), ("z", "k")], &[(1, 2.0), (2, 2.0)]),
                s(&[("c", "y"), ("h", "1"), ("z", "k")], &[(1, 1.0)]),
            ]
        );
        // without group_left two left series match one: an error
        let e = bin("a / on(h) b").apply(va(), vb()).unwrap_err();
        assert!(e.to_string().contains("group_left/group_right"), "{e}");
        // b on the many side's right: many-to-many
        let e = bin("b / on(h) group_right a").apply(vb(), va());
        assert!(e.is_ok());
        let e = bin("b / on(h) a").apply(vb(), va()).unwrap_err();
        assert!(e.to_string().contains("duplicate series"), "{e}");
        // ignoring: one-to-one on the rest
        let c = vec![s(&[("h", "1"), ("c", "x"), ("p", "q")], &[(1, 2.0)])];
        let r = vec(bin("a - ignoring(p) c")
            .apply(va(), Value::Vector(c))
            .unwrap());
        assert_eq!(r, [s(&[("c", "x"), ("h", "1")], &[(1, 4.0)])]);
    }

    #[test]
    fn set_operators_per_time() {
        let a = vec![
            s(&[("h", "1")], &[(1, 1.0), (2, 2.0)]),
            s(&[("h", "2")], &[(1, 3.0)]),
        ];
        let b = vec![
            s(&[("h", "1")], &[(2, 9.0), (3, 9.0)]),
            s(&[("h", "3")], &[(1, 7.0)]),
        ];
        let run = |q: &str| {
            vec(bin(q)
                .apply(Value::Vector(a.clone()), Value::Vector(b.clone()))
                .unwrap())
        };
        assert_eq!(run("a and b"), [s(&[("h", "1")], &[(2, 2.0)])]);
        assert_eq!(
            run("a unless b"),
            [s(&[("h", "1")], &[(1, 1.0)]), s(&[("h", "2")], &[(1, 3.0)])]
        );
        assert_eq!(
            run("a or b"),
            [
                s(&[("h", "1")], &[(1, 1.0), (2, 2.0), (3, 9.0)]),
                s(&[("h", "2")], &[(1, 3.0)]),
                s(&[("h", "3")], &[(1, 7.0)]),
            ]
        );
        assert_eq!(run("a and on() b").len(), 2);
    }
}

//! PromQL (parsed by `promql-parser`) translated into a [`Plan`]: the
//! subset that maps onto one `sonde_store::Query` per evaluation.
//!
//! The mapping (sonde's samples are per-second: counters carry the
//! second's increment, gauges its level, histograms the second's
//! distribution):
//! - `m{l="v", l!="v", l=~"re", l!~"re"}`: the series of metric `m`
//!   (sonde's dotted name with `.` as `_`) passing the filters; a bare
//!   selector reads the mean of the samples in its lookback window.
//! - `f(m[R])`: a window of `R` ending at each evaluation time (`(t-R,
//!   t]`), folded per series: `rate` = sum / R seconds (the increments
//!   are deltas, so this is Prometheus's rate), `increase` = sum,
//!   `avg_over_time`, `sum_over_time`, `min_over_time`, `max_over_time`,
//!   `count_over_time`, `quantile_over_time(q, ..)`.
//! - `sum`/`avg`/`min`/`max`/`count`/`quantile(q, ..)` `by (..)` or
//!   `without (..)`: the store's aggregation across the series of each
//!   group.
//! - `topk(k, ..)`/`bottomk(k, ..)`: the k groups (or series) with the
//!   highest/lowest mean over the evaluation range (per point for an
//!   instant query or a window different from the step).
//! - `histogram_quantile(q, X)` over a sonde histogram `m` (written `m`,
//!   or `m_bucket` as Prometheus users do, inside `rate(..[R])` or
//!   `sum by (le, ..) (rate(..[R]))`): the q-quantile of the
//!   distributions merged per group (`le` dropped from `by`), read from
//!   sonde's log-linear buckets (within about 6%).
//! - number literals and arithmetic between them: a scalar.
//! - binary operators ([`super::binary`]): arithmetic, comparisons and
//!   set operators between numbers and the vectors above, with `on`,
//!   `ignoring`, `group_left`, `group_right` and `bool`; unary minus.
//!
//! Anything else (other functions, aggregations or functions over a
//! binary expression, subqueries, `offset`, `@`, `or` in matchers) is
//! refused with a message naming the construct.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::ast::{AggregateExpr, Call, Expr, LabelModifier, VectorSelector};
use promql_parser::parser::token;
use sonde_store::{Agg, Order};

/// What a PromQL expression asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A number.
    Scalar(f64),
    /// Series, per evaluation time.
    Vector(VecPlan),
    /// A binary operator, one side at least a vector.
    Binary(Box<super::binary::BinPlan>),
}

/// How series are grouped.
#[derive(Debug, Clone, PartialEq)]
pub enum Grouping {
    /// Each series alone (labels kept).
    Series,
    /// By these labels.
    By(Vec<String>),
    /// By every label but these.
    Without(Vec<String>),
}

/// A vector expression, in the store's terms (names still PromQL's).
#[derive(Debug, Clone, PartialEq)]
pub struct VecPlan {
    /// The metric, PromQL's spelling.
    pub metric: String,
    /// (label, op, value) matchers, PromQL's label names.
    pub matchers: Vec<(String, MatchKind, String)>,
    /// The window of a range function (None: a bare selector's lookback).
    pub range_ms: Option<i64>,
    /// Per series, over the window.
    pub time_agg: Agg,
    /// The grouping.
    pub grouping: Grouping,
    /// Across a group's series.
    pub group_agg: Agg,
    /// topk / bottomk.
    pub top: Option<(usize, Order)>,
    /// The result keeps `__name__` (no function or aggregation applied).
    pub keep_name: bool,
    /// histogram_quantile (the metric is a histogram; `le` is ignored).
    pub histogram: bool,
}

/// A label matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
}

/// A PromQL expression outside the subset, or invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

fn no(msg: impl Into<String>) -> Unsupported {
    Unsupported(msg.into())
}

/// The deepest expression accepted. The parsed tree, its translation and
/// its drop all recurse, and a server thread's stack is 2 MiB: a query of
/// thousands of nested `-` or `(` must be an error, not a crash.
pub const MAX_NESTING: usize = 500;

/// An upper bound on the depth of the tree `text` parses into: the
/// brackets open at once plus the operators (each nests what follows one
/// level deeper at most), outside string literals.
fn nesting(text: &str) -> usize {
    let (mut open, mut deepest, mut ops) = (0usize, 0usize, 0usize);
    let (mut quote, mut escaped) = (None, false);
    let mut word = None;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.get_or_insert(i);
            continue;
        }
        if let Some(w) = word.take() {
            ops += usize::from(is_keyword_op(&text[w..i]));
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => {
                open += 1;
                deepest = deepest.max(open);
            }
            ')' | ']' | '}' => open = open.saturating_sub(1),
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' => ops += 1,
            _ => {}
        }
    }
    if let Some(w) = word {
        ops += usize::from(is_keyword_op(&text[w..]));
    }
    deepest + ops
}

fn is_keyword_op(w: &str) -> bool {
    ["and", "or", "unless", "atan2"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

/// Parses and translates `text`.
pub fn plan(text: &str) -> Result<Plan, Unsupported> {
    if nesting(text) > MAX_NESTING {
        return Err(no(format!(
            "the query nests too deep (over {MAX_NESTING} brackets and operators)"
        )));
    }
    let e = promql_parser::parser::parse(text).map_err(|e| no(format!("parse error: {e}")))?;
    translate(&e)
}

/// Translates a parsed expression.
pub fn translate(e: &Expr) -> Result<Plan, Unsupported> {
    match e {
        Expr::Paren(p) => translate(&p.expr),
        Expr::NumberLiteral(n) => Ok(Plan::Scalar(n.val)),
        Expr::Unary(u) => match translate(&u.expr)? {
            Plan::Scalar(v) => Ok(Plan::Scalar(-v)),
            // -v is 0 - v (the name dropped, as Prometheus does)
            v => Ok(Plan::Binary(Box::new(super::binary::BinPlan {
                op: super::binary::BinOp::Sub,
                lhs: Plan::Scalar(0.0),
                rhs: v,
                return_bool: false,
                matching: Default::default(),
            }))),
        },
        Expr::Binary(b) => super::binary::translate_binary(b),
        Expr::VectorSelector(vs) => Ok(Plan::Vector(selector(vs, None)?)),
        Expr::MatrixSelector(_) => Err(no(
            "a range vector as the result is not supported: apply a function (rate, avg_over_time, ...)",
        )),
        Expr::Call(c) => call(c),
        Expr::Aggregate(a) => aggregate(a),
        Expr::Subquery(_) => Err(no("subqueries are not supported")),
        Expr::StringLiteral(_) => Err(no("string literals are not supported")),
        Expr::Extension(_) => Err(no("extension expressions are not supported")),
    }
}

fn selector(vs: &VectorSelector, range_ms: Option<i64>) -> Result<VecPlan, Unsupported> {
    if vs.offset.is_some() {
        return Err(no("the 'offset' modifier is not supported"));
    }
    if vs.at.is_some() {
        return Err(no("the '@' modifier is not supported"));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(no("'or' between label matchers is not supported"));
    }
    let mut name = vs.name.clone();
    let mut matchers = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            match m.op {
                MatchOp::Equal => name = Some(m.value.clone()),
                _ => return Err(no("a __name__ matcher other than '=' is not supported")),
            }
            continue;
        }
        matchers.push((m.name.clone(), kind(m), m.value.clone()));
    }
    // (`{__name__=""}` names no metric either)
    let metric = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| no("a selector without a metric name is not supported"))?;
    Ok(VecPlan {
        metric,
        matchers,
        range_ms,
        time_agg: Agg::Avg,
        grouping: Grouping::Series,
        group_agg: Agg::Avg,
        top: None,
        keep_name: true,
        histogram: false,
    })
}

fn kind(m: &Matcher) -> MatchKind {
    match m.op {
        MatchOp::Equal => MatchKind::Eq,
        MatchOp::NotEqual => MatchKind::Ne,
        MatchOp::Re(_) => MatchKind::Re,
        MatchOp::NotRe(_) => MatchKind::NotRe,
    }
}

fn ms(d: std::time::Duration) -> Result<i64, Unsupported> {
    let v = i64::try_from(d.as_millis()).map_err(|_| no("range too long"))?;
    if v < 1000 {
        return Err(no(
            "a range under 1s is not supported (samples are per second)",
        ));
    }
    Ok(v)
}

/// A number argument (a literal).
fn number(e: &Expr, what: &str) -> Result<f64, Unsupported> {
    match translate(e)? {
        Plan::Scalar(v) => Ok(v),
        _ => Err(no(format!("{what} must be a number"))),
    }
}

fn quantile_arg(e: &Expr) -> Result<f64, Unsupported> {
    let q = number(e, "the quantile")?;
    if !(0.0..=1.0).contains(&q) {
        return Err(no(format!("quantile {q} is outside 0..1")));
    }
    Ok(q)
}

fn range_arg(e: &Expr, f: &str) -> Result<VecPlan, Unsupported> {
    match e {
        Expr::MatrixSelector(m) => selector(&m.vs, Some(ms(m.range)?)),
        Expr::Paren(p) => range_arg(&p.expr, f),
        _ => Err(no(format!("{f}() needs a range selector such as m[1m]"))),
    }
}

fn call(c: &Call) -> Result<Plan, Unsupported> {
    let f = c.func.name;
    let args = &c.args.args;
    let arg = |i: usize| {
        args.get(i)
            .map(|a| a.as_ref())
            .ok_or_else(|| no(format!("{f}() is missing an argument")))
    };
    let over = |agg: Agg, i: usize| -> Result<Plan, Unsupported> {
        let mut p = range_arg(arg(i)?, f)?;
        p.time_agg = agg;
        p.keep_name = false;
        Ok(Plan::Vector(p))
    };
    match f {
        "rate" => over(Agg::Rate, 0),
        "increase" => over(Agg::Sum, 0),
        "avg_over_time" => over(Agg::Avg, 0),
        "sum_over_time" => over(Agg::Sum, 0),
        "min_over_time" => over(Agg::Min, 0),
        "max_over_time" => over(Agg::Max, 0),
        "count_over_time" => over(Agg::Count, 0),
        "quantile_over_time" => over(Agg::Quantile(quantile_arg(arg(0)?)?), 1),
        "histogram_quantile" => histogram_quantile(quantile_arg(arg(0)?)?, arg(1)?),
        other => Err(no(format!("function '{other}' is not supported"))),
    }
}

fn histogram_quantile(q: f64, inner: &Expr) -> Result<Plan, Unsupported> {
    let Plan::Vector(mut p) = translate(inner)? else {
        return Err(no(
            "histogram_quantile() over a number or a binary expression is not supported",
        ));
    };
    if p.top.is_some() || !matches!(p.group_agg, Agg::Sum | Agg::Avg) {
        return Err(no(
            "histogram_quantile() over anything but sum by (le, ...) (rate(m[R])) is not supported",
        ));
    }
    if let Some(base) = p.metric.strip_suffix("_bucket") {
        p.metric = base.to_string();
    }
    p.grouping = match p.grouping {
        Grouping::By(l) => Grouping::By(l.into_iter().filter(|l| l != "le").collect()),
        Grouping::Without(l) => Grouping::Without(l),
        Grouping::Series => Grouping::Series,
    };
    p.time_agg = Agg::Quantile(q);
    p.group_agg = Agg::Merge;
    p.histogram = true;
    p.keep_name = false;
    Ok(Plan::Vector(p))
}

fn aggregate(a: &AggregateExpr) -> Result<Plan, Unsupported> {
    let op = a.op.id();
    let Plan::Vector(mut p) = translate(&a.expr)? else {
        return Err(no(format!(
            "{}() over a number or a binary expression is not supported",
            a.op
        )));
    };
    let param = || {
        a.param
            .as_deref()
            .ok_or_else(|| no(format!("{}() needs a parameter", a.op)))
    };
    if op == token::T_TOPK || op == token::T_BOTTOMK {
        if a.modifier.is_some() {
            return Err(no(format!("{} by/without (...) is not supported", a.op)));
        }
        let k = number(param()?, "k")?;
        if !(k >= 1.0 && k.fract() == 0.0 && k < 1e9) {
            return Err(no(format!("k must be a positive integer, not {k}")));
        }
        let order = if op == token::T_TOPK {
            Order::Highest
        } else {
            Order::Lowest
        };
        // k is a small positive integer (checked above)
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let k = k as usize;
        p.top = Some((k, order));
        return Ok(Plan::Vector(p));
    }
    if p.grouping != Grouping::Series || p.top.is_some() || p.histogram {
        return Err(no(format!(
            "nested aggregation ({} over an aggregation) is not supported",
            a.op
        )));
    }
    p.group_agg = match op {
        token::T_SUM => Agg::Sum,
        token::T_AVG => Agg::Avg,
        token::T_MIN => Agg::Min,
        token::T_MAX => Agg::Max,
        token::T_COUNT => Agg::Count,
        token::T_QUANTILE => Agg::Quantile(quantile_arg(param()?)?),
        _ => return Err(no(format!("aggregation '{}' is not supported", a.op))),
    };
    p.grouping = match &a.modifier {
        None => Grouping::By(Vec::new()),
        Some(LabelModifier::Include(l)) => Grouping::By(l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => Grouping::Without(l.labels.clone()),
    };
    p.keep_name = false;
    Ok(Plan::Vector(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(s: &str) -> VecPlan {
        match plan(s).unwrap() {
            Plan::Vector(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_subset() {
        let p = vp(
            r#"sum by (host) (rate(net_http_request_count{container_name=~"web.*", x!="1"}[10s]))"#,
        );
        assert_eq!(p.metric, "net_http_request_count");
        assert_eq!(p.range_ms, Some(10_000));
        assert_eq!((p.time_agg, p.group_agg), (Agg::Rate, Agg::Sum));
        assert_eq!(p.grouping, Grouping::By(vec!["host".into()]));
        assert_eq!(
            p.matchers[0],
            ("container_name".into(), MatchKind::Re, "web.*".into())
        );
        assert_eq!(p.matchers[1].1, MatchKind::Ne);
        let p = vp("quantile_over_time(0.9, m[1m])");
        assert_eq!(p.time_agg, Agg::Quantile(0.9));
        let p = vp("topk(3, avg without (pod) (m))");
        assert_eq!(p.top, Some((3, Order::Highest)));
        assert_eq!(p.grouping, Grouping::Without(vec!["pod".into()]));
        let p = vp("histogram_quantile(0.95, sum by (le, svc) (rate(lat_bucket[5m])))");
        assert_eq!(
            (p.metric.as_str(), p.time_agg, p.group_agg),
            ("lat", Agg::Quantile(0.95), Agg::Merge)
        );
        assert_eq!(p.grouping, Grouping::By(vec!["svc".into()]));
        let p = vp("m");
        assert!(p.keep_name && p.range_ms.is_none());
        assert_eq!(plan("1+1").unwrap(), Plan::Scalar(2.0));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // found by tests/fuzz_parsers.rs: 3000 unary minuses overflowed a
        // 2 MiB stack in translate(), 100k ones in the parsed tree's drop
        for q in [
            format!("{}m", "-".repeat(3000)),
            format!("{}m{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("m{}", " or m".repeat(1000)),
        ] {
            let e = plan(&q).unwrap_err();
            assert!(e.0.contains("too deep"), "{e}");
        }
        // what is inside quotes does not count
        let re = format!("m{{path=~\"{}\"}}", "(-)".repeat(1000));
        assert!(matches!(plan(&re), Ok(Plan::Vector(_))));
        assert_eq!(nesting("sum by (a) (rate(m{b=\"x\"}[5m])) and n"), 5);
    }

    #[test]
    fn an_empty_metric_name_is_no_metric_name() {
        // found by tests/fuzz_parsers.rs: planned as a query for metric ""
        let e = plan("{__name__=\"\", job=\"x\"}").unwrap_err();
        assert!(e.0.contains("without a metric name"), "{e}");
    }

    #[test]
    fn outside_the_subset_names_the_construct() {
        for (q, want) in [
            ("sum(a + b)", "over a number or a binary expression"),
            ("abs(a) + b", "function 'abs'"),
            ("abs(m)", "function 'abs'"),
            ("m offset 5m", "offset"),
            ("rate(m[5m:1m])", "range selector"),
            ("sum(sum by (a) (m))", "nested aggregation"),
            ("stddev(m)", "aggregation 'stddev'"),
            ("m[5m]", "range vector"),
            ("quantile(2, m)", "outside 0..1"),
            ("sum(", "parse error"),
            ("topk(0, m)", "positive integer"),
        ] {
            let e = plan(q).unwrap_err();
            assert!(e.0.contains(want), "{q}: {e}");
        }
    }
}

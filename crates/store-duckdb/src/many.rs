//! Several metric queries read at once: those folded entirely in SQL
//! that cover the same range, step and resolution (a page's key metrics,
//! the topology's connection, port and request totals) become one SQL
//! statement, so the sample rows are scanned and joined once; each
//! query's series carry its number in the `qmany` selection table. The
//! answers are those [`query::run`] gives one by one (the same time and
//! group aggregations, the same rate division, the same top-N).

use std::collections::BTreeMap;

use duckdb::arrow::array::{Array, Float64Array, Int64Array, UInt32Array};
use duckdb::{params, Connection};
use sonde_store::{eval, Agg, Answer, Query, Result};

use crate::query::{self, Plan};
use crate::{engine, query::column};

/// What a fused statement's queries share: start, end, step, and the
/// roll-up rows read.
pub type FuseKey = (i64, i64, i64, query::Roll);

/// The key of a plan that can be fused (folded in SQL and not empty).
pub fn fuse_key(q: &Query, p: &Plan) -> Option<FuseKey> {
    (!p.is_empty() && query::in_sql_only(q, p.hist()))
        .then(|| (q.start_ms, q.end_ms, eval::step_of(q), p.roll()))
}

/// The time aggregation over a series' bucket, from its summed columns.
fn time_sql(a: Agg) -> &'static str {
    match a {
        Agg::Avg => "su / n",
        Agg::Sum | Agg::Rate => "su",
        Agg::Min => "mn",
        Agg::Max => "mx",
        _ => "n::DOUBLE",
    }
}

/// The aggregation across a group's series.
fn group_sql(a: Agg) -> &'static str {
    match a {
        Agg::Avg => "avg(v)",
        Agg::Sum => "sum(v)",
        Agg::Min => "min(v)",
        Agg::Max => "max(v)",
        _ => "count(v)::DOUBLE",
    }
}

/// `CASE q WHEN 0 THEN .. END` over the queries' own expressions.
fn by_query(qs: &[&Query], f: impl Fn(&Query) -> &'static str) -> String {
    let mut s = String::from("CASE q");
    for (i, q) in qs.iter().enumerate() {
        s += &format!(" WHEN {i} THEN {}", f(q));
    }
    s + " END"
}

/// Answers `qs` (all with `key`) in one statement on `conn`.
pub fn run_fused(
    conn: &Connection,
    key: FuseKey,
    qs: &[&Query],
    plans: Vec<Plan>,
) -> Result<Vec<Answer>> {
    conn.execute_batch("DELETE FROM qmany").map_err(engine)?;
    {
        let mut app = conn.appender("qmany").map_err(engine)?;
        for (i, p) in plans.iter().enumerate() {
            for (sid, g) in p.selection() {
                app.append_row(params![i as u32, sid, g]).map_err(engine)?;
            }
        }
        app.flush().map_err(engine)?;
    }
    let (start, _, step, roll) = key;
    let src = query::source_sql(qs[0], roll);
    let sql = format!(
        "WITH src AS ({src}), per AS (SELECT m.q, m.grp, s.sid, (s.ts - {start}) // {step} AS b, \
         sum(s.sum) AS su, sum(s.cnt) AS n, min(s.mn) AS mn, max(s.mx) AS mx \
         FROM src s JOIN qmany m ON s.sid = m.sid GROUP BY m.q, m.grp, s.sid, b), \
         val AS (SELECT q, grp, b, {} AS v FROM per) \
         SELECT q, grp, b, {} FROM val GROUP BY q, grp, b ORDER BY q, grp, b",
        by_query(qs, |q| time_sql(q.time_agg)),
        by_query(qs, |q| group_sql(q.group_agg)),
    );
    let mut points: Vec<BTreeMap<u32, Vec<(i64, f64)>>> = vec![BTreeMap::new(); qs.len()];
    let mut st = conn.prepare(&sql).map_err(engine)?;
    for batch in st.query_arrow([]).map_err(engine)? {
        let qi = column::<UInt32Array>(&batch, 0)?;
        let g = column::<UInt32Array>(&batch, 1)?;
        let b = column::<Int64Array>(&batch, 2)?;
        let v = column::<Float64Array>(&batch, 3)?;
        for i in 0..batch.num_rows() {
            if v.is_null(i) {
                continue;
            }
            let q = qs[qi.value(i) as usize];
            let bstart = start + b.value(i) * step;
            points[qi.value(i) as usize]
                .entry(g.value(i))
                .or_default()
                .push((bstart, query::rated(q, bstart, v.value(i))));
        }
    }
    Ok(qs
        .iter()
        .zip(plans)
        .zip(points)
        .map(|((q, p), pts)| p.answer(q, pts))
        .collect())
}

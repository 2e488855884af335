//! Queries: the catalog resolves filters and group-bys to (series id,
//! group number) rows in the temporary table `qsel`; SQL aggregates the
//! sample rows joined to it. Counters and gauges with a plain time and
//! group aggregation are folded entirely in SQL; quantiles, histograms
//! and `Merge` fetch per-series cells and fold them with sonde-store's
//! `eval` (the documented semantics).

use std::collections::{BTreeMap, BTreeSet};

use duckdb::arrow::array::{
    Array, BinaryArray, BooleanArray, Float64Array, Int64Array, UInt32Array,
};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{params, Connection};
use sonde_store::eval::{self, Cell};
use sonde_store::{Agg, Answer, Event, EventQuery, Query, Resolution, Result, StoreError, Tags};

use crate::schema::parse_tags;
use crate::{codec, engine, Inner};

/// The most (series x buckets) cells a query folded outside SQL may make.
pub const MAX_CELLS: u128 = 5_000_000;
/// The most (series x buckets) cells the SQL aggregation may hold.
pub const MAX_SQL_CELLS: u128 = 20_000_000;

const LEVELS: [Resolution; 3] = [Resolution::TenSeconds, Resolution::Minute, Resolution::Hour];

fn bad(m: String) -> StoreError {
    StoreError::BadQuery(m)
}

/// How a query is served: the resolution its answer reports, and the
/// roll-up level whose rows cover `[start, split)` (None: full
/// resolution only); the rest of the range comes from full resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Route {
    pub resolution: Resolution,
    pub roll: Roll,
}

/// A roll-up level and where its rows end (`split`); None: full
/// resolution only.
pub type Roll = Option<(usize, i64)>;

/// Chooses how to serve `q`: among full resolution and the roll-up
/// levels that give the exact answer (level width dividing the start
/// and the step, and the end unless the level is not rolled up that
/// far; not expired), the one reading the fewest rows per series. A
/// range older than the full-resolution window with no such level is
/// served by the finest level still kept (rows counted in the bucket
/// their start falls in).
pub(crate) fn route(
    q: &Query,
    horizon: i64,
    rolled: [i64; 3],
    floors: [i64; 3],
    widths: [i64; 3],
) -> Route {
    let (start, end) = (q.start_ms, q.end_ms);
    let mut best = (start >= horizon).then_some((
        (end - start) / 1000,
        Route {
            resolution: Resolution::Second,
            roll: None,
        },
    ));
    for (l, &w) in widths.iter().enumerate() {
        if floors[l] > start || rolled[l] <= start {
            continue;
        }
        let aligned = start.rem_euclid(w) == 0
            && q.step_ms.rem_euclid(w) == 0
            && (end.rem_euclid(w) == 0 || end >= rolled[l]);
        if !aligned {
            continue;
        }
        let split = end.min(rolled[l]);
        let cost = (split - start) / w + (end - split) / 1000;
        if !matches!(&best, Some((c, _)) if *c <= cost) {
            let p = Route {
                resolution: LEVELS[l],
                roll: Some((l, split)),
            };
            best = Some((cost, p));
        }
    }
    best.map(|b| b.1).unwrap_or_else(|| {
        let l = (0..3).find(|&i| floors[i] <= start).unwrap_or(2);
        Route {
            resolution: LEVELS[l],
            roll: Some((l, end.min(rolled[l]))),
        }
    })
}

/// The selected series: (series id, group number) rows, each group's
/// tags, and whether any is a histogram.
type Selection = (Vec<(u32, u32)>, Vec<Tags>, bool);

fn select(inner: &Inner, q: &Query) -> Result<Selection> {
    let m = eval::compile_filters(&q.filters).map_err(bad)?;
    let mut groups: BTreeMap<Tags, u32> = BTreeMap::new();
    let mut sel = Vec::new();
    let mut hist = false;
    if let Some(ids) = inner.catalog.ids.get(&q.metric) {
        for (tags, &sid) in ids {
            if !eval::matches(&m, tags) {
                continue;
            }
            let key = eval::group_key(&q.group_by, tags);
            let n = groups.len() as u32;
            let g = *groups.entry(key).or_insert(n);
            sel.push((sid, g));
            hist |= inner.catalog.series[sid as usize].hist;
        }
    }
    let mut tags = vec![Tags::new(); groups.len()];
    for (t, g) in groups {
        tags[g as usize] = t;
    }
    Ok((sel, tags, hist))
}

/// A query resolved against the catalog: its series, groups and the
/// resolution that serves it (made under the writer's lock, run on a
/// reader).
pub struct Plan {
    sel: Vec<(u32, u32)>,
    group_tags: Vec<Tags>,
    hist: bool,
    resolution: Resolution,
    roll: Roll,
}

impl Plan {
    /// No series selected: nothing to read.
    pub fn is_empty(&self) -> bool {
        self.sel.is_empty()
    }

    /// Whether a selected series holds histograms.
    pub fn hist(&self) -> bool {
        self.hist
    }

    /// The roll-up level read, and where its rows end.
    pub fn roll(&self) -> Roll {
        self.roll
    }

    /// The (series id, group number) rows.
    pub fn selection(&self) -> &[(u32, u32)] {
        &self.sel
    }

    /// The answer from each group number's points.
    pub fn answer(self, q: &Query, points: BTreeMap<u32, Vec<(i64, f64)>>) -> Answer {
        let named = points
            .into_iter()
            .map(|(g, pts)| (self.group_tags[g as usize].clone(), pts))
            .collect();
        Answer {
            resolution: self.resolution,
            groups: eval::finish(q, named),
        }
    }
}

/// The answer of a plan that selected nothing.
pub fn empty(p: &Plan) -> Answer {
    Answer {
        resolution: p.resolution,
        groups: Vec::new(),
    }
}

/// Whether the query is folded entirely in SQL.
pub fn in_sql_only(q: &Query, hist: bool) -> bool {
    let plain = |a: Agg| !matches!(a, Agg::Quantile(_) | Agg::Merge);
    !hist && plain(q.time_agg) && plain(q.group_agg)
}

/// Checks a metric query and resolves its series.
pub fn plan(inner: &Inner, q: &Query) -> Result<Plan> {
    eval::validate(q).map_err(bad)?;
    let (sel, group_tags, hist) = select(inner, q)?;
    eval::check_points(q, group_tags.len()).map_err(bad)?;
    let r = route(
        q,
        inner.horizon_ms,
        inner.rolled,
        inner.floors,
        crate::rollup::WIDTHS,
    );
    let resolution = r.resolution;
    let (limit, what) = if in_sql_only(q, hist) {
        (MAX_SQL_CELLS, "")
    } else {
        (MAX_CELLS, " for quantiles, histograms and merges")
    };
    let cells = sel.len() as u128 * eval::bucket_count(q) as u128;
    if cells > limit {
        return Err(bad(format!(
            "{} series x {} buckets = {cells} cells exceed the limit of {limit}{what}; \
             filter more or use a larger step",
            sel.len(),
            eval::bucket_count(q)
        )));
    }
    Ok(Plan {
        sel,
        group_tags,
        hist,
        resolution,
        roll: r.roll,
    })
}

/// Answers a planned metric query on `conn` (in the plan's snapshot).
pub fn run(conn: &Connection, q: &Query, p: Plan) -> Result<Answer> {
    conn.execute_batch("DELETE FROM qsel").map_err(engine)?;
    {
        let mut app = conn.appender("qsel").map_err(engine)?;
        for (sid, g) in &p.sel {
            app.append_row(params![sid, g]).map_err(engine)?;
        }
        app.flush().map_err(engine)?;
    }
    let points = if in_sql_only(q, p.hist) {
        in_sql(conn, q, p.roll)?
    } else {
        eval::fold_cells(q, cells_of(conn, q, p.roll)?)
    };
    Ok(p.answer(q, points))
}

/// The row sources: full-resolution rows in `[a, b)`, and roll-up rows
/// of width `res` in `[ra, rb)`.
type Ranges = ((i64, i64), Option<(i64, i64, i64)>);

fn ranges(q: &Query, roll: Roll) -> Ranges {
    match roll {
        None => ((q.start_ms, q.end_ms), None),
        Some((l, split)) => (
            (split.max(q.start_ms), q.end_ms),
            Some((LEVELS[l].ms(), q.start_ms, split)),
        ),
    }
}

/// The scalar rows (sid, ts, sum, mn, mx, cnt) of the query's range:
/// roll-up rows of `roll` before its split, samples after.
pub fn source_sql(q: &Query, roll: Roll) -> String {
    let ((a, b), roll) = ranges(q, roll);
    let mut src = format!(
        "SELECT sid, ts, v AS sum, v AS mn, v AS mx, 1::BIGINT AS cnt FROM samples WHERE ts >= {a} AND ts < {b}"
    );
    if let Some((res, ra, rb)) = roll {
        src += &format!(
            " UNION ALL SELECT sid, ts, sum, mn, mx, cnt FROM rollups \
             WHERE res = {res} AND NOT hist AND ts >= {ra} AND ts < {rb}"
        );
    }
    src
}

/// A bucket's value, per second for a rate.
pub fn rated(q: &Query, bstart: i64, v: f64) -> f64 {
    if q.time_agg == Agg::Rate && q.group_agg != Agg::Count {
        v / eval::bucket_secs(q, bstart)
    } else {
        v
    }
}

fn in_sql(conn: &Connection, q: &Query, roll: Roll) -> Result<BTreeMap<u32, Vec<(i64, f64)>>> {
    let src = source_sql(q, roll);
    let tagg = match q.time_agg {
        Agg::Avg => "sum(s.sum) / sum(s.cnt)",
        Agg::Sum | Agg::Rate => "sum(s.sum)",
        Agg::Min => "min(s.mn)",
        Agg::Max => "max(s.mx)",
        _ => "sum(s.cnt)::DOUBLE",
    };
    let gagg = match q.group_agg {
        Agg::Avg => "avg(v)",
        Agg::Sum => "sum(v)",
        Agg::Min => "min(v)",
        Agg::Max => "max(v)",
        _ => "count(v)::DOUBLE",
    };
    let (start, step) = (q.start_ms, eval::step_of(q));
    let sql = format!(
        "WITH src AS ({src}), per AS (SELECT m.grp, s.sid, (s.ts - {start}) // {step} AS b, {tagg} AS v \
         FROM src s JOIN qsel m ON s.sid = m.sid GROUP BY m.grp, s.sid, b) \
         SELECT grp, b, {gagg} FROM per GROUP BY grp, b ORDER BY grp, b"
    );
    let mut st = conn.prepare(&sql).map_err(engine)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })
        .map_err(engine)?;
    let mut out: BTreeMap<u32, Vec<(i64, f64)>> = BTreeMap::new();
    for row in rows {
        let (g, b, v) = row.map_err(engine)?;
        let bstart = start + b * step;
        out.entry(g)
            .or_default()
            .push((bstart, rated(q, bstart, v)));
    }
    Ok(out)
}

type Cells = BTreeMap<(u32, i64, u32), Cell>;

fn cells_of(conn: &Connection, q: &Query, roll: Roll) -> Result<Cells> {
    let ((a, b), roll) = ranges(q, roll);
    let (start, step) = (q.start_ms, eval::step_of(q));
    let bucket = |b: i64| start + b * step;
    // merged across the group anyway: one cell per group and bucket
    let merge = q.group_agg == Agg::Merge;
    let cell_of = move |g: u32, b: i64, sid: u32| (g, bucket(b), if merge { 0 } else { sid });
    let mut cells = Cells::new();
    let join = |t: &str, cols: &str, extra: &str, lo: i64, hi: i64| {
        format!(
            "SELECT m.grp, s.sid, (s.ts - {start}) // {step} AS b, {cols} FROM {t} s JOIN qsel m \
             ON s.sid = m.sid WHERE s.ts >= {lo} AND s.ts < {hi} {extra}"
        )
    };
    let keep = matches!(q.time_agg, Agg::Quantile(_));
    let mut st = conn
        .prepare(&join("samples", "s.v", "", a, b))
        .map_err(engine)?;
    for batch in st.query_arrow([]).map_err(engine)? {
        let g = column::<UInt32Array>(&batch, 0)?;
        let sid = column::<UInt32Array>(&batch, 1)?;
        let b = column::<Int64Array>(&batch, 2)?;
        let v = column::<Float64Array>(&batch, 3)?;
        for i in 0..batch.num_rows() {
            let c = cells
                .entry(cell_of(g.value(i), b.value(i), sid.value(i)))
                .or_default();
            let v = v.value(i);
            c.add_stats(1, v, v, v);
            if keep {
                c.values.push(v);
            }
        }
    }
    let mut st = conn
        .prepare(&join(
            "hists",
            "s.cnt, s.sum, s.mn, s.mx, s.buckets, true",
            "",
            a,
            b,
        ))
        .map_err(engine)?;
    read_blob_rows(&mut st, &mut cells, cell_of)?;
    if let Some((res, ra, rb)) = roll {
        let extra = format!("AND s.res = {res}");
        let mut st = conn
            .prepare(&join(
                "rollups",
                "s.cnt, s.sum, s.mn, s.mx, s.sketch, s.hist",
                &extra,
                ra,
                rb,
            ))
            .map_err(engine)?;
        read_blob_rows(&mut st, &mut cells, cell_of)?;
    }
    Ok(cells)
}

/// Column `i` of a result batch as the array type `A`.
pub fn column<A: Array + 'static>(batch: &RecordBatch, i: usize) -> Result<&A> {
    batch.column(i).as_any().downcast_ref::<A>().ok_or_else(|| {
        engine(format!(
            "result column {i}: unexpected type {}",
            batch.column(i).data_type()
        ))
    })
}

/// Rows of (grp, sid, b, cnt, sum, min, max, blob, is-histogram), read a
/// column batch at a time.
fn read_blob_rows(
    st: &mut duckdb::Statement<'_>,
    cells: &mut Cells,
    cell_of: impl Fn(u32, i64, u32) -> (u32, i64, u32),
) -> Result<()> {
    for batch in st.query_arrow([]).map_err(engine)? {
        let g = column::<UInt32Array>(&batch, 0)?;
        let sid = column::<UInt32Array>(&batch, 1)?;
        let b = column::<Int64Array>(&batch, 2)?;
        let cnt = column::<Int64Array>(&batch, 3)?;
        let (sum, mn, mx) = (
            column::<Float64Array>(&batch, 4)?,
            column::<Float64Array>(&batch, 5)?,
            column::<Float64Array>(&batch, 6)?,
        );
        let blob = column::<BinaryArray>(&batch, 7)?;
        let hist = column::<BooleanArray>(&batch, 8)?;
        for i in 0..batch.num_rows() {
            let sid = sid.value(i);
            let c = cells
                .entry(cell_of(g.value(i), b.value(i), sid))
                .or_default();
            if cnt.value(i) > 0 {
                c.add_stats(cnt.value(i) as u64, sum.value(i), mn.value(i), mx.value(i));
            }
            let hist = hist.value(i);
            c.histogram |= hist;
            let into = if hist { &mut c.buckets } else { &mut c.sketch };
            if !codec::decode_into(blob.value(i), into) {
                return Err(engine(format!("corrupt buckets of series {sid}")));
            }
        }
    }
    Ok(())
}

/// Ids of the series with samples in the range.
pub fn series_ids(conn: &Connection, start_ms: i64, end_ms: i64) -> Result<BTreeSet<u32>> {
    let sql = "SELECT DISTINCT sid FROM samples WHERE ts >= ?1 AND ts < ?2 \
               UNION SELECT DISTINCT sid FROM hists WHERE ts >= ?1 AND ts < ?2 \
               UNION SELECT DISTINCT sid FROM rollups WHERE ts >= ?1 AND ts < ?2";
    let mut st = conn.prepare(sql).map_err(engine)?;
    let sids = st
        .query_map(params![start_ms, end_ms], |r| r.get(0))
        .map_err(engine)?
        .collect::<std::result::Result<_, _>>()
        .map_err(engine)?;
    Ok(sids)
}

/// Events passing `q`, newest first.
pub fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<Event>> {
    let m = eval::compile_filters(&q.filters).map_err(bad)?;
    let mut st = conn
        .prepare(
            "SELECT ts, agent, kind, tags, body FROM events WHERE ts >= ? AND ts < ? \
             AND (? IS NULL OR agent = ?) ORDER BY ts DESC",
        )
        .map_err(engine)?;
    let agent = q.agent.as_deref();
    let mut rows = st
        .query(params![q.start_ms, q.end_ms, agent, agent])
        .map_err(engine)?;
    let mut out = Vec::new();
    while out.len() < q.limit {
        let Some(r) = rows.next().map_err(engine)? else {
            break;
        };
        let kind: String = r.get(2).map_err(engine)?;
        if !q.kinds.is_empty() && !q.kinds.contains(&kind) {
            continue;
        }
        let tags = parse_tags(&r.get::<_, String>(3).map_err(engine)?)?;
        if !eval::matches(&m, &tags) {
            continue;
        }
        let body: String = r.get(4).map_err(engine)?;
        out.push(Event {
            ts_ms: r.get(0).map_err(engine)?,
            agent: r.get(1).map_err(engine)?,
            kind,
            tags,
            body: serde_json::from_str(&body).map_err(engine)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const W: [i64; 3] = [10_000, 60_000, H];
    const MIN: [i64; 3] = [i64::MIN; 3];

    fn q(start: i64, end: i64, step: i64) -> Query {
        Query {
            metric: "m".into(),
            start_ms: start,
            end_ms: end,
            step_ms: step,
            filters: vec![],
            group_by: vec![],
            time_agg: Agg::Sum,
            group_agg: Agg::Sum,
            top: None,
        }
    }

    #[test]
    fn coarse_aligned_steps_use_the_cheapest_exact_rollup() {
        let (s, e) = (100 * H, 106 * H);
        // Rolled up to 5 min before the end (1 h level: one hour before).
        let rolled = [e - 300_000, e - 300_000, e - H];
        let p = route(&q(s, e, 60_000), i64::MIN, rolled, MIN, W);
        assert_eq!(p.resolution, Resolution::Minute);
        assert_eq!(p.roll, Some((1, e - 300_000)));
        // Whole range: 1 min rows + 5 min of seconds beat 1 h rows + 1 h.
        let p = route(&q(s, e, 0), i64::MIN, rolled, MIN, W);
        assert_eq!(p.roll, Some((1, e - 300_000)));
        let all = [e, e, e];
        let p = route(&q(s, e, 0), i64::MIN, all, MIN, W);
        assert_eq!((p.resolution, p.roll), (Resolution::Hour, Some((2, e))));
        // A 10 s step only aligns with the 10 s level.
        let p = route(&q(s, e, 10_000), i64::MIN, all, MIN, W);
        assert_eq!(p.resolution, Resolution::TenSeconds);
    }

    #[test]
    fn unaligned_or_unrolled_ranges_read_every_second() {
        let (s, e) = (100 * H, 106 * H);
        let all = [e, e, e];
        // Start or step not aligned: full resolution, exact.
        for qq in [q(s + 1_000, e, 60_000), q(s, e, 1_000), q(s, e - 1_000, 0)] {
            let p = route(&qq, i64::MIN, all, MIN, W);
            assert_eq!((p.resolution, p.roll), (Resolution::Second, None));
        }
        // Nothing rolled up yet, or the level expired at the start.
        let p = route(&q(s, e, 60_000), i64::MIN, MIN, MIN, W);
        assert_eq!(p.roll, None);
        let p = route(&q(s, e, 60_000), i64::MIN, all, [s + H, s + H, MIN[2]], W);
        assert_eq!(p.roll, None);
        // Past the full-resolution window with nothing aligned: the
        // finest level kept serves it.
        let p = route(&q(s + 1_000, e, 0), s + H, all, MIN, W);
        assert_eq!(
            (p.resolution, p.roll),
            (Resolution::TenSeconds, Some((0, e)))
        );
    }
}

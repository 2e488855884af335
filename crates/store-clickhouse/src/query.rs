//! Queries. The catalog (`series_d`) gives the metric's series; filters
//! and group-bys are resolved in Rust (sonde-store's `eval`, the same
//! regexes as every engine) to (series id, group number) pairs that the
//! SQL carries as literals. Each shard then folds its own series (a
//! series is on one shard) over deduplicated rows (`FINAL`: one row per key, the newest version): plain aggregations
//! entirely in SQL down to per-group partials (sum, count, min, max)
//! that the server merges; quantiles, histograms and `Merge` as
//! per-series rows folded into cells by `eval`.

use std::collections::{BTreeMap, BTreeSet};

use sonde_store::eval::{self, Cell};
use sonde_store::{
    Agg, Answer, Event, EventQuery, Query, Resolution, Result, StoreError, TagFilter, Tags,
};

use crate::http::{lit, Client, Reader};
use crate::{engine, rollup, ClickStore};

/// The most (series x buckets) cells a query folded outside SQL may make.
pub const MAX_CELLS: u128 = 5_000_000;
/// The most (series x buckets) cells the SQL aggregation may hold.
pub const MAX_SQL_CELLS: u128 = 20_000_000;

const LEVELS: [Resolution; 3] = [Resolution::TenSeconds, Resolution::Minute, Resolution::Hour];
/// Long literal lists need a larger parser budget than the default 256 KiB.
const BIG: &str = "max_query_size=268435456";

fn bad(m: String) -> StoreError {
    StoreError::BadQuery(m)
}

pub(crate) fn parse_tags(s: &str) -> Result<Tags> {
    serde_json::from_str(s).map_err(|e| engine(format!("stored tags {s:?}: {e}")))
}

/// The selected series: sorted (series id, group) pairs, each group's
/// tags, and whether any is a histogram.
struct Selection {
    sel: Vec<(u64, u32)>,
    groups: Vec<Tags>,
    hist: bool,
}

impl Selection {
    fn sids(&self) -> String {
        join(self.sel.iter().map(|p| p.0))
    }
    fn grps(&self) -> String {
        join(self.sel.iter().map(|p| u64::from(p.1)))
    }
    fn group_of(&self, sid: u64) -> Option<u32> {
        self.sel
            .binary_search_by_key(&sid, |p| p.0)
            .ok()
            .map(|i| self.sel[i].1)
    }
}

fn join(it: impl Iterator<Item = u64>) -> String {
    let mut s = String::new();
    for (i, x) in it.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&x.to_string());
    }
    s
}

fn select(store: &ClickStore, q: &Query) -> Result<Selection> {
    let m = eval::compile_filters(&q.filters).map_err(bad)?;
    let b = store.any_shard(
        &format!(
            "SELECT sid, any(tags), max(hist) FROM {}.series_d WHERE metric = {} \
             GROUP BY sid FORMAT RowBinary",
            store.db,
            lit(&q.metric)
        ),
        None,
        "",
    )?;
    let mut r = Reader::new(&b);
    let mut groups: BTreeMap<Tags, u32> = BTreeMap::new();
    let mut sel = Vec::new();
    let mut hist = false;
    while r.more() {
        let sid = r.u64()?;
        let tags = parse_tags(&r.str()?)?;
        let h = r.u8()? != 0;
        if !eval::matches(&m, &tags) {
            continue;
        }
        let key = eval::group_key(&q.group_by, &tags);
        let n = groups.len() as u32;
        sel.push((sid, *groups.entry(key).or_insert(n)));
        hist |= h;
    }
    sel.sort_unstable();
    let mut tags = vec![Tags::new(); groups.len()];
    for (t, g) in groups {
        tags[g as usize] = t;
    }
    Ok(Selection {
        sel,
        groups: tags,
        hist,
    })
}

/// Which resolution serves a range starting at `start_ms`, the roll-up
/// level (None: full resolution only) and the horizon.
fn pick(horizon: i64, floors: [i64; 3], start_ms: i64) -> (Resolution, Option<usize>) {
    if start_ms >= horizon {
        return (Resolution::Second, None);
    }
    let level = (0..3).find(|&i| floors[i] <= start_ms).unwrap_or(2);
    (LEVELS[level], Some(level))
}

/// Full-resolution rows in [a, b), roll-up rows of width `res` in [ra, rb).
struct Ranges {
    a: i64,
    b: i64,
    roll: Option<(i64, i64, i64)>,
}

fn ranges(q: &Query, horizon: i64, level: Option<usize>) -> Ranges {
    match level {
        None => Ranges {
            a: q.start_ms,
            b: q.end_ms,
            roll: None,
        },
        Some(l) => {
            let h = horizon.min(q.end_ms);
            Ranges {
                a: h.max(q.start_ms),
                b: q.end_ms,
                roll: Some((LEVELS[l].ms(), q.start_ms, h)),
            }
        }
    }
}

/// Answers a metric query.
pub fn query(store: &ClickStore, q: &Query) -> Result<Answer> {
    eval::validate(q).map_err(bad)?;
    let s = select(store, q)?;
    eval::check_points(q, s.groups.len()).map_err(bad)?;
    let (horizon, floors) = rollup::horizon(store)?;
    let (resolution, level) = pick(horizon, floors, q.start_ms);
    if s.sel.is_empty() {
        return Ok(Answer {
            resolution,
            groups: Vec::new(),
        });
    }
    let plain = |a: Agg| !matches!(a, Agg::Quantile(_) | Agg::Merge);
    let in_sql_only = !s.hist && plain(q.time_agg) && plain(q.group_agg);
    let (limit, what) = if in_sql_only {
        (MAX_SQL_CELLS, "")
    } else {
        (MAX_CELLS, " for quantiles, histograms and merges")
    };
    let cells = s.sel.len() as u128 * eval::bucket_count(q) as u128;
    if cells > limit {
        return Err(bad(format!(
            "{} series x {} buckets = {cells} cells exceed the limit of {limit}{what}; \
             filter more or use a larger step",
            s.sel.len(),
            eval::bucket_count(q)
        )));
    }
    let r = ranges(q, horizon, level);
    let points = if in_sql_only {
        in_sql(store, q, &s, &r)?
    } else {
        eval::fold_cells(q, cells_of(store, q, &s, &r)?)
    };
    let named = points
        .into_iter()
        .map(|(g, p)| (s.groups[g as usize].clone(), p))
        .collect();
    Ok(Answer {
        resolution,
        groups: eval::finish(q, named),
    })
}

/// Per-group partials: (sum, count, min, max) of the per-series values.
#[derive(Clone, Copy)]
struct Partial(f64, u64, f64, f64);

fn in_sql(
    store: &ClickStore,
    q: &Query,
    s: &Selection,
    r: &Ranges,
) -> Result<BTreeMap<u32, Vec<(i64, f64)>>> {
    let (db, sids, grps) = (&store.db, s.sids(), s.grps());
    let mut src = format!(
        "SELECT sid, ts, v AS s, v AS mn, v AS mx, toUInt64(1) AS c FROM {db}.samples FINAL \
         WHERE sid IN ({sids}) AND ts >= {} AND ts < {}",
        r.a, r.b
    );
    if let Some((res, ra, rb)) = r.roll {
        src += &format!(
            " UNION ALL SELECT sid, ts, sum AS s, mn, mx, cnt AS c FROM {db}.rollups FINAL \
             WHERE res = {res} AND hist = 0 AND sid IN ({sids}) AND ts >= {ra} AND ts < {rb}"
        );
    }
    let tagg = match q.time_agg {
        Agg::Avg => "sum(s) / sum(c)",
        Agg::Sum | Agg::Rate => "sum(s)",
        Agg::Min => "min(mn)",
        Agg::Max => "max(mx)",
        _ => "toFloat64(sum(c))",
    };
    let (start, step) = (q.start_ms, eval::step_of(q));
    let sql = format!(
        "SELECT g, b, sum(v), count(), min(v), max(v) FROM (\
         SELECT transform(sid, CAST([{sids}] AS Array(UInt64)), CAST([{grps}] AS Array(UInt32)), \
         toUInt32(0)) AS g, intDiv(ts - {start}, {step}) AS b, {tagg} AS v \
         FROM ({src}) GROUP BY g, sid, b) GROUP BY g, b FORMAT RowBinary"
    );
    let parts = store.each(|c: &Client| {
        let bytes = c.run(&sql, None, BIG)?;
        let mut rd = Reader::new(&bytes);
        let mut out = Vec::new();
        while rd.more() {
            let g = rd.u32()?;
            let (b, sum, n, mn, mx) = (rd.i64()?, rd.f64()?, rd.u64()?, rd.f64()?, rd.f64()?);
            out.push(((g, b), Partial(sum, n, mn, mx)));
        }
        Ok(out)
    })?;
    let mut merged: BTreeMap<(u32, i64), Partial> = BTreeMap::new();
    for (k, p) in parts.into_iter().flatten() {
        merged
            .entry(k)
            .and_modify(|m| *m = Partial(m.0 + p.0, m.1 + p.1, m.2.min(p.2), m.3.max(p.3)))
            .or_insert(p);
    }
    let mut out: BTreeMap<u32, Vec<(i64, f64)>> = BTreeMap::new();
    for ((g, b), Partial(sum, n, mn, mx)) in merged {
        let bstart = start + b * step;
        let mut v = match q.group_agg {
            Agg::Avg => sum / n as f64,
            Agg::Sum => sum,
            Agg::Min => mn,
            Agg::Max => mx,
            _ => n as f64,
        };
        if q.time_agg == Agg::Rate && q.group_agg != Agg::Count {
            v /= eval::bucket_secs(q, bstart);
        }
        out.entry(g).or_default().push((bstart, v));
    }
    Ok(out)
}

type Cells = BTreeMap<(u32, i64, u64), Cell>;

/// One shard's deduplicated rows as (sid, ts, cell) triples.
fn shard_rows(
    c: &Client,
    q: &Query,
    db: &str,
    sids: &str,
    r: &Ranges,
) -> Result<Vec<(u64, i64, Cell)>> {
    let keep = matches!(q.time_agg, Agg::Quantile(_));
    let (a, b) = (r.a, r.b);
    let mut out = Vec::new();
    let bytes = c.run(
        &format!(
            "SELECT sid, ts, v FROM {db}.samples FINAL WHERE sid IN ({sids}) AND ts >= {a} \
             AND ts < {b} FORMAT RowBinary"
        ),
        None,
        BIG,
    )?;
    let mut rd = Reader::new(&bytes);
    while rd.more() {
        let (sid, ts, v) = (rd.u64()?, rd.i64()?, rd.f64()?);
        let mut cell = Cell::default();
        cell.add_stats(1, v, v, v);
        if keep {
            cell.values.push(v);
        }
        out.push((sid, ts, cell));
    }
    let bytes = c.run(
        &format!(
            "SELECT sid, ts, cnt, sum, mn, mx, bounds, counts \
             FROM {db}.hists FINAL WHERE sid IN ({sids}) AND ts >= {a} AND ts < {b} \
             FORMAT RowBinary"
        ),
        None,
        BIG,
    )?;
    read_bucket_rows(&bytes, false, &mut out)?;
    if let Some((res, ra, rb)) = r.roll {
        let bytes = c.run(
            &format!(
                "SELECT sid, ts, cnt, sum, mn, mx, keys, counts, hist FROM {db}.rollups FINAL \
                 WHERE res = {res} AND sid IN ({sids}) AND ts >= {ra} AND ts < {rb} \
                 FORMAT RowBinary"
            ),
            None,
            BIG,
        )?;
        read_bucket_rows(&bytes, true, &mut out)?;
    }
    Ok(out)
}

/// Rows of (sid, ts, cnt, sum, min, max, keys, counts[, hist]): histogram
/// buckets, or (roll-ups of scalars) sketch buckets.
fn read_bucket_rows(bytes: &[u8], rollup: bool, out: &mut Vec<(u64, i64, Cell)>) -> Result<()> {
    let mut rd = Reader::new(bytes);
    while rd.more() {
        let (sid, ts, cnt) = (rd.u64()?, rd.i64()?, rd.u64()?);
        let (sum, mn, mx) = (rd.f64()?, rd.f64()?, rd.f64()?);
        let (keys, counts) = (rd.arr()?, rd.arr()?);
        let hist = if rollup { rd.u8()? != 0 } else { true };
        if keys.len() != counts.len() {
            return Err(engine(format!(
                "series {sid} at {ts}: bucket arrays differ"
            )));
        }
        let mut cell = Cell {
            histogram: hist,
            ..Cell::default()
        };
        if cnt > 0 {
            cell.add_stats(cnt, sum, mn, mx);
        }
        let into = if hist {
            &mut cell.buckets
        } else {
            &mut cell.sketch
        };
        for (k, n) in keys.into_iter().zip(counts) {
            *into.entry(k).or_default() += n;
        }
        out.push((sid, ts, cell));
    }
    Ok(())
}

fn cells_of(store: &ClickStore, q: &Query, s: &Selection, r: &Ranges) -> Result<Cells> {
    let sids = s.sids();
    let rows = store.each(|c| shard_rows(c, q, &store.db, &sids, r))?;
    let (start, step) = (q.start_ms, eval::step_of(q));
    let mut cells = Cells::new();
    for (sid, ts, cell) in rows.into_iter().flatten() {
        let Some(g) = s.group_of(sid) else { continue };
        let b = start + (ts - start) / step * step;
        cells.entry((g, b, sid)).or_default().merge(&cell);
    }
    Ok(cells)
}

/// Series with samples in the range that pass the filters.
pub fn series(
    store: &ClickStore,
    metric: Option<&str>,
    filters: &[TagFilter],
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(String, Tags)>> {
    let m = eval::compile_filters(filters).map_err(bad)?;
    let db = &store.db;
    let (a, b) = (start_ms, end_ms);
    let only = metric
        .map(|x| format!("AND metric = {}", lit(x)))
        .unwrap_or_default();
    let sql = format!(
        "SELECT metric, tags FROM {db}.series WHERE sid IN (\
         SELECT sid FROM {db}.samples WHERE ts >= {a} AND ts < {b} \
         UNION ALL SELECT sid FROM {db}.hists WHERE ts >= {a} AND ts < {b} \
         UNION ALL SELECT sid FROM {db}.rollups WHERE ts >= {a} AND ts < {b}) {only} \
         GROUP BY metric, tags FORMAT RowBinary"
    );
    let per = store.each(|c| {
        let bytes = c.run(&sql, None, "")?;
        let mut rd = Reader::new(&bytes);
        let mut out = Vec::new();
        while rd.more() {
            out.push((rd.str()?, rd.str()?));
        }
        Ok(out)
    })?;
    let mut out = BTreeSet::new();
    for (metric, tags) in per.into_iter().flatten() {
        let tags = parse_tags(&tags)?;
        if eval::matches(&m, &tags) {
            out.insert((metric, tags));
        }
    }
    Ok(out.into_iter().collect())
}

/// Events passing `q`, newest first.
pub fn events(store: &ClickStore, q: &EventQuery) -> Result<Vec<Event>> {
    let m = eval::compile_filters(&q.filters).map_err(bad)?;
    let mut sql = format!(
        "SELECT DISTINCT ts, agent, kind, tags, body FROM {}.events_d WHERE ts >= {} AND ts < {}",
        store.db, q.start_ms, q.end_ms
    );
    if let Some(a) = &q.agent {
        sql += &format!(" AND agent = {}", lit(a));
    }
    if !q.kinds.is_empty() {
        let kinds: Vec<String> = q.kinds.iter().map(|k| lit(k)).collect();
        sql += &format!(" AND kind IN ({})", kinds.join(","));
    }
    sql += " ORDER BY ts DESC, agent, kind, tags, body";
    if q.filters.is_empty() {
        sql += &format!(" LIMIT {}", q.limit);
    }
    let bytes = store.any_shard(&(sql + " FORMAT RowBinary"), None, "")?;
    let mut rd = Reader::new(&bytes);
    let mut out = Vec::new();
    while rd.more() && out.len() < q.limit {
        let (ts_ms, agent, kind) = (rd.i64()?, rd.str()?, rd.str()?);
        let tags = parse_tags(&rd.str()?)?;
        let body = rd.str()?;
        if !eval::matches(&m, &tags) {
            continue;
        }
        out.push(Event {
            ts_ms,
            agent,
            kind,
            tags,
            body: serde_json::from_str(&body).map_err(engine)?,
        });
    }
    Ok(out)
}

//! Retention and roll-ups. [`maintain`] folds full-resolution rows into
//! 10 s, 1 min and 1 h roll-up rows (count, sum, min, max, and a
//! mergeable sketch: merged buckets for histograms, a value sketch within
//! [`SKETCH_ERROR`] for counters and gauges) as soon as their slot has
//! settled ([`SETTLE_MS`] after it ends), so long ranges are answered from
//! roll-ups while every second is still kept; samples older than the
//! retention window are then dropped (they are rolled up already), the
//! full-resolution horizon moves, and roll-up levels past their own
//! retention expire; all in one transaction, an hour slice at a time.
//!
//! Each level `i` has a watermark `rolled[i]`: its rows hold every sample
//! older than it. A sample that arrives below a watermark (an agent's
//! spool replayed late) is folded at ingest into extra rows of the levels
//! concerned ([`late_rows`]); rows with the same (level, series, start)
//! add up, so answers stay exact.

use std::collections::HashMap;

use duckdb::arrow::array::{Array, Float64Array, Int64Array, UInt32Array};
use duckdb::{params, Appender, Connection};
use sonde_store::eval::{sketch_key, Cell};
use sonde_store::{Result, Sample, Value};

use crate::{codec, engine, schema, Inner};

pub use sonde_store::eval::SKETCH_ERROR;

/// The roll-up widths, ms (10 s, 1 min, 1 h).
pub const WIDTHS: [i64; 3] = [10_000, 60_000, 3_600_000];
/// How long after a slot ends it is rolled up (the last batches of an
/// agent arrive within a few seconds).
pub const SETTLE_MS: i64 = 10_000;
const HOUR: i64 = 3_600_000;

fn floor_to(x: i64, w: i64) -> i64 {
    x.div_euclid(w).saturating_mul(w)
}

/// Rolls up and expires as of `now_ms`. Idempotent.
pub fn maintain(inner: &mut Inner, now_ms: i64) -> Result<()> {
    let cutoff = floor_to(now_ms.saturating_sub(inner.opts.retention_ms), WIDTHS[0]);
    let settled = now_ms.saturating_sub(SETTLE_MS);
    let mut targets = inner.rolled;
    for (i, t) in targets.iter_mut().enumerate() {
        *t = floor_to(settled, WIDTHS[i]).max(cutoff).max(*t);
    }
    let conn = &inner.conn;
    conn.execute_batch("BEGIN TRANSACTION").map_err(engine)?;
    let r = fold_and_expire(inner, now_ms, cutoff, targets);
    let r = r.and_then(|floors| {
        inner
            .conn
            .execute_batch("COMMIT")
            .map_err(engine)
            .map(|()| floors)
    });
    match r {
        Ok(floors) => {
            inner.horizon_ms = inner.horizon_ms.max(cutoff);
            inner.rolled = targets;
            inner.floors = floors;
            Ok(())
        }
        Err(e) => {
            let _ = inner.conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn next_ts(conn: &Connection, lo: i64, hi: i64) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT least((SELECT min(ts) FROM samples WHERE ts >= ?1 AND ts < ?2), \
         (SELECT min(ts) FROM hists WHERE ts >= ?1 AND ts < ?2))",
        [lo, hi],
        |r| r.get(0),
    )
    .map_err(engine)
}

fn fold_and_expire(inner: &Inner, now_ms: i64, cutoff: i64, targets: [i64; 3]) -> Result<[i64; 3]> {
    let conn = &inner.conn;
    let busy: Vec<usize> = (0..3).filter(|&i| targets[i] > inner.rolled[i]).collect();
    if let (Some(lo), Some(hi)) = (
        busy.iter().map(|&i| inner.rolled[i]).min(),
        busy.iter().map(|&i| targets[i]).max(),
    ) {
        let mut a = lo;
        while let Some(first) = next_ts(conn, a, hi)? {
            let s = floor_to(first, HOUR).max(lo);
            let b = (floor_to(first, HOUR) + HOUR).min(hi);
            fold_slice(inner, s, b, targets)?;
            a = b;
        }
        for i in busy {
            schema::set_meta(conn, &format!("rolled{i}"), targets[i])?;
        }
    }
    if cutoff > inner.horizon_ms {
        // Everything below the cutoff is in every level already.
        conn.execute("DELETE FROM samples WHERE ts < ?", [cutoff])
            .map_err(engine)?;
        conn.execute("DELETE FROM hists WHERE ts < ?", [cutoff])
            .map_err(engine)?;
        schema::set_meta(conn, "horizon", cutoff)?;
    }
    schema::compact_seqs(conn, &inner.seqs)?;
    let mut floors = inner.floors;
    for (i, w) in WIDTHS.iter().enumerate() {
        let keep = inner.opts.rollup_retention_ms[i];
        if keep == i64::MAX {
            continue;
        }
        let floor = floor_to(now_ms.saturating_sub(keep), *w);
        if floor > floors[i] {
            conn.execute(
                "DELETE FROM rollups WHERE res = ? AND ts < ?",
                params![w, floor],
            )
            .map_err(engine)?;
            schema::set_meta(conn, &format!("floor{i}"), floor)?;
            floors[i] = floor;
        }
    }
    Ok(floors)
}

fn column<T: 'static>(b: &duckdb::arrow::record_batch::RecordBatch, i: usize) -> Result<&T> {
    b.column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| engine(format!("unexpected type of column {i} in a roll-up scan")))
}

/// Folds the rows in [lo, hi) (within one hour; bounds aligned to 10 s)
/// into each level `i`'s rows for the slots in [rolled[i], targets[i]).
fn fold_slice(inner: &Inner, lo: i64, hi: i64, targets: [i64; 3]) -> Result<()> {
    let conn = &inner.conn;
    // 10 s cells first (every watermark is a multiple of 10 s, so a
    // cell is wholly inside or outside each level's range).
    let mut fine: HashMap<(u32, i64), Cell> = HashMap::new();
    let mut st = conn
        .prepare("SELECT sid, ts, v FROM samples WHERE ts >= ? AND ts < ?")
        .map_err(engine)?;
    for batch in st.query_arrow(params![lo, hi]).map_err(engine)? {
        let sid = column::<UInt32Array>(&batch, 0)?;
        let ts = column::<Int64Array>(&batch, 1)?;
        let v = column::<Float64Array>(&batch, 2)?;
        if sid.null_count() + ts.null_count() + v.null_count() > 0 {
            return Err(engine("null in stored samples"));
        }
        for j in 0..batch.num_rows() {
            let (s, t, v) = (sid.value(j), ts.value(j), v.value(j));
            let c = fine.entry((s, floor_to(t, WIDTHS[0]))).or_default();
            c.add_stats(1, v, v, v);
            *c.sketch.entry(sketch_key(v)).or_default() += 1;
        }
    }
    let mut st = conn
        .prepare("SELECT sid, ts, cnt, sum, mn, mx, buckets FROM hists WHERE ts >= ? AND ts < ?")
        .map_err(engine)?;
    let mut rows = st.query(params![lo, hi]).map_err(engine)?;
    while let Some(r) = rows.next().map_err(engine)? {
        let (sid, ts, cnt): (u32, i64, i64) = (
            r.get(0).map_err(engine)?,
            r.get(1).map_err(engine)?,
            r.get(2).map_err(engine)?,
        );
        let c = fine.entry((sid, floor_to(ts, WIDTHS[0]))).or_default();
        c.histogram = true;
        if cnt > 0 {
            c.add_stats(
                cnt as u64,
                r.get(3).map_err(engine)?,
                r.get(4).map_err(engine)?,
                r.get(5).map_err(engine)?,
            );
        }
        let blob: Vec<u8> = r.get(6).map_err(engine)?;
        if !codec::decode_into(&blob, &mut c.buckets) {
            return Err(engine(format!("corrupt buckets of series {sid} at {ts}")));
        }
    }
    let rolled = inner.rolled;
    let inside = |i: usize, t: i64| rolled[i] <= t && t < targets[i];
    let mut app = conn.appender("rollups").map_err(engine)?;
    let mut coarse: [HashMap<(u32, i64), Cell>; 2] = Default::default();
    for ((sid, t), cell) in fine {
        for (i, w) in WIDTHS.iter().enumerate().skip(1) {
            if inside(i, t) {
                coarse[i - 1]
                    .entry((sid, floor_to(t, *w)))
                    .or_default()
                    .merge(&cell);
            }
        }
        if inside(0, t) {
            emit(&mut app, 0, sid, t, &cell)?;
        }
    }
    for (i, cells) in coarse.iter().enumerate() {
        for ((sid, t), cell) in cells {
            emit(&mut app, i + 1, *sid, *t, cell)?;
        }
    }
    app.flush().map_err(engine)
}

fn emit(app: &mut Appender<'_>, level: usize, sid: u32, ts: i64, c: &Cell) -> Result<()> {
    let blob = if c.histogram {
        codec::encode(&c.buckets)
    } else {
        codec::encode(&c.sketch)
    };
    let (mn, mx) = if c.count > 0 {
        (c.min, c.max)
    } else {
        (0.0, 0.0)
    };
    app.append_row(params![
        WIDTHS[level],
        sid,
        ts,
        c.count as i64,
        c.sum,
        mn,
        mx,
        c.histogram,
        blob
    ])
    .map_err(engine)
}

/// Folds the samples of a batch that arrived below a level's watermark
/// into extra roll-up rows of that level (in the batch's transaction).
pub fn late_rows(inner: &Inner, samples: &[Sample], sids: &[u32]) -> Result<()> {
    let rolled = inner.rolled;
    let mut cells: HashMap<(usize, u32, i64), Cell> = HashMap::new();
    for (s, &sid) in samples.iter().zip(sids) {
        for (i, w) in WIDTHS.iter().enumerate() {
            if s.ts_ms >= rolled[i] {
                continue;
            }
            let c = cells.entry((i, sid, floor_to(s.ts_ms, *w))).or_default();
            c.add(&s.value, false);
            if let Value::Counter { value } | Value::Gauge { value } = s.value {
                *c.sketch.entry(sketch_key(value)).or_default() += 1;
            }
        }
    }
    if cells.is_empty() {
        return Ok(());
    }
    let mut app = inner.conn.appender("rollups").map_err(engine)?;
    for ((i, sid, t), c) in &cells {
        emit(&mut app, *i, *sid, *t, c)?;
    }
    app.flush().map_err(engine)
}

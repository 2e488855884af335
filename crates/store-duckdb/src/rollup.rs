//! Retention and roll-ups. [`maintain`] folds full-resolution rows older
//! than the retention window into 10 s, 1 min and 1 h roll-up rows (count,
//! sum, min, max, and a mergeable sketch: merged buckets for histograms, a
//! value sketch within [`SKETCH_ERROR`] for counters and gauges), drops
//! them, moves the full-resolution horizon, and expires roll-up levels
//! past their own retention; all in one transaction, an hour at a time.

use std::collections::BTreeMap;

use duckdb::params;
use sonde_store::eval::{sketch_key, Cell};
use sonde_store::Result;

use crate::{codec, engine, schema, Inner};

pub use sonde_store::eval::SKETCH_ERROR;

/// The roll-up widths, ms (10 s, 1 min, 1 h).
pub const WIDTHS: [i64; 3] = [10_000, 60_000, 3_600_000];
const HOUR: i64 = 3_600_000;

/// Rolls up and expires as of `now_ms`. Idempotent.
pub fn maintain(inner: &mut Inner, now_ms: i64) -> Result<()> {
    let cutoff = now_ms
        .saturating_sub(inner.opts.retention_ms)
        .div_euclid(WIDTHS[0])
        * WIDTHS[0];
    let conn = &inner.conn;
    conn.execute_batch("BEGIN TRANSACTION").map_err(engine)?;
    let r = fold_and_expire(inner, now_ms, cutoff);
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
            inner.floors = floors;
            Ok(())
        }
        Err(e) => {
            let _ = inner.conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn fold_and_expire(inner: &Inner, now_ms: i64, cutoff: i64) -> Result<[i64; 3]> {
    let conn = &inner.conn;
    let first: Option<i64> = conn
        .query_row(
            "SELECT least((SELECT min(ts) FROM samples WHERE ts < ?1), (SELECT min(ts) FROM hists WHERE ts < ?1))",
            [cutoff],
            |r| r.get(0),
        )
        .map_err(engine)?;
    if let Some(first) = first {
        let mut lo = first.div_euclid(HOUR) * HOUR;
        while lo < cutoff {
            let hi = (lo + HOUR).min(cutoff);
            fold_slice(inner, lo, hi)?;
            lo = hi;
        }
        conn.execute("DELETE FROM samples WHERE ts < ?", [cutoff])
            .map_err(engine)?;
        conn.execute("DELETE FROM hists WHERE ts < ?", [cutoff])
            .map_err(engine)?;
    }
    if cutoff > inner.horizon_ms {
        schema::set_meta(conn, "horizon", cutoff)?;
    }
    let mut floors = inner.floors;
    for (i, w) in WIDTHS.iter().enumerate() {
        let keep = inner.opts.rollup_retention_ms[i];
        if keep == i64::MAX {
            continue;
        }
        let floor = now_ms.saturating_sub(keep).div_euclid(*w) * w;
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

/// Folds the rows in [lo, hi) (within one hour) into roll-up rows.
fn fold_slice(inner: &Inner, lo: i64, hi: i64) -> Result<()> {
    let conn = &inner.conn;
    // (width index, series, row start) -> cell
    let mut cells: BTreeMap<(usize, u32, i64), Cell> = BTreeMap::new();
    let mut st = conn
        .prepare("SELECT sid, ts, v FROM samples WHERE ts >= ? AND ts < ?")
        .map_err(engine)?;
    let mut rows = st.query(params![lo, hi]).map_err(engine)?;
    while let Some(r) = rows.next().map_err(engine)? {
        let (sid, ts, v): (u32, i64, f64) = (
            r.get(0).map_err(engine)?,
            r.get(1).map_err(engine)?,
            r.get(2).map_err(engine)?,
        );
        let key = sketch_key(v);
        for (i, w) in WIDTHS.iter().enumerate() {
            let c = cells.entry((i, sid, ts.div_euclid(*w) * w)).or_default();
            c.add_stats(1, v, v, v);
            *c.sketch.entry(key).or_default() += 1;
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
        let (sum, mn, mx): (f64, f64, f64) = (
            r.get(3).map_err(engine)?,
            r.get(4).map_err(engine)?,
            r.get(5).map_err(engine)?,
        );
        let blob: Vec<u8> = r.get(6).map_err(engine)?;
        let mut one = Cell {
            histogram: true,
            ..Cell::default()
        };
        if cnt > 0 {
            one.add_stats(cnt as u64, sum, mn, mx);
        }
        if !codec::decode_into(&blob, &mut one.buckets) {
            return Err(engine(format!("corrupt buckets of series {sid} at {ts}")));
        }
        for (i, w) in WIDTHS.iter().enumerate() {
            cells
                .entry((i, sid, ts.div_euclid(*w) * w))
                .or_default()
                .merge(&one);
        }
    }
    let mut app = conn.appender("rollups").map_err(engine)?;
    for ((i, sid, ts), c) in cells {
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
            WIDTHS[i],
            sid,
            ts,
            c.count as i64,
            c.sum,
            mn,
            mx,
            c.histogram,
            blob
        ])
        .map_err(engine)?;
    }
    app.flush().map_err(engine)
}

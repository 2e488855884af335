//! Retention and roll-ups. [`maintain`] folds full-resolution rows older
//! than the retention window, one hour slice at a time and on each shard
//! (a series is on one shard), into 10 s, 1 min and 1 h roll-up rows
//! (count, sum, min, max, and a mergeable sketch: merged buckets for
//! histograms, sonde-store's value sketch within [`SKETCH_ERROR`] for
//! counters and gauges), written to that shard's local table; then moves
//! the full-resolution horizon (the `meta` table), drops the hour
//! partitions wholly below it, and expires roll-up levels past their own
//! retention by dropping day partitions.
//!
//! Crash safety without transactions: a roll-up row is keyed by its fold
//! slice's start `lo` and versioned by the slice's end `hi`; queries read
//! the newest version per (series, row start, `lo`) (`FINAL`) and add rows of
//! different slices (as DuckStore adds its per-slice rows). Slices start
//! at the stored horizon, so a maintenance run cut short and run again
//! refolds the same slices (a newer version of the same rows) before the
//! horizon moves; rows below the horizon are never read again.
//!
//! [`SKETCH_ERROR`]: crate::SKETCH_ERROR

use std::collections::BTreeMap;

use sonde_store::eval::{sketch_key, Cell};
use sonde_store::Result;

use crate::http::{lit, Client, Reader, Row};
use crate::ClickStore;

/// The roll-up widths, ms (10 s, 1 min, 1 h).
pub const WIDTHS: [i64; 3] = [10_000, 60_000, 3_600_000];
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn meta(store: &ClickStore) -> Result<BTreeMap<String, i64>> {
    let b = store.any_shard(
        &format!(
            "SELECT k, max(v) FROM {}.meta_d GROUP BY k FORMAT RowBinary",
            store.db
        ),
        None,
        "",
    )?;
    let mut r = Reader::new(&b);
    let mut out = BTreeMap::new();
    while r.more() {
        let k = r.str()?;
        out.insert(k, r.i64()?);
    }
    Ok(out)
}

/// Where full resolution starts, and where each roll-up level starts
/// (ms; i64::MIN before the first roll-up or expiry).
pub fn horizon(store: &ClickStore) -> Result<(i64, [i64; 3])> {
    let m = meta(store)?;
    let get = |k: &str| m.get(k).copied().unwrap_or(i64::MIN);
    Ok((
        get("horizon"),
        [get("floor0"), get("floor1"), get("floor2")],
    ))
}

fn set_meta(store: &ClickStore, k: &str, v: i64) -> Result<()> {
    let mut row = Row::default();
    row.str(k).i64(v);
    store
        .any_shard(
            &format!("INSERT INTO {}.meta_d (k, v) FORMAT RowBinary", store.db),
            Some(&row.buf),
            "insert_distributed_sync=1",
        )
        .map(|_| ())
}

/// Rolls up and expires as of `now_ms`. Idempotent.
pub fn maintain(store: &ClickStore, now_ms: i64) -> Result<()> {
    let cutoff = now_ms
        .saturating_sub(store.opts.retention_ms)
        .div_euclid(WIDTHS[0])
        * WIDTHS[0];
    let (h, floors) = horizon(store)?;
    if cutoff > h {
        store.each(|c| fold_shard(c, &store.db, h, cutoff))?;
        set_meta(store, "horizon", cutoff)?;
    }
    let h = h.max(cutoff);
    store.each(|c| drop_below(c, &store.db, "samples", None, h, HOUR))?;
    store.each(|c| drop_below(c, &store.db, "hists", None, h, HOUR))?;
    for (i, w) in WIDTHS.iter().enumerate() {
        let keep = store.opts.rollup_retention_ms[i];
        if keep == i64::MAX {
            continue;
        }
        let floor = now_ms.saturating_sub(keep).div_euclid(*w) * w;
        if floor > floors[i] {
            set_meta(store, &format!("floor{i}"), floor)?;
        }
        let floor = floor.max(floors[i]);
        store.each(|c| drop_below(c, &store.db, "rollups", Some(*w), floor, DAY))?;
    }
    Ok(())
}

/// Drops the partitions of a local table wholly below `limit` (hour or
/// day partitions; roll-ups partitioned by (resolution, day)).
fn drop_below(
    c: &Client,
    db: &str,
    table: &str,
    res: Option<i64>,
    limit: i64,
    width: i64,
) -> Result<()> {
    let b = c.run(
        &format!(
            "SELECT DISTINCT partition FROM system.parts WHERE database = {} AND table = {} \
             AND active FORMAT RowBinary",
            lit(db),
            lit(table)
        ),
        None,
        "",
    )?;
    let mut r = Reader::new(&b);
    while r.more() {
        let p = r.str()?;
        let nums: Vec<i64> = p
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        let (pres, slot) = match (res, nums.as_slice()) {
            (None, [s]) => (None, *s),
            (Some(_), [r, s]) => (Some(*r), *s),
            _ => continue,
        };
        if pres == res && slot.saturating_add(1).saturating_mul(width) <= limit {
            c.exec(&format!("ALTER TABLE {db}.{table} DROP PARTITION {p}"))?;
        }
    }
    Ok(())
}

/// Folds one shard's rows in [h, cutoff) (from the first row's hour when
/// nothing was folded yet), an hour slice at a time.
fn fold_shard(c: &Client, db: &str, h: i64, cutoff: i64) -> Result<()> {
    let start = if h == i64::MIN {
        let b = c.run(
            &format!(
                "SELECT least((SELECT min(ts) FROM {db}.samples), (SELECT min(ts) FROM {db}.hists)), \
                 (SELECT count() FROM {db}.samples) + (SELECT count() FROM {db}.hists) FORMAT RowBinary"
            ),
            None,
            "",
        )?;
        let mut r = Reader::new(&b);
        let (first, n) = (r.i64()?, r.u64()?);
        if n == 0 {
            return Ok(());
        }
        first.div_euclid(HOUR) * HOUR
    } else {
        h
    };
    let mut lo = start;
    while lo < cutoff {
        let hi = ((lo.div_euclid(HOUR) + 1) * HOUR).min(cutoff);
        fold_slice(c, db, lo, hi)?;
        lo = hi;
    }
    Ok(())
}

/// Folds one shard's rows in [lo, hi) (within one hour) into roll-up rows.
fn fold_slice(c: &Client, db: &str, lo: i64, hi: i64) -> Result<()> {
    // (width index, series, row start) -> cell
    let mut cells: BTreeMap<(usize, u64, i64), Cell> = BTreeMap::new();
    let b = c.run(
        &format!(
            "SELECT sid, ts, v FROM {db}.samples FINAL WHERE ts >= {lo} AND ts < {hi} \
             FORMAT RowBinary"
        ),
        None,
        "",
    )?;
    let mut r = Reader::new(&b);
    while r.more() {
        let (sid, ts, v) = (r.u64()?, r.i64()?, r.f64()?);
        let key = sketch_key(v);
        for (i, w) in WIDTHS.iter().enumerate() {
            let c = cells.entry((i, sid, ts.div_euclid(*w) * w)).or_default();
            c.add_stats(1, v, v, v);
            *c.sketch.entry(key).or_default() += 1;
        }
    }
    let b = c.run(
        &format!(
            "SELECT sid, ts, cnt, sum, mn, mx, bounds, counts \
             FROM {db}.hists FINAL WHERE ts >= {lo} AND ts < {hi} FORMAT RowBinary"
        ),
        None,
        "",
    )?;
    let mut r = Reader::new(&b);
    while r.more() {
        let (sid, ts, cnt) = (r.u64()?, r.i64()?, r.u64()?);
        let (sum, mn, mx) = (r.f64()?, r.f64()?, r.f64()?);
        let (bounds, counts) = (r.arr()?, r.arr()?);
        let mut one = Cell {
            histogram: true,
            ..Cell::default()
        };
        if cnt > 0 {
            one.add_stats(cnt, sum, mn, mx);
        }
        for (k, n) in bounds.into_iter().zip(counts) {
            *one.buckets.entry(k).or_default() += n;
        }
        for (i, w) in WIDTHS.iter().enumerate() {
            cells
                .entry((i, sid, ts.div_euclid(*w) * w))
                .or_default()
                .merge(&one);
        }
    }
    if cells.is_empty() {
        return Ok(());
    }
    let mut row = Row::default();
    for ((i, sid, ts), cell) in cells {
        let sk = if cell.histogram {
            &cell.buckets
        } else {
            &cell.sketch
        };
        let (mn, mx) = if cell.count > 0 {
            (cell.min, cell.max)
        } else {
            (0.0, 0.0)
        };
        row.i64(WIDTHS[i])
            .u64(sid)
            .i64(ts)
            .i64(lo)
            .i64(hi)
            .u64(cell.count)
            .f64(cell.sum)
            .f64(mn)
            .f64(mx)
            .u8(u8::from(cell.histogram))
            .arr(sk.keys().copied())
            .arr(sk.values().copied());
    }
    c.run(
        &format!(
            "INSERT INTO {db}.rollups (res, sid, ts, lo, hi, cnt, sum, mn, mx, hist, keys, counts) \
             FORMAT RowBinary"
        ),
        Some(&row.buf),
        "",
    )
    .map(|_| ())
}

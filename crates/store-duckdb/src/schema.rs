//! The tables, and loading the catalog, sequence numbers and the
//! full-resolution horizon at open.

use std::collections::HashMap;

use duckdb::Connection;
use sonde_store::{Result, Tags};

use crate::{engine, Catalog};

const DDL: &str = "
CREATE TABLE IF NOT EXISTS series(sid UINTEGER, metric VARCHAR, tags VARCHAR, hist BOOLEAN);
CREATE TABLE IF NOT EXISTS samples(sid UINTEGER, ts BIGINT, v DOUBLE);
CREATE TABLE IF NOT EXISTS hists(sid UINTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, mn DOUBLE, mx DOUBLE, buckets BLOB);
CREATE TABLE IF NOT EXISTS rollups(res BIGINT, sid UINTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, mn DOUBLE, mx DOUBLE, hist BOOLEAN, sketch BLOB);
CREATE TABLE IF NOT EXISTS seqs(agent VARCHAR PRIMARY KEY, seq UBIGINT);
CREATE TABLE IF NOT EXISTS seqlog(agent VARCHAR, seq UBIGINT);
CREATE TABLE IF NOT EXISTS events(ts BIGINT, agent VARCHAR, kind VARCHAR, tags VARCHAR, body VARCHAR);
CREATE TABLE IF NOT EXISTS meta(k VARCHAR PRIMARY KEY, v BIGINT);
CREATE TEMP TABLE IF NOT EXISTS qsel(sid UINTEGER, grp UINTEGER);
";

/// Creates the tables that are missing.
pub fn create(conn: &Connection) -> Result<()> {
    conn.execute_batch(DDL).map_err(engine)
}

/// Parses stored tags.
pub fn parse_tags(s: &str) -> Result<Tags> {
    serde_json::from_str(s).map_err(|e| engine(format!("stored tags {s:?}: {e}")))
}

/// The series catalog.
pub fn load_catalog(conn: &Connection) -> Result<Catalog> {
    let mut st = conn
        .prepare("SELECT sid, metric, tags, hist FROM series ORDER BY sid")
        .map_err(engine)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .map_err(engine)?;
    let mut cat = Catalog::default();
    for row in rows {
        let (sid, metric, tags, hist) = row.map_err(engine)?;
        let tags = parse_tags(&tags)?;
        if sid as usize != cat.series.len() {
            return Err(engine(format!("series ids not dense at {sid}")));
        }
        cat.insert(&metric, &tags, hist);
    }
    Ok(cat)
}

/// The last sequence number per agent: the highest in `seqlog` (one row
/// per batch, appended in the batch's transaction, which is cheaper than
/// replacing a keyed row; [`compact_seqs`] keeps one per agent) or in
/// `seqs` (where databases written before `seqlog` kept them).
pub fn load_seqs(conn: &Connection) -> Result<HashMap<String, u64>> {
    let mut st = conn
        .prepare(
            "SELECT agent, max(seq) FROM (SELECT agent, seq FROM seqs \
             UNION ALL SELECT agent, seq FROM seqlog) GROUP BY agent",
        )
        .map_err(engine)?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
        .map_err(engine)?;
    rows.collect::<std::result::Result<_, _>>().map_err(engine)
}

fn meta(conn: &Connection, k: &str) -> Result<i64> {
    let v: Option<i64> = conn
        .query_row("SELECT max(v) FROM meta WHERE k = ?", [k], |r| r.get(0))
        .map_err(engine)?;
    Ok(v.unwrap_or(i64::MIN))
}

/// Where full resolution starts, where each roll-up level starts, and
/// each level's watermark (its rows hold every sample older than it);
/// ms, i64::MIN before the first roll-up or expiry. A database written
/// before the watermarks existed rolled up exactly up to its horizon.
pub fn load_horizon(conn: &Connection) -> Result<(i64, [i64; 3], [i64; 3])> {
    let horizon = meta(conn, "horizon")?;
    let mut floors = [i64::MIN; 3];
    let mut rolled = [i64::MIN; 3];
    for (i, (f, r)) in floors.iter_mut().zip(rolled.iter_mut()).enumerate() {
        *f = meta(conn, &format!("floor{i}"))?;
        *r = meta(conn, &format!("rolled{i}"))?.max(horizon);
    }
    Ok((horizon, floors, rolled))
}

/// Stores a meta value (in the caller's transaction).
pub fn set_meta(conn: &Connection, k: &str, v: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        duckdb::params![k, v],
    )
    .map(|_| ())
    .map_err(engine)
}

/// Rewrites `seqlog` as one row per agent, `seqs` (the committed state,
/// in the caller's transaction).
pub fn compact_seqs(conn: &Connection, seqs: &HashMap<String, u64>) -> Result<()> {
    conn.execute_batch("DELETE FROM seqlog").map_err(engine)?;
    let mut app = conn.appender("seqlog").map_err(engine)?;
    for (agent, seq) in seqs {
        app.append_row(duckdb::params![agent, seq])
            .map_err(engine)?;
    }
    app.flush().map_err(engine)
}

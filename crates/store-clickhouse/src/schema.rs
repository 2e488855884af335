//! The tables: local ReplacingMergeTree tables on every shard and a
//! `Distributed` table over each (`<name>_d`), sharded by series id (so
//! a series' samples, histograms, roll-ups and catalog row live on one
//! shard) or by a hash of the agent / key. Created with `IF NOT EXISTS`
//! on every shard at open; portable between ClickHouse 18.16 and current
//! releases (see the crate docs for what is avoided).

use sonde_store::Result;

use crate::http::Client;

/// (table, columns, engine, partition, order, sharding key).
const TABLES: [(&str, &str, &str, &str, &str, &str); 7] = [
    (
        "series",
        "sid UInt64, metric String, tags String, hist UInt8",
        "ReplacingMergeTree()",
        "",
        "(metric, sid)",
        "sid",
    ),
    (
        "samples",
        "sid UInt64, ts Int64, v Float64",
        "ReplacingMergeTree()",
        "intDiv(ts, 3600000)",
        "(sid, ts)",
        "sid",
    ),
    (
        "hists",
        "sid UInt64, ts Int64, cnt UInt64, sum Float64, mn Float64, mx Float64, \
         bounds Array(UInt64), counts Array(UInt64)",
        "ReplacingMergeTree()",
        "intDiv(ts, 3600000)",
        "(sid, ts)",
        "sid",
    ),
    (
        "rollups",
        "res Int64, sid UInt64, ts Int64, lo Int64, hi Int64, cnt UInt64, sum Float64, \
         mn Float64, mx Float64, hist UInt8, keys Array(UInt64), counts Array(UInt64)",
        "ReplacingMergeTree(hi)",
        "(res, intDiv(ts, 86400000))",
        "(res, sid, ts, lo)",
        "sid",
    ),
    (
        "events",
        "ts Int64, agent String, kind String, tags String, body String",
        "ReplacingMergeTree()",
        "intDiv(ts, 86400000)",
        "(ts, agent, kind, tags, body)",
        "cityHash64(agent)",
    ),
    (
        "seqs",
        "agent String, seq UInt64",
        "ReplacingMergeTree(seq)",
        "",
        "agent",
        "cityHash64(agent)",
    ),
    (
        "meta",
        "k String, v Int64",
        "ReplacingMergeTree(v)",
        "",
        "k",
        "cityHash64(k)",
    ),
];

/// Creates the database, the local tables and the distributed tables on
/// one shard.
pub fn create(c: &Client, db: &str, cluster: &str) -> Result<()> {
    c.exec(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
    for (name, cols, engine, part, order, key) in TABLES {
        let part = if part.is_empty() {
            String::new()
        } else {
            format!("PARTITION BY {part} ")
        };
        c.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {db}.{name} ({cols}) ENGINE = {engine} \
             {part}ORDER BY {order}"
        ))?;
        c.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {db}.{name}_d AS {db}.{name} \
             ENGINE = Distributed({cluster}, {db}, {name}, {key})"
        ))?;
    }
    Ok(())
}

/// Checks a database or cluster name is a plain identifier (they are
/// spliced into SQL).
pub fn ident(what: &str, s: &str) -> std::result::Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!("{what} {s:?}: use letters, digits and '_'"))
    }
}

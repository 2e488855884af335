//! Ingest: one agent batch as up to five `Distributed` inserts (new
//! catalog rows, samples, histograms, events, then the agent's `seq`),
//! each acknowledged by every shard (`insert_distributed_sync=1`). Rows
//! are idempotent (see the crate docs), so a failed batch is retried
//! whole.

use sonde_store::{Event, Result, Sample, StoreError, Value};

use crate::http::Row;
use crate::{series_id, ClickStore};

const SYNC: &str = "insert_distributed_sync=1";

fn insert(store: &ClickStore, table: &str, cols: &str, row: &Row) -> Result<()> {
    if row.buf.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {}.{table}_d ({cols}) FORMAT RowBinary",
        store.db
    );
    store.any_shard(&sql, Some(&row.buf), SYNC).map(|_| ())
}

/// Stores a batch; a batch whose `seq` is not above the agent's stored
/// one is ignored.
pub fn write_batch(
    store: &ClickStore,
    agent: &str,
    seq: u64,
    samples: &[Sample],
    events: &[Event],
) -> Result<()> {
    if store.caches().seqs.get(agent).is_some_and(|&s| seq <= s) {
        return Ok(());
    }
    for s in samples {
        if let Value::Histogram { buckets, .. } = &s.value {
            if buckets.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(StoreError::BadQuery(format!(
                    "histogram of {} at {}: buckets not sorted by bound",
                    s.metric, s.ts_ms
                )));
            }
        }
    }
    let sids: Vec<u64> = samples
        .iter()
        .map(|s| series_id(&s.metric, &s.tags))
        .collect();
    let mut fresh = Vec::new();
    let mut series = Row::default();
    {
        let c = store.caches();
        let mut seen = std::collections::HashSet::new();
        for (s, &sid) in samples.iter().zip(&sids) {
            if c.known.contains(&sid) || !seen.insert(sid) {
                continue;
            }
            let tags = serde_json::to_string(&s.tags).map_err(crate::engine)?;
            let hist = u8::from(matches!(s.value, Value::Histogram { .. }));
            series.u64(sid).str(&s.metric).str(&tags).u8(hist);
            fresh.push(sid);
        }
    }
    insert(store, "series", "sid, metric, tags, hist", &series)?;
    let (mut scalars, mut hists) = (Row::default(), Row::default());
    for (s, &sid) in samples.iter().zip(&sids) {
        match &s.value {
            Value::Counter { value } | Value::Gauge { value } => {
                scalars.u64(sid).i64(s.ts_ms).f64(*value);
            }
            Value::Histogram {
                count,
                sum,
                min,
                max,
                buckets,
            } => {
                hists
                    .u64(sid)
                    .i64(s.ts_ms)
                    .u64(*count)
                    .f64(*sum)
                    .f64(*min)
                    .f64(*max)
                    .arr(buckets.iter().map(|b| b.0))
                    .arr(buckets.iter().map(|b| b.1));
            }
        }
    }
    insert(store, "samples", "sid, ts, v", &scalars)?;
    insert(
        store,
        "hists",
        "sid, ts, cnt, sum, mn, mx, bounds, counts",
        &hists,
    )?;
    let mut ev = Row::default();
    for e in events {
        let tags = serde_json::to_string(&e.tags).map_err(crate::engine)?;
        ev.i64(e.ts_ms)
            .str(&e.agent)
            .str(&e.kind)
            .str(&tags)
            .str(&e.body.to_string());
    }
    insert(store, "events", "ts, agent, kind, tags, body", &ev)?;
    let mut sq = Row::default();
    sq.str(agent).u64(seq);
    insert(store, "seqs", "agent, seq", &sq)?;
    let mut c = store.caches();
    c.known.extend(fresh);
    let e = c.seqs.entry(agent.to_string()).or_default();
    *e = (*e).max(seq);
    Ok(())
}

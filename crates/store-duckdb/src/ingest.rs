//! Ingest: one agent batch in one transaction (new series, samples,
//! histograms, events and the agent's sequence number), via DuckDB's
//! Appender. Samples older than a roll-up level's watermark (late
//! arrivals) also go into that level's roll-ups, and only there when
//! they are past the full-resolution window.

use std::sync::{Arc, OnceLock};

use duckdb::arrow::array::{Float64Array, Int64Array, UInt32Array};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params;
use sonde_store::{Event, Result, Sample, StoreError, Tags, Value};

use crate::{codec, engine, flat, rollup, Inner};

/// Stores a batch atomically; a batch whose `seq` is not above the
/// agent's stored one is ignored.
pub fn write_batch(
    inner: &mut Inner,
    agent: &str,
    seq: u64,
    samples: &[Sample],
    events: &[Event],
) -> Result<()> {
    if inner.seqs.get(agent).is_some_and(|&s| seq <= s) {
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
    inner
        .conn
        .execute_batch("BEGIN TRANSACTION")
        .map_err(engine)?;
    let mut fresh: Vec<(&str, &Tags, bool)> = Vec::new();
    let mut sids = Vec::with_capacity(samples.len());
    let r = append(inner, agent, seq, samples, events, &mut fresh, &mut sids);
    match r.and_then(|()| inner.conn.execute_batch("COMMIT").map_err(engine)) {
        Ok(()) => {
            for (m, t, h) in fresh {
                inner.catalog.insert(m, t, h);
            }
            inner.seqs.insert(agent.to_string(), seq);
            inner.last_sids.insert(agent.to_string(), sids);
            Ok(())
        }
        Err(e) => {
            let _ = inner.conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn append<'a>(
    inner: &Inner,
    agent: &str,
    seq: u64,
    samples: &'a [Sample],
    events: &[Event],
    fresh: &mut Vec<(&'a str, &'a Tags, bool)>,
    sids: &mut Vec<u32>,
) -> Result<()> {
    let conn = &inner.conn;
    let mut pending: std::collections::HashMap<(&str, &Tags), u32> = Default::default();
    let last = inner
        .last_sids
        .get(agent)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let known = same_as_last(&inner.catalog.flat, last, samples);
    {
        // Created at the first new series only: most batches have none.
        let mut series: Option<duckdb::Appender<'_>> = None;
        for (i, s) in samples.iter().enumerate() {
            let hit = known.get(i).copied().filter(|&id| id != MISS);
            let sid = match hit.or_else(|| inner.catalog.get(&s.metric, &s.tags)) {
                Some(id) => id,
                None => match pending.get(&(s.metric.as_str(), &s.tags)) {
                    Some(id) => *id,
                    None => {
                        let id = (inner.catalog.series.len() + fresh.len()) as u32;
                        let tags = serde_json::to_string(&s.tags).map_err(engine)?;
                        let hist = matches!(s.value, Value::Histogram { .. });
                        if series.is_none() {
                            series = Some(conn.appender("series").map_err(engine)?);
                        }
                        if let Some(app) = series.as_mut() {
                            app.append_row(params![id, s.metric, tags, hist])
                                .map_err(engine)?;
                        }
                        pending.insert((s.metric.as_str(), &s.tags), id);
                        fresh.push((&s.metric, &s.tags, hist));
                        id
                    }
                },
            };
            sids.push(sid);
        }
        if let Some(mut app) = series {
            app.flush().map_err(engine)?;
        }
    }
    append_scalars(inner, samples, sids)?;
    if samples
        .iter()
        .any(|s| matches!(s.value, Value::Histogram { .. }))
    {
        let mut app = conn.appender("hists").map_err(engine)?;
        for (s, sid) in samples.iter().zip(sids.iter()) {
            if let Value::Histogram {
                count,
                sum,
                min,
                max,
                buckets,
            } = &s.value
            {
                if s.ts_ms < inner.horizon_ms {
                    continue;
                }
                let blob = codec::encode(buckets.iter().map(|(b, c)| (b, c)));
                app.append_row(params![sid, s.ts_ms, *count as i64, sum, min, max, blob])
                    .map_err(engine)?;
            }
        }
        app.flush().map_err(engine)?;
    }
    if samples.iter().any(|s| s.ts_ms < inner.rolled[0]) {
        rollup::late_rows(inner, samples, sids)?;
    }
    if !events.is_empty() {
        let mut app = conn.appender("events").map_err(engine)?;
        for e in events {
            let tags = serde_json::to_string(&e.tags).map_err(engine)?;
            app.append_row(params![e.ts_ms, e.agent, e.kind, tags, e.body.to_string()])
                .map_err(engine)?;
        }
        app.flush().map_err(engine)?;
    }
    // appended, not replaced: a keyed upsert costs a fifth of a batch
    let mut app = conn.appender("seqlog").map_err(engine)?;
    app.append_row(params![agent, seq]).map_err(engine)?;
    app.flush().map_err(engine)
}

/// Not the series at the same position in the agent's last batch.
const MISS: u32 = u32::MAX;

/// Each sample's series id when it is the series at its position in the
/// agent's last batch (`last`), else [`MISS`]: agents send the same
/// series in the same order every second, so one pass over each
/// sample's strings against one contiguous key replaces most catalog
/// lookups. A large batch is checked in two halves on two threads: this
/// pass reads every tag string of every sample, half of a batch's cost.
fn same_as_last(keys: &[Box<[u8]>], last: &[u32], samples: &[Sample]) -> Vec<u32> {
    let check = |from: usize, part: &[Sample], out: &mut [u32]| {
        for (j, (s, o)) in part.iter().zip(out.iter_mut()).enumerate() {
            *o = last
                .get(from + j)
                .filter(|&&sid| {
                    keys.get(sid as usize)
                        .is_some_and(|k| flat::is(k, &s.metric, &s.tags))
                })
                .copied()
                .unwrap_or(MISS);
        }
    };
    let mut out = vec![MISS; samples.len()];
    let half = samples.len() / 2;
    if half < PARALLEL_FROM / 2 {
        check(0, samples, &mut out);
        return out;
    }
    let (a, b) = samples.split_at(half);
    let (oa, ob) = out.split_at_mut(half);
    std::thread::scope(|sc| {
        sc.spawn(|| check(half, b, ob));
        check(0, a, oa);
    });
    out
}

/// Batches of at least this many samples are checked on two threads.
const PARALLEL_FROM: usize = 2048;

fn scalar_schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("sid", DataType::UInt32, false),
                Field::new("ts", DataType::Int64, false),
                Field::new("v", DataType::Float64, false),
            ]))
        })
        .clone()
}

/// Counters and gauges within the full-resolution window, as one Arrow
/// batch of columns (no per-row binding).
fn append_scalars(inner: &Inner, samples: &[Sample], sids: &[u32]) -> Result<()> {
    let n = samples.len();
    let (mut sid, mut ts, mut v) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (s, id) in samples.iter().zip(sids) {
        if s.ts_ms < inner.horizon_ms {
            continue; // past the full-resolution window: roll-ups only
        }
        if let Value::Counter { value } | Value::Gauge { value } = s.value {
            sid.push(*id);
            ts.push(s.ts_ms);
            v.push(value);
        }
    }
    if sid.is_empty() {
        return Ok(());
    }
    let batch = RecordBatch::try_new(
        scalar_schema(),
        vec![
            Arc::new(UInt32Array::from(sid)),
            Arc::new(Int64Array::from(ts)),
            Arc::new(Float64Array::from(v)),
        ],
    )
    .map_err(engine)?;
    let mut app = inner.conn.appender("samples").map_err(engine)?;
    app.append_record_batch(batch).map_err(engine)?;
    app.flush().map_err(engine)
}

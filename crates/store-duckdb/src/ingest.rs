//! Ingest: one agent batch in one transaction (new series, samples,
//! histograms, events and the agent's sequence number), via DuckDB's
//! Appender.

use duckdb::params;
use sonde_store::{Event, Result, Sample, StoreError, Tags, Value};

use crate::{codec, engine, Inner};

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
    let known = |i: usize, s: &Sample| {
        let sid = *last.get(i)?;
        let info = inner.catalog.series.get(sid as usize)?;
        (info.metric == s.metric && info.tags == s.tags).then_some(sid)
    };
    {
        let mut series = conn.appender("series").map_err(engine)?;
        for (i, s) in samples.iter().enumerate() {
            let sid = match known(i, s).or_else(|| inner.catalog.get(&s.metric, &s.tags)) {
                Some(id) => id,
                None => match pending.get(&(s.metric.as_str(), &s.tags)) {
                    Some(id) => *id,
                    None => {
                        let id = (inner.catalog.series.len() + fresh.len()) as u32;
                        let tags = serde_json::to_string(&s.tags).map_err(engine)?;
                        let hist = matches!(s.value, Value::Histogram { .. });
                        series
                            .append_row(params![id, s.metric, tags, hist])
                            .map_err(engine)?;
                        pending.insert((s.metric.as_str(), &s.tags), id);
                        fresh.push((&s.metric, &s.tags, hist));
                        id
                    }
                },
            };
            sids.push(sid);
        }
        series.flush().map_err(engine)?;
    }
    {
        let mut app = conn.appender("samples").map_err(engine)?;
        for (s, sid) in samples.iter().zip(sids.iter()) {
            if let Value::Counter { value } | Value::Gauge { value } = s.value {
                app.append_row(params![sid, s.ts_ms, value])
                    .map_err(engine)?;
            }
        }
        app.flush().map_err(engine)?;
    }
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
                let blob = codec::encode(buckets.iter().map(|(b, c)| (b, c)));
                app.append_row(params![sid, s.ts_ms, *count as i64, sum, min, max, blob])
                    .map_err(engine)?;
            }
        }
        app.flush().map_err(engine)?;
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
    conn.execute(
        "INSERT OR REPLACE INTO seqs VALUES (?, ?)",
        params![agent, seq],
    )
    .map_err(engine)?;
    Ok(())
}

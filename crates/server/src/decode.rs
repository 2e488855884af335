//! An agent batch's records, decoded into the storage model: metric
//! series into [`Sample`]s, check results into events (their perfdata into
//! samples too), keepalives handed to the host registry, and records of
//! kinds this server does not know kept as events (and counted). A record
//! that cannot be read at all makes the whole batch malformed.

use serde_json::Value as J;
use sonde_store::{Event, Sample, Tags, Value};

/// A keepalive as the agent sends it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Keepalive {
    /// When, ms since the epoch.
    #[serde(default)]
    pub ts_ms: i64,
    /// How often they come, ms.
    #[serde(default)]
    pub interval_ms: i64,
    /// The agent's subscriptions.
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// The last one of a clean shutdown.
    #[serde(default)]
    pub leaving: bool,
}

/// One batch, decoded.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Metric samples.
    pub samples: Vec<Sample>,
    /// Events to store.
    pub events: Vec<Event>,
    /// Keepalives, in order.
    pub keepalives: Vec<Keepalive>,
    /// Records of a kind this server does not know (kept as events).
    pub unknown: u64,
}

/// A record that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("record {index}: {msg}")]
pub struct Malformed {
    /// Its position in the batch.
    pub index: usize,
    /// What is wrong.
    pub msg: String,
}

/// Decodes the records of `agent`'s batch sealed at `batch_ts_ms`.
pub fn decode(agent: &str, batch_ts_ms: i64, records: &[J]) -> Result<Decoded, Malformed> {
    let mut d = Decoded::default();
    for (index, r) in records.iter().enumerate() {
        record(agent, batch_ts_ms, r, &mut d).map_err(|msg| Malformed { index, msg })?;
    }
    Ok(d)
}

fn record(agent: &str, batch_ts: i64, r: &J, d: &mut Decoded) -> Result<(), String> {
    let o = r.as_object().ok_or("not a JSON object")?;
    match o
        .get("kind")
        .map(|k| k.as_str().ok_or("'kind' is not a string"))
    {
        None if o.contains_key("name") => d.samples.push(series(r)?),
        None => return Err("neither a metric series (name, type) nor a 'kind'".into()),
        Some(Err(e)) => return Err(e.into()),
        Some(Ok("metric")) => d.samples.push(series(r)?),
        Some(Ok("event")) => {
            let ev = o.get("event").ok_or("event record without 'event'")?;
            agent_event(agent, batch_ts, ev, d)?;
        }
        Some(Ok(other)) => {
            d.unknown += 1;
            d.events.push(other_event(agent, batch_ts, other, r));
        }
    }
    Ok(())
}

fn other_event(agent: &str, batch_ts: i64, kind: &str, body: &J) -> Event {
    let ts = body.get("ts_ms").and_then(J::as_i64).unwrap_or(batch_ts);
    let mut tags = Tags::new();
    tags.insert("host".into(), agent.into());
    Event {
        ts_ms: ts,
        agent: agent.into(),
        kind: kind.into(),
        tags,
        body: body.clone(),
    }
}

fn agent_event(agent: &str, batch_ts: i64, ev: &J, d: &mut Decoded) -> Result<(), String> {
    let kind = ev
        .get("kind")
        .and_then(J::as_str)
        .ok_or("event without a string 'kind'")?;
    match kind {
        "keepalive" => {
            let k: Keepalive =
                serde_json::from_value(ev.clone()).map_err(|e| format!("keepalive: {e}"))?;
            d.keepalives.push(k);
        }
        "check" => check(agent, ev, d)?,
        other => {
            d.unknown += 1;
            d.events.push(other_event(agent, batch_ts, other, ev));
        }
    }
    Ok(())
}

fn check(agent: &str, ev: &J, d: &mut Decoded) -> Result<(), String> {
    let name = ev
        .get("check")
        .and_then(J::as_str)
        .ok_or("check result without 'check'")?;
    let status = ev
        .get("status")
        .and_then(J::as_str)
        .ok_or("check result without 'status'")?;
    let started = ev.get("started_ms").and_then(J::as_i64).unwrap_or(0);
    let took = ev.get("duration_ms").and_then(J::as_i64).unwrap_or(0);
    let ts = started.saturating_add(took);
    let mut tags = Tags::new();
    tags.insert("host".into(), agent.into());
    tags.insert("check".into(), name.into());
    tags.insert("status".into(), status.to_ascii_lowercase());
    if let Some(perf) = ev.get("perfdata").and_then(J::as_array) {
        for p in perf {
            let (Some(label), Some(v)) = (
                p.get("label").and_then(J::as_str),
                p.get("value").and_then(J::as_f64),
            ) else {
                continue;
            };
            let mut t = tags.clone();
            t.remove("status");
            if let Some(u) = p.get("uom").and_then(J::as_str).filter(|u| !u.is_empty()) {
                t.insert("uom".into(), u.into());
            }
            d.samples.push(Sample {
                metric: format!("check.perf.{}", clean_label(label)),
                tags: t,
                // (saturating: the second holding i64::MIN starts below it)
                ts_ms: ts.div_euclid(1000).saturating_mul(1000),
                value: Value::Gauge { value: v },
            });
        }
    }
    d.events.push(Event {
        ts_ms: ts,
        agent: agent.into(),
        kind: "check".into(),
        tags,
        body: ev.clone(),
    });
    Ok(())
}

/// A perfdata label as a metric name part (letters, digits, `_`).
fn clean_label(l: &str) -> String {
    l.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A metric series record (the agent's `Series::to_json`).
fn series(r: &J) -> Result<Sample, String> {
    let name = r
        .get("name")
        .and_then(J::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("series without a 'name'")?;
    let ts_ms = match (
        r.get("ts_ns").and_then(J::as_u64),
        r.get("ts").and_then(J::as_i64),
    ) {
        (Some(ns), _) => i64::try_from(ns / 1_000_000_000).map_err(|e| e.to_string())? * 1000,
        (None, Some(s)) => s.saturating_mul(1000),
        (None, None) => return Err(format!("series '{name}' without 'ts'")),
    };
    let mut tags = Tags::new();
    if let Some(t) = r.get("tags") {
        let t = t.as_object().ok_or("'tags' is not an object")?;
        for (k, v) in t {
            let v = match v {
                J::String(s) => s.clone(),
                J::Null => continue,
                other => other.to_string(),
            };
            tags.insert(k.clone(), v);
        }
    }
    let num = |k: &str| {
        r.get(k)
            .and_then(J::as_f64)
            .ok_or_else(|| format!("series '{name}' without a numeric '{k}'"))
    };
    let value = match r.get("type").and_then(J::as_str) {
        Some("counter") => Value::Counter {
            value: num("value")?,
        },
        Some("gauge") => Value::Gauge {
            value: num("value")?,
        },
        Some("histogram") => {
            let buckets = match r.get("buckets") {
                None | Some(J::Null) => Vec::new(),
                Some(b) => serde_json::from_value::<Vec<(u64, u64)>>(b.clone())
                    .map_err(|e| format!("series '{name}' buckets: {e}"))?,
            };
            Value::Histogram {
                count: r
                    .get("count")
                    .and_then(J::as_u64)
                    .ok_or_else(|| format!("series '{name}' without a 'count'"))?,
                sum: num("sum")?,
                min: num("min")?,
                max: num("max")?,
                buckets,
            }
        }
        Some(t) => return Err(format!("series '{name}' has unknown type '{t}'")),
        None => return Err(format!("series '{name}' without a 'type'")),
    };
    Ok(Sample {
        metric: name.into(),
        tags,
        ts_ms,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn series_events_keepalives_and_unknown_kinds() {
        let recs = vec![
            json!({"ts": 10, "ts_ns": 10_000_000_000u64, "name": "cpu.used.percent",
                   "tags": {"host": "h", "container.name": "web"}, "type": "gauge", "value": 12.5}),
            json!({"ts": 10, "name": "net.http.request.duration", "tags": {}, "type": "histogram",
                   "count": 2, "sum": 30.0, "min": 10.0, "max": 20.0, "buckets": [[10, 1], [20, 1]]}),
            json!({"kind": "event", "event": {"kind": "keepalive", "agent": "h", "ts_ms": 5,
                   "interval_ms": 5000, "subscriptions": [], "leaving": false}}),
            json!({"kind": "event", "event": {"kind": "check", "check": "disk", "status": "critical",
                   "started_ms": 9000, "duration_ms": 1500, "perfdata": [{"label": "used", "value": 93.0, "uom": "%"}]}}),
            json!({"kind": "flare", "x": 1}),
        ];
        let d = decode("h", 10_000, &recs).unwrap();
        assert_eq!(d.samples.len(), 3);
        assert_eq!(d.samples[0].ts_ms, 10_000);
        assert_eq!(d.samples[0].value, Value::Gauge { value: 12.5 });
        assert!(matches!(
            d.samples[1].value,
            Value::Histogram { count: 2, .. }
        ));
        assert_eq!(d.samples[2].metric, "check.perf.used");
        assert_eq!(d.samples[2].ts_ms, 10_000);
        assert_eq!(d.keepalives[0].interval_ms, 5000);
        assert_eq!(d.events.len(), 2);
        assert_eq!(d.events[0].tags["status"], "critical");
        assert_eq!(d.events[1].kind, "flare");
        assert_eq!(d.unknown, 1);
    }

    #[test]
    fn perfdata_of_a_check_at_the_start_of_time() {
        // found by tests/fuzz_parsers.rs: the start of the second holding
        // i64::MIN overflowed (to a time far in the future, in release)
        let rec = json!({"kind": "event", "event": {"kind": "check", "check": "old",
            "status": "ok", "started_ms": i64::MIN, "perfdata": [{"label": "l", "value": 1}]}});
        let d = decode("h", 0, &[rec]).unwrap();
        assert_eq!(
            (d.samples[0].ts_ms, d.events[0].ts_ms),
            (i64::MIN, i64::MIN)
        );
    }

    #[test]
    fn malformed_records_name_their_position() {
        for bad in [
            json!(3),
            json!({"name": "x", "ts": 1, "type": "gauge"}),
            json!({"name": "x", "ts": 1, "type": "gauge", "value": "high"}),
            json!({"name": "x", "ts": 1, "type": "weird", "value": 1}),
            json!({"name": "x", "type": "gauge", "value": 1}),
            json!({"kind": 7}),
            json!({"kind": "event"}),
            json!({"kind": "event", "event": {"kind": "keepalive", "leaving": "no"}}),
        ] {
            let e = decode("h", 0, &[json!({"kind": "x"}), bad.clone()]).unwrap_err();
            assert_eq!(e.index, 1, "{bad}");
        }
    }
}

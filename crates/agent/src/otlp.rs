//! A second's batch as an OpenTelemetry metrics export request (OTLP/HTTP
//! with the JSON encoding, `ExportMetricsServiceRequest`): counters as
//! monotonic delta sums, gauges as gauges, latency histograms as delta
//! explicit-bucket histograms in nanoseconds. Series tags become data
//! point attributes; the agent itself is the resource. Sending is the
//! transport's job (`sonde_transport::otlp`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as J};

use crate::series::{Batch, Histogram, Series, Value};

/// Upper bounds (inclusive) of the exported histogram buckets, in
/// nanoseconds: 10 µs to 5 s, as the Prometheus endpoint's.
pub const BOUNDS_NS: [u64; 12] = [
    10_000,
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    1_000_000_000,
    5_000_000_000,
];

/// One second: the length of every delta interval.
const SECOND_NS: u64 = 1_000_000_000;

/// The export request for `batch`. `resource` names the agent (e.g.
/// `service.name`, `host.name`).
pub fn encode(batch: &Batch, resource: &[(String, String)]) -> J {
    // one metric per (name, kind), data points in the batch's order
    let mut metrics: BTreeMap<(&str, u8), Vec<J>> = BTreeMap::new();
    for s in &batch.series {
        metrics
            .entry((s.name.as_str(), kind(&s.value)))
            .or_default()
            .push(point(s, batch.ts));
    }
    let metrics: Vec<J> = metrics
        .into_iter()
        .map(|((name, k), points)| metric(name, k, points))
        .collect();
    json!({
        "resourceMetrics": [{
            "resource": {"attributes": attributes(resource.iter().map(|(k, v)| (k.as_str(), v.as_str())))},
            "scopeMetrics": [{
                "scope": {"name": "sonde-agent", "version": env!("CARGO_PKG_VERSION")},
                "metrics": metrics,
            }],
        }]
    })
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Counter(_) => 0,
        Value::Gauge(_) => 1,
        Value::Histogram(_) => 2,
    }
}

/// AGGREGATION_TEMPORALITY_DELTA.
const DELTA: u8 = 1;

fn metric(name: &str, kind: u8, points: Vec<J>) -> J {
    match kind {
        0 => json!({"name": name, "sum": {
            "dataPoints": points, "aggregationTemporality": DELTA, "isMonotonic": true}}),
        1 => json!({"name": name, "gauge": {"dataPoints": points}}),
        _ => json!({"name": name, "unit": "ns", "histogram": {
            "dataPoints": points, "aggregationTemporality": DELTA}}),
    }
}

/// Key/value attributes, string-valued.
fn attributes<'a>(kv: impl Iterator<Item = (&'a str, &'a str)>) -> J {
    J::Array(
        kv.map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
            .collect(),
    )
}

/// A double as the protobuf JSON mapping writes it (non-finite values as
/// strings).
fn double(v: f64) -> J {
    if v.is_nan() {
        J::from("NaN")
    } else if v.is_infinite() {
        J::from(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

/// A 64-bit unsigned integer as the protobuf JSON mapping writes it.
fn u64s(v: u64) -> J {
    J::String(v.to_string())
}

fn point(s: &Series, ts: u64) -> J {
    let mut p = Map::new();
    p.insert(
        "attributes".into(),
        attributes(s.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    p.insert("timeUnixNano".into(), u64s(ts));
    match &s.value {
        Value::Gauge(v) => {
            p.insert("asDouble".into(), double(*v));
        }
        Value::Counter(v) => {
            p.insert(
                "startTimeUnixNano".into(),
                u64s(ts.saturating_sub(SECOND_NS)),
            );
            p.insert("asDouble".into(), double(*v));
        }
        Value::Histogram(h) => {
            p.insert(
                "startTimeUnixNano".into(),
                u64s(ts.saturating_sub(SECOND_NS)),
            );
            histogram(&mut p, h);
        }
    }
    J::Object(p)
}

/// Count, sum, min, max and the counts between [`BOUNDS_NS`].
fn histogram(p: &mut Map<String, J>, h: &Histogram) {
    p.insert("count".into(), u64s(h.count));
    p.insert("sum".into(), json!(h.sum as f64));
    if h.count > 0 {
        p.insert("min".into(), json!(h.min as f64));
        p.insert("max".into(), json!(h.max as f64));
    }
    p.insert(
        "bucketCounts".into(),
        J::Array(bucket_counts(h).into_iter().map(u64s).collect()),
    );
    p.insert("explicitBounds".into(), json!(BOUNDS_NS.map(|b| b as f64)));
}

/// The count in each bucket: one per bound, and one above the last.
pub fn bucket_counts(h: &Histogram) -> Vec<u64> {
    let mut out = Vec::with_capacity(BOUNDS_NS.len() + 1);
    let mut below = 0;
    for b in BOUNDS_NS {
        let le = h.count_le(b);
        out.push(le - below);
        below = le;
    }
    out.push(h.count - below);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, tags: &[(&str, &str)], value: Value) -> Series {
        Series {
            name: name.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    #[test]
    fn kinds_map_to_sum_gauge_and_histogram() {
        let mut h = Histogram::default();
        for v in [5_000, 50_000, 2_000_000, 7_000_000_000] {
            h.record(v);
        }
        let b = Batch {
            ts: 1_700_000_001_000_000_000,
            series: vec![
                series("net.bytes", &[("scope", "host")], Value::Counter(12.0)),
                series("mem.rss", &[("proc.name", "nginx")], Value::Gauge(f64::NAN)),
                series("file.latency", &[], Value::Histogram(h)),
            ],
        };
        let r = encode(&b, &[("host.name".into(), "h1".into())]);
        let rm = &r["resourceMetrics"][0];
        assert_eq!(rm["resource"]["attributes"][0]["key"], "host.name");
        let m = rm["scopeMetrics"][0]["metrics"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        let by = |n: &str| m.iter().find(|x| x["name"] == n).unwrap();
        let sum = &by("net.bytes")["sum"];
        assert_eq!(sum["isMonotonic"], true);
        assert_eq!(sum["dataPoints"][0]["asDouble"], 12.0);
        assert_eq!(
            sum["dataPoints"][0]["startTimeUnixNano"],
            "1700000000000000000"
        );
        assert_eq!(by("mem.rss")["gauge"]["dataPoints"][0]["asDouble"], "NaN");
        let hp = &by("file.latency")["histogram"]["dataPoints"][0];
        assert_eq!(hp["count"], "4");
        let counts: Vec<u64> = hp["bucketCounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(counts.len(), BOUNDS_NS.len() + 1);
        assert_eq!(counts.iter().sum::<u64>(), 4);
        assert_eq!(counts[0], 1, "5 µs is under 10 µs");
        assert_eq!(counts[BOUNDS_NS.len()], 1, "7 s is over 5 s");
    }

    #[test]
    fn one_metric_per_name_and_kind() {
        let b = Batch {
            ts: 2_000_000_000,
            series: vec![
                series("x", &[("a", "1")], Value::Counter(1.0)),
                series("x", &[("a", "2")], Value::Counter(2.0)),
                series("x", &[("a", "3")], Value::Gauge(3.0)),
            ],
        };
        let r = encode(&b, &[]);
        let m = r["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["sum"]["dataPoints"].as_array().unwrap().len(), 2);
    }
}

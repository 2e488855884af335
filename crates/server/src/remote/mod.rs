//! Prometheus remote write (the 1.0 protocol): a snappy block-compressed
//! protobuf `prometheus.WriteRequest` POSTed over HTTP.
//!
//! - In ([`receive`]): `POST /api/v1/write`, so existing exporters (a
//!   Prometheus server, an OpenTelemetry collector, vmagent, ...) can
//!   write into sonde. Each series' `__name__` is the metric and its other
//!   labels are the tags; each sample is stored as a gauge (remote write
//!   says nothing of types: a Prometheus counter arrives as its running
//!   total) on the second that ends at or after its timestamp.
//! - Out ([`forward`]): every second the agents send, once stored, is
//!   forwarded to a remote-write URL (another sonde, Prometheus, Mimir,
//!   VictoriaMetrics, ...), batched, retried with backoff, through a
//!   bounded queue that drops (and counts) rather than grow.
//!
//! The messages are written here with `prost`'s derive (the fields of
//! Prometheus's `types.proto` that 1.0 defines; exemplars, native
//! histograms and metadata are skipped when read and never written).

pub mod forward;
pub mod receive;

use std::collections::BTreeMap;

use prost::Message;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series and their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Its labels, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Its samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The largest body accepted, compressed and uncompressed.
pub const MAX_BODY: usize = 32 << 20;

/// Prometheus's staleness marker (a NaN with this bit pattern).
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// A remote-write body that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RemoteError {
    /// Not snappy, not protobuf, or not a usable series.
    #[error("{0}")]
    Bad(String),
}

fn bad(msg: impl Into<String>) -> RemoteError {
    RemoteError::Bad(msg.into())
}

/// A request, protobuf-encoded and snappy-compressed.
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    // compressing a buffer in memory cannot fail but on a size overflow
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// A body decompressed and decoded (sizes checked first).
pub fn decode(body: &[u8]) -> Result<WriteRequest, RemoteError> {
    let n = snap::raw::decompress_len(body)
        .map_err(|e| bad(format!("body is not snappy block-compressed: {e}")))?;
    if n > MAX_BODY {
        return Err(bad(format!(
            "uncompressed body of {n} bytes is over the limit of {MAX_BODY}"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| bad(format!("body is not snappy block-compressed: {e}")))?;
    WriteRequest::decode(raw.as_slice())
        .map_err(|e| bad(format!("body is not a prometheus.WriteRequest: {e}")))
}

/// The latest sample timestamp accepted: its second's end still fits.
const MAX_TS: i64 = i64::MAX - 1000;

/// The end of the second holding `ts_ms` (sonde's samples sit on whole
/// seconds, each covering the second before it); `ts_ms` at most
/// `i64::MAX - 1000`.
pub fn second_end(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(1000) * 1000 + if ts_ms.rem_euclid(1000) == 0 { 0 } else { 1000 }
}

/// A request's samples in sonde's model: gauges, `__name__` the metric,
/// the other labels the tags (empty values dropped). Staleness markers
/// are skipped. A series without `__name__`, with a label twice, or a
/// sample at or before the epoch is an error naming it.
pub fn to_samples(req: &WriteRequest) -> Result<Vec<sonde_store::Sample>, RemoteError> {
    let mut out = Vec::new();
    for (i, ts) in req.timeseries.iter().enumerate() {
        let mut name = None;
        let mut tags = BTreeMap::new();
        for l in &ts.labels {
            if l.name.is_empty() {
                return Err(bad(format!("series {i}: a label with an empty name")));
            }
            if l.name == "__name__" {
                if name.replace(l.value.clone()).is_some() {
                    return Err(bad(format!("series {i}: __name__ given twice")));
                }
            } else if tags.insert(l.name.clone(), l.value.clone()).is_some() {
                return Err(bad(format!("series {i}: label '{}' given twice", l.name)));
            }
        }
        let metric = name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(format!("series {i}: no __name__ label")))?;
        tags.retain(|_, v: &mut String| !v.is_empty());
        for s in &ts.samples {
            if s.value.to_bits() == STALE_NAN {
                continue;
            }
            if s.timestamp <= 0 {
                return Err(bad(format!(
                    "series {i} ({metric}): timestamp {} is not after the epoch",
                    s.timestamp
                )));
            }
            if s.timestamp > MAX_TS {
                return Err(bad(format!(
                    "series {i} ({metric}): timestamp {} is too far in the future",
                    s.timestamp
                )));
            }
            out.push(sonde_store::Sample {
                metric: metric.clone(),
                tags: tags.clone(),
                ts_ms: second_end(s.timestamp),
                value: sonde_store::Value::Gauge { value: s.value },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(value, timestamp)| Sample { value, timestamp })
                .collect(),
        }
    }

    #[test]
    fn round_trip_and_the_model() {
        let req = WriteRequest {
            timeseries: vec![series(
                &[("__name__", "up"), ("job", "node"), ("empty", "")],
                &[
                    (1.0, 1_700_000_000_000),
                    (f64::from_bits(STALE_NAN), 1_700_000_001_000),
                    (2.5, 1_700_000_001_500),
                ],
            )],
        };
        let body = encode(&req);
        let back = decode(&body).unwrap();
        assert_eq!(back.timeseries.len(), 1);
        let s = to_samples(&back).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].metric, "up");
        assert_eq!(
            s[0].tags,
            BTreeMap::from([("job".to_string(), "node".to_string())])
        );
        assert_eq!(
            (s[0].ts_ms, s[1].ts_ms),
            (1_700_000_000_000, 1_700_000_002_000)
        );
        assert_eq!(s[1].value, sonde_store::Value::Gauge { value: 2.5 });
    }

    #[test]
    fn bad_bodies_say_why() {
        let e = decode(b"not snappy at all").unwrap_err();
        assert!(
            e.to_string().contains("snappy") || e.to_string().contains("WriteRequest"),
            "{e}"
        );
        let junk = snap::raw::Encoder::new().compress_vec(&[0xff; 20]).unwrap();
        assert!(decode(&junk)
            .unwrap_err()
            .to_string()
            .contains("WriteRequest"));
        for (labels, want) in [
            (vec![("job", "x")], "no __name__"),
            (
                vec![("__name__", "a"), ("j", "1"), ("j", "2")],
                "given twice",
            ),
            (vec![("__name__", "a"), ("", "1")], "empty name"),
        ] {
            let req = WriteRequest {
                timeseries: vec![series(&labels, &[(1.0, 1000)])],
            };
            assert!(
                to_samples(&req).unwrap_err().to_string().contains(want),
                "{want}"
            );
        }
        let req = WriteRequest {
            timeseries: vec![series(&[("__name__", "a")], &[(1.0, 0)])],
        };
        assert!(to_samples(&req).unwrap_err().to_string().contains("epoch"));
        // found by tests/fuzz_parsers.rs: the end of the second holding
        // i64::MAX overflowed (to a negative time in a release build)
        let req = WriteRequest {
            timeseries: vec![series(&[("__name__", "a")], &[(1.0, i64::MAX)])],
        };
        assert!(to_samples(&req).unwrap_err().to_string().contains("future"));
        let last = WriteRequest {
            timeseries: vec![series(&[("__name__", "a")], &[(1.0, MAX_TS)])],
        };
        assert_eq!(
            to_samples(&last).unwrap()[0].ts_ms,
            MAX_TS / 1000 * 1000 + 1000
        );
    }
}

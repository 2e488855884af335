//! The series model: a metric name, its sorted tags and one value per
//! second (counter delta, gauge, or latency histogram), and how a
//! second's batch renders as JSON lines.

use std::io::Write;

/// Tags of a series: key/value pairs sorted by key.
pub type Tags = Vec<(String, String)>;

/// A latency histogram in nanoseconds: log-linear buckets (8 per power of
/// two, so a percentile read from it is within about 6% of the truth),
/// plus exact count, sum, min and max.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// The smallest.
    pub min: u64,
    /// The largest.
    pub max: u64,
    /// Sparse buckets: (bucket index, count), sorted by index.
    buckets: Vec<(u16, u64)>,
}

/// Sub-buckets per power of two.
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;

/// The bucket of `v`.
fn bucket_of(v: u64) -> u16 {
    if v < SUB {
        return v as u16;
    }
    let e = 63 - v.leading_zeros();
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    ((e - SUB_BITS + 1) as u64 * SUB + sub) as u16
}

/// The lowest value of bucket `b` and its width.
fn bucket_range(b: u16) -> (u64, u64) {
    let b = u64::from(b);
    if b < SUB {
        return (b, 1);
    }
    let e = b / SUB + u64::from(SUB_BITS) - 1;
    let sub = b % SUB;
    let width = 1u64 << (e - u64::from(SUB_BITS));
    ((1u64 << e) + sub * width, width)
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, v: u64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum = self.sum.saturating_add(v);
        let b = bucket_of(v);
        match self.buckets.binary_search_by_key(&b, |x| x.0) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (b, 1)),
        }
    }

    /// Adds another histogram into this one.
    pub fn merge(&mut self, o: &Histogram) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 || o.min < self.min {
            self.min = o.min;
        }
        self.max = self.max.max(o.max);
        self.count += o.count;
        self.sum = self.sum.saturating_add(o.sum);
        for &(b, n) in &o.buckets {
            match self.buckets.binary_search_by_key(&b, |x| x.0) {
                Ok(i) => self.buckets[i].1 += n,
                Err(i) => self.buckets.insert(i, (b, n)),
            }
        }
    }

    /// The value at quantile `q` (0..=1): the middle of the bucket holding
    /// it, clamped to the exact min and max. 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let (lo, w) = bucket_range(b);
                return (lo + w / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// How many values are at or below `le` (bucket upper bounds
    /// compared, so within one bucket's width).
    pub fn count_le(&self, le: u64) -> u64 {
        self.buckets
            .iter()
            .filter(|(b, _)| {
                let (lo, w) = bucket_range(*b);
                lo + w - 1 <= le
            })
            .map(|x| x.1)
            .sum()
    }

    /// The sparse buckets as (upper bound inclusive, count).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.buckets.iter().map(|&(b, n)| {
            let (lo, w) = bucket_range(b);
            (lo + w - 1, n)
        })
    }
}

/// The value of a series for one second.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// How much happened during the second.
    Counter(f64),
    /// A level at the end of the second.
    Gauge(f64),
    /// The distribution of values during the second.
    Histogram(Histogram),
}

/// One series' value for one second.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name (`sonde.syscall.count`, `http.requests`, ...).
    pub name: String,
    /// Tags, sorted by key.
    pub tags: Tags,
    /// The value.
    pub value: Value,
}

/// Every series of one second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The second's end, in nanoseconds since the epoch (event time).
    pub ts: u64,
    /// Its series, in a stable order (name, then tags).
    pub series: Vec<Series>,
}

impl Series {
    /// The series as one JSON object with the second's timestamp.
    pub fn to_json(&self, ts: u64) -> serde_json::Value {
        use serde_json::{json, Map, Value as J};
        let tags: Map<String, J> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), J::String(v.clone())))
            .collect();
        let mut o = json!({"ts": ts / 1_000_000_000, "ts_ns": ts, "name": self.name, "tags": tags});
        let m = o.as_object_mut().expect("object");
        match &self.value {
            Value::Counter(v) => {
                m.insert("type".into(), "counter".into());
                m.insert("value".into(), json!(v));
            }
            Value::Gauge(v) => {
                m.insert("type".into(), "gauge".into());
                m.insert("value".into(), json!(v));
            }
            Value::Histogram(h) => {
                m.insert("type".into(), "histogram".into());
                m.insert("count".into(), json!(h.count));
                m.insert("sum".into(), json!(h.sum));
                m.insert("min".into(), json!(h.min));
                m.insert("max".into(), json!(h.max));
                for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                    m.insert(k.into(), json!(h.quantile(q)));
                }
                let b: Vec<[u64; 2]> = h.buckets().map(|(le, n)| [le, n]).collect();
                m.insert("buckets".into(), json!(b));
            }
        }
        o
    }
}

impl Batch {
    /// Writes the batch as JSON lines, one object per series.
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        for s in &self.series {
            serde_json::to_writer(&mut *out, &s.to_json(self.ts))?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut prev = 0;
        for v in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            100,
            1000,
            123_456,
            1 << 40,
            u64::MAX / 2,
        ] {
            let b = bucket_of(v);
            assert!(b >= prev, "bucket order at {v}");
            prev = b;
            let (lo, w) = bucket_range(b);
            assert!(lo <= v && v <= lo + (w - 1), "{v} outside [{lo}, +{w})");
        }
    }

    #[test]
    fn quantiles_within_bucket_error() {
        let mut h = Histogram::default();
        for i in 1..=1000u64 {
            h.record(i * 1_000_000);
        }
        for (q, want) in [(0.5, 500e6), (0.9, 900e6), (0.99, 990e6)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.07, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.count_le(u64::MAX), 1000);
        let mut h2 = Histogram::default();
        h2.record(5);
        h2.merge(&h);
        assert_eq!((h2.count, h2.min, h2.max), (1001, 5, 1_000_000_000));
    }
}

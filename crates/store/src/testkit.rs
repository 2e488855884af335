//! Test kit for every engine: a seeded generator of the synthetic
//! workload (hosts x containers x metrics, Kubernetes and infrastructure
//! tags, pods that move to another host halfway through, counters,
//! gauges and histograms whose values come from formulas, so totals are
//! known in closed form), and [`reference()`], a plain evaluation of the
//! documented query semantics over `&[Sample]` (the oracle engines are
//! compared with), and the tests every engine runs: the [`golden`] query
//! table, the [`rollup`] test and the [`bad_input`] checks.
//! Light: no dependency beyond the crate's own.

use std::collections::BTreeMap;

pub mod bad_input;
pub mod golden;
pub mod rollup;

use crate::eval::{self, Cell};
use crate::{Answer, Query, Resolution, Sample, Tags, Value};

/// The metrics: (name, kind) with kind 'g' gauge, 'c' counter, 'h' histogram.
pub const METRICS: [(&str, char); 20] = [
    ("cpu.used.percent", 'g'),
    ("memory.used.bytes", 'g'),
    ("fd.used", 'g'),
    ("thread.count", 'g'),
    ("net.connections", 'g'),
    ("file.open.count", 'g'),
    ("net.http.request.count", 'c'),
    ("net.bytes.in", 'c'),
    ("net.bytes.out", 'c'),
    ("syscall.count", 'c'),
    ("file.bytes.read", 'c'),
    ("file.bytes.write", 'c'),
    ("net.http.error.count", 'c'),
    ("proc.start.count", 'c'),
    ("cpu.ns", 'c'),
    ("page.faults", 'c'),
    ("net.http.request.time", 'h'),
    ("file.io.time", 'h'),
    ("net.connect.time", 'h'),
    ("syscall.time", 'h'),
];

/// The workload's shape.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Hosts (each its own agent and Kubernetes node).
    pub hosts: usize,
    /// Containers per host (two per pod).
    pub containers_per_host: usize,
    /// How many of [`METRICS`] (the first N).
    pub metrics: usize,
    /// Seconds of data.
    pub seconds: i64,
    /// The first second's timestamp, ms.
    pub start_ms: i64,
    /// Chooses images, teams and which pods move.
    pub seed: u64,
}

impl Default for Workload {
    /// The workload: 100 hosts x 50 containers x 20 metrics, one minute.
    fn default() -> Self {
        Workload {
            hosts: 100,
            containers_per_host: 50,
            metrics: 20,
            seconds: 60,
            start_ms: 1_800_000_000_000,
            seed: 18,
        }
    }
}

fn mix(seed: u64, x: u64) -> u64 {
    let mut z = seed ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The histogram bucket (inclusive upper bound) of a value: exact below
/// 16, then 16 linear buckets per power of two (within 6.25%).
pub fn bucket_bound(v: u64) -> u64 {
    if v < 16 {
        return v;
    }
    let width = 1u64 << (63 - v.leading_zeros() - 4);
    v.div_ceil(width) * width
}

impl Workload {
    /// Containers in all.
    pub fn containers(&self) -> usize {
        self.hosts * self.containers_per_host
    }

    /// The second from which pods that move run on their new host.
    pub fn move_at(&self) -> i64 {
        self.seconds / 2
    }

    /// Whether container `c`'s pod moves.
    pub fn moves(&self, c: usize) -> bool {
        mix(self.seed, (c / 2) as u64) % 5 == 0
    }

    /// The host container `c` runs on at second `t`.
    pub fn host_of(&self, c: usize, t: i64) -> usize {
        let h = c / self.containers_per_host;
        if self.moves(c) && t >= self.move_at() {
            (h + 1) % self.hosts
        } else {
            h
        }
    }

    /// Container `c`'s 15 tags at second `t`.
    pub fn tags(&self, c: usize, t: i64) -> Tags {
        let h = self.host_of(c, t);
        let p = c / 2;
        let ns = p % 4;
        let dep = format!("ns{ns}-d{}", (p / 4) % 3);
        let moved = usize::from(self.moves(c) && t >= self.move_at());
        let r = mix(self.seed, p as u64 + 1_000_000);
        let kv = [
            ("host", format!("host-{h:03}")),
            ("node", format!("node-{h:03}")),
            ("cluster", format!("cl-{}", h % 2)),
            ("region", format!("r{}", h % 3)),
            ("zone", format!("z{}", h % 5)),
            ("namespace", format!("ns{ns}")),
            ("deployment", dep.clone()),
            ("pod", format!("{dep}-p{p:05}")),
            ("container", format!("c{}", c % 2)),
            (
                "container_id",
                format!("{:012x}", mix(self.seed, (c * 2 + moved) as u64) >> 16),
            ),
            ("image", format!("img{}", r % 5)),
            ("service", format!("svc-{}", dep)),
            ("team", format!("team{}", (r >> 8) % 3)),
            ("env", if ns == 3 { "staging" } else { "prod" }.to_string()),
            ("version", format!("v{}", 1 + (r >> 16) % 2)),
        ];
        kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Metric `m`'s value for container `c` at second `t`.
    pub fn value(&self, m: usize, c: usize, t: i64) -> Value {
        let (c64, t64, m64) = (c as u64, t as u64, m as u64);
        match METRICS[m].1 {
            'c' => Value::Counter {
                value: ((c64 % 7 + 1) * (m64 + 1) + t64 % 3) as f64,
            },
            'g' => Value::Gauge {
                value: (c64 % 100 + m64) as f64 + 0.5 * (t64 % 2) as f64,
            },
            _ => {
                let n = 1 + (c64 + t64) % 4;
                let vals: Vec<u64> = (0..n)
                    .map(|i| 1000 * (1 + c64 % 10 + i + t64 % 5) * (m64 - 14) + c64 % 13)
                    .collect();
                let mut buckets: BTreeMap<u64, u64> = BTreeMap::new();
                for v in &vals {
                    *buckets.entry(bucket_bound(*v)).or_default() += 1;
                }
                Value::Histogram {
                    count: n,
                    sum: vals.iter().sum::<u64>() as f64,
                    min: *vals.iter().min().unwrap_or(&0) as f64,
                    max: *vals.iter().max().unwrap_or(&0) as f64,
                    buckets: buckets.into_iter().collect(),
                }
            }
        }
    }

    /// The timestamp of second `t`.
    pub fn ts(&self, t: i64) -> i64 {
        self.start_ms + t * 1000
    }

    /// One batch per host and second: (agent, seq, samples), in time order.
    pub fn batches(&self) -> Vec<(String, u64, Vec<Sample>)> {
        (0..self.seconds).flat_map(|t| self.batches_at(t)).collect()
    }

    /// Second `t`'s batches, one per host: (agent, seq, samples). A
    /// large workload is written second by second without holding it all.
    pub fn batches_at(&self, t: i64) -> Vec<(String, u64, Vec<Sample>)> {
        let mut per_host: Vec<Vec<Sample>> = vec![Vec::new(); self.hosts];
        for c in 0..self.containers() {
            let tags = self.tags(c, t);
            for (m, (name, _)) in METRICS.iter().enumerate().take(self.metrics) {
                per_host[self.host_of(c, t)].push(Sample {
                    metric: name.to_string(),
                    tags: tags.clone(),
                    ts_ms: self.ts(t),
                    value: self.value(m, c, t),
                });
            }
        }
        per_host
            .into_iter()
            .enumerate()
            .map(|(h, samples)| (format!("host-{h:03}"), t as u64 + 1, samples))
            .collect()
    }

    /// Every sample of metric `name`, in time order: what the reference
    /// needs for a query of it, a twentieth of a large workload.
    pub fn samples_of(&self, name: &str) -> Vec<Sample> {
        let Some(m) = METRICS
            .iter()
            .take(self.metrics)
            .position(|(n, _)| *n == name)
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in 0..self.seconds {
            for c in 0..self.containers() {
                out.push(Sample {
                    metric: name.to_string(),
                    tags: self.tags(c, t),
                    ts_ms: self.ts(t),
                    value: self.value(m, c, t),
                });
            }
        }
        out
    }

    /// Every sample.
    pub fn samples(&self) -> Vec<Sample> {
        self.batches().into_iter().flat_map(|b| b.2).collect()
    }
}

/// The documented semantics evaluated plainly over samples: the answer
/// every engine must give at full resolution.
pub fn reference(samples: &[Sample], q: &Query) -> Result<Answer, String> {
    eval::validate(q)?;
    let m = eval::compile_filters(&q.filters)?;
    let keep = matches!(q.time_agg, crate::Agg::Quantile(_));
    let mut cells: BTreeMap<(Tags, i64, &Tags), Cell> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.metric == q.metric && eval::matches(&m, &s.tags))
    {
        if let Some(b) = eval::bucket_of(q, s.ts_ms) {
            let key = (eval::group_key(&q.group_by, &s.tags), b, &s.tags);
            cells.entry(key).or_default().add(&s.value, keep);
        }
    }
    let groups: std::collections::BTreeSet<&Tags> = cells.keys().map(|k| &k.0).collect();
    eval::check_points(q, groups.len())?;
    let points = eval::fold_cells(q, cells);
    Ok(Answer {
        resolution: Resolution::Second,
        groups: eval::finish(q, points),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Agg;

    fn small() -> Workload {
        Workload {
            hosts: 6,
            containers_per_host: 8,
            metrics: 20,
            seconds: 10,
            ..Default::default()
        }
    }

    fn total(w: &Workload, metric: &str, agg: Agg, group_by: &[&str]) -> Answer {
        let q = Query {
            metric: metric.into(),
            start_ms: w.start_ms,
            end_ms: w.ts(w.seconds),
            step_ms: 0,
            filters: vec![],
            group_by: group_by.iter().map(|s| s.to_string()).collect(),
            time_agg: agg,
            group_agg: Agg::Sum,
            top: None,
        };
        reference(&w.samples(), &q).unwrap()
    }

    #[test]
    fn closed_form_totals() {
        let w = small();
        let (n, t) = (w.containers() as u64, w.seconds as u64);
        // Counter m: sum over c, t of (c%7+1)(m+1) + t%3.
        let m = 6u64;
        let sum_c: u64 = (n / 7) * 28 + (1..=n % 7).sum::<u64>();
        let sum_t: u64 = (t / 3) * 3 + u64::from(t % 3 == 2);
        let want = (sum_c * (m + 1) * t + n * sum_t) as f64;
        let a = total(&w, METRICS[6].0, Agg::Sum, &[]);
        assert_eq!(a.groups[0].points, vec![(w.start_ms, want)]);
        // Samples per series-second: containers x seconds, whatever moved.
        let a = total(&w, METRICS[0].0, Agg::Count, &[]);
        assert_eq!(a.groups[0].points[0].1, (n * t) as f64);
        // Per pod (which keeps its name when it moves): two containers.
        let a = total(&w, METRICS[0].0, Agg::Count, &["pod"]);
        assert_eq!(a.groups.len(), w.containers() / 2);
        assert!(a.groups.iter().all(|g| g.points[0].1 == 2.0 * t as f64));
        // Gauge m: sum of (c%100 + m) + 0.5 (t%2).
        let g: u64 = (0..n).map(|c| c % 100).sum();
        let want = ((g + n) * t) as f64 + 0.5 * (n * (t / 2)) as f64;
        let a = total(&w, METRICS[1].0, Agg::Sum, &[]);
        assert_eq!(a.groups[0].points[0].1, want);
        // Histogram count: sum over c, t of 1 + (c+t)%4.
        let want: u64 = (0..n)
            .flat_map(|c| (0..t).map(move |t| 1 + (c + t) % 4))
            .sum();
        let a = total(&w, METRICS[16].0, Agg::Count, &[]);
        assert_eq!(a.groups[0].points[0].1, want as f64);
    }

    #[test]
    fn pods_move_and_tags() {
        let w = small();
        let movers: Vec<usize> = (0..w.containers()).filter(|&c| w.moves(c)).collect();
        assert!(!movers.is_empty() && movers.len() < w.containers());
        let c = movers[0];
        let (a, b) = (w.tags(c, 0), w.tags(c, w.seconds - 1));
        assert_ne!(a["host"], b["host"]);
        assert_eq!(a["pod"], b["pod"]);
        assert_eq!(a.len(), 15);
        let series: std::collections::BTreeSet<Tags> = w
            .samples()
            .into_iter()
            .filter(|s| s.metric == METRICS[0].0)
            .map(|s| s.tags)
            .collect();
        assert_eq!(series.len(), w.containers() + movers.len());
    }

    #[test]
    fn bucket_bounds_within_error() {
        for v in [0, 15, 16, 17, 100, 1000, 12345, 1 << 40] {
            let b = bucket_bound(v);
            assert!(b >= v && (b - v) as f64 <= v as f64 / 16.0, "{v} -> {b}");
        }
    }
}

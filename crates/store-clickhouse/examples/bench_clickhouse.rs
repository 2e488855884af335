//! The distributed store's benchmark, the same workload as DuckStore's
//! (scripts/bench-store.sh runs both in one run): ingest rate with 15
//! tags per series (one batch per second through `write_batch`), bytes
//! per stored sample (the sample and catalog tables' parts on disk,
//! after OPTIMIZE), and the same three group-bys over the whole range.
//!
//! `bench_clickhouse URL[,URL]... [HOURS] [SERIES]`: shards of a cluster
//! named `sonde`; the database `bench` is created on them.

use std::time::Instant;

use sonde_store::testkit::Workload;
use sonde_store::{Agg, Query, Sample, Store, Value};
use sonde_store_clickhouse::{ClickStore, Options};

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^ (z >> 31)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn curl(url: &str, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--data-binary", sql, &format!("{url}/")])
        .output()?;
    if !out.status.success() {
        return Err(format!("{url}: {sql}: failed").into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let urls: Vec<String> = args
        .get(1)
        .ok_or("usage: bench_clickhouse URL[,URL]... [HOURS] [SERIES]")?
        .split(',')
        .map(String::from)
        .collect();
    let hours: f64 = args.get(2).map_or(Ok(6.0), |s| s.parse())?;
    let series: usize = args.get(3).map_or(Ok(5000), |s| s.parse())?;
    let w = Workload {
        hosts: series.div_ceil(50),
        containers_per_host: 50,
        ..Default::default()
    };
    let start = w.start_ms;
    let seconds = (hours * 3600.0) as i64;
    let mut batch: Vec<Sample> = (0..series)
        .map(|c| Sample {
            metric: if c % 2 == 0 {
                "cpu.used.percent"
            } else {
                "net.http.request.count"
            }
            .into(),
            tags: w.tags(c, 0),
            ts_ms: start,
            value: Value::Gauge { value: 0.0 },
        })
        .collect();
    let store = ClickStore::open(Options {
        shards: urls.clone(),
        database: "bench".into(),
        retention_ms: i64::MAX / 4,
        ..Options::default()
    })?;
    let t0 = Instant::now();
    for t in 0..seconds {
        for (c, s) in batch.iter_mut().enumerate() {
            s.ts_ms = start + t * 1000;
            let h = mix((c as u64) << 32 | t as u64);
            s.value = if c % 2 == 0 {
                Value::Gauge {
                    value: (20 + c % 50 + (h % 8) as usize) as f64,
                }
            } else {
                Value::Counter {
                    value: (h % 200) as f64,
                }
            };
        }
        store.write_batch("bench", t as u64 + 1, &batch, &[])?;
    }
    let ingest = t0.elapsed().as_secs_f64();
    let n = (seconds as usize * series) as f64;
    let t1 = Instant::now();
    let mut bytes = 0.0;
    for u in &urls {
        curl(u, "OPTIMIZE TABLE bench.samples FINAL")?;
        bytes += curl(
            u,
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' \
             AND table IN ('samples', 'series') AND active",
        )?
        .parse::<f64>()?;
    }
    let opt = t1.elapsed().as_secs_f64();

    let q = |metric: &str, group: &str, step_s: i64, time_agg: Agg, group_agg: Agg| Query {
        metric: metric.into(),
        start_ms: start,
        end_ms: start + seconds * 1000,
        step_ms: step_s * 1000,
        filters: vec![],
        group_by: vec![group.into()],
        time_agg,
        group_agg,
        top: None,
    };
    let queries = [
        (
            "avg cpu by namespace, 1 min steps",
            q("cpu.used.percent", "namespace", 60, Agg::Avg, Agg::Avg),
        ),
        (
            "request rate by deployment, 5 min steps",
            q(
                "net.http.request.count",
                "deployment",
                300,
                Agg::Rate,
                Agg::Sum,
            ),
        ),
        (
            "max cpu per pod, whole range",
            q("cpu.used.percent", "pod", 0, Agg::Max, Agg::Max),
        ),
    ];
    println!(
        "== sonde-store-clickhouse ({} shards): {series} series x {hours} h = {n:.0} samples, 15 tags per series",
        urls.len()
    );
    println!(
        "ingest                 : {:.2} M samples/s ({ingest:.1} s)",
        n / ingest / 1e6
    );
    println!(
        "bytes per sample       : {:.2} ({:.1} MB after a {opt:.1} s OPTIMIZE FINAL)",
        bytes / n,
        bytes / 1e6
    );
    for (name, q) in &queries {
        let mut times = Vec::new();
        let mut groups = 0;
        for _ in 0..5 {
            let t = Instant::now();
            groups = store.query(q)?.groups.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "query {name:42}: {:.0} ms median of 5 ({groups} groups)",
            median(times)
        );
    }
    Ok(())
}

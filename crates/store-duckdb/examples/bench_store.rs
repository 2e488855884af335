//! The embedded store's benchmark (scripts/bench-store.sh runs it):
//! ingest rate with 15 tags per series, a 6-hour group-by over 5,000
//! series (from the roll-ups, which the backfill's own roll-up, timed
//! apart, makes), and bytes per stored sample after CHECKPOINT (at full
//! resolution, then with the roll-ups), beside a bare getppid loop as the
//! machine's baseline.
//!
//! `bench_store DIR [HOURS] [SERIES]`: the database goes to DIR/bench.duckdb.

use std::time::Instant;

use sonde_store::testkit::Workload;
use sonde_store::{Agg, Query, Sample, Store, Value};
use sonde_store_duckdb::{DuckStore, Options};

fn getppid_ns() -> f64 {
    let n = 2_000_000u32;
    let t = Instant::now();
    let mut x = 0u32;
    for _ in 0..n {
        x = x.wrapping_add(std::os::unix::process::parent_id());
    }
    std::hint::black_box(x);
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^ (z >> 31)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(
        args.get(1)
            .ok_or("usage: bench_store DIR [HOURS] [SERIES]")?,
    );
    let hours: f64 = args.get(2).map_or(Ok(6.0), |s| s.parse())?;
    let series: usize = args.get(3).map_or(Ok(5000), |s| s.parse())?;
    let path = dir.join("bench.duckdb");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("bench.duckdb.wal"));
    let base = getppid_ns();

    let w = Workload {
        hosts: series.div_ceil(50),
        containers_per_host: 50,
        ..Default::default()
    };
    let start = w.start_ms;
    let seconds = (hours * 3600.0) as i64;
    // One metric per series: half gauges (a percent), half counters.
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
    let store = DuckStore::open(
        &path,
        Options {
            retention_ms: i64::MAX / 4,
            ..Options::default()
        },
    )?;
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
    store.checkpoint()?;
    let ckpt = t1.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path)?.len() as f64;
    // The 6 hours were ingested at once: roll them up (as the server's
    // minutely maintenance would have, slot by slot), timed on its own.
    let t2 = Instant::now();
    store.maintain(start + seconds * 1000)?;
    let roll = t2.elapsed().as_secs_f64();
    store.checkpoint()?;
    let bytes_all = std::fs::metadata(&path)?.len() as f64;

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
        "== sonde-store-duckdb: {series} series x {hours} h = {n:.0} samples, 15 tags per series"
    );
    println!(
        "ingest                 : {:.2} M samples/s ({ingest:.1} s)   (goal >= 1 M/s)",
        n / ingest / 1e6
    );
    println!(
        "bytes per sample       : {:.2} ({:.1} MB after a {ckpt:.1} s CHECKPOINT)   (goal <= 2.5)",
        bytes / n,
        bytes / 1e6
    );
    println!(
        "roll-up of the backfill : {roll:.1} s ({:.2} M samples/s); file with roll-ups {:.1} MB ({:.2} bytes per sample)",
        n / roll / 1e6,
        bytes_all / 1e6,
        bytes_all / n
    );
    for (name, q) in &queries {
        let mut times = Vec::new();
        let mut groups = 0;
        let mut res = None;
        for _ in 0..5 {
            let t = Instant::now();
            let a = store.query(q)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            groups = a.groups.len();
            res = Some(a.resolution);
        }
        println!(
            "query {name:42}: {:.0} ms median of 5 ({groups} groups, from {res:?})   (goal < 200 ms)",
            median(times)
        );
    }
    println!("getppid baseline       : {base:.0} ns/call");
    Ok(())
}

//! The real `sonde-server` over a two-shard ClickHouse (`--store
//! clickhouse:URL,URL`): an ingest and query round trip through the REST
//! API; then two server instances over the same cluster, one killed
//! (kill -9), and the other still answers with all the data, and stores
//! the killed one's resent batches without counting them twice.

#[path = "../../store-clickhouse/tests/common/mod.rs"]
mod ch;
mod common;

use std::process::Command;

use common::*;
use serde_json::json;

fn start(pki: &Pki, cluster: &ch::Cluster, data: &std::path::Path) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.arg("--store")
        .arg(format!("clickhouse:{}", cluster.urls().join(",")))
        .args([
            "--clickhouse-cluster",
            "sonde",
            "--clickhouse-database",
            "srv",
        ]);
    Server::start_with(cmd, pki, free_port(), data)
}

fn total(s: &Server, t: i64) -> (f64, f64) {
    let q = json!({"metric": "ch.requests", "start_ms": (t - 60) * 1000, "end_ms": (t + 60) * 1000,
        "step_ms": 0, "time_agg": "sum", "group_agg": "sum"});
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    assert_eq!(st, 200, "{a}");
    let sum = a["groups"][0]["points"][0][1].as_f64().unwrap_or(0.0);
    let q = json!({"metric": "ch.requests", "start_ms": (t - 60) * 1000, "end_ms": (t + 60) * 1000,
        "step_ms": 0, "time_agg": "count", "group_agg": "sum"});
    let (_, a) = s.post_json("/api/v1/metrics/query", &q);
    (sum, a["groups"][0]["points"][0][1].as_f64().unwrap_or(0.0))
}

#[test]
fn two_servers_over_a_two_shard_clickhouse() {
    let Some(cluster) = ch::Cluster::start(2) else {
        return;
    };
    let dir = tmpdir("clickhouse");
    let pki = pki(&dir);
    let mut a = start(&pki, &cluster, &dir.join("a"));
    let b = start(&pki, &cluster, &dir.join("b"));
    let t = now_s() - 30;
    // 20 hosts x 20 seconds x 3 containers through server a.
    let mut batches = Vec::new();
    for h in 0..20 {
        for i in 0..20 {
            let host = format!("h{h:02}");
            let recs = (0..3)
                .map(|c| {
                    let ctr = format!("c{c}");
                    counter(
                        "ch.requests",
                        t + i,
                        &[("host", &host), ("container", &ctr)],
                        (h * 100 + c) as f64,
                    )
                })
                .collect();
            batches.push(batch(&host, i as u64 + 1, t + i, recs));
        }
    }
    for bt in &batches {
        let (st, r) = a.ingest(bt);
        assert_eq!(st, 200, "{r}");
    }
    let want_sum: f64 = (0..20)
        .map(|h| 20.0 * (0..3).map(|c| (h * 100 + c) as f64).sum::<f64>())
        .sum();
    assert_eq!(total(&a, t), (want_sum, 1200.0));
    // Per container, through the other server.
    let q = json!({"metric": "ch.requests", "start_ms": (t - 60) * 1000, "end_ms": (t + 60) * 1000,
        "step_ms": 0, "filters": [{"eq": ["host", "h03"]}], "group_by": ["container"],
        "time_agg": "sum", "group_agg": "sum"});
    let (st, r) = b.post_json("/api/v1/metrics/query", &q);
    assert_eq!(st, 200, "{r}");
    let g = r["groups"].as_array().unwrap();
    assert_eq!(g.len(), 3, "{r}");
    assert_eq!(g[1]["tags"]["container"], "c1");
    assert_eq!(g[1]["points"][0][1], 20.0 * 301.0);
    // Server a dies; b has everything, and a's agents moving to b and
    // resending their last batches count nothing twice.
    a.kill();
    assert_eq!(total(&b, t), (want_sum, 1200.0));
    for bt in batches.iter().rev().take(30) {
        let (st, r) = b.ingest(bt);
        assert_eq!(st, 200, "{r}");
    }
    assert_eq!(total(&b, t), (want_sum, 1200.0));
    let (st, h) = b.get("/api/v1/metrics");
    assert_eq!(st, 200);
    assert!(h.to_string().contains("ch.requests"), "{h}");
}

//! Fault test: batches are ingested as the transport sends them (each
//! retried until acknowledged) while one of two ClickHouse shards is
//! SIGKILLed mid-ingest; the shard is started again on the same data
//! directory and the unacknowledged batches are resent in order. Every
//! acknowledged second is then present exactly once (per-second sums and
//! counts equal the reference's), none counted twice, and batches that
//! failed half-written left no double counts.

mod common;

use std::time::{Duration, Instant};

use sonde_store::testkit::{reference, Workload};
use sonde_store::{Agg, Query, Store};

#[test]
fn a_shard_killed_mid_ingest_loses_nothing_and_doubles_nothing() {
    let Some(mut cluster) = common::Cluster::start(2) else {
        return;
    };
    let store = cluster.store("fault");
    let w = Workload {
        hosts: 6,
        containers_per_host: 8,
        metrics: 20,
        seconds: 30,
        ..Default::default()
    };
    let batches = w.batches();
    let kill_at = batches.len() / 3;
    let pid = cluster.pid(1).expect("shard 1 runs");
    let mut pending: std::collections::VecDeque<_> = batches.iter().collect();
    let (mut acked, mut failures) = (0usize, 0usize);
    let mut killer = None;
    let t0 = Instant::now();
    // Send until the shard is down and a batch has failed.
    while let Some((agent, seq, samples)) = pending.front() {
        if acked == kill_at && killer.is_none() {
            // SIGKILL from another thread while this one is inserting.
            killer = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                let st = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .expect("kill runs");
                assert!(st.success());
            }));
        }
        match store.write_batch(agent, *seq, samples, &[]) {
            Ok(()) => {
                acked += 1;
                pending.pop_front();
            }
            Err(e) => {
                failures += 1;
                eprintln!("batch {agent}/{seq} not acknowledged: {e}");
                if failures >= 3 {
                    break;
                }
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no failure after the kill"
        );
    }
    assert!(failures >= 3, "the kill made no batch fail");
    killer.take().unwrap().join().unwrap();
    cluster.kill_shard(1);
    cluster.start_shard(1);
    // Resend what was not acknowledged, in order, then the rest.
    let t1 = Instant::now();
    while let Some((agent, seq, samples)) = pending.front() {
        match store.write_batch(agent, *seq, samples, &[]) {
            Ok(()) => {
                pending.pop_front();
            }
            Err(e) => {
                assert!(
                    t1.elapsed() < Duration::from_secs(120),
                    "shard 1 not back: {e}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    // A whole replay (a restarted transport) changes nothing.
    for (agent, seq, samples) in batches.iter().take(kill_at + 20) {
        store.write_batch(agent, *seq, samples, &[]).unwrap();
    }
    let all: Vec<_> = batches.iter().flat_map(|b| b.2.iter().cloned()).collect();
    for (metric, agg) in [
        ("net.http.request.count", Agg::Sum),
        ("cpu.used.percent", Agg::Count),
        ("syscall.count", Agg::Sum),
        ("net.http.request.time", Agg::Count),
    ] {
        let q = Query {
            metric: metric.into(),
            start_ms: w.ts(0),
            end_ms: w.ts(w.seconds),
            step_ms: 1000,
            filters: vec![],
            group_by: vec!["host".into()],
            time_agg: agg,
            group_agg: Agg::Sum,
            top: None,
        };
        let want = reference(&all, &q).unwrap();
        let got = store.query(&q).unwrap();
        assert_eq!(got.groups, want.groups, "{metric}");
    }
    assert_eq!(store.last_seqs().unwrap()["host-000"], w.seconds as u64);
}

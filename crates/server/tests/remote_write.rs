//! Prometheus remote write, in and out, between real servers: a body
//! POSTed to `/api/v1/write` is what PromQL and the native API answer;
//! bad bodies and missing credentials are refused with the reason; and a
//! server started with `--remote-write-url` forwards what agents send it
//! to a second server, where a query returns what the first ingested.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use sonde_server::remote::{encode, Label, Sample, TimeSeries, WriteRequest};

fn ts(labels: &[(&str, &str)], samples: Vec<(f64, i64)>) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .into_iter()
            .map(|(value, timestamp)| Sample { value, timestamp })
            .collect(),
    }
}

fn write(s: &Server, token: Option<&str>, body: &[u8]) -> (u16, String) {
    https(
        &s.tls,
        s.port,
        "POST",
        "/api/v1/write",
        token,
        Some(("application/x-protobuf", body)),
    )
    .unwrap()
}

/// Native per-second values of `metric` by its tags (as the store names them).
fn per_second(
    s: &Server,
    metric: &str,
    by: &[&str],
    t0: i64,
    tn: i64,
) -> BTreeMap<Vec<String>, BTreeMap<i64, f64>> {
    let q = json!({"metric": metric, "start_ms": t0, "end_ms": tn + 1, "step_ms": 1000,
        "group_by": by, "time_agg": "avg", "group_agg": "avg"});
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    assert_eq!(st, 200, "{a}");
    let mut out = BTreeMap::new();
    for g in a["groups"].as_array().unwrap() {
        let key: Vec<String> = by
            .iter()
            .map(|k| g["tags"][*k].as_str().unwrap_or("").to_string())
            .collect();
        let pts: BTreeMap<i64, f64> = g["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        out.insert(key, pts);
    }
    out
}

fn temp(i: i64) -> f64 {
    20.0 + (i % 7) as f64 * 0.5
}

#[test]
fn remote_write_in_is_queryable_and_bad_writes_are_refused() {
    let dir = tmpdir("rw-in");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let base = (now_s() - 600) * 1000;
    // two series, one sample every second for 60 s, ms timestamps inside the second
    let req = WriteRequest {
        timeseries: ["a", "b"]
            .iter()
            .enumerate()
            .map(|(k, inst)| {
                ts(
                    &[
                        ("__name__", "node_temp_celsius"),
                        ("instance", inst),
                        ("job", "node"),
                    ],
                    (0..60)
                        .map(|i| (temp(i) + k as f64, base + i * 1000 - 250))
                        .collect(),
                )
            })
            .collect(),
    };
    let body = encode(&req);
    assert_eq!(write(&s, None, &body).0, 401, "anonymous write");
    assert_eq!(write(&s, Some("wrong"), &body).0, 401, "a wrong token");
    let (st, b) = write(&s, Some(API_TOKEN), &body);
    assert_eq!(st, 204, "{b}");
    // the agents' token works too
    let more = encode(&WriteRequest {
        timeseries: vec![ts(
            &[("__name__", "up"), ("job", "node")],
            vec![(1.0, base)],
        )],
    });
    assert_eq!(write(&s, Some(AGENT_TOKEN), &more).0, 204);
    // what was written, per second (each sample on the second that ends after it)
    let got = per_second(
        &s,
        "node_temp_celsius",
        &["instance", "job"],
        base - 1000,
        base + 59_000,
    );
    assert_eq!(got.len(), 2, "{got:?}");
    for (k, inst) in ["a", "b"].iter().enumerate() {
        let pts = &got[&vec![inst.to_string(), "node".to_string()]];
        assert_eq!(pts.len(), 60, "{inst}");
        for i in 0..60 {
            assert_eq!(
                pts[&(base + i * 1000)],
                temp(i) + k as f64,
                "{inst} second {i}"
            );
        }
    }
    // and through PromQL
    let q = "max by (instance) (max_over_time(node_temp_celsius{job=\"node\"}[60s]))";
    let path = format!(
        "/api/v1/query?query={}&time={}",
        enc(q),
        (base + 59_000) / 1000
    );
    let (st, r) = s.get(&path);
    assert_eq!(st, 200, "{r}");
    let res = r["data"]["result"].as_array().unwrap();
    assert_eq!(res.len(), 2, "{r}");
    let want_max = (0..60).map(temp).fold(f64::MIN, f64::max);
    for m in res {
        let k = if m["metric"]["instance"] == "a" {
            0.0
        } else {
            1.0
        };
        let v: f64 = m["value"][1].as_str().unwrap().parse().unwrap();
        assert_eq!(v, want_max + k, "{m}");
    }
    let (_, names) = s.get("/api/v1/label/__name__/values");
    assert!(
        names["data"].as_array().unwrap().contains(&json!("up")),
        "{names}"
    );
    // bad bodies: 400 with the reason
    for (body, says) in [
        (b"plain text".to_vec(), "snappy"),
        (snap_of(&[0xff; 40]), "WriteRequest"),
        (
            encode(&WriteRequest {
                timeseries: vec![ts(&[("job", "x")], vec![(1.0, base)])],
            }),
            "no __name__",
        ),
    ] {
        let (st, b) = write(&s, Some(API_TOKEN), &body);
        assert_eq!(st, 400, "{b}");
        assert!(b.contains(says), "{says}: {b}");
    }
}

fn snap_of(raw: &[u8]) -> Vec<u8> {
    // a valid snappy block of bytes that are not a protobuf message: the
    // literal-only encoding (a varint length, then one literal run)
    let mut out = vec![raw.len() as u8];
    out.push(((raw.len() - 1) << 2) as u8);
    out.extend_from_slice(raw);
    out
}

fn req_v(c: usize, t: i64) -> f64 {
    ((c as i64 * 5 + t * 3) % 11) as f64
}

#[test]
fn a_server_forwards_what_it_stores_to_another() {
    let dir = tmpdir("rw-out");
    let pki = pki(&dir);
    let b = Server::start(&pki, free_port(), &dir.join("b"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.arg("--remote-write-url")
        .arg(format!("https://127.0.0.1:{}/api/v1/write", b.port))
        .arg("--remote-write-token-file")
        .arg(&pki.agent_tokens)
        .arg("--remote-write-ca")
        .arg(&pki.ca)
        .arg("--remote-write-batch")
        .arg("100");
    let a = Server::start_with(cmd, &pki, free_port(), &dir.join("a"));
    let base = now_s() - 300;
    const SECS: i64 = 40;
    let ctrs = ["web", "db"];
    for k in 0..SECS {
        let t = base + k;
        let mut recs = Vec::new();
        for (c, name) in ctrs.iter().enumerate() {
            let tags = [("host", "h1"), ("container.name", *name)];
            recs.push(counter("req.count", t, &tags, req_v(c, t)));
            recs.push(gauge("cpu.user", t, &tags, temp(t + c as i64)));
        }
        let (st, r) = a.ingest(&batch("h1", k as u64 + 1, t, recs));
        assert_eq!(st, 200, "{r}");
    }
    let want = SECS as u64 * 4;
    let t0 = Instant::now();
    let stats = loop {
        let (_, r) = a.get("/api/v1/remote_write");
        assert_eq!(r["enabled"], true, "{r}");
        if r["stats"]["sent"].as_u64() >= Some(want) || t0.elapsed() > Duration::from_secs(30) {
            break r["stats"].clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(stats["sent"], want, "{stats}");
    assert_eq!(
        (stats["dropped"].as_u64(), stats["rejected"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );
    // on B, under PromQL's names: gauges as they were, counters as running totals
    let (s0, sn) = (base * 1000, (base + SECS - 1) * 1000);
    let cpu = per_second(&b, "cpu_user", &["container_name", "host"], s0, sn);
    let req = per_second(&b, "req_count", &["container_name", "host"], s0, sn);
    for (c, name) in ctrs.iter().enumerate() {
        let key = vec![name.to_string(), "h1".to_string()];
        let (cp, rq) = (&cpu[&key], &req[&key]);
        assert_eq!(
            (cp.len(), rq.len()),
            (SECS as usize, SECS as usize),
            "{name}"
        );
        let mut total = 0.0;
        for k in 0..SECS {
            let t = base + k;
            total += req_v(c, t);
            assert_eq!(cp[&(t * 1000)], temp(t + c as i64), "cpu {name} at {t}");
            assert_eq!(rq[&(t * 1000)], total, "req total {name} at {t}");
        }
    }
    // B's PromQL: the last total minus the first is what A's increments add to
    let at = base + SECS - 1;
    let q = |s: &Server, q: &str| {
        let (st, r) = s.get(&format!("/api/v1/query?query={}&time={at}", enc(q)));
        assert_eq!(st, 200, "{q}: {r}");
        r
    };
    let r = q(&b, "max(max_over_time(req_count[1s]))");
    let ra = q(&a, &format!("max(sum_over_time(req_count[{SECS}s]))"));
    let vb: f64 = r["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let va: f64 = ra["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(vb, va, "B's running total vs A's sum: {r} {ra}");
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

//! The real `sonde-server` over TLS: credentials (401), malformed batches
//! (400), a record of an unknown kind kept as an event, dedup of a resent
//! batch, bad PromQL (400 bad_data), an unknown metric (404), an unknown
//! path (404), and the host registry (ok, silent after 3 missed
//! keepalives, back, deregistered) with its events stored.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn keepalive(interval_ms: u64, leaving: bool) -> serde_json::Value {
    json!({"kind": "event", "event": {"kind": "keepalive", "agent": "h1", "ts_ms": 0,
        "interval_ms": interval_ms, "subscriptions": ["web"], "leaving": leaving}})
}

fn host_status(s: &Server, agent: &str) -> String {
    let (st, h) = s.get("/api/v1/hosts");
    assert_eq!(st, 200, "{h}");
    h["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["agent"] == agent)
        .map(|x| x["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn wait_status(s: &Server, agent: &str, want: &str, secs: u64) {
    let t0 = Instant::now();
    while host_status(s, agent) != want {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{agent} never became {want}: {}",
            host_status(s, agent)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bad_input_and_the_host_registry() {
    let dir = tmpdir("api");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let t = now_s() - 2;

    // credentials
    let b = batch(
        "h1",
        1,
        t,
        vec![gauge("cpu.user", t, &[("host", "h1")], 5.0)],
    )
    .to_string();
    let (st, _) = s.req(
        "POST",
        "/api/v1/ingest",
        Some("wrong"),
        Some(("application/json", b.as_bytes())),
    );
    assert_eq!(st, 401);
    let (st, _) = s.req(
        "POST",
        "/api/v1/ingest",
        None,
        Some(("application/json", b.as_bytes())),
    );
    assert_eq!(st, 401);
    let (st, _) = s.req(
        "POST",
        "/api/v1/ingest",
        Some(API_TOKEN),
        Some(("application/json", b.as_bytes())),
    );
    assert_eq!(st, 401, "an API token is not an agent token");
    let (st, _) = s.req("GET", "/api/v1/hosts", Some(AGENT_TOKEN), None);
    assert_eq!(st, 401, "an agent token is not an API token");
    let (st, e) = s.req("GET", "/api/v1/metrics", None, None);
    assert_eq!(st, 401);
    assert!(e["error"].as_str().unwrap().contains("unauthorized"));

    // malformed batches: not JSON, a record that cannot be read
    let (st, e) = s.req(
        "POST",
        "/api/v1/ingest",
        Some(AGENT_TOKEN),
        Some(("application/json", b"{nope")),
    );
    assert_eq!(st, 400, "{e}");
    let bad = batch(
        "h1",
        1,
        t,
        vec![json!({"name": "x", "ts": t, "type": "gauge", "value": "high"})],
    );
    let (st, e) = s.ingest(&bad);
    assert_eq!(st, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("record 0"), "{e}");

    // a good batch with an unknown record kind and a keepalive; then the same again
    let recs = vec![
        gauge("cpu.user", t, &[("host", "h1")], 5.0),
        json!({"kind": "flare", "ts_ms": t * 1000, "what": "unknown to this server"}),
        keepalive(1000, false),
    ];
    let (st, a) = s.ingest(&batch("h1", 1, t, recs.clone()));
    assert_eq!((st, a["acked"].as_u64()), (200, Some(1)));
    let (st, a) = s.ingest(&batch("h1", 1, t, recs));
    assert_eq!(
        (st, a["acked"].as_u64()),
        (200, Some(1)),
        "a resent batch is acknowledged"
    );
    let q = json!({"metric": "cpu.user", "start_ms": (t - 5) * 1000, "end_ms": (t + 5) * 1000,
        "step_ms": 0, "time_agg": "count", "group_agg": "sum"});
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["groups"][0]["points"][0][1], 1.0, "stored once: {a}");
    let (st, ev) = s.get(&format!(
        "/api/v1/events?kind=flare&start={}&end={}",
        (t - 60) * 1000,
        (t + 60) * 1000
    ));
    assert_eq!(st, 200, "{ev}");
    assert_eq!(ev["events"].as_array().unwrap().len(), 1, "{ev}");
    assert_eq!(ev["events"][0]["body"]["what"], "unknown to this server");

    // native API errors
    let (st, e) = s.post_json(
        "/api/v1/metrics/query",
        &json!({"metric": "no.such.metric", "start_ms": 0,
        "end_ms": 1000, "step_ms": 0, "time_agg": "avg", "group_agg": "avg"}),
    );
    assert_eq!(st, 404, "{e}");
    assert!(e["error"].as_str().unwrap().contains("no.such.metric"));
    let (st, e) = s.post_json("/api/v1/metrics/query", &json!({"metric": "cpu.user"}));
    assert_eq!(st, 400, "{e}");

    several_queries_in_one_call(&s, &q);
    let (st, e) = s.get("/api/v1/events?limit=many");
    assert_eq!(st, 400, "{e}");

    // PromQL errors name the construct
    for (q, want) in [
        ("rate(", "parse error"),
        ("sum(a + b)", "binary expression"),
        ("holt_winters(m[5m], 0.1, 0.1)", "holt_winters"),
    ] {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=1",
            enc(q),
            t - 10,
            t
        );
        let (st, e) = s.get(&path);
        assert_eq!(st, 400, "{q}: {e}");
        assert_eq!(e["status"], "error");
        assert_eq!(e["errorType"], "bad_data");
        assert!(e["error"].as_str().unwrap().contains(want), "{q}: {e}");
    }
    let (st, e) = s.get("/api/v1/query_range?query=cpu_user&start=x&end=1&step=1");
    assert_eq!(
        (st, e["errorType"].as_str()),
        (400, Some("bad_data")),
        "{e}"
    );

    // unknown paths
    let (st, e) = s.get("/api/v1/nothing-here");
    assert_eq!(st, 404, "{e}");
    let (st, _) = s.req("GET", "/whatever", None, None);
    assert_eq!(st, 404);

    // hosts: ok, silent after 3 missed 1 s keepalives, back, deregistered
    assert_eq!(host_status(&s, "h1"), "ok");
    let (_, h) = s.get("/api/v1/hosts");
    assert_eq!(
        h["ingest"],
        json!({"batches": 1, "duplicates": 1, "unknown_records": 1})
    );
    wait_status(&s, "h1", "silent", 15);
    let (st, _) = s.ingest(&batch("h1", 2, now_s(), vec![keepalive(1000, false)]));
    assert_eq!(st, 200);
    assert_eq!(host_status(&s, "h1"), "ok");
    let (st, _) = s.ingest(&batch("h1", 3, now_s(), vec![keepalive(1000, true)]));
    assert_eq!(st, 200);
    assert_eq!(host_status(&s, "h1"), "deregistered");
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(
        host_status(&s, "h1"),
        "deregistered",
        "a host that left is not silent"
    );
    let (st, ev) = s.get(&format!(
        "/api/v1/events?kind=keepalive&tag=host=h1&start={}",
        (t - 60) * 1000
    ));
    assert_eq!(st, 200, "{ev}");
    let mut seen: Vec<String> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tags"]["status"].as_str().unwrap().to_string())
        .collect();
    seen.reverse(); // newest first
    assert_eq!(seen, ["silent", "ok", "deregistered"], "{ev}");
}

/// Percent-encodes a query parameter.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A busy host's second can be several MiB of JSON: it is stored (the
/// HTTP stack's default 2 MiB body limit would refuse it forever).
#[test]
fn a_large_batch_is_accepted() {
    let dir = tmpdir("large");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let t = now_s() - 2;
    let long = "x".repeat(200);
    let recs: Vec<_> = (0..12_000)
        .map(|i| {
            let c = format!("container-{i}-{long}");
            gauge(
                "cpu.user",
                t,
                &[("host", "big"), ("container.name", &c)],
                1.0,
            )
        })
        .collect();
    let b = batch("big", 1, t, recs).to_string();
    assert!(b.len() > 3 << 20, "{} bytes", b.len());
    let (st, j) = s.ingest(&serde_json::from_str(&b).unwrap());
    assert_eq!(st, 200, "{j}");
    assert_eq!(j["acked"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Several queries in one call: the same answers as one by one, and
/// each failure in its place.
fn several_queries_in_one_call(s: &Server, q: &serde_json::Value) {
    let mut q2 = q.clone();
    q2["time_agg"] = json!("max");
    let unknown = json!({"metric": "no.such.metric", "start_ms": 0,
        "end_ms": 1000, "step_ms": 0, "time_agg": "avg", "group_agg": "avg"});
    let (st, m) = s.post_json(
        "/api/v1/metrics/queries",
        &json!({"queries": [q.clone(), unknown, q2]}),
    );
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["answers"][0], a_one(s, q), "{m}");
    assert_eq!(m["answers"][1]["status"], 404, "{m}");
    assert!(m["answers"][1]["error"]
        .as_str()
        .unwrap()
        .contains("no.such.metric"));
    assert_eq!(m["answers"][2]["groups"][0]["points"][0][1], 5.0, "{m}");
    let (st, e) = s.post_json(
        "/api/v1/metrics/queries",
        &json!({"queries": [{"metric": 1}]}),
    );
    assert_eq!(st, 400, "{e}");
}

/// One query's answer through `/api/v1/metrics/query`.
fn a_one(s: &Server, q: &serde_json::Value) -> serde_json::Value {
    let (st, a) = s.post_json("/api/v1/metrics/query", q);
    assert_eq!(st, 200, "{a}");
    a
}

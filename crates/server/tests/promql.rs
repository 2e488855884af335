//! PromQL through `/api/v1/query_range` gives the same numbers as the
//! native `/api/v1/metrics/query` for the equivalent `Query` (the mapping
//! documented in the server's `prom::translate`), on data the test writes
//! through the ingest endpoint; a few are also checked against sums the
//! test computes from what it wrote.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value as J};

const HOSTS: [&str; 2] = ["h1", "h2"];
const CTRS: [&str; 3] = ["web", "db", "cache"];
const SECS: i64 = 120;

fn req_v(i: usize, s: i64) -> f64 {
    ((i as i64 * 31 + s * 7) % 17) as f64
}
fn cpu_v(i: usize, s: i64) -> f64 {
    ((i as i64 * 13 + s * 5) % 23) as f64 / 2.0
}

/// Writes SECS seconds from `base` for both hosts.
fn write(s: &Server, base: i64) {
    for (hi, h) in HOSTS.iter().enumerate() {
        for k in 0..SECS {
            let t = base + k;
            let mut recs = Vec::new();
            for (ci, c) in CTRS.iter().enumerate() {
                let i = hi * 3 + ci;
                let tags = [("host", *h), ("container.name", *c)];
                recs.push(counter("req.count", t, &tags, req_v(i, t)));
                recs.push(gauge("cpu.user", t, &tags, cpu_v(i, t)));
            }
            for (si, svc) in ["a", "b"].iter().enumerate() {
                let lo = 1000 * (1 + si as u64 + hi as u64);
                let n = 1 + (t as u64 % 3);
                let buckets = json!([[lo, n], [lo * 4, 2], [lo * 16, (t as u64 % 2)]]);
                let count = n + 2 + (t as u64 % 2);
                let v = json!({"type": "histogram", "count": count, "sum": (count * lo) as f64,
                    "min": lo as f64, "max": (lo * 16) as f64, "buckets": buckets});
                recs.push(series("lat", t, &[("host", h), ("svc", svc)], v));
            }
            let (st, a) = s.ingest(&batch(h, k as u64 + 1, t, recs));
            assert_eq!(st, 200, "{a}");
        }
    }
}

type Points = BTreeMap<i64, f64>;

/// The native answer as (labels as PromQL shows them) -> points at evaluation times.
fn native(s: &Server, q: J, window_ms: i64) -> BTreeMap<BTreeMap<String, String>, Points> {
    let (st, a) = s.post_json("/api/v1/metrics/query", &q);
    assert_eq!(st, 200, "{q}: {a}");
    let mut out = BTreeMap::new();
    for g in a["groups"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = g["tags"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.as_str() != Some(""))
            .map(|(k, v)| (k.replace('.', "_"), v.as_str().unwrap().to_string()))
            .collect();
        let e: &mut Points = out.entry(labels).or_default();
        for p in g["points"].as_array().unwrap() {
            e.insert(
                p[0].as_i64().unwrap() + window_ms - 1,
                p[1].as_f64().unwrap(),
            );
        }
    }
    out
}

fn promql(
    s: &Server,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
) -> BTreeMap<BTreeMap<String, String>, Points> {
    let path = format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
        enc(q)
    );
    let (st, r) = s.get(&path);
    assert_eq!(st, 200, "{q}: {r}");
    assert_eq!(r["status"], "success");
    assert_eq!(r["data"]["resultType"], "matrix");
    let mut out = BTreeMap::new();
    for m in r["data"]["result"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = m["metric"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let pts: Points = m["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                    p[1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect();
        out.insert(labels, pts);
    }
    out
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

fn same(
    a: &BTreeMap<BTreeMap<String, String>, Points>,
    b: &BTreeMap<BTreeMap<String, String>, Points>,
    what: &str,
) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: groups"
    );
    for (k, pa) in a {
        let pb = &b[k];
        assert_eq!(
            pa.keys().collect::<Vec<_>>(),
            pb.keys().collect::<Vec<_>>(),
            "{what}: times of {k:?}"
        );
        for (t, va) in pa {
            let vb = pb[t];
            assert!(
                (va - vb).abs() <= 1e-9 * va.abs().max(1.0),
                "{what}: {k:?} at {t}: {va} vs {vb}"
            );
        }
    }
}

/// PromQL and the equivalent native query (its metric, filters, grouping
/// and aggregations; windows of `w` at every step from `t0` to `tn`).
const TABLE: &[(&str, &str)] = &[
    (
        "sum by (host) (rate(req_count[10s]))",
        r#"{"metric":"req.count","group_by":["host"],"time_agg":"rate","group_agg":"sum"}"#,
    ),
    (
        r#"sum(increase(req_count{container_name="web"}[10s]))"#,
        r#"{"metric":"req.count","filters":[{"eq":["container.name","web"]}],"time_agg":"sum","group_agg":"sum"}"#,
    ),
    (
        "avg by (container_name) (avg_over_time(cpu_user[10s]))",
        r#"{"metric":"cpu.user","group_by":["container.name"],"time_agg":"avg","group_agg":"avg"}"#,
    ),
    (
        "max by (host) (max_over_time(cpu_user[10s]))",
        r#"{"metric":"cpu.user","group_by":["host"],"time_agg":"max","group_agg":"max"}"#,
    ),
    (
        r#"min(min_over_time(cpu_user{host!="h2"}[10s]))"#,
        r#"{"metric":"cpu.user","filters":[{"ne":["host","h2"]}],"time_agg":"min","group_agg":"min"}"#,
    ),
    (
        r#"count(count_over_time(cpu_user{container_name=~"web|db"}[10s]))"#,
        r#"{"metric":"cpu.user","filters":[{"re":["container.name","web|db"]}],"time_agg":"count","group_agg":"count"}"#,
    ),
    (
        "quantile(0.5, sum_over_time(req_count[10s]))",
        r#"{"metric":"req.count","time_agg":"sum","group_agg":{"quantile":0.5}}"#,
    ),
    (
        r#"quantile_over_time(0.9, cpu_user{container_name!~"cache"}[10s])"#,
        r#"{"metric":"cpu.user","filters":[{"not_re":["container.name","cache"]}],"group_by":["container.name","host"],"time_agg":{"quantile":0.9},"group_agg":"avg"}"#,
    ),
    (
        "topk(2, sum by (container_name) (rate(req_count[10s])))",
        r#"{"metric":"req.count","group_by":["container.name"],"time_agg":"rate","group_agg":"sum","top":[2,"highest"]}"#,
    ),
    (
        "bottomk(1, avg by (host) (avg_over_time(cpu_user[10s])))",
        r#"{"metric":"cpu.user","group_by":["host"],"time_agg":"avg","group_agg":"avg","top":[1,"lowest"]}"#,
    ),
    (
        "histogram_quantile(0.95, sum by (le, svc) (rate(lat_bucket[10s])))",
        r#"{"metric":"lat","group_by":["svc"],"time_agg":{"quantile":0.95},"group_agg":"merge"}"#,
    ),
    (
        "sum without (host) (sum_over_time(req_count[10s]))",
        r#"{"metric":"req.count","group_by":["container.name"],"time_agg":"sum","group_agg":"sum"}"#,
    ),
    (
        r#"cpu_user{host="h1",container_name="web"}"#,
        r#"{"metric":"cpu.user","filters":[{"eq":["host","h1"]},{"eq":["container.name","web"]}],"group_by":["container.name","host"],"time_agg":"avg","group_agg":"avg"}"#,
    ),
];

/// The table with its native queries completed.
fn table(t0: i64, tn: i64, w: i64) -> Vec<(&'static str, J)> {
    TABLE
        .iter()
        .map(|(p, n)| {
            let mut q: J = serde_json::from_str(n).unwrap();
            q["start_ms"] = json!(t0 - w + 1);
            q["end_ms"] = json!(tn + 1);
            q["step_ms"] = json!(w);
            (*p, q)
        })
        .collect()
}

#[test]
fn promql_range_queries_match_the_native_api() {
    let dir = tmpdir("promql");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let base = (now_s() - 900) / 60 * 60;
    write(&s, base);
    let (start, end, step) = (base + 30, base + 90, 10);
    let (t0, tn) = (start * 1000, end * 1000);
    let w = 10_000;
    let table = table(t0, tn, w);
    assert!(table.len() >= 10);
    for (q, native_q) in &table {
        let p = promql(&s, q, start, end, step);
        assert!(!p.is_empty(), "{q}: no series");
        let n = native(&s, native_q.clone(), w);
        same(&p, &n, q);
    }
    // a window other than the step: one native query per evaluation time
    let q = "sum(rate(req_count[30s]))";
    let p = promql(&s, q, start, end, step);
    for (t, v) in &p[&BTreeMap::new()] {
        let one = json!({"metric": "req.count", "start_ms": t - 30_000 + 1, "end_ms": t + 1, "step_ms": 0,
            "time_agg": "rate", "group_agg": "sum"});
        let n = native(&s, one, 30_000);
        let nv = n[&BTreeMap::new()][t];
        assert!((v - nv).abs() < 1e-9, "{q} at {t}: {v} vs {nv}");
    }
    // and against the data written: rate = the window's increments / 10 s
    let p = promql(&s, "sum by (host) (rate(req_count[10s]))", start, end, step);
    for (hi, h) in HOSTS.iter().enumerate() {
        let pts = &p[&BTreeMap::from([("host".to_string(), h.to_string())])];
        assert_eq!(pts.len(), 7);
        for (t, v) in pts {
            let t = t / 1000;
            let want: f64 = (0..3)
                .flat_map(|ci| ((t - 9)..=t).map(move |sec| req_v(hi * 3 + ci, sec)))
                .sum::<f64>()
                / 10.0;
            assert!(
                (v - want).abs() < 1e-9,
                "rate {h} at {t}: {v}, wrote {want}"
            );
        }
    }
    let p = promql(
        &s,
        r#"max_over_time(cpu_user{host="h2",container_name="db"}[10s])"#,
        start,
        end,
        step,
    );
    let (_, pts) = p.iter().next().unwrap();
    for (t, v) in pts {
        let t = t / 1000;
        let want = ((t - 9)..=t)
            .map(|sec| cpu_v(4, sec))
            .fold(f64::MIN, f64::max);
        assert_eq!(*v, want, "max_over_time at {t}");
    }
    metadata(&s, base, start, end, step);
    binary(&s, start, end, step);
    binary_errors(&s, start, end, step);
}

/// The instant query, series, labels, label values, a form POST, buildinfo.
fn metadata(s: &Server, base: i64, start: i64, end: i64, step: i64) {
    // instant query, series/labels/label values, buildinfo
    let (st, r) = s.get(&format!(
        "/api/v1/query?query={}&time={}",
        enc("sum(increase(req_count[10s]))"),
        end
    ));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["data"]["resultType"], "vector");
    let v: f64 = r["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let want: f64 = (0..6)
        .flat_map(|i| ((end - 9)..=end).map(move |sec| req_v(i, sec)))
        .sum();
    assert_eq!(v, want);
    let (st, r) = s.get(&format!(
        "/api/v1/series?match[]={}&start={}&end={}",
        enc(r#"cpu_user{host="h1"}"#),
        base,
        base + SECS
    ));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["data"][0]["__name__"], "cpu_user");
    let (_, r) = s.get(&format!(
        "/api/v1/labels?start={}&end={}",
        base,
        base + SECS
    ));
    let labels: Vec<&str> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for l in ["__name__", "container_name", "host", "svc"] {
        assert!(labels.contains(&l), "{l} in {labels:?}");
    }
    let (_, r) = s.get("/api/v1/label/__name__/values");
    assert_eq!(r["data"], json!(["cpu_user", "lat", "req_count"]));
    let (_, r) = s.get(&format!(
        "/api/v1/label/container_name/values?start={}&end={}",
        base,
        base + SECS
    ));
    assert_eq!(r["data"], json!(["cache", "db", "web"]));
    let form = format!(
        "query={}&start={start}&end={end}&step={step}",
        enc("sum(rate(req_count[10s]))")
    );
    let (st, r) = s.req(
        "POST",
        "/api/v1/query_range",
        Some(API_TOKEN),
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    );
    assert_eq!((st, r["status"].as_str()), (200, Some("success")), "{r}");
    let (st, r) = s.get("/api/v1/status/buildinfo");
    assert_eq!(st, 200);
    assert!(r["data"]["version"].is_string());
}

type ByLabels = BTreeMap<BTreeMap<String, String>, Points>;

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Each point of `a` mapped by `f` (None drops it; series left empty go).
fn pointwise(
    a: &ByLabels,
    f: impl Fn(&BTreeMap<String, String>, i64, f64) -> Option<f64>,
) -> ByLabels {
    a.iter()
        .map(|(l, p)| {
            let pts: Points = p
                .iter()
                .filter_map(|(&t, &v)| Some((t, f(l, t, v)?)))
                .collect();
            (l.clone(), pts)
        })
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// Binary operators: each PromQL answer against the same arithmetic done
/// here on the native API's answers for the operands.
fn binary(s: &Server, start: i64, end: i64, step: i64) {
    let (t0, tn, w) = (start * 1000, end * 1000, 10_000);
    let nat = |metric: &str, by: &[&str], time_agg: &str, group_agg: &str| {
        let q = json!({"metric": metric, "group_by": by, "time_agg": time_agg, "group_agg": group_agg,
            "start_ms": t0 - w + 1, "end_ms": tn + 1, "step_ms": w});
        native(s, q, w)
    };
    let host_rate = nat("req.count", &["host"], "rate", "sum");
    let host_inc = nat("req.count", &["host"], "sum", "sum");
    let host_cpu = nat("cpu.user", &["host"], "avg", "avg");
    let rate = nat("req.count", &["host", "container.name"], "rate", "avg");
    let cpu = nat("cpu.user", &["host", "container.name"], "avg", "avg");
    assert_eq!((rate.len(), cpu.len(), host_rate.len()), (6, 6, 2));
    let host_of = |l: &BTreeMap<String, String>| labels(&[("host", &l["host"])]);
    let q = |x: &str| promql(s, x, start, end, step);
    let cases: Vec<(&str, ByLabels)> = vec![
        (
            "sum by (host) (rate(req_count[10s])) / avg by (host) (avg_over_time(cpu_user[10s]))",
            pointwise(&host_rate, |l, t, v| Some(v / host_cpu[l][&t])),
        ),
        (
            "rate(req_count[10s]) / on(host) group_left sum by (host) (rate(req_count[10s]))",
            pointwise(&rate, |l, t, v| Some(v / host_rate[&host_of(l)][&t])),
        ),
        (
            "sum by (host) (rate(req_count[10s])) / on(host) group_right rate(req_count[10s])",
            pointwise(&rate, |l, t, v| Some(host_rate[&host_of(l)][&t] / v)),
        ),
        (
            "avg_over_time(cpu_user[10s]) > 5",
            pointwise(&cpu, |_, _, v| (v > 5.0).then_some(v)),
        ),
        (
            "5 >= bool avg_over_time(cpu_user[10s])",
            pointwise(&cpu, |_, _, v| Some(if 5.0 >= v { 1.0 } else { 0.0 })),
        ),
        (
            "2 * rate(req_count[10s]) + 1",
            pointwise(&rate, |_, _, v| Some(2.0 * v + 1.0)),
        ),
        (
            "-sum by (host) (rate(req_count[10s])) % 3 ^ 2",
            pointwise(&host_rate, |_, _, v| Some(-(v % 9.0))),
        ),
        (
            "avg_over_time(cpu_user[10s]) - ignoring(container_name) group_left sum by (host) (avg_over_time(cpu_user[10s]))",
            pointwise(&cpu, |l, t, v| Some(v - 3.0 * host_cpu[&host_of(l)][&t])),
        ),
        (
            "rate(req_count[10s]) and on(host, container_name) (avg_over_time(cpu_user[10s]) > 5)",
            pointwise(&rate, |l, t, v| (cpu[l][&t] > 5.0).then_some(v)),
        ),
        (
            r#"rate(req_count[10s]) unless on(container_name) cpu_user{container_name="web"}"#,
            pointwise(&rate, |l, _, v| (l["container_name"] != "web").then_some(v)),
        ),
        (
            r#"sum by (host) (rate(req_count{host="h1"}[10s])) or sum by (host) (increase(req_count[10s]))"#,
            host_rate
                .iter()
                .filter(|(l, _)| l["host"] == "h1")
                .chain(host_inc.iter().filter(|(l, _)| l["host"] == "h2"))
                .map(|(l, p)| (l.clone(), p.clone()))
                .collect(),
        ),
        (
            "avg_over_time(cpu_user[10s]) < on(host, container_name) rate(req_count[10s])",
            pointwise(&cpu, |l, t, v| (v < rate[l][&t]).then_some(v)),
        ),
    ];
    for (query, want) in &cases {
        assert!(!want.is_empty(), "{query}: nothing expected");
        same(&q(query), want, query);
    }
    // an instant query over a binary expression
    let (st, r) = s.get(&format!(
        "/api/v1/query?query={}&time={end}",
        enc("sum(increase(req_count[10s])) / 10 - sum(rate(req_count[10s]))")
    ));
    assert_eq!(st, 200, "{r}");
    let v: f64 = r["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(v.abs() < 1e-9, "increase / 10 - rate = {v}");
}

/// Matches Prometheus refuses (422 execution) and what sonde does not
/// support (400 bad_data), in Prometheus's error shape.
fn binary_errors(s: &Server, start: i64, end: i64, step: i64) {
    for (query, status, kind, says) in [
        (
            "rate(req_count[10s]) / on(host) rate(req_count[10s])",
            422,
            "execution",
            "many-to-many",
        ),
        (
            "rate(req_count[10s]) / on(host) group_left sum by (host, container_name) (rate(req_count[10s]))",
            422,
            "execution",
            "duplicate series",
        ),
        ("sum(rate(req_count[10s]) / 2)", 400, "bad_data", "binary expression"),
        ("abs(cpu_user) > 1", 400, "bad_data", "function 'abs'"),
        ("cpu_user and 1", 400, "bad_data", "binary scalar expression"),
        ("1 > 2", 400, "bad_data", "bool"),
    ] {
        let path = format!(
            "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
            enc(query)
        );
        let (st, r) = s.get(&path);
        assert_eq!(st, status, "{query}: {r}");
        assert_eq!((r["status"].as_str(), r["errorType"].as_str()), (Some("error"), Some(kind)), "{query}: {r}");
        let msg = r["error"].as_str().unwrap();
        assert!(msg.to_lowercase().contains(says), "{query}: {msg}");
    }
}

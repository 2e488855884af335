//! Load: the web UI's main pages' API calls over 100 hosts x 50 containers
//! of synthetic agent-shaped data (ingested through the real ingest path
//! into the real `sonde-server`): Explore, the preset and saved
//! dashboards, Topology (its edges with their HTTP requests), Events,
//! Hosts, Alerts (with rules evaluated over the fleet) and Captures. Each
//! page's calls run at once, as the browser sends them; the wall time of
//! each page and its slowest call are printed (goal: under 300 ms) and
//! must stay under a loose ceiling (a 2-core CI machine is shared).
//! `SONDE_LOAD_SECONDS` sets how many seconds of data (default 60);
//! `SONDE_LOAD_DETAIL=1` prints every call's time.

mod common;

use std::time::{Duration, Instant};

use common::workload::Fleet;
use common::*;
use serde_json::{json, Value as J};

/// The slowest call a page may make here (the goal is 300 ms).
const CEILING: Duration = Duration::from_millis(3_000);

fn q(metric: &str, range_ms: i64, step_ms: i64, filters: J, by: &[&str], t: J, g: &str) -> J {
    let end = now_s() * 1000;
    json!({"metric": metric, "start_ms": end - range_ms, "end_ms": end, "step_ms": step_ms,
        "filters": filters, "group_by": by, "time_agg": t, "group_agg": g})
}

/// The Explore page's call at one level: its key metrics' queries in one
/// `queries` call (as web/src/metrics.ts `runKeys` makes it).
fn explore(filters: J, by: &str) -> Vec<J> {
    vec![json!({ "queries": explore_queries(filters, by) })]
}

fn explore_queries(filters: J, by: &str) -> Vec<J> {
    let r = 15 * 60_000;
    let mut out = Vec::new();
    for (m, t, g) in [
        ("cpu.user", json!("avg"), "sum"),
        ("cpu.system", json!("avg"), "sum"),
        ("memory.rss", json!("avg"), "sum"),
        ("net.bytes", json!("rate"), "sum"),
        ("file.bytes", json!("rate"), "sum"),
        ("http.requests", json!("rate"), "sum"),
        ("http.latency", json!({"quantile": 0.95}), "merge"),
    ] {
        out.push(q(m, r, 0, filters.clone(), &[by], t, g));
    }
    let mut err = filters.as_array().unwrap().clone();
    err.push(json!({"eq": ["http.status_class", "5xx"]}));
    out.push(q(
        "http.requests",
        r,
        0,
        J::from(err),
        &[by],
        json!("rate"),
        "sum",
    ));
    out
}

/// The container dashboard's queries (web/src/pages/Dashboard.tsx).
fn dashboard(filters: J) -> Vec<J> {
    let (r, step) = (15 * 60_000, 10_000);
    let mut out = vec![
        q(
            "cpu.user",
            r,
            step,
            filters.clone(),
            &[],
            json!("avg"),
            "sum",
        ),
        q(
            "cpu.system",
            r,
            step,
            filters.clone(),
            &[],
            json!("avg"),
            "sum",
        ),
        q(
            "memory.rss",
            r,
            step,
            filters.clone(),
            &[],
            json!("avg"),
            "sum",
        ),
        q(
            "net.bytes",
            r,
            step,
            filters.clone(),
            &["direction"],
            json!("rate"),
            "sum",
        ),
        q(
            "file.bytes",
            r,
            step,
            filters.clone(),
            &["direction"],
            json!("rate"),
            "sum",
        ),
        q(
            "http.requests",
            r,
            step,
            filters.clone(),
            &["http.status_class"],
            json!("rate"),
            "sum",
        ),
        q(
            "http.latency",
            r,
            step,
            filters.clone(),
            &[],
            json!({"quantile": 0.95}),
            "merge",
        ),
    ];
    let mut top = q(
        "cpu.user",
        r,
        0,
        filters,
        &["proc.name"],
        json!("avg"),
        "sum",
    );
    top["filters"][0] = json!({"eq": ["scope", "process"]});
    top["top"] = json!([10, "highest"]);
    out.push(top);
    out
}

/// Runs `calls` at once: (page wall time, slowest call, each call's
/// (name, time)). Some query of the page must find data (host-level
/// series have no HTTP metrics).
fn page(s: &Server, gets: &[String], posts: &[J]) -> (Duration, Duration, Vec<(String, Duration)>) {
    let t0 = Instant::now();
    let found = std::sync::atomic::AtomicUsize::new(0);
    let found = &found;
    let slowest = std::thread::scope(|sc| {
        let mut hs = Vec::new();
        for g in gets {
            hs.push(sc.spawn(move || {
                let t = Instant::now();
                let (st, b) = s.get(g);
                assert_eq!(st, 200, "{g}: {b}");
                (g.to_string(), t.elapsed())
            }));
        }
        for p in posts {
            hs.push(sc.spawn(move || {
                let t = Instant::now();
                // a query, or several in one `queries` call
                let (answers, name) = if let Some(qs) = p["queries"].as_array() {
                    let (st, b) = s.post_json("/api/v1/metrics/queries", p);
                    assert_eq!(st, 200, "{p}: {b}");
                    let a = b["answers"].as_array().unwrap().clone();
                    assert_eq!(a.len(), qs.len(), "{b}");
                    (a, format!("{} queries by {}", qs.len(), qs[0]["group_by"]))
                } else {
                    let (st, b) = s.post_json("/api/v1/metrics/query", p);
                    assert_eq!(st, 200, "{p}: {b}");
                    let name = format!("{} {} by {}", p["metric"], p["time_agg"], p["group_by"]);
                    (vec![b], name)
                };
                for a in &answers {
                    let groups = a["groups"].as_array();
                    assert!(groups.is_some(), "{p}: {a}");
                    if !groups.unwrap().is_empty() {
                        found.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                (name, t.elapsed())
            }));
        }
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let n = found.load(std::sync::atomic::Ordering::Relaxed);
    assert!(posts.is_empty() || n > 0, "no query found data: {posts:?}");
    let max = slowest.iter().map(|c| c.1).max().unwrap_or_default();
    (t0.elapsed(), max, slowest)
}

/// A saved dashboard's calls: the list, the dashboard, its panels'
/// queries (a time series of CPU by pod in a namespace, a top-N of HTTP
/// requests by deployment).
fn saved_dashboard(s: &Server) -> (Vec<String>, Vec<J>) {
    let spec = json!({"name": "shop", "panels": [
        {"title": "CPU by pod", "kind": "series", "metric": "cpu.user",
         "filters": ["scope=container", "k8s.ns.name=shop"], "group_by": ["k8s.pod.name"], "agg": "avg"},
        {"title": "Busiest", "kind": "top", "metric": "http.requests",
         "filters": ["scope=container"], "group_by": ["k8s.deployment.name"], "agg": "rate"}]});
    let (st, d) = s.post_json("/api/v1/dashboards", &spec);
    assert_eq!(st, 201, "{d}");
    let (r, step) = (15 * 60_000, 10_000);
    let ns = json!([{"eq": ["scope", "container"]}, {"eq": ["k8s.ns.name", "shop"]}]);
    let mut top = q(
        "http.requests",
        r,
        0,
        json!([{"eq": ["scope", "container"]}]),
        &["k8s.deployment.name"],
        json!("rate"),
        "sum",
    );
    top["top"] = json!([10, "highest"]);
    let posts = vec![
        q(
            "cpu.user",
            r,
            step,
            ns,
            &["k8s.pod.name"],
            json!("avg"),
            "sum",
        ),
        top,
    ];
    let gets = vec![
        "/api/v1/dashboards".to_string(),
        format!("/api/v1/dashboards/{}", d["id"].as_str().unwrap()),
    ];
    (gets, posts)
}

/// Alert rules on the fleet's metrics, as the Alerts page shows them.
fn alert_rules(s: &Server) {
    for (i, (m, by)) in [
        ("cpu.user", "k8s.ns.name"),
        ("memory.rss", "host.hostname"),
        ("http.requests", "k8s.deployment.name"),
        ("net.bytes", "k8s.ns.name"),
    ]
    .iter()
    .enumerate()
    {
        let rule = json!({"name": format!("rule-{i}"), "for_ms": 60_000, "handlers": [],
            "condition": {"metric": {"metric": m, "group_by": [by], "filters": [{"eq": ["scope", "container"]}],
                "time_agg": "avg", "group_agg": "sum", "window_ms": 60_000, "op": ">", "threshold": 1e18}}});
        let (st, r) = s.post_json("/api/v1/alerts/rules", &rule);
        assert_eq!(st, 201, "{r}");
    }
}

#[test]
fn main_pages_under_load() {
    let secs: i64 = std::env::var("SONDE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tmpdir("webload");
    let pki = pki(&dir);
    let s = Server::start(&pki, free_port(), &dir.join("data"));
    let f = Fleet {
        hosts: 100,
        containers: 50,
        seconds: secs,
        end_s: now_s(),
        http_edges: true,
    };
    let t0 = Instant::now();
    let mut samples = 0usize;
    for (agent, b) in f.batches(10) {
        samples += b["records"].as_array().unwrap().len();
        let (st, r) = s.ingest(&b);
        assert_eq!(st, 200, "{agent}: {r}");
    }
    println!(
        "ingested {samples} records ({} hosts x {} containers, {secs} s) in {:.1} s",
        f.hosts,
        f.containers,
        t0.elapsed().as_secs_f64()
    );
    // the maps below carry their edges' HTTP requests (and their cost)
    let (st, g) = s.get("/api/v1/topology?level=k8s.ns.name&range_ms=900000");
    assert_eq!(st, 200, "{g}");
    let with_http = g["edges"].as_array().map_or(0, |es| {
        es.iter()
            .filter(|e| e["http"]["requests"].as_f64() > Some(0.0))
            .count()
    });
    assert!(with_http > 0, "no edge carries HTTP requests: {g}");
    let ctr = json!([{"eq": ["scope", "container"]}]);
    let ns = json!([{"eq": ["scope", "container"]}, {"eq": ["k8s.ns.name", "shop"]}]);
    let one = f.ctr_tags(42, 8);
    let mut leaf = vec![json!({"eq": ["scope", "container"]})];
    leaf.extend(one[2..6].iter().map(|(k, v)| json!({"eq": [k, v]})));
    let host = json!([{"eq": ["scope", "host"]}]);
    alert_rules(&s);
    let (saved_gets, saved_posts) = saved_dashboard(&s);
    let strs = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let pages: Vec<(&str, Vec<String>, Vec<J>)> = vec![
        (
            "explore logical: namespaces",
            vec![],
            explore(ctr.clone(), "k8s.ns.name"),
        ),
        (
            "explore logical: deployments of a namespace",
            vec![],
            explore(ns, "k8s.deployment.name"),
        ),
        (
            "explore physical: hosts",
            vec![],
            explore(host, "host.hostname"),
        ),
        (
            "explore physical: containers of all hosts",
            vec![],
            explore(ctr, "container.name"),
        ),
        (
            "container dashboard",
            strs(&["/api/v1/metrics", "/api/v1/dashboards"]),
            dashboard(J::from(leaf)),
        ),
        ("saved dashboard (2 panels)", saved_gets, saved_posts),
        (
            "topology physical: hosts",
            strs(&["/api/v1/topology?level=host.hostname&range_ms=900000"]),
            vec![],
        ),
        (
            "topology logical: namespaces",
            strs(&["/api/v1/topology?level=k8s.ns.name&range_ms=900000"]),
            vec![],
        ),
        (
            "topology logical: pods of a deployment",
            strs(&[
                "/api/v1/topology?level=k8s.pod.name&scope=k8s.ns.name%3Dshop\
                &scope=k8s.deployment.name%3Dshop-web&range_ms=900000",
            ]),
            vec![],
        ),
        ("events", strs(&["/api/v1/events?limit=1000"]), vec![]),
        ("hosts", strs(&["/api/v1/hosts"]), vec![]),
        (
            "alerts (4 rules)",
            strs(&["/api/v1/alerts/status", "/api/v1/alerts/history?limit=200"]),
            vec![],
        ),
        ("captures", strs(&["/api/v1/captures"]), vec![]),
    ];
    let detail = std::env::var_os("SONDE_LOAD_DETAIL").is_some();
    let mut worst = Duration::ZERO;
    for (name, gets, posts) in &pages {
        let _ = page(&s, gets, posts); // warm
        let mut runs: Vec<_> = (0..5).map(|_| page(&s, gets, posts)).collect();
        runs.sort_by_key(|r| r.0);
        let (wall, slowest, calls) = runs.swap_remove(2);
        if detail {
            for (c, t) in &calls {
                println!("    {:6.1} ms  {c}", t.as_secs_f64() * 1e3);
            }
        }
        println!(
            "{name:46} {:2} calls: page {:6.1} ms, slowest call {:6.1} ms (median of 5; goal 300 ms)",
            gets.len() + posts.len(),
            wall.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3
        );
        worst = worst.max(slowest);
    }
    assert!(
        worst < CEILING,
        "a page's call took {worst:?} (ceiling {CEILING:?})"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Benchmark (prints numbers, checks the targets): a synthetic
//! 5,000-pod cluster (110 pods on this node, 50 namespaces, 1,000
//! deployments, 2,000 replicasets, 1,000 services with one EndpointSlice
//! each naming its 5 pods, 46 nodes) served by the test
//! endpoint; a fresh process (this test binary run again) starts the
//! watches and reports when the node's pods were listed and its memory
//! then (target: under 1 s, under 20 MB). Also the cost of one cache
//! update per watch event and of one container lookup.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sonde_k8s::cache::{Cache, Meta, NodeObj, PodObj};
use sonde_k8s::testserver::{Server, ServerOptions};
use sonde_k8s::watch::{node_obj, slice_obj};
use sonde_k8s::Watch;

const NODE: &str = "node-7";

fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The child: start the watches, wait for everything listed, report.
#[test]
fn bench_child() {
    let Ok(kc) = std::env::var("SONDE_K8S_BENCH_KUBECONFIG") else {
        return;
    };
    let base = status_kib("VmRSS:");
    let t = Instant::now();
    let w = Watch::start(&sonde_k8s::Options {
        kubeconfig: Some(kc.into()),
        node: Some(NODE.into()),
        quiet: true,
        ..Default::default()
    })
    .unwrap();
    let sh = w.shared();
    wait("pods listed", || sh.pods_synced_after().is_some());
    let pods = sh.pods_synced_after().unwrap();
    wait("all listed", || sh.all_watching());
    let all = t.elapsed();
    let c = sh.cache().counts();
    println!(
        "BENCH pods_ms={} all_ms={} rss_kib={} base_kib={} hwm_kib={} pods={} ns={} svc={} owners={} slices={} nodes={}",
        pods.as_millis(), all.as_millis(), status_kib("VmRSS:"), base, status_kib("VmHWM:"), c[0], c[1], c[2], c[3], c[5], c[6]
    );
}

/// The node of pod `p`: 110 of them on this node.
fn pod_node(p: usize) -> String {
    if p < 110 {
        NODE.to_string()
    } else {
        format!("node-{}", 100 + p % 45)
    }
}

#[test]
fn bench_5000_pod_cluster() {
    if std::env::var_os("SONDE_K8S_BENCH_KUBECONFIG").is_some() {
        return;
    }
    let srv = Server::start(ServerOptions::default());
    for n in 0..50 {
        srv.put(&namespace(
            &format!("ns{n}"),
            &format!("ns-uid-{n}"),
            &[("team", &format!("t{n}"))],
        ));
    }
    for d in 0..1000 {
        let ns = format!("ns{}", d % 50);
        srv.put(&deployment(&ns, &format!("app{d}"), &format!("dep-{d}"), 5));
        for r in 0..2 {
            srv.put(&replicaset(
                &ns,
                &format!("app{d}-{r}"),
                &format!("rs-{d}-{r}"),
                (&format!("app{d}"), &format!("dep-{d}")),
            ));
        }
        srv.put(&service(
            &ns,
            &format!("app{d}-svc"),
            &[("app", &format!("app{d}"))],
        ));
    }
    for p in 0..5000 {
        let d = p % 1000;
        let ns = format!("ns{}", d % 50);
        let node = pod_node(p);
        let app = format!("app{d}");
        srv.put(&pod(
            &ns,
            &format!("{app}-1-{p}"),
            &node,
            &format!("{p:012x}0000"),
            &[("app", &app)],
            Some((&format!("{app}-1"), &format!("rs-{d}-1"))),
        ));
    }
    // one slice per service naming its 5 pods (pod p belongs to app p % 1000)
    for d in 0..1000 {
        let ns = format!("ns{}", d % 50);
        let app = format!("app{d}");
        let eps: Vec<(String, String, String)> = (0..5)
            .map(|k| {
                let p = d + 1000 * k;
                let name = format!("{app}-1-{p}");
                let uid = format!("pod-uid-{ns}-{name}");
                (name, uid, pod_node(p))
            })
            .collect();
        let eps: Vec<(&str, &str, &str)> = eps
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        srv.put(&endpoint_slice(
            &ns,
            &format!("{app}-svc-x"),
            &format!("{app}-svc"),
            &eps,
        ));
    }
    srv.put(&node(NODE, "node-uid-7", "10.9.0.7", &[("zone", "a")]));
    for n in 0..45 {
        srv.put(&node(
            &format!("node-{}", 100 + n),
            &format!("node-uid-{n}"),
            "10.9.1.1",
            &[],
        ));
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "bench_child", "--nocapture", "--test-threads=1"])
        .env("SONDE_K8S_BENCH_KUBECONFIG", srv.kubeconfig())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.find("BENCH ").map(|i| l[i..].to_string()))
        .expect("bench line");
    println!("5,000-pod cluster, node-scoped to 110 pods: {line}");
    let get = |k: &str| -> u64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(get("pods"), 110);
    assert_eq!(get("svc"), 1000);
    // the slices of the 110 pods' services (pods 0..110: apps 0..110)
    assert_eq!(get("slices"), 110);
    assert_eq!(get("nodes"), 1);
    assert!(get("pods_ms") < 1000, "{line}");
    assert!(get("all_ms") < 1000, "{line}");
    assert!(get("rss_kib") < 20 * 1024, "{line}");
    cluster_state_cost(&srv);
}

/// The elected agent's cluster state over the same cluster: time to the
/// first complete gauges, their number, and the cost of one second's
/// gauges (what the agent asks for at every tick).
fn cluster_state_cost(srv: &Server) {
    use sonde_k8s::lease::LeaseOptions;
    let t = Instant::now();
    let cs = sonde_k8s::ClusterState::start(
        &opts(srv, NODE),
        sonde_k8s::ClusterOptions {
            lease: LeaseOptions::new(NODE),
            cluster_name: None,
        },
    )
    .unwrap();
    let count = |g: &[sonde_k8s::kstate::Gauge], n: &str| g.iter().filter(|x| x.name == n).count();
    wait("the cluster state lists", || {
        let g = cs.gauges();
        count(&g, "k8s.pod.phase") == 5000 && count(&g, "k8s.deployment.replicas.desired") == 1000
    });
    let ready = t.elapsed();
    let n = 20;
    let t = Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += cs.gauges().len();
    }
    let per = t.elapsed() / n;
    println!(
        "cluster state: complete after {} ms, {} gauges, {} us per second's gauges",
        ready.as_millis(),
        total / n as usize,
        per.as_micros()
    );
    assert!(per < Duration::from_millis(200), "{per:?}");
}

#[test]
fn bench_cache_costs() {
    // one cache update per watch event: a pod modified (110 pods, with
    // owners and services around)
    let mut c = Cache::default();
    let pods: Vec<PodObj> = (0..110)
        .map(|i| PodObj {
            meta: Meta {
                namespace: "ns".into(),
                name: format!("p{i}").into(),
                uid: format!("u{i}").into(),
                labels: vec![("app".into(), format!("a{}", i % 10).into())],
                owner: None,
            },
            ip: "10.0.0.1".into(),
            node: NODE.into(),
            containers: vec![format!("containerd://{i:012x}ffff").into()],
        })
        .collect();
    for p in &pods {
        c.apply_pod(p.clone());
    }
    for s in 0..1000 {
        // 1,000 services in 50 namespaces, the pods' among them
        let ns = if s % 50 == 0 {
            "ns".to_string()
        } else {
            format!("ns{}", s % 50)
        };
        let svc = sonde_k8s::watch::svc_obj(&service(
            &ns,
            &format!("s{s}"),
            &[("app", &format!("a{}", s % 10))],
        ));
        let mut svc = svc;
        svc.meta.uid = format!("svc-{s}").into();
        c.apply_service(svc);
    }
    let n = 200_000;
    let t = Instant::now();
    for i in 0..n {
        c.apply_pod(pods[i % 110].clone());
    }
    let per_event = t.elapsed() / n as u32;
    // the engine's per-change lookup: a container's labels (pod, chain, services)
    let t = Instant::now();
    let m = 20_000;
    for i in 0..m {
        let l = c.container_labels(&format!("{:012x}", i % 110));
        assert!(l.is_some());
    }
    let per_labels = t.elapsed() / m as u32;
    // the per-event check: the generation, an atomic load
    let t = Instant::now();
    let mut hits = 0;
    for i in 0..1_000_000u64 {
        hits += u64::from(c.pod_of(&format!("{:012x}", i % 110)).is_some());
    }
    let per_lookup = t.elapsed() / 1_000_000;
    assert_eq!(hits, 1_000_000);
    println!(
        "cache update per watch event: {per_event:?}; container labels (on cache change, 1,000 services in 50 namespaces): {per_labels:?}; pod_of lookup: {per_lookup:?}"
    );
    // EndpointSlices: one per service; those of namespace ns name 5 of
    // the 110 pods each (the others name no pod of this node: not kept)
    let slices: Vec<_> = (0..1000)
        .map(|s| {
            let ns = if s % 50 == 0 {
                "ns".to_string()
            } else {
                format!("ns{}", s % 50)
            };
            let eps: Vec<(String, String)> = (0..5)
                .map(|k| {
                    (
                        format!("p{}", (s + 22 * k) % 110),
                        format!("u{}", (s + 22 * k) % 110),
                    )
                })
                .collect();
            let eps: Vec<(&str, &str, &str)> = eps
                .iter()
                .map(|(n, u)| (n.as_str(), u.as_str(), NODE))
                .collect();
            let mut o = slice_obj(
                &endpoint_slice(&ns, &format!("s{s}-x"), &format!("s{s}"), &eps),
                NODE,
            );
            o.meta.uid = format!("slice-{s}").into();
            if ns != "ns" {
                o.pods.clear();
            }
            o
        })
        .collect();
    let n = 200_000;
    let t = Instant::now();
    for i in 0..n {
        c.apply_slice(slices[i % 1000].clone());
    }
    let per_slice = t.elapsed() / n as u32;
    let nodes: Vec<NodeObj> = (0..2)
        .map(|i| {
            node_obj(&node(
                NODE,
                "node-uid",
                "10.9.0.7",
                &[("zone", if i == 0 { "a" } else { "b" })],
            ))
        })
        .collect();
    let t = Instant::now();
    for i in 0..n {
        c.apply_node(nodes[i % 2].clone());
    }
    let per_node = t.elapsed() / n as u32;
    assert_eq!(c.counts()[5], 20);
    let t = Instant::now();
    for i in 0..m {
        let l = c.container_labels(&format!("{:012x}", i % 110));
        assert!(l.is_some());
    }
    let per_labels_all = t.elapsed() / m as u32;
    println!(
        "EndpointSlice update per watch event: {per_slice:?}; node update per watch event: {per_node:?}; container labels with 20 slices naming pods of this node and the node: {per_labels_all:?}"
    );
    assert!(per_slice < Duration::from_micros(50));
    assert!(per_node < Duration::from_micros(50));
    assert!(per_event < Duration::from_micros(50));
}

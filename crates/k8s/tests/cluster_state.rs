//! The cluster state of `sonde agent` against the test API server: two
//! agents (node-a, node-b) compete for one Lease; exactly one leads and
//! reports the cluster's objects with the values served, the other only
//! its node's containers' requests and limits; when the leader stops
//! (releasing the Lease) the other takes over within the lease duration;
//! a write that lost a race gets 409 Conflict, the agent reads again,
//! follows the new holder, and takes the Lease back once that holder
//! stops renewing it.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sonde_k8s::kstate::Gauge;
use sonde_k8s::lease::LeaseOptions;
use sonde_k8s::testserver::fixture::{cluster_state, CTR_A, CTR_B};
use sonde_k8s::testserver::{Server, ServerOptions};
use sonde_k8s::{ClusterOptions, ClusterState, Options};

const LEASE: Duration = Duration::from_secs(3);

fn start(srv: &Server, node: &str) -> ClusterState {
    let opts = Options {
        kubeconfig: Some(srv.kubeconfig()),
        node: Some(node.into()),
        quiet: true,
        ..Options::default()
    };
    let co = ClusterOptions {
        lease: LeaseOptions {
            namespace: "monitoring".into(),
            name: "sonde".into(),
            identity: node.into(),
            duration: LEASE,
        },
        cluster_name: Some("test".into()),
    };
    ClusterState::start(&opts, co).expect("start")
}

/// Polls `f` every 50 ms until it holds; how long that took (panics
/// after `max`).
fn within(what: &str, max: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < max, "{what}: not within {max:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

fn value(g: &[Gauge], name: &str, tags: &[(&str, &str)]) -> Option<f64> {
    g.iter()
        .find(|x| {
            x.name == name
                && tags
                    .iter()
                    .all(|(k, v)| x.tags.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|x| x.value)
}

fn holder(srv: &Server) -> Option<String> {
    srv.get::<Lease>("monitoring", "sonde")
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

fn check_cluster_values(g: &[Gauge]) {
    let web = [("k8s.ns.name", "shop"), ("k8s.deployment.name", "web")];
    for (name, want) in [
        ("k8s.deployment.replicas.desired", 3.0),
        ("k8s.deployment.replicas.available", 2.0),
        ("k8s.deployment.replicas.updated", 3.0),
        ("k8s.deployment.replicas.ready", 2.0),
    ] {
        assert_eq!(value(g, name, &web), Some(want), "{name}");
    }
    let logs = [("k8s.daemonset.name", "logs")];
    assert_eq!(value(g, "k8s.daemonset.replicas.desired", &logs), Some(2.0));
    assert_eq!(
        value(g, "k8s.daemonset.replicas.available", &logs),
        Some(1.0)
    );
    let db = [("k8s.statefulset.name", "db")];
    assert_eq!(value(g, "k8s.statefulset.replicas.updated", &db), Some(1.0));
    let job = [("k8s.job.name", "backup-1"), ("k8s.cronjob.name", "backup")];
    assert_eq!(value(g, "k8s.job.succeeded", &job), Some(1.0));
    assert_eq!(value(g, "k8s.job.failed", &job), Some(2.0));
    assert_eq!(value(g, "k8s.job.completions.desired", &job), Some(1.0));
    let a = [("k8s.node.name", "node-a")];
    assert_eq!(value(g, "k8s.node.capacity.cpu", &a), Some(4.0));
    assert_eq!(
        value(g, "k8s.node.capacity.memory", &a),
        Some(8.0 * 1024f64.powi(3))
    );
    assert_eq!(value(g, "k8s.node.capacity.pods", &a), Some(110.0));
    assert_eq!(value(g, "k8s.node.allocatable.cpu", &a), Some(1.5));
    let b_ready = [
        ("k8s.node.name", "node-b"),
        ("k8s.node.condition", "Ready"),
        ("k8s.node.condition.status", "False"),
    ];
    assert_eq!(value(g, "k8s.node.condition", &b_ready), Some(1.0));
    // pods: phase, restarts, reasons, with the owner chain resolved
    let pa = [
        ("k8s.pod.name", "web-7c-a"),
        ("k8s.pod.phase", "Running"),
        ("k8s.deployment.name", "web"),
        ("k8s.rs.name", "web-7c"),
        ("k8s.node.name", "node-a"),
        ("k8s.cluster.name", "test"),
    ];
    assert_eq!(value(g, "k8s.pod.phase", &pa), Some(1.0));
    let ca = [("k8s.pod.name", "web-7c-a"), ("k8s.container.name", "app")];
    assert_eq!(value(g, "k8s.container.restarts", &ca), Some(2.0));
    let cb = [("k8s.pod.name", "web-7c-b"), ("k8s.container.name", "app")];
    assert_eq!(value(g, "k8s.container.restarts", &cb), Some(7.0));
    let wait = [
        ("k8s.pod.name", "web-7c-b"),
        ("k8s.container.reason", "CrashLoopBackOff"),
    ];
    assert_eq!(value(g, "k8s.container.waiting", &wait), Some(1.0));
    let last = [
        ("k8s.pod.name", "web-7c-b"),
        ("k8s.container.reason", "Error"),
    ];
    assert_eq!(value(g, "k8s.container.last_terminated", &last), Some(1.0));
    let pb = [("k8s.pod.name", "web-7c-b"), ("k8s.pod.phase", "Pending")];
    assert_eq!(value(g, "k8s.pod.phase", &pb), Some(1.0));
    let db0 = [("k8s.pod.name", "db-0"), ("k8s.statefulset.name", "db")];
    assert_eq!(value(g, "k8s.pod.phase", &db0), Some(1.0));
}

/// Whether every cluster-wide watch has listed (each resource's gauges
/// appear from its first complete list on).
fn complete(g: &[Gauge]) -> bool {
    [
        ("k8s.deployment.replicas.desired", vec![]),
        ("k8s.daemonset.replicas.desired", vec![]),
        ("k8s.statefulset.replicas.desired", vec![]),
        ("k8s.job.succeeded", vec![]),
        ("k8s.node.capacity.pods", vec![("k8s.node.name", "node-b")]),
        (
            "k8s.pod.phase",
            vec![("k8s.pod.name", "web-7c-a"), ("k8s.deployment.name", "web")],
        ),
    ]
    .iter()
    .all(|(name, tags)| value(g, name, tags).is_some())
}

fn cluster_wide(g: &[Gauge]) -> usize {
    g.iter().filter(|x| x.container.is_none()).count()
}

/// Requests and limits of the node's own containers only.
fn check_resources(g: &[Gauge], mine: &str, other: &str, cpu_request: f64) {
    let short = &mine[..12];
    let got = g
        .iter()
        .find(|x| x.name == "k8s.container.cpu.request" && x.container.as_deref() == Some(short))
        .map(|x| x.value);
    assert_eq!(got, Some(cpu_request), "{g:?}");
    assert!(
        !g.iter()
            .any(|x| x.container.as_deref() == Some(&other[..12])),
        "another node's container"
    );
}

#[test]
fn one_leader_reports_the_cluster_and_the_other_takes_over() {
    let srv = Server::start(ServerOptions::default());
    cluster_state(&srv);
    let a = start(&srv, "node-a");
    within("node-a leads", Duration::from_secs(10), || a.leader());
    let b = start(&srv, "node-b");
    within(
        "node-a reports the cluster",
        Duration::from_secs(10),
        || complete(&a.gauges()),
    );
    within("node-b lists its pods", Duration::from_secs(10), || {
        !b.gauges().is_empty()
    });
    // for two lease durations: exactly one leader, only it reports the cluster
    let t = Instant::now();
    while t.elapsed() < LEASE * 2 {
        assert!(a.leader() && !b.leader(), "one leader, node-a");
        assert_eq!(
            cluster_wide(&b.gauges()),
            0,
            "a follower reports no cluster state"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(holder(&srv).as_deref(), Some("node-a"));
    let ga = a.gauges();
    check_cluster_values(&ga);
    check_resources(&ga, CTR_A, CTR_B, 25.0);
    let mem = ga
        .iter()
        .find(|x| x.name == "k8s.container.memory.limit")
        .map(|x| x.value);
    assert_eq!(mem, Some(128.0 * 1024.0 * 1024.0));
    check_resources(&b.gauges(), CTR_B, CTR_A, 10.0);
    assert_eq!(
        a.status()
            .acquired
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // the leader stops: it releases the Lease, node-b takes over
    drop(a);
    let took = within("node-b takes over", LEASE, || b.leader());
    eprintln!("takeover after the leader stopped: {took:?}");
    within(
        "node-b reports the cluster",
        Duration::from_secs(10),
        || complete(&b.gauges()),
    );
    assert_eq!(holder(&srv).as_deref(), Some("node-b"));
    let gb = b.gauges();
    check_cluster_values(&gb);
    check_resources(&gb, CTR_B, CTR_A, 10.0);
    let l = srv.get::<Lease>("monitoring", "sonde").unwrap();
    assert_eq!(l.spec.unwrap().lease_transitions, Some(1));
}

#[test]
fn lost_race_gets_409_and_the_agent_recovers() {
    let srv = Server::start(ServerOptions::default());
    cluster_state(&srv);
    let a = start(&srv, "node-a");
    within("node-a leads", Duration::from_secs(10), || a.leader());
    let rv = srv.get::<Lease>("monitoring", "sonde").unwrap();
    // another writer takes the Lease just before node-a's next renewal
    let intruder = Lease {
        metadata: ObjectMeta {
            name: Some("sonde".into()),
            namespace: Some("monitoring".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("intruder".into()),
            lease_duration_seconds: Some(LEASE.as_secs() as i32),
            renew_time: Some(sonde_k8s::lease::now()),
            ..LeaseSpec::default()
        }),
    };
    srv.race_next_write(&intruder);
    within("node-a's renewal conflicts", Duration::from_secs(5), || {
        srv.conflicts() >= 1
    });
    within(
        "node-a follows the intruder",
        Duration::from_secs(2),
        || !a.leader(),
    );
    assert_eq!(holder(&srv).as_deref(), Some("intruder"));
    assert!(
        a.status()
            .conflicts
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    assert_ne!(
        srv.get::<Lease>("monitoring", "sonde")
            .unwrap()
            .metadata
            .resource_version,
        rv.metadata.resource_version
    );
    // the intruder never renews: after the lease duration node-a takes it back
    let t = Instant::now();
    within("node-a takes the Lease back", LEASE * 3, || a.leader());
    assert!(
        t.elapsed() >= LEASE - Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(holder(&srv).as_deref(), Some("node-a"));
    within(
        "node-a reports the cluster again",
        Duration::from_secs(10),
        || complete(&a.gauges()),
    );
    check_cluster_values(&a.gauges());
}

/// The test server's write semantics, as a client sees them: create of
/// an existing name and replace with a stale version are 409.
#[test]
fn stale_replace_is_409() {
    use kube::api::{Api, PostParams};
    let srv = Server::start(ServerOptions::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(srv.kubeconfig()).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
        let api: Api<Lease> = Api::namespaced(kube::Client::try_from(cfg).unwrap(), "ns");
        assert!(api.get_opt("l").await.unwrap().is_none());
        let l = Lease {
            metadata: ObjectMeta {
                name: Some("l".into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some("x".into()),
                ..LeaseSpec::default()
            }),
        };
        let created = api.create(&PostParams::default(), &l).await.unwrap();
        let code = |e: kube::Error| match e {
            kube::Error::Api(r) => r.code,
            other => panic!("{other}"),
        };
        assert_eq!(
            code(api.create(&PostParams::default(), &l).await.unwrap_err()),
            409
        );
        let mut next = created.clone();
        next.spec.as_mut().unwrap().holder_identity = Some("y".into());
        let replaced = api
            .replace("l", &PostParams::default(), &next)
            .await
            .unwrap();
        assert_ne!(
            replaced.metadata.resource_version,
            created.metadata.resource_version
        );
        // the same write again carries the old version now
        assert_eq!(
            code(
                api.replace("l", &PostParams::default(), &next)
                    .await
                    .unwrap_err()
            ),
            409
        );
        let got = api.get("l").await.unwrap();
        assert_eq!(got.spec.unwrap().holder_identity.as_deref(), Some("y"));
    });
    assert_eq!(srv.conflicts(), 2);
}

//! `sonde agent`'s Kubernetes cluster state, two real agents against one
//! test API server (`sonde_k8s::testserver`, the fixture cluster): run
//! with `--sidecar` (no BPF needed, the cluster state is the same in both
//! modes) and `--node-name node-a` / `node-b`. Exactly one holds the
//! Lease and prints the cluster-wide series, with the values served; the
//! other prints only its node's containers' requests and limits. SIGTERM
//! to the leader releases the Lease and the other takes over within the
//! lease duration; after a SIGKILL (no release) the survivor takes over
//! once the record has stood still for the lease duration. Live (BPF),
//! the requests and limits of a real podman container that is a served
//! pod's carry the same tags as that container's measured series.
#![cfg(feature = "k8s")]

mod live_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::Value;
use sonde_k8s::testserver::fixture::{cluster_state, CTR_A, CTR_B};
use sonde_k8s::testserver::{Server, ServerOptions};

const LEASE_S: u64 = 3;

/// A running agent and the `k8s.*` series it printed.
struct Agent {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Agent {
    fn start(srv: &Server, node: &str) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args([
                "agent",
                "--sidecar",
                "--stdout",
                "--kubeconfig",
                srv.kubeconfig().to_str().unwrap(),
                "--node-name",
                node,
                "--lease",
                "monitoring/sonde",
                "--lease-duration",
                &LEASE_S.to_string(),
                "--cluster-name",
                "test",
                "--tag",
                "env=ci",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sonde agent");
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if !line.contains("\"k8s.") {
                    continue;
                }
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                if v["name"].as_str().is_some_and(|n| n.starts_with("k8s.")) {
                    l.lock().unwrap().push(v);
                }
            }
        });
        Agent { child, lines }
    }

    fn series(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    fn signal(&mut self, sig: i32) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tag<'a>(s: &'a Value, k: &str) -> Option<&'a str> {
    s["tags"][k].as_str()
}

fn cluster_wide(s: &[Value]) -> Vec<&Value> {
    s.iter()
        .filter(|x| tag(x, "scope") == Some("cluster"))
        .collect()
}

/// The value of the last series `name` whose tags include `tags`.
fn last(s: &[Value], name: &str, tags: &[(&str, &str)]) -> Option<f64> {
    s.iter()
        .rev()
        .find(|x| x["name"] == name && tags.iter().all(|(k, v)| tag(x, k) == Some(*v)))
        .and_then(|x| x["value"].as_f64())
}

fn within(what: &str, max: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < max, "{what}: not within {max:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

fn holder(srv: &Server) -> Option<String> {
    srv.get::<Lease>("monitoring", "sonde")
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Whether every cluster-wide watch had listed by a second after `t0`
/// (each resource's series appear from its first complete list on).
fn complete_after(s: &[Value], t0: u64) -> bool {
    [
        ("k8s.deployment.replicas.desired", vec![]),
        ("k8s.job.succeeded", vec![]),
        ("k8s.node.capacity.cpu", vec![]),
        ("k8s.container.waiting", vec![]),
        (
            "k8s.pod.phase",
            vec![("k8s.pod.name", "web-7c-a"), ("k8s.deployment.name", "web")],
        ),
    ]
    .iter()
    .all(|(name, tags)| {
        s.iter().any(|x| {
            x["name"] == *name
                && x["ts_ns"].as_u64() > Some(t0)
                && tags.iter().all(|(k, v)| tag(x, k) == Some(*v))
        })
    })
}

fn check_values(s: &[Value]) {
    let web = [("k8s.deployment.name", "web"), ("k8s.ns.name", "shop")];
    assert_eq!(last(s, "k8s.deployment.replicas.desired", &web), Some(3.0));
    assert_eq!(
        last(s, "k8s.deployment.replicas.available", &web),
        Some(2.0)
    );
    assert_eq!(last(s, "k8s.deployment.replicas.updated", &web), Some(3.0));
    let pod_a = [
        ("k8s.pod.name", "web-7c-a"),
        ("k8s.pod.phase", "Running"),
        ("k8s.deployment.name", "web"),
        ("k8s.cluster.name", "test"),
        ("env", "ci"),
    ];
    assert_eq!(last(s, "k8s.pod.phase", &pod_a), Some(1.0));
    let b = [("k8s.pod.name", "web-7c-b"), ("k8s.container.name", "app")];
    assert_eq!(last(s, "k8s.container.restarts", &b), Some(7.0));
    let wait = [
        ("k8s.pod.name", "web-7c-b"),
        ("k8s.container.reason", "CrashLoopBackOff"),
    ];
    assert_eq!(last(s, "k8s.container.waiting", &wait), Some(1.0));
    let na = [("k8s.node.name", "node-a")];
    assert_eq!(last(s, "k8s.node.capacity.cpu", &na), Some(4.0));
    assert_eq!(last(s, "k8s.node.capacity.memory", &na), Some(8589934592.0));
    assert_eq!(last(s, "k8s.node.capacity.pods", &na), Some(110.0));
    let job = [("k8s.job.name", "backup-1")];
    assert_eq!(last(s, "k8s.job.succeeded", &job), Some(1.0));
    assert_eq!(last(s, "k8s.job.failed", &job), Some(2.0));
}

/// The agent's node's containers: requests and limits with the
/// container's tags (`scope=container`, its id), none of another node's.
fn check_containers(s: &[Value], host: &str, mine: &str, other: &str, cpu: f64) {
    let c = [("container.id", &mine[..12]), ("scope", "container")];
    assert_eq!(
        last(s, "k8s.container.cpu.request", &c),
        Some(cpu),
        "{host}"
    );
    let r = s
        .iter()
        .rev()
        .find(|x| x["name"] == "k8s.container.cpu.request")
        .unwrap();
    assert_eq!(tag(r, "k8s.container.name"), Some("app"));
    assert!(tag(r, "host.hostname").is_some(), "{r}");
    assert!(
        !s.iter()
            .any(|x| tag(x, "container.id") == Some(&other[..12])),
        "{host} reported another node's container"
    );
}

#[test]
fn two_agents_one_reports_the_cluster_and_the_other_takes_over() {
    let srv = Server::start(ServerOptions::default());
    cluster_state(&srv);
    let lease = Duration::from_secs(LEASE_S);
    let mut a = Agent::start(&srv, "node-a");
    within(
        "node-a reports the cluster",
        Duration::from_secs(20),
        || complete_after(&a.series(), 0),
    );
    assert_eq!(holder(&srv).as_deref(), Some("node-a"));
    let mut b = Agent::start(&srv, "node-b");
    within(
        "node-b reports its containers",
        Duration::from_secs(20),
        || last(&b.series(), "k8s.container.cpu.request", &[]).is_some(),
    );
    std::thread::sleep(lease);
    let (sa, sb) = (a.series(), b.series());
    assert!(
        cluster_wide(&sb).is_empty(),
        "the follower printed cluster series"
    );
    check_values(&sa);
    check_containers(&sa, "node-a", CTR_A, CTR_B, 25.0);
    assert_eq!(
        last(
            &sa,
            "k8s.container.memory.limit",
            &[("container.id", &CTR_A[..12])]
        ),
        Some(134217728.0)
    );
    check_containers(&sb, "node-b", CTR_B, CTR_A, 10.0);
    assert_eq!(holder(&srv).as_deref(), Some("node-a"));

    // SIGTERM: node-a releases the Lease on its way out
    let t0 = now_ns();
    let t = Instant::now();
    a.signal(libc::SIGTERM);
    let took = within("node-b holds the Lease", lease, || {
        holder(&srv).as_deref() == Some("node-b")
    });
    within(
        "node-b prints the cluster",
        lease + Duration::from_secs(3),
        || {
            b.series()
                .iter()
                .any(|x| tag(x, "scope") == Some("cluster") && x["ts_ns"].as_u64() > Some(t0))
        },
    );
    let first = t.elapsed();
    within("node-b prints all of it", Duration::from_secs(5), || {
        complete_after(&b.series(), t0)
    });
    eprintln!(
        "SIGTERM: Lease taken over after {took:?}, cluster series after {first:?}, all of it after {:?}",
        t.elapsed()
    );
    let st = a.child.wait().unwrap();
    assert!(st.success(), "node-a: {st}");
    check_values(&b.series());

    // SIGKILL: no release; node-a (back, following) takes over once the
    // record stood still for the lease duration
    let a2 = Agent::start(&srv, "node-a");
    within("node-a follows", Duration::from_secs(20), || {
        last(&a2.series(), "k8s.container.cpu.request", &[]).is_some()
    });
    assert!(cluster_wide(&a2.series()).is_empty());
    let t = Instant::now();
    b.signal(libc::SIGKILL);
    let took = within(
        "node-a takes over",
        lease * 2 + Duration::from_secs(1),
        || holder(&srv).as_deref() == Some("node-a"),
    );
    eprintln!("SIGKILL: Lease taken over after {took:?} (lease {lease:?})");
    assert!(
        t.elapsed() >= lease - Duration::from_millis(1100),
        "{took:?}"
    );
    let t1 = now_ns();
    within("node-a prints the cluster", Duration::from_secs(5), || {
        complete_after(&a2.series(), t1)
    });
    check_values(&a2.series());
}

/// Live: a podman container in a served pod on this node; the agent's
/// `k8s.container.cpu.request` of it carries every tag its measured
/// series (`syscall.count`, scope container) carries, plus the container's
/// name in the pod.
#[test]
fn live_requests_and_limits_carry_the_container_tags() {
    use k8s_openapi::api::core::v1::{Container, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    if !live_common::ready(
        "live_requests_and_limits_carry_the_container_tags",
        &["podman", "crun", "busybox", "unshare"],
    ) {
        return;
    }
    let dir = live_common::tmpdir("agent-cluster", "live");
    let root = live_common::busybox_rootfs(&dir, &["sh", "sleep", "cat"]);
    let srv = Server::start(ServerOptions::default());
    live_common::cluster::cluster(&srv);
    let name = format!("sonde-agent-cluster-{}", std::process::id());
    let id = live_common::run_private(&format!(
        "podman create --name {name} --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
         --rootfs {} /bin/sh -c 'i=0; while [ $i -lt 40 ]; do cat /etc/hostname >/dev/null; sleep 0.05; i=$((i+1)); done'",
        root.display()
    ))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let mut pod = live_common::cluster::pod("test-node", &id);
    let q = |l: &[(&str, &str)]| {
        Some(
            l.iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect(),
        )
    };
    pod.spec.as_mut().unwrap().containers = vec![Container {
        name: "cart".into(),
        resources: Some(ResourceRequirements {
            requests: q(&[("cpu", "250m"), ("memory", "64Mi")]),
            limits: q(&[("memory", "128Mi")]),
            ..ResourceRequirements::default()
        }),
        ..Container::default()
    }];
    srv.put(&pod);
    let kc = srv.kubeconfig();
    let kc = kc.to_str().unwrap().to_string();
    let agent = std::thread::spawn(move || {
        Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args([
                "agent",
                "--stdout",
                "--kubeconfig",
                &kc,
                "--node-name",
                "test-node",
            ])
            .args(["--lease-duration", "3", "-M", "9"])
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_secs(3));
    live_common::run_private(&format!("podman start -a {id}"));
    let out = agent.join().unwrap();
    let _ = Command::new("podman").args(["rm", "-f", &id]).output();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let short = &id[..12];
    let all: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(short))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |n: &str| {
        all.iter()
            .rfind(|x| {
                x["name"] == n
                    && tag(x, "scope") == Some("container")
                    && tag(x, "container.id") == Some(short)
            })
            .unwrap_or_else(|| panic!("no {n} of {short}:\n{err}"))
    };
    let usage = of("syscall.count");
    let req = of("k8s.container.cpu.request");
    assert_eq!(req["value"].as_f64(), Some(25.0));
    assert_eq!(
        of("k8s.container.memory.limit")["value"].as_f64(),
        Some(134217728.0)
    );
    let (ut, rt) = (
        usage["tags"].as_object().unwrap(),
        req["tags"].as_object().unwrap(),
    );
    for (k, v) in ut {
        assert_eq!(rt.get(k), Some(v), "tag {k}: usage {usage}\nrequest {req}");
    }
    assert_eq!(tag(req, "k8s.pod.name"), Some("cart-5f6-x7k2p"));
    assert_eq!(tag(req, "k8s.deployment.name"), Some("cart"));
    assert_eq!(tag(req, "container.name"), Some(name.as_str()));
    assert_eq!(tag(req, "k8s.container.name"), Some("cart"));
    assert!(ut.len() >= 8, "{usage}");
}

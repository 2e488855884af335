//! Cluster state as gauges, what kube-state-metrics gives a Prometheus
//! user: the objects the elected agent watches (deployments, daemonsets,
//! statefulsets, pods, jobs, nodes, replicasets) reduced to the numbers it
//! reports ([`Reduced`]), and those turned into [`Gauge`]s named in the
//! agent's style (`k8s.deployment.replicas.available`, ...) with the usual
//! Kubernetes tags (`k8s.ns.name`, `k8s.pod.name`, owners, `k8s.node.name`,
//! `k8s.container.name`, pod labels). Requests and limits of the
//! containers of this node's pods are gauges keyed by container id, so the
//! agent tags them like its measured usage of that container.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cache::short_container_id;
use crate::watch::meta_of;

/// One gauge of the cluster state.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// The metric name.
    pub name: &'static str,
    /// The short id of the container it describes, for the per-container
    /// gauges of this node's pods (the agent adds that container's tags).
    pub container: Option<String>,
    /// Its tags (unsorted).
    pub tags: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// A quantity (`100m`, `1.5`, `128Mi`, `1G`, `2e3`) as a number: cores for
/// CPU, bytes for memory. `None` when it does not parse.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    // `2e3` is an exponent; `1E` is exa: only a number after the `e` is one
    let (num, suffix) = match num.rfind(['e', 'E']) {
        Some(i) if num[i + 1..].is_empty() => (&num[..i], &q[i..]),
        _ => (num, suffix),
    };
    let n: f64 = num.parse().ok()?;
    let m = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * m)
}

fn q(v: Option<&Quantity>) -> Option<f64> {
    v.and_then(|v| quantity(&v.0))
}

/// A workload's replica counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// `deployment`, `daemonset` or `statefulset`.
    pub kind: &'static str,
    /// Namespace.
    pub ns: String,
    /// Name.
    pub name: String,
    /// Desired, available, updated, ready.
    pub replicas: [f64; 4],
}

/// One container of a pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ctr {
    /// Its name in the pod spec.
    pub name: String,
    /// Short container id (empty before it runs).
    pub id: String,
    /// `restartCount`.
    pub restarts: f64,
    /// Ready.
    pub ready: bool,
    /// Reason of the current waiting state.
    pub waiting: Option<String>,
    /// Reason of the current terminated state.
    pub terminated: Option<String>,
    /// Reason of the last termination.
    pub last_terminated: Option<String>,
    /// CPU request and limit (cores), memory request and limit (bytes).
    pub resources: [Option<f64>; 4],
}

/// A pod: identity, phase, containers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodState {
    /// Namespace.
    pub ns: String,
    /// Name.
    pub name: String,
    /// `spec.nodeName`.
    pub node: String,
    /// `status.phase`.
    pub phase: String,
    /// The controlling owner: kind and name.
    pub owner: Option<(String, String)>,
    /// Labels.
    pub labels: Vec<(String, String)>,
    /// Containers (init containers included).
    pub containers: Vec<Ctr>,
}

/// A job's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    /// Namespace.
    pub ns: String,
    /// Name.
    pub name: String,
    /// Succeeded, failed, active pods; desired completions.
    pub counts: [f64; 3],
    /// `spec.completions`.
    pub completions: Option<f64>,
    /// The cronjob that owns it.
    pub cronjob: Option<String>,
}

/// A node's conditions and sizes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeState {
    /// Name.
    pub name: String,
    /// Conditions: type and status (`True`, `False`, `Unknown`).
    pub conditions: Vec<(String, String)>,
    /// Capacity: cpu (cores), memory (bytes), pods.
    pub capacity: [Option<f64>; 3],
    /// Allocatable: cpu, memory, pods.
    pub allocatable: [Option<f64>; 3],
}

/// An object reduced to what the gauges need.
#[derive(Debug, Clone, PartialEq)]
pub enum Reduced {
    /// Deployment, daemonset or statefulset.
    Workload(Workload),
    /// A pod.
    Pod(PodState),
    /// A job.
    Job(JobState),
    /// A node.
    Node(NodeState),
    /// A replicaset: namespace, name and its deployment.
    ReplicaSet(String, String, Option<String>),
}

fn ns_name(m: &ObjectMeta) -> (String, String) {
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

fn n(v: Option<i32>) -> f64 {
    f64::from(v.unwrap_or(0))
}

/// A workload of `kind` named by `m`, with its replicas (desired,
/// available, updated, ready).
fn workload(kind: &'static str, m: &ObjectMeta, replicas: [f64; 4]) -> Reduced {
    let (ns, name) = ns_name(m);
    Reduced::Workload(Workload {
        kind,
        ns,
        name,
        replicas,
    })
}

/// The replicas of a deployment or a statefulset (their fields have the
/// same names): desired (1 when unset), available, updated, ready.
macro_rules! replicas {
    ($o:expr) => {{
        let s = $o.status.as_ref();
        [
            f64::from($o.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            n(s.and_then(|s| s.available_replicas)),
            n(s.and_then(|s| s.updated_replicas)),
            n(s.and_then(|s| s.ready_replicas)),
        ]
    }};
}

/// A deployment's replicas.
pub fn deployment(d: &Deployment) -> Reduced {
    workload("deployment", &d.metadata, replicas!(d))
}

/// A daemonset's scheduled pods.
pub fn daemonset(d: &DaemonSet) -> Reduced {
    let s = d.status.as_ref();
    let replicas = [
        f64::from(s.map_or(0, |s| s.desired_number_scheduled)),
        n(s.and_then(|s| s.number_available)),
        n(s.and_then(|s| s.updated_number_scheduled)),
        f64::from(s.map_or(0, |s| s.number_ready)),
    ];
    workload("daemonset", &d.metadata, replicas)
}

/// A statefulset's replicas.
pub fn statefulset(d: &StatefulSet) -> Reduced {
    workload("statefulset", &d.metadata, replicas!(d))
}

/// A replicaset and its deployment.
pub fn replicaset(r: &ReplicaSet) -> Reduced {
    let (ns, name) = ns_name(&r.metadata);
    let dep = meta_of(&r.metadata)
        .owner
        .filter(|o| &*o.kind_name == "Deployment")
        .map(|o| o.name.to_string());
    Reduced::ReplicaSet(ns, name, dep)
}

/// A job's counts.
pub fn job(j: &Job) -> Reduced {
    let (ns, name) = ns_name(&j.metadata);
    let s = j.status.as_ref();
    let cronjob = meta_of(&j.metadata)
        .owner
        .filter(|o| &*o.kind_name == "CronJob")
        .map(|o| o.name.to_string());
    Reduced::Job(JobState {
        ns,
        name,
        counts: [
            n(s.and_then(|s| s.succeeded)),
            n(s.and_then(|s| s.failed)),
            n(s.and_then(|s| s.active)),
        ],
        completions: j.spec.as_ref().and_then(|s| s.completions).map(f64::from),
        cronjob,
    })
}

/// A node's conditions, capacity and allocatable resources.
pub fn node(nd: &Node) -> Reduced {
    let s = nd.status.as_ref();
    let sizes = |m: Option<&std::collections::BTreeMap<String, Quantity>>| {
        ["cpu", "memory", "pods"].map(|k| q(m.and_then(|m| m.get(k))))
    };
    Reduced::Node(NodeState {
        name: nd.metadata.name.clone().unwrap_or_default(),
        conditions: s
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect(),
        capacity: sizes(s.and_then(|s| s.capacity.as_ref())),
        allocatable: sizes(s.and_then(|s| s.allocatable.as_ref())),
    })
}

fn ctr_status(c: &mut Ctr, st: &ContainerStatus) {
    c.id = st
        .container_id
        .as_deref()
        .map(short_container_id)
        .unwrap_or("")
        .to_string();
    c.restarts = f64::from(st.restart_count);
    c.ready = st.ready;
    let reason = |r: &Option<String>| Some(r.clone().unwrap_or_else(|| "Unknown".into()));
    if let Some(s) = &st.state {
        c.waiting = s.waiting.as_ref().and_then(|w| reason(&w.reason));
        c.terminated = s.terminated.as_ref().and_then(|t| reason(&t.reason));
    }
    c.last_terminated = st
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| reason(&t.reason));
}

/// A pod's phase, owner, labels and containers (spec resources joined to
/// status by container name).
pub fn pod(p: &Pod) -> Reduced {
    let m = meta_of(&p.metadata);
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let statuses = || {
        status.into_iter().flat_map(|s| {
            let init = s.init_container_statuses.iter().flatten();
            s.container_statuses.iter().flatten().chain(init)
        })
    };
    let mut containers = Vec::new();
    for c in spec.into_iter().flat_map(|s| {
        s.init_containers
            .iter()
            .flatten()
            .chain(s.containers.iter())
    }) {
        let r = c.resources.as_ref();
        let get = |limits: bool, k: &str| {
            let m = r.and_then(|r| {
                if limits {
                    r.limits.as_ref()
                } else {
                    r.requests.as_ref()
                }
            });
            q(m.and_then(|m| m.get(k)))
        };
        let mut ctr = Ctr {
            name: c.name.clone(),
            resources: [
                get(false, "cpu"),
                get(true, "cpu"),
                get(false, "memory"),
                get(true, "memory"),
            ],
            ..Ctr::default()
        };
        if let Some(st) = statuses().find(|s| s.name == c.name) {
            ctr_status(&mut ctr, st);
        }
        containers.push(ctr);
    }
    Reduced::Pod(PodState {
        ns: m.namespace.to_string(),
        name: m.name.to_string(),
        node: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        owner: m
            .owner
            .map(|o| (o.kind_name.to_string(), o.name.to_string())),
        labels: m
            .labels
            .iter()
            .map(|(k, v)| (format!("k8s.pod.label.{k}"), v.to_string()))
            .collect(),
        containers,
    })
}

type Tags = Vec<(String, String)>;

fn tag(t: &mut Tags, k: &str, v: &str) {
    if !v.is_empty() {
        t.push((k.to_string(), v.to_string()));
    }
}

fn gauge(out: &mut Vec<Gauge>, name: &'static str, tags: &Tags, value: f64) {
    out.push(Gauge {
        name,
        container: None,
        tags: tags.clone(),
        value,
    });
}

/// A workload's gauges.
pub fn workload_gauges(w: &Workload, base: &Tags, out: &mut Vec<Gauge>) {
    let mut t = base.clone();
    tag(&mut t, "k8s.ns.name", &w.ns);
    tag(&mut t, &format!("k8s.{}.name", w.kind), &w.name);
    let names: [&'static str; 4] = match w.kind {
        "deployment" => [
            "k8s.deployment.replicas.desired",
            "k8s.deployment.replicas.available",
            "k8s.deployment.replicas.updated",
            "k8s.deployment.replicas.ready",
        ],
        "daemonset" => [
            "k8s.daemonset.replicas.desired",
            "k8s.daemonset.replicas.available",
            "k8s.daemonset.replicas.updated",
            "k8s.daemonset.replicas.ready",
        ],
        _ => [
            "k8s.statefulset.replicas.desired",
            "k8s.statefulset.replicas.available",
            "k8s.statefulset.replicas.updated",
            "k8s.statefulset.replicas.ready",
        ],
    };
    for (name, v) in names.into_iter().zip(w.replicas) {
        gauge(out, name, &t, v);
    }
}

/// A pod's tags: namespace, name, node, owner chain (`deployment` looked
/// up for a replicaset owner), labels.
pub fn pod_tags(
    p: &PodState,
    base: &Tags,
    deployment_of: impl Fn(&str, &str) -> Option<String>,
) -> Tags {
    let mut t = base.clone();
    tag(&mut t, "k8s.ns.name", &p.ns);
    tag(&mut t, "k8s.pod.name", &p.name);
    tag(&mut t, "k8s.node.name", &p.node);
    if let Some((kind, name)) = &p.owner {
        let short = match kind.as_str() {
            "ReplicaSet" => "rs",
            "DaemonSet" => "daemonset",
            "StatefulSet" => "statefulset",
            "Job" => "job",
            "ReplicationController" => "rc",
            _ => "owner",
        };
        tag(&mut t, &format!("k8s.{short}.name"), name);
        if short == "rs" {
            if let Some(d) = deployment_of(&p.ns, name) {
                tag(&mut t, "k8s.deployment.name", &d);
            }
        }
    }
    t.extend(p.labels.iter().cloned());
    t
}

/// A pod's cluster-wide gauges (phase, and per container restarts,
/// readiness, waiting/terminated reasons); `tags` from [`pod_tags`].
pub fn pod_gauges(p: &PodState, tags: &Tags, out: &mut Vec<Gauge>) {
    let mut t = tags.clone();
    tag(&mut t, "k8s.pod.phase", &p.phase);
    gauge(out, "k8s.pod.phase", &t, 1.0);
    for c in &p.containers {
        let mut t = tags.clone();
        tag(&mut t, "k8s.container.name", &c.name);
        gauge(out, "k8s.container.restarts", &t, c.restarts);
        gauge(out, "k8s.container.ready", &t, f64::from(u8::from(c.ready)));
        for (name, reason) in [
            ("k8s.container.waiting", &c.waiting),
            ("k8s.container.terminated", &c.terminated),
            ("k8s.container.last_terminated", &c.last_terminated),
        ] {
            if let Some(r) = reason {
                let mut t = t.clone();
                tag(&mut t, "k8s.container.reason", r);
                gauge(out, name, &t, 1.0);
            }
        }
    }
}

/// Requests and limits of a pod's running containers, keyed by container
/// id: CPU in percent of one core (as the agent's `cpu.user` and
/// `cpu.system`), memory in bytes.
pub fn resource_gauges(p: &PodState, tags: &Tags, out: &mut Vec<Gauge>) {
    const NAMES: [&str; 4] = [
        "k8s.container.cpu.request",
        "k8s.container.cpu.limit",
        "k8s.container.memory.request",
        "k8s.container.memory.limit",
    ];
    for c in p.containers.iter().filter(|c| !c.id.is_empty()) {
        let mut t = tags.clone();
        tag(&mut t, "k8s.container.name", &c.name);
        for (i, v) in c.resources.iter().enumerate() {
            if let Some(v) = v {
                let v = if i < 2 { v * 100.0 } else { *v };
                out.push(Gauge {
                    name: NAMES[i],
                    container: Some(c.id.clone()),
                    tags: t.clone(),
                    value: v,
                });
            }
        }
    }
}

/// A job's gauges.
pub fn job_gauges(j: &JobState, base: &Tags, out: &mut Vec<Gauge>) {
    let mut t = base.clone();
    tag(&mut t, "k8s.ns.name", &j.ns);
    tag(&mut t, "k8s.job.name", &j.name);
    if let Some(c) = &j.cronjob {
        tag(&mut t, "k8s.cronjob.name", c);
    }
    gauge(out, "k8s.job.succeeded", &t, j.counts[0]);
    gauge(out, "k8s.job.failed", &t, j.counts[1]);
    gauge(out, "k8s.job.active", &t, j.counts[2]);
    if let Some(c) = j.completions {
        gauge(out, "k8s.job.completions.desired", &t, c);
    }
}

/// A node's gauges.
pub fn node_gauges(nd: &NodeState, base: &Tags, out: &mut Vec<Gauge>) {
    let mut t = base.clone();
    tag(&mut t, "k8s.node.name", &nd.name);
    for (ty, status) in &nd.conditions {
        let mut c = t.clone();
        tag(&mut c, "k8s.node.condition", ty);
        tag(&mut c, "k8s.node.condition.status", status);
        gauge(out, "k8s.node.condition", &c, 1.0);
    }
    const CAP: [&str; 3] = [
        "k8s.node.capacity.cpu",
        "k8s.node.capacity.memory",
        "k8s.node.capacity.pods",
    ];
    const ALLOC: [&str; 3] = [
        "k8s.node.allocatable.cpu",
        "k8s.node.allocatable.memory",
        "k8s.node.allocatable.pods",
    ];
    for i in 0..3 {
        if let Some(v) = nd.capacity[i] {
            gauge(out, CAP[i], &t, v);
        }
        if let Some(v) = nd.allocatable[i] {
            gauge(out, ALLOC[i], &t, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateTerminated, ContainerStateWaiting, NodeCondition,
        NodeStatus, PodSpec, PodStatus, ResourceRequirements,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    #[test]
    fn quantities() {
        for (s, want) in [
            ("100m", 0.1),
            ("2", 2.0),
            ("1.5", 1.5),
            ("128Mi", 134_217_728.0),
            ("1G", 1e9),
            ("2e3", 2000.0),
            ("1Ki", 1024.0),
            ("250u", 0.00025),
            ("1E", 1e18),
        ] {
            let got = quantity(s).unwrap_or(f64::NAN);
            assert!((got - want).abs() <= want * 1e-12, "{s}: {got} vs {want}");
        }
        assert_eq!(quantity("lots"), None);
        assert_eq!(quantity("1Zi"), None);
    }

    fn find<'a>(g: &'a [Gauge], name: &str, key: &str, val: &str) -> Option<&'a Gauge> {
        g.iter()
            .find(|x| x.name == name && x.tags.iter().any(|(k, v)| k == key && v == val))
    }

    #[test]
    fn pod_maps_to_phase_restarts_reasons_and_resources() {
        let res = |cpu: &str, mem: &str| {
            Some(
                [("cpu", cpu), ("memory", mem)]
                    .map(|(k, v)| (k.to_string(), Quantity(v.into())))
                    .into_iter()
                    .collect(),
            )
        };
        let p = Pod {
            metadata: ObjectMeta {
                name: Some("web-1".into()),
                namespace: Some("prod".into()),
                owner_references: Some(vec![OwnerReference {
                    kind: "ReplicaSet".into(),
                    name: "web-7c".into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some("n1".into()),
                containers: vec![Container {
                    name: "app".into(),
                    resources: Some(ResourceRequirements {
                        requests: res("250m", "64Mi"),
                        limits: res("1", "128Mi"),
                        ..ResourceRequirements::default()
                    }),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "app".into(),
                    container_id: Some(format!("containerd://{}", "ab".repeat(32))),
                    restart_count: 4,
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some("CrashLoopBackOff".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    last_state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            reason: Some("OOMKilled".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
        };
        let Reduced::Pod(ps) = pod(&p) else {
            panic!("a pod")
        };
        let tags = pod_tags(&ps, &Vec::new(), |ns, rs| {
            (ns == "prod" && rs == "web-7c").then(|| "web".to_string())
        });
        let mut g = Vec::new();
        pod_gauges(&ps, &tags, &mut g);
        resource_gauges(&ps, &tags, &mut g);
        let phase = find(&g, "k8s.pod.phase", "k8s.pod.phase", "Running").unwrap();
        assert_eq!(phase.value, 1.0);
        assert!(phase
            .tags
            .contains(&("k8s.deployment.name".into(), "web".into())));
        assert!(phase
            .tags
            .contains(&("k8s.rs.name".into(), "web-7c".into())));
        assert!(phase.tags.contains(&("k8s.node.name".into(), "n1".into())));
        let r = find(&g, "k8s.container.restarts", "k8s.container.name", "app").unwrap();
        assert_eq!(r.value, 4.0);
        assert!(find(
            &g,
            "k8s.container.waiting",
            "k8s.container.reason",
            "CrashLoopBackOff"
        )
        .is_some());
        assert!(find(
            &g,
            "k8s.container.last_terminated",
            "k8s.container.reason",
            "OOMKilled"
        )
        .is_some());
        assert!(find(&g, "k8s.container.terminated", "k8s.container.name", "app").is_none());
        let cpu = g
            .iter()
            .find(|x| x.name == "k8s.container.cpu.request")
            .unwrap();
        assert_eq!(cpu.container.as_deref(), Some(&"ab".repeat(6)[..]));
        assert!((cpu.value - 25.0).abs() < 1e-9, "percent of a core");
        let lim = g
            .iter()
            .find(|x| x.name == "k8s.container.memory.limit")
            .unwrap();
        assert_eq!(lim.value, 134_217_728.0);
    }

    #[test]
    fn workloads_jobs_and_nodes() {
        use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
        let d = Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("prod".into()),
                ..ObjectMeta::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(3),
                ..DeploymentSpec::default()
            }),
            status: Some(DeploymentStatus {
                available_replicas: Some(2),
                updated_replicas: Some(1),
                ..DeploymentStatus::default()
            }),
        };
        let Reduced::Workload(w) = deployment(&d) else {
            panic!("a workload")
        };
        let mut g = Vec::new();
        workload_gauges(&w, &Vec::new(), &mut g);
        let v = |name: &str| g.iter().find(|x| x.name == name).map(|x| x.value);
        assert_eq!(v("k8s.deployment.replicas.desired"), Some(3.0));
        assert_eq!(v("k8s.deployment.replicas.available"), Some(2.0));
        assert_eq!(v("k8s.deployment.replicas.updated"), Some(1.0));
        assert_eq!(v("k8s.deployment.replicas.ready"), Some(0.0));
        let nd = Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                ..ObjectMeta::default()
            },
            status: Some(NodeStatus {
                capacity: Some(
                    [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")]
                        .map(|(k, v)| (k.to_string(), Quantity(v.into())))
                        .into_iter()
                        .collect(),
                ),
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..NodeCondition::default()
                }]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        let Reduced::Node(ns) = node(&nd) else {
            panic!("a node")
        };
        let mut g = Vec::new();
        node_gauges(&ns, &Vec::new(), &mut g);
        let v = |name: &str| g.iter().find(|x| x.name == name).map(|x| x.value);
        assert_eq!(v("k8s.node.capacity.cpu"), Some(4.0));
        assert_eq!(v("k8s.node.capacity.memory"), Some(8.0 * 1024f64.powi(3)));
        assert_eq!(v("k8s.node.capacity.pods"), Some(110.0));
        assert_eq!(v("k8s.node.allocatable.cpu"), None);
        assert!(find(
            &g,
            "k8s.node.condition",
            "k8s.node.condition.status",
            "True"
        )
        .is_some());
    }
}

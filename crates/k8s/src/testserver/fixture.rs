//! A small cluster for the cluster-state tests (the agent's and this
//! crate's): two nodes, a deployment with its replicaset, a daemonset, a
//! statefulset, a job of a cronjob, and three pods, with the status
//! numbers the gauges must show.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetStatus, Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet,
    StatefulSet, StatefulSetSpec, StatefulSetStatus,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    Node, NodeCondition, NodeStatus, Pod, PodSpec, PodStatus, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::Server;

/// The container id (64 hex digits) of pod `web-7c-a`'s `app`, on `node-a`.
pub const CTR_A: &str = "a1a1a1a1a1a1b2b2b2b2b2b2c3c3c3c3c3c3d4d4d4d4d4d4e5e5e5e5e5e5f6f6";
/// The container id of pod `web-7c-b`'s `app`, on `node-b`.
pub const CTR_B: &str = "0b0b0b0b0b0b1c1c1c1c1c1c2d2d2d2d2d2d3e3e3e3e3e3e4f4f4f4f4f4f5a5a";

fn meta(ns: &str, name: &str, owner: Option<(&str, &str)>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: (!ns.is_empty()).then(|| ns.to_string()),
        labels: Some(BTreeMap::from([("app".to_string(), name.to_string())])),
        owner_references: owner.map(|(kind, n)| {
            vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: n.into(),
                uid: format!("uid-{n}"),
                controller: Some(true),
                ..OwnerReference::default()
            }]
        }),
        ..ObjectMeta::default()
    }
}

fn quantities(l: &[(&str, &str)]) -> Option<BTreeMap<String, Quantity>> {
    Some(
        l.iter()
            .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
            .collect(),
    )
}

fn node(name: &str, cap: [&str; 3], ready: &str) -> Node {
    Node {
        metadata: meta("", name, None),
        spec: None,
        status: Some(NodeStatus {
            capacity: quantities(&[("cpu", cap[0]), ("memory", cap[1]), ("pods", cap[2])]),
            allocatable: quantities(&[("cpu", "1500m"), ("memory", "3Gi"), ("pods", cap[2])]),
            conditions: Some(vec![
                NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    ..NodeCondition::default()
                },
                NodeCondition {
                    type_: "MemoryPressure".into(),
                    status: "False".into(),
                    ..NodeCondition::default()
                },
            ]),
            ..NodeStatus::default()
        }),
    }
}

/// A pod with one container `app`.
#[allow(clippy::too_many_arguments)]
fn pod(
    name: &str,
    node: &str,
    owner: (&str, &str),
    cid: &str,
    restarts: i32,
    waiting: Option<&str>,
    requests: &[(&str, &str)],
    limits: &[(&str, &str)],
) -> Pod {
    let state = waiting.map(|r| ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(r.into()),
            ..ContainerStateWaiting::default()
        }),
        ..ContainerState::default()
    });
    let last = waiting.map(|_| ContainerState {
        terminated: Some(ContainerStateTerminated {
            reason: Some("Error".into()),
            exit_code: 1,
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    });
    Pod {
        metadata: meta("shop", name, Some(owner)),
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            containers: vec![Container {
                name: "app".into(),
                resources: Some(ResourceRequirements {
                    requests: quantities(requests),
                    limits: (!limits.is_empty()).then(|| quantities(limits)).flatten(),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some(
                if waiting.is_some() {
                    "Pending"
                } else {
                    "Running"
                }
                .into(),
            ),
            container_statuses: Some(vec![ContainerStatus {
                name: "app".into(),
                container_id: Some(format!("containerd://{cid}")),
                ready: waiting.is_none(),
                restart_count: restarts,
                state,
                last_state: last,
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// Serves the cluster: nodes `node-a` (4 cores, 8 GiB, 110 pods, Ready)
/// and `node-b` (2 cores, 4 GiB, 50 pods, not Ready); in namespace
/// `shop`: deployment `web` (3 desired, 2 available, 3 updated, 2 ready)
/// with replicaset `web-7c`, daemonset `logs` (2/1/2/1), statefulset `db`
/// (2/2/1/2), job `backup-1` of cronjob `backup` (1 succeeded, 2 failed,
/// completions 1); pods `web-7c-a` (node-a, Running, 2 restarts, requests
/// 250m/64Mi, limits 500m/128Mi, container [`CTR_A`]), `web-7c-b`
/// (node-b, Pending, CrashLoopBackOff after an Error, 7 restarts,
/// requests 100m/32Mi, container [`CTR_B`]) and `db-0` (node-b, Running).
pub fn cluster_state(srv: &Server) {
    srv.put(&node("node-a", ["4", "8Gi", "110"], "True"));
    srv.put(&node("node-b", ["2", "4Gi", "50"], "False"));
    srv.put(&Deployment {
        metadata: meta("shop", "web", None),
        spec: Some(DeploymentSpec {
            replicas: Some(3),
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus {
            available_replicas: Some(2),
            updated_replicas: Some(3),
            ready_replicas: Some(2),
            ..DeploymentStatus::default()
        }),
    });
    srv.put(&ReplicaSet {
        metadata: meta("shop", "web-7c", Some(("Deployment", "web"))),
        ..ReplicaSet::default()
    });
    srv.put(&DaemonSet {
        metadata: meta("shop", "logs", None),
        status: Some(DaemonSetStatus {
            desired_number_scheduled: 2,
            number_available: Some(1),
            updated_number_scheduled: Some(2),
            number_ready: 1,
            ..DaemonSetStatus::default()
        }),
        ..DaemonSet::default()
    });
    srv.put(&StatefulSet {
        metadata: meta("shop", "db", None),
        spec: Some(StatefulSetSpec {
            replicas: Some(2),
            ..StatefulSetSpec::default()
        }),
        status: Some(StatefulSetStatus {
            available_replicas: Some(2),
            updated_replicas: Some(1),
            ready_replicas: Some(2),
            replicas: 2,
            ..StatefulSetStatus::default()
        }),
    });
    srv.put(&Job {
        metadata: meta("shop", "backup-1", Some(("CronJob", "backup"))),
        spec: Some(JobSpec {
            completions: Some(1),
            ..JobSpec::default()
        }),
        status: Some(JobStatus {
            succeeded: Some(1),
            failed: Some(2),
            ..JobStatus::default()
        }),
    });
    srv.put(&pod(
        "web-7c-a",
        "node-a",
        ("ReplicaSet", "web-7c"),
        CTR_A,
        2,
        None,
        &[("cpu", "250m"), ("memory", "64Mi")],
        &[("cpu", "500m"), ("memory", "128Mi")],
    ));
    srv.put(&pod(
        "web-7c-b",
        "node-b",
        ("ReplicaSet", "web-7c"),
        CTR_B,
        7,
        Some("CrashLoopBackOff"),
        &[("cpu", "100m"), ("memory", "32Mi")],
        &[],
    ));
    srv.put(&pod(
        "db-0",
        "node-b",
        ("StatefulSet", "db"),
        "",
        0,
        None,
        &[],
        &[],
    ));
}

//! Objects for the tests, built from the k8s-openapi types, and waiting
//! helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{
    ContainerStatus, Namespace, Node, NodeAddress, NodeStatus, ObjectReference, Pod, PodSpec,
    PodStatus, Service, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use sonde_k8s::testserver::Server;
use sonde_k8s::{Options, Shared};

pub fn labels(l: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        l.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

pub fn meta(ns: &str, name: &str, l: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: (!ns.is_empty()).then(|| ns.to_string()),
        labels: labels(l),
        ..ObjectMeta::default()
    }
}

pub fn owner_ref(kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        ..OwnerReference::default()
    }
}

pub fn namespace(name: &str, uid: &str, l: &[(&str, &str)]) -> Namespace {
    let mut m = meta("", name, l);
    m.uid = Some(uid.into());
    Namespace {
        metadata: m,
        ..Namespace::default()
    }
}

pub fn deployment(ns: &str, name: &str, uid: &str, replicas: i32) -> Deployment {
    let mut m = meta(ns, name, &[("team", "blue")]);
    m.uid = Some(uid.into());
    Deployment {
        metadata: m,
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: labels(&[("app", name)]),
                ..LabelSelector::default()
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

pub fn replicaset(ns: &str, name: &str, uid: &str, dep: (&str, &str)) -> ReplicaSet {
    let mut m = meta(ns, name, &[("pod-template-hash", "abc")]);
    m.uid = Some(uid.into());
    m.owner_references = Some(vec![owner_ref("Deployment", dep.0, dep.1)]);
    ReplicaSet {
        metadata: m,
        spec: Some(ReplicaSetSpec {
            selector: LabelSelector::default(),
            ..ReplicaSetSpec::default()
        }),
        ..ReplicaSet::default()
    }
}

/// A pod on `node` whose one container has id `cid` (`containerd://`).
pub fn pod(
    ns: &str,
    name: &str,
    node: &str,
    cid: &str,
    l: &[(&str, &str)],
    rs: Option<(&str, &str)>,
) -> Pod {
    let mut m = meta(ns, name, l);
    m.uid = Some(format!("pod-uid-{ns}-{name}"));
    m.owner_references = rs.map(|(n, u)| vec![owner_ref("ReplicaSet", n, u)]);
    Pod {
        metadata: m,
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            pod_ip: Some("10.1.0.9".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "main".into(),
                container_id: Some(format!("containerd://{cid}")),
                image: "busybox".into(),
                image_id: String::new(),
                ready: true,
                restart_count: 0,
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

pub fn service(ns: &str, name: &str, sel: &[(&str, &str)]) -> Service {
    Service {
        metadata: meta(ns, name, &[("svc", name)]),
        spec: Some(ServiceSpec {
            selector: labels(sel),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// An EndpointSlice of service `svc` whose endpoints target `pods`
/// (name, pod uid, node name).
pub fn endpoint_slice(
    ns: &str,
    name: &str,
    svc: &str,
    pods: &[(&str, &str, &str)],
) -> EndpointSlice {
    EndpointSlice {
        metadata: meta(ns, name, &[("kubernetes.io/service-name", svc)]),
        address_type: "IPv4".into(),
        endpoints: pods
            .iter()
            .enumerate()
            .map(|(i, (pod, uid, node))| Endpoint {
                addresses: vec![format!("10.1.1.{}", i + 1)],
                node_name: Some((*node).into()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some((*pod).into()),
                    namespace: Some(ns.into()),
                    uid: Some((*uid).into()),
                    ..ObjectReference::default()
                }),
                ..Endpoint::default()
            })
            .collect(),
        ports: None,
    }
}

/// A node with `l` labels and an InternalIP and Hostname address.
pub fn node(name: &str, uid: &str, ip: &str, l: &[(&str, &str)]) -> Node {
    let mut m = meta("", name, l);
    m.uid = Some(uid.into());
    Node {
        metadata: m,
        spec: None,
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress {
                    type_: "InternalIP".into(),
                    address: ip.into(),
                },
                NodeAddress {
                    type_: "Hostname".into(),
                    address: name.into(),
                },
            ]),
            ..NodeStatus::default()
        }),
    }
}

/// Options reaching `srv` through its kubeconfig (token auth).
pub fn opts(srv: &Server, node: &str) -> Options {
    Options {
        kubeconfig: Some(srv.kubeconfig()),
        node: Some(node.into()),
        quiet: true,
        ..Options::default()
    }
}

/// Waits (up to 20 s) until `f` holds, panicking with `what` otherwise.
pub fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of the k8s label `key` (under the prefix) for a container.
pub fn label(sh: &Shared, cid: &str, key: &str) -> Option<String> {
    let c = sh.cache();
    let l = c.container_labels(cid)?;
    let full = format!("{}{key}", sonde_k8s::labels::PREFIX);
    l.labels
        .into_iter()
        .find(|(k, _)| *k == full)
        .map(|(_, v)| v)
}

//! A small cluster served by `sonde_k8s::testserver`: namespace `shop`,
//! deployment `cart` (replicaset `cart-5f6`), service `cart-svc`, node
//! `test-node`, and a
//! pod `cart-5f6-x7k2p` whose container is a real (podman) one.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ContainerStatus, Namespace, Node, Pod, PodSpec, PodStatus, Service, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sonde_k8s::testserver::Server;

fn labels(l: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        l.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

fn meta(
    ns: &str,
    name: &str,
    uid: &str,
    l: &[(&str, &str)],
    owner: Option<(&str, &str, &str)>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: (!ns.is_empty()).then(|| ns.to_string()),
        uid: Some(uid.into()),
        labels: labels(l),
        owner_references: owner.map(|(kind, name, uid)| {
            vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: name.into(),
                uid: uid.into(),
                controller: Some(true),
                ..OwnerReference::default()
            }]
        }),
        ..ObjectMeta::default()
    }
}

/// The cluster: namespace `shop`, deployment `cart` (replicaset
/// `cart-5f6`), service `cart-svc`, node `test-node` (zone `z1`).
pub fn cluster(srv: &Server) {
    srv.put(&Node {
        metadata: meta("", "test-node", "node-test", &[("zone", "z1")], None),
        ..Node::default()
    });
    srv.put(&Namespace {
        metadata: meta("", "shop", "ns-shop", &[("env", "test")], None),
        ..Namespace::default()
    });
    srv.put(&Deployment {
        metadata: meta("shop", "cart", "dep-cart", &[("team", "checkout")], None),
        ..Deployment::default()
    });
    srv.put(&ReplicaSet {
        metadata: meta(
            "shop",
            "cart-5f6",
            "rs-cart",
            &[],
            Some(("Deployment", "cart", "dep-cart")),
        ),
        ..ReplicaSet::default()
    });
    srv.put(&Service {
        metadata: meta("shop", "cart-svc", "svc-cart", &[], None),
        spec: Some(ServiceSpec {
            selector: labels(&[("app", "cart")]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    });
}

/// The pod of `cart` on `node`, its container `container_id`.
pub fn pod(node: &str, container_id: &str) -> Pod {
    Pod {
        metadata: meta(
            "shop",
            "cart-5f6-x7k2p",
            "pod-cart-1",
            &[("app", "cart")],
            Some(("ReplicaSet", "cart-5f6", "rs-cart")),
        ),
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            pod_ip: Some("10.88.0.7".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "cart".into(),
                container_id: Some(format!("cri-o://{container_id}")),
                image: "busybox".into(),
                ready: true,
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

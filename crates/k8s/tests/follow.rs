//! sonde's cache against the test endpoint: it follows pods added,
//! relabelled and deleted, a deployment scaled, a service's selector
//! changed, a namespace removed; kubectl lists the same pods.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use sonde_k8s::testserver::{Server, ServerOptions};
use sonde_k8s::Watch;

const NODE: &str = "node-1";
const C1: &str = "1111111111111111aaaa";
const C2: &str = "2222222222222222bbbb";
const C3: &str = "3333333333333333cccc";

fn world(srv: &Server) {
    srv.put(&namespace("prod", "ns-uid-prod", &[("env", "production")]));
    srv.put(&deployment("prod", "web", "dep-uid-web", 1));
    srv.put(&replicaset(
        "prod",
        "web-abc",
        "rs-uid-web",
        ("web", "dep-uid-web"),
    ));
    srv.put(&service("prod", "web-svc", &[("app", "web")]));
    srv.put(&pod(
        "prod",
        "web-abc-1",
        NODE,
        C1,
        &[("app", "web")],
        Some(("web-abc", "rs-uid-web")),
    ));
    // another node's pod: not watched
    srv.put(&pod(
        "prod",
        "web-abc-9",
        "node-2",
        C3,
        &[("app", "web")],
        Some(("web-abc", "rs-uid-web")),
    ));
}

#[test]
fn cache_follows_every_change() {
    let srv = Server::start(ServerOptions {
        token: Some("t0ken".into()),
        ..ServerOptions::default()
    });
    world(&srv);
    let w = Watch::start(&opts(&srv, NODE)).expect("start");
    let sh = w.shared();
    wait("the pod mapped", || {
        label(&sh, C1, "pod.name").as_deref() == Some("web-abc-1")
    });
    wait("all watching", || sh.all_watching());
    assert_eq!(label(&sh, C1, "ns.name").as_deref(), Some("prod"));
    assert_eq!(label(&sh, C1, "ns.id").as_deref(), Some("ns-uid-prod"));
    assert_eq!(
        label(&sh, C1, "ns.label.env").as_deref(),
        Some("production")
    );
    assert_eq!(label(&sh, C1, "rs.name").as_deref(), Some("web-abc"));
    assert_eq!(label(&sh, C1, "deployment.name").as_deref(), Some("web"));
    assert_eq!(
        label(&sh, C1, "deployment.id").as_deref(),
        Some("dep-uid-web")
    );
    assert_eq!(
        label(&sh, C1, "deployment.label.team").as_deref(),
        Some("blue")
    );
    assert_eq!(label(&sh, C1, "svc.0.name").as_deref(), Some("web-svc"));
    assert_eq!(label(&sh, C1, "pod.ip").as_deref(), Some("10.1.0.9"));
    assert_eq!(label(&sh, C1, "owner.kind").as_deref(), Some("ReplicaSet"));
    assert_eq!(
        label(&sh, C3, "pod.name"),
        None,
        "another node's pod is not listed"
    );
    assert_eq!(sh.cache().pods().count(), 1);

    // a pod added
    srv.put(&pod(
        "prod",
        "web-abc-2",
        NODE,
        C2,
        &[("app", "web")],
        Some(("web-abc", "rs-uid-web")),
    ));
    wait("pod 2 added", || {
        label(&sh, C2, "pod.name").as_deref() == Some("web-abc-2")
    });
    // relabelled: the service no longer selects it
    srv.put(&pod(
        "prod",
        "web-abc-2",
        NODE,
        C2,
        &[("app", "canary")],
        Some(("web-abc", "rs-uid-web")),
    ));
    wait("pod 2 relabelled", || {
        label(&sh, C2, "pod.label.app").as_deref() == Some("canary")
    });
    assert_eq!(label(&sh, C2, "svc.0.name"), None);
    // the service's selector changed: selects the canary, not the web pod
    srv.put(&service("prod", "web-svc", &[("app", "canary")]));
    wait("selector changed", || {
        label(&sh, C2, "svc.0.name").as_deref() == Some("web-svc")
    });
    assert_eq!(label(&sh, C1, "svc.0.name"), None);
    // deleted
    assert!(srv.delete::<Pod>("prod", "web-abc-2"));
    wait("pod 2 deleted", || label(&sh, C2, "pod.name").is_none());

    // the deployment scaled to 3, then to 1: its pods come and go
    let before = sh.statuses()["deployments"].events;
    srv.put(&deployment("prod", "web", "dep-uid-web", 3));
    let scaled: Vec<String> = (5..7)
        .map(|i| format!("{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}dddd"))
        .collect();
    for (i, cid) in scaled.iter().enumerate() {
        srv.put(&pod(
            "prod",
            &format!("web-abc-s{i}"),
            NODE,
            cid,
            &[("app", "web")],
            Some(("web-abc", "rs-uid-web")),
        ));
    }
    wait("scaled up", || {
        scaled
            .iter()
            .all(|c| label(&sh, c, "deployment.name").as_deref() == Some("web"))
    });
    assert!(
        sh.statuses()["deployments"].events > before,
        "the deployment's change is watched"
    );
    srv.put(&deployment("prod", "web", "dep-uid-web", 1));
    for i in 0..2 {
        srv.delete::<Pod>("prod", &format!("web-abc-s{i}"));
    }
    wait("scaled down", || {
        scaled.iter().all(|c| label(&sh, c, "pod.name").is_none())
    });
    // the deployment relabelled: its pods show the new labels
    let mut d = deployment("prod", "web", "dep-uid-web", 1);
    d.metadata.labels = labels(&[("team", "green")]);
    srv.put(&d);
    wait("deployment relabelled", || {
        label(&sh, C1, "deployment.label.team").as_deref() == Some("green")
    });

    // the namespace removed
    assert!(srv.delete::<Namespace>("", "prod"));
    wait("namespace removed", || label(&sh, C1, "ns.id").is_none());
    assert_eq!(
        label(&sh, C1, "ns.name").as_deref(),
        Some("prod"),
        "the pod still names it"
    );
    // the replicaset and deployment removed: the chain ends at the pod's owner reference
    srv.delete::<ReplicaSet>("prod", "web-abc");
    srv.delete::<Deployment>("prod", "web");
    srv.delete::<Service>("prod", "web-svc");
    wait("owners removed", || {
        label(&sh, C1, "deployment.name").is_none()
    });
    assert_eq!(label(&sh, C1, "rs.name").as_deref(), Some("web-abc"));
    let notes = sh.notes().join("\n");
    assert!(notes.contains("Kubernetes watch pods: watching"), "{notes}");
}

#[test]
fn kubectl_lists_what_sonde_lists() {
    let srv = Server::start(ServerOptions {
        token: Some("kt".into()),
        ..ServerOptions::default()
    });
    world(&srv);
    srv.put(&pod(
        "kube-system",
        "dns-1",
        NODE,
        "4444444444444444",
        &[],
        None,
    ));
    let w = Watch::start(&opts(&srv, NODE)).expect("start");
    let sh = w.shared();
    wait("synced", || sh.cache().pods().count() == 2);
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            srv.kubeconfig().to_str().unwrap(),
            "get",
            "pods",
            "-A",
            "-o",
            "json",
        ])
        .args(["--field-selector", &format!("spec.nodeName={NODE}")])
        .output()
        .expect("kubectl runs (it is on the image)");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["kind"], "List");
    let mut theirs: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let mut ours: Vec<String> = sh
        .cache()
        .pods()
        .map(|p| format!("{}/{}", p.meta.namespace, p.meta.name))
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(theirs, ours);
    assert_eq!(ours, ["kube-system/dns-1", "prod/web-abc-1"]);
    // and without the selector kubectl sees the other node's pod too
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            srv.kubeconfig().to_str().unwrap(),
            "get",
            "pods",
            "-n",
            "prod",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pod/web-abc-1\npod/web-abc-9\n"
    );
}

//! EndpointSlices and the node against the test endpoint: a slice added,
//! changed and removed changes the services of a pod (for services whose
//! selector does not select it, or that have none); the node relabelled
//! changes the node metadata of its pods; a 403 on either names the
//! resource and leaves the other watches running; kubectl lists the same
//! slices and node.

mod common;

use common::*;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use sonde_k8s::testserver::{Server, ServerOptions};
use sonde_k8s::Watch;

const NODE: &str = "node-1";
const C1: &str = "1111111111111111aaaa";
const C2: &str = "2222222222222222bbbb";

fn world(srv: &Server) {
    srv.put(&namespace("prod", "ns-uid-prod", &[]));
    srv.put(&pod("prod", "web-1", NODE, C1, &[("app", "web")], None));
    srv.put(&pod("prod", "api-1", NODE, C2, &[("app", "api")], None));
    // selects web-1
    srv.put(&service("prod", "web-svc", &[("app", "web")]));
    // no selector: its endpoints come from its slices only
    srv.put(&service("prod", "ext", &[]));
    // a selector that matches neither pod
    srv.put(&service("prod", "legacy", &[("app", "old")]));
    srv.put(&node(NODE, "node-uid-1", "192.168.7.1", &[("zone", "a")]));
    srv.put(&node(
        "node-2",
        "node-uid-2",
        "192.168.7.2",
        &[("zone", "b")],
    ));
}

fn svc_names(sh: &sonde_k8s::Shared, cid: &str) -> Vec<String> {
    (0..8)
        .map_while(|i| label(sh, cid, &format!("svc.{i}.name")))
        .collect()
}

#[test]
fn slices_map_services_and_node_follows() {
    let srv = Server::start(ServerOptions::default());
    world(&srv);
    let pod_uid = |name: &str| format!("pod-uid-prod-{name}");
    srv.put(&endpoint_slice(
        "prod",
        "ext-abc",
        "ext",
        &[("web-1", &pod_uid("web-1"), NODE)],
    ));
    // an endpoint on another node: not kept
    srv.put(&endpoint_slice(
        "prod",
        "legacy-abc",
        "legacy",
        &[("far-1", "pod-uid-far", "node-2")],
    ));
    let w = Watch::start(&opts(&srv, NODE)).expect("start");
    let sh = w.shared();
    wait("all watching", || sh.all_watching());
    wait("web-1 in ext", || svc_names(&sh, C1) == ["ext", "web-svc"]);
    assert_eq!(svc_names(&sh, C2), Vec::<String>::new());
    assert_eq!(
        sh.cache().counts()[5],
        1,
        "only the slice naming a pod of this node"
    );

    // the node: this one only
    assert_eq!(label(&sh, C1, "node.name").as_deref(), Some(NODE));
    assert_eq!(label(&sh, C1, "node.uid").as_deref(), Some("node-uid-1"));
    assert_eq!(label(&sh, C1, "node.label.zone").as_deref(), Some("a"));
    assert_eq!(
        label(&sh, C1, "node.address.InternalIP").as_deref(),
        Some("192.168.7.1")
    );
    assert_eq!(
        label(&sh, C1, "node.address.Hostname").as_deref(),
        Some(NODE)
    );
    assert_eq!(sh.cache().counts()[6], 1);
    assert!(sh.cache().node("node-2").is_none());

    // a slice changed: ext now targets api-1, and legacy (whose selector
    // matches nothing) gets web-1 through a slice of its own
    srv.put(&endpoint_slice(
        "prod",
        "ext-abc",
        "ext",
        &[("api-1", &pod_uid("api-1"), NODE)],
    ));
    wait("ext moved to api-1", || svc_names(&sh, C2) == ["ext"]);
    wait("web-1 left ext", || svc_names(&sh, C1) == ["web-svc"]);
    srv.put(&endpoint_slice(
        "prod",
        "legacy-abc",
        "legacy",
        &[
            ("far-1", "pod-uid-far", "node-2"),
            ("web-1", &pod_uid("web-1"), NODE),
        ],
    ));
    wait("web-1 in legacy", || {
        svc_names(&sh, C1) == ["legacy", "web-svc"]
    });
    // removed
    assert!(srv.delete::<EndpointSlice>("prod", "ext-abc"));
    wait("ext slice removed", || svc_names(&sh, C2).is_empty());
    assert!(srv.delete::<EndpointSlice>("prod", "legacy-abc"));
    wait("legacy slice removed", || svc_names(&sh, C1) == ["web-svc"]);
    assert_eq!(sh.cache().counts()[5], 0);

    // the node relabelled, its address changed; the other node's change is
    // not watched
    let rev = label(&sh, C1, "rev");
    srv.put(&node(
        NODE,
        "node-uid-1",
        "192.168.7.9",
        &[("zone", "c"), ("gpu", "yes")],
    ));
    srv.put(&node(
        "node-2",
        "node-uid-2",
        "192.168.7.2",
        &[("zone", "d")],
    ));
    wait("node relabelled", || {
        label(&sh, C1, "node.label.zone").as_deref() == Some("c")
    });
    assert_eq!(label(&sh, C1, "node.label.gpu").as_deref(), Some("yes"));
    assert_eq!(
        label(&sh, C2, "node.address.InternalIP").as_deref(),
        Some("192.168.7.9")
    );
    assert_ne!(label(&sh, C1, "rev"), rev, "the labels' revision changed");
    // the node removed: its pods keep their own metadata
    assert!(srv.delete::<Node>("", NODE));
    wait("node removed", || label(&sh, C1, "node.name").is_none());
    assert_eq!(label(&sh, C1, "pod.name").as_deref(), Some("web-1"));

    // -v names the new watches
    let notes = sh.notes().join("\n");
    for t in ["endpointslices", "nodes"] {
        assert!(
            notes.contains(&format!("Kubernetes watch {t}: watching")),
            "{notes}"
        );
    }
    assert!(
        notes.contains("0 endpointslices naming pods of this node, 0 nodes"),
        "{notes}"
    );
}

#[test]
fn forbidden_slices_and_nodes_name_the_resource() {
    let srv = Server::start(ServerOptions::default());
    world(&srv);
    srv.put(&endpoint_slice(
        "prod",
        "ext-abc",
        "ext",
        &[("web-1", "pod-uid-prod-web-1", NODE)],
    ));
    srv.forbid("endpointslices", true);
    srv.forbid("nodes", true);
    let w = Watch::start(&opts(&srv, NODE)).expect("start");
    let sh = w.shared();
    wait("both forbidden", || {
        let s = sh.statuses();
        ["endpointslices", "nodes"]
            .iter()
            .all(|t| s.get(t).is_some_and(|r| r.state == "error"))
    });
    let s = sh.statuses();
    for t in ["endpointslices", "nodes"] {
        let e = &s[t].last_error;
        assert!(
            e.starts_with(&format!("{t}: list forbidden (403, RBAC)")),
            "{e}"
        );
        assert!(e.contains(&format!("needs list and watch on {t}")), "{e}");
    }
    // the other watches run: the pod maps, its selector service too
    wait("pods and services watched", || {
        svc_names(&sh, C1) == ["web-svc"]
    });
    assert_eq!(s["pods"].errors, 0);
    assert!(label(&sh, C1, "node.name").is_none());
    let notes = sh.notes().join("\n");
    assert!(notes.contains("Kubernetes watch nodes: error"), "{notes}");
    assert!(
        notes.contains("Kubernetes watch endpointslices: error"),
        "{notes}"
    );
    // allowed again: the watches recover (after their backoff)
    srv.forbid("endpointslices", false);
    srv.forbid("nodes", false);
    wait("slices listed", || svc_names(&sh, C1) == ["ext", "web-svc"]);
    wait("node listed", || {
        label(&sh, C1, "node.name").as_deref() == Some(NODE)
    });
    wait("all watching", || sh.all_watching());
}

fn kubectl_json(srv: &Server, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("kubectl")
        .args(["--kubeconfig", srv.kubeconfig().to_str().unwrap(), "get"])
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("kubectl runs (it is on the image)");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn kubectl_lists_the_slices_and_node_sonde_lists() {
    let srv = Server::start(ServerOptions::default());
    world(&srv);
    srv.put(&endpoint_slice(
        "prod",
        "ext-abc",
        "ext",
        &[("web-1", "pod-uid-prod-web-1", NODE)],
    ));
    srv.put(&endpoint_slice(
        "prod",
        "web-svc-abc",
        "web-svc",
        &[
            ("web-1", "pod-uid-prod-web-1", NODE),
            ("far-1", "u-far", "node-2"),
        ],
    ));
    srv.put(&endpoint_slice(
        "prod",
        "legacy-abc",
        "legacy",
        &[("far-1", "u-far", "node-2")],
    ));
    // a pod elsewhere: kubectl sees it, sonde does not list it
    srv.put(&pod(
        "prod",
        "far-1",
        "node-2",
        "9999999999999999",
        &[],
        None,
    ));
    let w = Watch::start(&opts(&srv, NODE)).expect("start");
    let sh = w.shared();
    wait("all watching", || sh.all_watching());
    wait("slices", || sh.cache().counts()[5] == 2);

    // the slices: kubectl lists all three; those with an endpoint on this
    // node are the ones sonde keeps, with the same pods
    let v = kubectl_json(&srv, &["endpointslices", "-A"]);
    assert_eq!(v["kind"], "List");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let mut theirs: Vec<String> = items
        .iter()
        .flat_map(|s| {
            let svc = s["metadata"]["labels"]["kubernetes.io/service-name"]
                .as_str()
                .unwrap()
                .to_string();
            s["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["nodeName"] == NODE)
                .map(move |e| format!("{svc}:{}", e["targetRef"]["uid"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut ours: Vec<String> = sh
        .cache()
        .slices()
        .flat_map(|s| {
            s.pods
                .iter()
                .map(|(_, uid)| format!("{}:{uid}", s.service))
                .collect::<Vec<_>>()
        })
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(theirs, ours);
    assert_eq!(
        ours,
        ["ext:pod-uid-prod-web-1", "web-svc:pod-uid-prod-web-1"]
    );

    // the node: kubectl with sonde's field selector lists the node sonde has
    let v = kubectl_json(
        &srv,
        &[
            "nodes",
            "--field-selector",
            &format!("metadata.name={NODE}"),
        ],
    );
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let n = &items[0];
    let c = sh.cache();
    let ours = c.node(NODE).expect("the node");
    assert_eq!(n["metadata"]["uid"].as_str(), Some(&*ours.meta.uid));
    assert_eq!(n["metadata"]["labels"]["zone"].as_str(), Some("a"));
    let addrs: Vec<(String, String)> = n["status"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let our_addrs: Vec<(String, String)> = ours
        .addresses
        .iter()
        .map(|(t, a)| (t.to_string(), a.to_string()))
        .collect();
    assert_eq!(addrs, our_addrs);
    drop(c);
    // without the selector kubectl lists both nodes
    let v = kubectl_json(&srv, &["nodes"]);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert!(srv.delete::<Pod>("prod", "far-1"));
}

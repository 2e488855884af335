//! The container labels that carry a container's Kubernetes metadata into
//! the state and into capture files: `container` events hold them like any
//! runtime label, so sysdig 0.29.3 reads the files unchanged and `sonde -r`
//! shows the same `k8s.*` fields with no API server. `sonde-fields`
//! (`k8s.rs`) reads the same keys.
//!
//! Keys, all under [`PREFIX`]: `pod.name`, `pod.uid`, `ns.name`,
//! `pod.ip`, `pod.label.<key>`, `ns.id`, `ns.label.<key>`, `owner.kind`,
//! `owner.name` (the pod's controller), `<kind>.name`, `<kind>.id`,
//! `<kind>.label.<key>` for every owner of the chain (`rs`, `deployment`,
//! `rc`, `daemonset`, `statefulset`, `job`, `cronjob`),
//! `svc.<i>.name`, `svc.<i>.id`, `svc.<i>.label.<key>` for each selecting
//! service (by name: those whose selector matches the pod, and those whose
//! EndpointSlices target it), `node.name`, `node.uid`, `node.label.<key>`
//! and `node.address.<type>` (the pod's node, when watched; addresses of
//! one type comma-separated), and `rev` (a hash of the others).

/// The prefix of every key.
pub const PREFIX: &str = "sonde.k8s/";
/// The pod's name.
pub const POD_NAME: &str = "sonde.k8s/pod.name";
/// The pod's uid.
pub const POD_UID: &str = "sonde.k8s/pod.uid";
/// The pod's namespace.
pub const NS_NAME: &str = "sonde.k8s/ns.name";
/// The pod's IP address.
pub const POD_IP: &str = "sonde.k8s/pod.ip";
/// The name of the pod's node.
pub const NODE_NAME: &str = "sonde.k8s/node.name";
/// The uid of the pod's node.
pub const NODE_UID: &str = "sonde.k8s/node.uid";
/// The kind of the pod's controller.
pub const OWNER_KIND: &str = "sonde.k8s/owner.kind";
/// The name of the pod's controller.
pub const OWNER_NAME: &str = "sonde.k8s/owner.name";
/// A hash of the other labels: changes when they change.
pub const REV: &str = "sonde.k8s/rev";

/// `labels` with the keys under [`PREFIX`] replaced by `k8s` (None: removed).
pub fn merge(labels: &mut Vec<(String, String)>, k8s: Option<&[(String, String)]>) {
    labels.retain(|(k, _)| !k.starts_with(PREFIX));
    if let Some(k) = k8s {
        labels.extend(k.iter().cloned());
    }
}

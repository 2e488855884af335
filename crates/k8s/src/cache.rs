//! The metadata cache: the objects the watches keep current (pods of this
//! node, namespaces, services, the EndpointSlices with endpoints on this
//! node, this node, and the owners pods point to), reduced to
//! what the `k8s.*` fields show, with a bound on every table. Also the
//! mapping from a container id to its pod, its node, the pod's owner chain
//! and its services (those whose selector matches the pod's labels, and
//! those whose EndpointSlices name the pod as an endpoint), rendered as the container labels that carry
//! it into the state and into capture files ([`crate::labels`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use crate::labels;

/// Key/value labels of an object, sorted by key.
pub type Labels = Vec<(Box<str>, Box<str>)>;

/// The kinds of object that own pods (directly or through another owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OwnerKind {
    /// `ReplicaSet` (`k8s.rs.*`).
    ReplicaSet,
    /// `Deployment` (`k8s.deployment.*`).
    Deployment,
    /// `ReplicationController` (`k8s.rc.*`).
    ReplicationController,
    /// `DaemonSet`.
    DaemonSet,
    /// `StatefulSet`.
    StatefulSet,
    /// `Job`.
    Job,
    /// `CronJob`.
    CronJob,
}

impl OwnerKind {
    /// The Kubernetes kind name (`ReplicaSet`, ...).
    pub fn kind(self) -> &'static str {
        match self {
            OwnerKind::ReplicaSet => "ReplicaSet",
            OwnerKind::Deployment => "Deployment",
            OwnerKind::ReplicationController => "ReplicationController",
            OwnerKind::DaemonSet => "DaemonSet",
            OwnerKind::StatefulSet => "StatefulSet",
            OwnerKind::Job => "Job",
            OwnerKind::CronJob => "CronJob",
        }
    }

    /// The kind of a Kubernetes kind name.
    pub fn from_kind(s: &str) -> Option<OwnerKind> {
        Some(match s {
            "ReplicaSet" => OwnerKind::ReplicaSet,
            "Deployment" => OwnerKind::Deployment,
            "ReplicationController" => OwnerKind::ReplicationController,
            "DaemonSet" => OwnerKind::DaemonSet,
            "StatefulSet" => OwnerKind::StatefulSet,
            "Job" => OwnerKind::Job,
            "CronJob" => OwnerKind::CronJob,
            _ => return None,
        })
    }

    /// The short name in field and label keys (`rs`, `deployment`, ...).
    pub fn short(self) -> &'static str {
        match self {
            OwnerKind::ReplicaSet => "rs",
            OwnerKind::Deployment => "deployment",
            OwnerKind::ReplicationController => "rc",
            OwnerKind::DaemonSet => "daemonset",
            OwnerKind::StatefulSet => "statefulset",
            OwnerKind::Job => "job",
            OwnerKind::CronJob => "cronjob",
        }
    }

    /// Every kind.
    pub const ALL: [OwnerKind; 7] = [
        OwnerKind::ReplicaSet,
        OwnerKind::Deployment,
        OwnerKind::ReplicationController,
        OwnerKind::DaemonSet,
        OwnerKind::StatefulSet,
        OwnerKind::Job,
        OwnerKind::CronJob,
    ];
}

/// An owner reference: the controller of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// Its kind, when one sonde follows.
    pub kind: Option<OwnerKind>,
    /// The kind as the API names it.
    pub kind_name: Box<str>,
    /// Its name.
    pub name: Box<str>,
    /// Its uid.
    pub uid: Box<str>,
}

/// The metadata sonde keeps of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: Box<str>,
    /// Name.
    pub name: Box<str>,
    /// Uid.
    pub uid: Box<str>,
    /// Labels, sorted by key.
    pub labels: Labels,
    /// The controlling owner reference.
    pub owner: Option<OwnerRef>,
}

/// A pod of this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodObj {
    /// Its metadata.
    pub meta: Meta,
    /// `status.podIP`.
    pub ip: Box<str>,
    /// `spec.nodeName`.
    pub node: Box<str>,
    /// Ids of its containers (runtime prefix stripped, full length).
    pub containers: Vec<Box<str>>,
}

/// A service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvcObj {
    /// Its metadata.
    pub meta: Meta,
    /// `spec.selector` (empty: selects nothing).
    pub selector: Labels,
}

/// An EndpointSlice, reduced to the pods of this node it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliceObj {
    /// Its metadata.
    pub meta: Meta,
    /// The service it belongs to (label `kubernetes.io/service-name`).
    pub service: Box<str>,
    /// The pods its endpoints target (`targetRef` name and uid), those on
    /// this node (or with no node named) only.
    pub pods: Vec<(Box<str>, Box<str>)>,
}

impl SliceObj {
    /// Whether an endpoint of the slice targets the pod.
    pub fn targets(&self, pod: &Meta) -> bool {
        self.pods.iter().any(|(name, uid)| {
            if uid.is_empty() {
                *name == pod.name
            } else {
                *uid == pod.uid
            }
        })
    }
}

/// A node: metadata and `status.addresses`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeObj {
    /// Its metadata.
    pub meta: Meta,
    /// Addresses: type (`InternalIP`, `Hostname`, ...) and address.
    pub addresses: Vec<(Box<str>, Box<str>)>,
}

/// The bound on each table: objects past it are dropped (and counted).
pub const DEFAULT_MAX_OBJECTS: usize = 100_000;

/// Short container ids are this long (as the state keys containers).
pub const SHORT_ID: usize = 12;

/// The cache the watches fill; see the module docs.
#[derive(Debug)]
pub struct Cache {
    /// Pods, by uid.
    pods: HashMap<Box<str>, PodObj>,
    /// Pod uid by short container id.
    by_container: HashMap<Box<str>, Box<str>>,
    /// Namespaces, by name.
    namespaces: HashMap<Box<str>, Meta>,
    /// Services, by namespace and uid.
    services: BTreeMap<(Box<str>, Box<str>), SvcObj>,
    /// Owners (every [`OwnerKind`]), by uid.
    owners: HashMap<Box<str>, (OwnerKind, Meta)>,
    /// EndpointSlices naming pods of this node, by namespace and uid.
    slices: BTreeMap<(Box<str>, Box<str>), SliceObj>,
    /// Nodes (the watch selects this node only), by name.
    nodes: HashMap<Box<str>, NodeObj>,
    /// Per table, the uids (names for namespaces) seen since a relist began.
    relisting: HashMap<&'static str, HashSet<Box<str>>>,
    max_objects: usize,
    /// Objects dropped at the bound.
    pub dropped: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new(DEFAULT_MAX_OBJECTS)
    }
}

/// The short form of a container id from a pod status
/// (`containerd://<64 hex>`, `cri-o://...`, `docker://...`): the runtime
/// prefix stripped, the first 12 characters.
pub fn short_container_id(id: &str) -> &str {
    let id = id.rsplit_once("://").map_or(id, |(_, rest)| rest);
    match id.char_indices().nth(SHORT_ID) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

impl Cache {
    /// An empty cache holding at most `max_objects` objects per table.
    pub fn new(max_objects: usize) -> Cache {
        Cache {
            pods: HashMap::new(),
            by_container: HashMap::new(),
            namespaces: HashMap::new(),
            services: BTreeMap::new(),
            owners: HashMap::new(),
            slices: BTreeMap::new(),
            nodes: HashMap::new(),
            relisting: HashMap::new(),
            max_objects,
            dropped: 0,
        }
    }

    /// Object counts: pods, namespaces, services, owners, container ids,
    /// EndpointSlices (those naming pods of this node), nodes.
    pub fn counts(&self) -> [usize; 7] {
        [
            self.pods.len(),
            self.namespaces.len(),
            self.services.len(),
            self.owners.len(),
            self.by_container.len(),
            self.slices.len(),
            self.nodes.len(),
        ]
    }

    /// A relist of `table` begins: objects it does not list again are
    /// removed when it ends ([`Cache::relist_done`]).
    pub fn relist_begin(&mut self, table: &'static str) {
        self.relisting.insert(table, HashSet::new());
    }

    fn relist_seen(&mut self, table: &'static str, key: &str) {
        if let Some(s) = self.relisting.get_mut(table) {
            s.insert(key.into());
        }
    }

    /// A relist of `table` ended: drops what it did not list.
    pub fn relist_done(&mut self, table: &'static str, kind: Option<OwnerKind>) {
        let Some(seen) = self.relisting.remove(table) else {
            return;
        };
        match table {
            "pods" => {
                let gone: Vec<Box<str>> = self
                    .pods
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                for uid in gone {
                    self.delete_pod(&uid);
                }
            }
            "namespaces" => self.namespaces.retain(|k, _| seen.contains(k)),
            "services" => self.services.retain(|(_, uid), _| seen.contains(uid)),
            "endpointslices" => self.slices.retain(|(_, uid), _| seen.contains(uid)),
            "nodes" => self.nodes.retain(|k, _| seen.contains(k)),
            _ => self
                .owners
                .retain(|k, (kd, _)| Some(*kd) != kind || seen.contains(k)),
        }
    }

    fn full(&mut self, len: usize) -> bool {
        if len >= self.max_objects {
            self.dropped += 1;
            return true;
        }
        false
    }

    /// Adds or replaces a pod.
    pub fn apply_pod(&mut self, pod: PodObj) {
        self.relist_seen("pods", &pod.meta.uid);
        let old = self.pods.remove(&pod.meta.uid);
        if let Some(old) = &old {
            self.unmap(old);
        } else if self.full(self.pods.len()) {
            return;
        }
        for c in &pod.containers {
            let short = short_container_id(c);
            if !short.is_empty() {
                self.by_container.insert(short.into(), pod.meta.uid.clone());
            }
        }
        self.pods.insert(pod.meta.uid.clone(), pod);
    }

    /// Removes a pod.
    pub fn delete_pod(&mut self, uid: &str) {
        if let Some(old) = self.pods.remove(uid) {
            self.unmap(&old);
        }
    }

    /// Forgets the container ids of a pod (those still mapped to it).
    fn unmap(&mut self, pod: &PodObj) {
        for c in &pod.containers {
            let short = short_container_id(c);
            if self.by_container.get(short) == Some(&pod.meta.uid) {
                self.by_container.remove(short);
            }
        }
    }

    /// Adds or replaces a namespace.
    pub fn apply_namespace(&mut self, ns: Meta) {
        self.relist_seen("namespaces", &ns.name);
        if !self.namespaces.contains_key(&ns.name) && self.full(self.namespaces.len()) {
            return;
        }
        self.namespaces.insert(ns.name.clone(), ns);
    }

    /// Removes a namespace.
    pub fn delete_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    /// Adds or replaces a service.
    pub fn apply_service(&mut self, svc: SvcObj) {
        self.relist_seen("services", &svc.meta.uid);
        let key = (svc.meta.namespace.clone(), svc.meta.uid.clone());
        if !self.services.contains_key(&key) && self.full(self.services.len()) {
            return;
        }
        self.services.insert(key, svc);
    }

    /// Removes a service.
    pub fn delete_service(&mut self, namespace: &str, uid: &str) {
        self.services
            .remove(&(Box::from(namespace), Box::from(uid)));
    }

    /// Adds or replaces an EndpointSlice; one that names no pod of this
    /// node is removed (nothing to map).
    pub fn apply_slice(&mut self, slice: SliceObj) {
        self.relist_seen("endpointslices", &slice.meta.uid);
        let key = (slice.meta.namespace.clone(), slice.meta.uid.clone());
        if slice.pods.is_empty() {
            self.slices.remove(&key);
            return;
        }
        if !self.slices.contains_key(&key) && self.full(self.slices.len()) {
            return;
        }
        self.slices.insert(key, slice);
    }

    /// Removes an EndpointSlice.
    pub fn delete_slice(&mut self, namespace: &str, uid: &str) {
        self.slices.remove(&(Box::from(namespace), Box::from(uid)));
    }

    /// The EndpointSlices naming pods of this node.
    pub fn slices(&self) -> impl Iterator<Item = &SliceObj> {
        self.slices.values()
    }

    /// Adds or replaces a node.
    pub fn apply_node(&mut self, node: NodeObj) {
        self.relist_seen("nodes", &node.meta.name);
        if !self.nodes.contains_key(&node.meta.name) && self.full(self.nodes.len()) {
            return;
        }
        self.nodes.insert(node.meta.name.clone(), node);
    }

    /// Removes a node.
    pub fn delete_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// A node, by name.
    pub fn node(&self, name: &str) -> Option<&NodeObj> {
        self.nodes.get(name)
    }

    /// Adds or replaces an owner (`table`: its resource name).
    pub fn apply_owner(&mut self, table: &'static str, kind: OwnerKind, meta: Meta) {
        self.relist_seen(table, &meta.uid);
        if !self.owners.contains_key(&meta.uid) && self.full(self.owners.len()) {
            return;
        }
        self.owners.insert(meta.uid.clone(), (kind, meta));
    }

    /// Removes an owner.
    pub fn delete_owner(&mut self, uid: &str) {
        self.owners.remove(uid);
    }

    /// The pods of this node.
    pub fn pods(&self) -> impl Iterator<Item = &PodObj> {
        self.pods.values()
    }

    /// A namespace, by name.
    pub fn namespace(&self, name: &str) -> Option<&Meta> {
        self.namespaces.get(name)
    }

    /// The pod a container (any length of id, runtime prefix or not)
    /// belongs to.
    pub fn pod_of(&self, container_id: &str) -> Option<&PodObj> {
        let uid = self.by_container.get(short_container_id(container_id))?;
        self.pods.get(uid)
    }

    /// Everything known about the pod of a container, as the labels that
    /// carry it ([`crate::labels`]), with a revision that changes with
    /// them; None when no pod of this node runs that container.
    pub fn container_labels(&self, container_id: &str) -> Option<PodLabels> {
        let pod = self.pod_of(container_id)?;
        let mut out = BTreeMap::new();
        let m = &pod.meta;
        out.insert(labels::POD_NAME.to_string(), m.name.to_string());
        out.insert(labels::POD_UID.to_string(), m.uid.to_string());
        out.insert(labels::NS_NAME.to_string(), m.namespace.to_string());
        if !pod.ip.is_empty() {
            out.insert(labels::POD_IP.to_string(), pod.ip.to_string());
        }
        put_labels(&mut out, "pod", &m.labels);
        if let Some(ns) = self.namespaces.get(&m.namespace) {
            out.insert(format!("{}ns.id", labels::PREFIX), ns.uid.to_string());
            put_labels(&mut out, "ns", &ns.labels);
        }
        if let Some(o) = &m.owner {
            out.insert(labels::OWNER_KIND.to_string(), o.kind_name.to_string());
            out.insert(labels::OWNER_NAME.to_string(), o.name.to_string());
        }
        // the owner chain: replicaset -> deployment, job -> cronjob, ...
        let mut next = m.owner.clone();
        let mut depth = 0;
        while let Some(o) = next.take() {
            depth += 1;
            let Some(kind) = o.kind else { break };
            let short = kind.short();
            out.insert(
                format!("{}{short}.name", labels::PREFIX),
                o.name.to_string(),
            );
            out.insert(format!("{}{short}.id", labels::PREFIX), o.uid.to_string());
            if let Some((_, meta)) = self.owners.get(&o.uid) {
                put_labels(&mut out, short, &meta.labels);
                if depth < 4 {
                    next.clone_from(&meta.owner);
                }
            }
        }
        self.put_node(&mut out, &pod.node);
        self.put_services(&mut out, m);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        out.hash(&mut h);
        let rev = h.finish();
        out.insert(labels::REV.to_string(), format!("{rev:016x}"));
        Some(PodLabels {
            rev,
            labels: out.into_iter().collect(),
        })
    }
}

impl Cache {
    /// The node's name, uid, labels and addresses (`node.address.<type>`,
    /// comma-separated when a type has several).
    fn put_node(&self, out: &mut BTreeMap<String, String>, name: &str) {
        let Some(n) = self.nodes.get(name) else {
            return;
        };
        out.insert(labels::NODE_NAME.to_string(), n.meta.name.to_string());
        out.insert(labels::NODE_UID.to_string(), n.meta.uid.to_string());
        put_labels(out, "node", &n.meta.labels);
        for (ty, addr) in &n.addresses {
            let v = out
                .entry(format!("{}node.address.{ty}", labels::PREFIX))
                .or_default();
            if !v.is_empty() {
                v.push(',');
            }
            v.push_str(addr);
        }
    }

    /// The services of a pod, by name: those of its namespace whose
    /// selector matches its labels, and those whose EndpointSlices target it.
    fn put_services(&self, out: &mut BTreeMap<String, String>, m: &Meta) {
        let from = (m.namespace.clone(), Box::<str>::from(""));
        let sliced: Vec<&str> = self
            .slices
            .range(from.clone()..)
            .take_while(|((ns, _), _)| *ns == m.namespace)
            .filter(|(_, s)| s.targets(m))
            .map(|(_, s)| &*s.service)
            .collect();
        let mut svcs: Vec<&SvcObj> = self
            .services
            .range(from..)
            .take_while(|((ns, _), _)| *ns == m.namespace)
            .map(|(_, s)| s)
            .filter(|s| selects(&s.selector, &m.labels) || sliced.contains(&&*s.meta.name))
            .collect();
        svcs.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        for (i, s) in svcs.iter().enumerate() {
            out.insert(
                format!("{}svc.{i}.name", labels::PREFIX),
                s.meta.name.to_string(),
            );
            out.insert(
                format!("{}svc.{i}.id", labels::PREFIX),
                s.meta.uid.to_string(),
            );
            put_labels(out, &format!("svc.{i}"), &s.meta.labels);
        }
    }
}

/// The labels carrying a container's Kubernetes metadata (sorted by key,
/// [`crate::labels::REV`] among them) and their revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLabels {
    /// A hash of the labels.
    pub rev: u64,
    /// The labels.
    pub labels: Vec<(String, String)>,
}

fn put_labels(out: &mut BTreeMap<String, String>, what: &str, l: &Labels) {
    for (k, v) in l {
        out.insert(format!("{}{what}.label.{k}", labels::PREFIX), v.to_string());
    }
}

/// Whether a service selector selects an object with `labels` (an empty
/// selector selects nothing, as for endpoints).
pub fn selects(selector: &Labels, labels: &Labels) -> bool {
    !selector.is_empty()
        && selector.iter().all(|(k, v)| {
            labels
                .binary_search_by(|(lk, _)| lk.as_ref().cmp(k.as_ref()))
                .is_ok_and(|i| labels[i].1 == *v)
        })
}

/// Labels from an API map, sorted by key.
pub fn labels_from(m: Option<&BTreeMap<String, String>>) -> Labels {
    m.map(|m| {
        m.iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ns: &str, name: &str, uid: &str, labels: &[(&str, &str)]) -> Meta {
        Meta {
            namespace: ns.into(),
            name: name.into(),
            uid: uid.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            owner: None,
        }
    }

    #[test]
    fn short_ids() {
        let full = "containerd://0123456789abcdef0123";
        assert_eq!(short_container_id(full), "0123456789ab");
        assert_eq!(short_container_id("abc"), "abc");
        assert_eq!(short_container_id("cri-o://é"), "é");
    }

    #[test]
    fn chain_and_services() {
        let mut c = Cache::default();
        let mut rs = meta("prod", "web-7d4", "rs-1", &[("pod-template-hash", "7d4")]);
        rs.owner = Some(OwnerRef {
            kind: Some(OwnerKind::Deployment),
            kind_name: "Deployment".into(),
            name: "web".into(),
            uid: "dep-1".into(),
        });
        c.apply_owner("replicasets", OwnerKind::ReplicaSet, rs);
        c.apply_owner(
            "deployments",
            OwnerKind::Deployment,
            meta("prod", "web", "dep-1", &[("tier", "front")]),
        );
        let mut pm = meta(
            "prod",
            "web-7d4-x",
            "pod-1",
            &[("app", "web"), ("tier", "front")],
        );
        pm.owner = Some(OwnerRef {
            kind: Some(OwnerKind::ReplicaSet),
            kind_name: "ReplicaSet".into(),
            name: "web-7d4".into(),
            uid: "rs-1".into(),
        });
        c.apply_pod(PodObj {
            meta: pm,
            ip: "10.0.0.7".into(),
            node: "n1".into(),
            containers: vec!["containerd://aaaaaaaaaaaabbbb".into()],
        });
        let svc = SvcObj {
            meta: meta("prod", "web-svc", "svc-1", &[]),
            selector: vec![("app".into(), "web".into())],
        };
        c.apply_service(svc);
        c.apply_service(SvcObj {
            meta: meta("other", "x", "svc-2", &[]),
            selector: vec![("app".into(), "web".into())],
        });
        let l = c.container_labels("aaaaaaaaaaaa").unwrap();
        let get = |k: &str| {
            l.labels
                .iter()
                .find(|(a, _)| a == &format!("{}{k}", labels::PREFIX))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("pod.name"), Some("web-7d4-x"));
        assert_eq!(get("rs.name"), Some("web-7d4"));
        assert_eq!(get("deployment.name"), Some("web"));
        assert_eq!(get("deployment.label.tier"), Some("front"));
        assert_eq!(get("svc.0.name"), Some("web-svc"));
        assert_eq!(get("svc.1.name"), None);
        assert_eq!(get("pod.ip"), Some("10.0.0.7"));
        c.delete_pod("pod-1");
        assert!(c.container_labels("aaaaaaaaaaaa").is_none());
        assert_eq!(c.counts()[4], 0);
    }
}

//! The watches: one list-then-watch per resource (kube-runtime's watcher:
//! resourceVersion, bookmarks, a relist after 410 Gone; restarted with
//! exponential backoff and jitter after errors) on a thread of their own,
//! feeding the [`Cache`] behind [`Shared`]. The event path only reads
//! [`Shared`] (an atomic generation, a lock it never waits for).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, metadata_watcher, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::background::{Background, Prepared};
use crate::cache::{
    labels_from, Cache, Meta, NodeObj, OwnerKind, OwnerRef, PodObj, SliceObj, SvcObj,
};
use crate::config::Options;
use crate::Error;

/// Where one resource's watch stands.
#[derive(Debug, Clone, Default)]
pub struct ResourceStatus {
    /// `listing`, `watching` or `error`.
    pub state: &'static str,
    /// Watch events applied (list items included).
    pub events: u64,
    /// Relists (the first list included).
    pub lists: u64,
    /// Errors seen.
    pub errors: u64,
    /// The last error, as printed.
    pub last_error: String,
}

/// What the watch thread shares with the event path.
#[derive(Debug)]
pub struct Shared {
    cache: RwLock<Cache>,
    gen: AtomicU64,
    status: Mutex<BTreeMap<&'static str, ResourceStatus>>,
    /// The API server's URL.
    pub url: String,
    /// The node whose pods are watched.
    pub node: String,
    started: Instant,
    synced_after: Mutex<Option<std::time::Duration>>,
    quiet: bool,
}

impl Shared {
    fn new(url: String, node: String, max_objects: usize, quiet: bool) -> Shared {
        Shared {
            cache: RwLock::new(Cache::new(max_objects)),
            gen: AtomicU64::new(0),
            status: Mutex::new(BTreeMap::new()),
            url,
            node,
            started: Instant::now(),
            synced_after: Mutex::new(None),
            quiet,
        }
    }

    /// Changes whenever the cache changes.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.gen.load(Ordering::Acquire)
    }

    /// The cache, unless a watch is updating it right now (never waits).
    pub fn try_cache(&self) -> Option<RwLockReadGuard<'_, Cache>> {
        self.cache.try_read().ok()
    }

    /// The cache, waiting for a watch's update to end (not for the event path).
    pub fn cache(&self) -> RwLockReadGuard<'_, Cache> {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Cache)) {
        let mut c = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut c);
        drop(c);
        self.gen.fetch_add(1, Ordering::AcqRel);
    }

    fn status(&self, table: &'static str, f: impl FnOnce(&mut ResourceStatus)) {
        if let Ok(mut s) = self.status.lock() {
            let e = s.entry(table).or_default();
            f(e);
            if table == "pods" && e.state == "watching" {
                if let Ok(mut t) = self.synced_after.lock() {
                    t.get_or_insert_with(|| self.started.elapsed());
                }
            }
        }
    }

    /// Each resource's watch status.
    pub fn statuses(&self) -> BTreeMap<&'static str, ResourceStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How long after the start the pods of this node were first listed.
    pub fn pods_synced_after(&self) -> Option<std::time::Duration> {
        self.synced_after.lock().ok().and_then(|t| *t)
    }

    /// Whether every resource has been listed and is being watched.
    pub fn all_watching(&self) -> bool {
        let s = self.statuses();
        s.len() == TABLES.len() && s.values().all(|r| r.state == "watching")
    }

    /// The `-v` lines: the watch state of each resource, the cache's size.
    pub fn notes(&self) -> Vec<String> {
        let counts = self.cache().counts();
        let dropped = self.cache().dropped;
        let mut v = vec![format!(
            "Kubernetes: {} (node {}): {} pods, {} namespaces, {} services, {} owners, {} endpointslices naming pods of this node, {} nodes, {} containers mapped, {} dropped at the bound",
            self.url, self.node, counts[0], counts[1], counts[2], counts[3], counts[5], counts[6], counts[4], dropped
        )];
        for (t, s) in self.statuses() {
            let mut line = format!(
                "Kubernetes watch {t}: {}, {} events, {} lists, {} errors",
                s.state, s.events, s.lists, s.errors
            );
            if !s.last_error.is_empty() {
                line.push_str(&format!(" (last: {})", s.last_error));
            }
            v.push(line);
        }
        v
    }
}

/// The resources watched, in start order.
pub const TABLES: [&str; 12] = [
    "pods",
    "namespaces",
    "services",
    "endpointslices",
    "nodes",
    "replicasets",
    "deployments",
    "replicationcontrollers",
    "daemonsets",
    "statefulsets",
    "jobs",
    "cronjobs",
];

/// The running watches; dropping it stops them.
pub struct Watch {
    shared: Arc<Shared>,
    /// The watches' thread.
    _bg: Background,
}

impl Watch {
    /// Checks the options and starts the watches on their own thread.
    /// Errors: a bad URL, unreadable credentials, a bad kubeconfig. The
    /// API server is not contacted before this returns: its errors
    /// (unreachable, 401, 403) are reported per resource as they happen,
    /// on stderr and in [`Shared::notes`].
    pub fn start(opts: &Options) -> Result<Watch, Error> {
        let prep = Prepared::new(opts)?;
        let node = prep.node.clone();
        let shared = Arc::new(Shared::new(
            prep.cfg.cluster_url.to_string(),
            node.clone(),
            opts.max_objects,
            opts.quiet,
        ));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let sh = Arc::clone(&shared);
        let fail_sh = Arc::clone(&shared);
        let bg = prep.spawn(
            "sonde-k8s",
            move || {
                let _ = tx.send(());
            },
            move |e| report(&fail_sh, "pods", &e),
            move |client| async move {
                let tasks = spawn_all(&client, &node, &sh);
                let _ = rx.await;
                for t in tasks {
                    t.abort();
                }
            },
        )?;
        Ok(Watch { shared, _bg: bg })
    }

    /// What the event path reads.
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }
}

fn spawn_all(client: &Client, node: &str, sh: &Arc<Shared>) -> Vec<tokio::task::JoinHandle<()>> {
    let all = watcher::Config::default();
    let pods = all.clone().fields(&format!("spec.nodeName={node}"));
    let c = client.clone();
    let mut v = vec![
        spawn(
            sh,
            "pods",
            watcher(Api::<Pod>::all(c.clone()), pods),
            |c, p: Pod| {
                c.apply_pod(pod_obj(&p));
            },
            |c, p| c.delete_pod(p.metadata.uid.as_deref().unwrap_or("")),
        ),
        spawn(
            sh,
            "namespaces",
            metadata_watcher(Api::<Namespace>::all(c.clone()), all.clone()),
            |c, n: PartialObjectMeta<Namespace>| c.apply_namespace(meta_of(&n.metadata)),
            |c, n| c.delete_namespace(n.metadata.name.as_deref().unwrap_or("")),
        ),
        spawn(
            sh,
            "services",
            watcher(Api::<Service>::all(c.clone()), all.clone()),
            |c, s: Service| c.apply_service(svc_obj(&s)),
            |c, s| {
                c.delete_service(
                    s.metadata.namespace.as_deref().unwrap_or(""),
                    s.metadata.uid.as_deref().unwrap_or(""),
                )
            },
        ),
        spawn(
            sh,
            "endpointslices",
            watcher(Api::<EndpointSlice>::all(c.clone()), all.clone()),
            {
                let node = node.to_string();
                move |c, s: EndpointSlice| c.apply_slice(slice_obj(&s, &node))
            },
            |c, s| {
                c.delete_slice(
                    s.metadata.namespace.as_deref().unwrap_or(""),
                    s.metadata.uid.as_deref().unwrap_or(""),
                )
            },
        ),
        spawn(
            sh,
            "nodes",
            watcher(
                Api::<Node>::all(c.clone()),
                all.clone().fields(&format!("metadata.name={node}")),
            ),
            |c, n: Node| c.apply_node(node_obj(&n)),
            |c, n| c.delete_node(n.metadata.name.as_deref().unwrap_or("")),
        ),
    ];
    v.push(owner::<ReplicaSet>(
        sh,
        &c,
        "replicasets",
        OwnerKind::ReplicaSet,
    ));
    v.push(owner::<Deployment>(
        sh,
        &c,
        "deployments",
        OwnerKind::Deployment,
    ));
    v.push(owner::<ReplicationController>(
        sh,
        &c,
        "replicationcontrollers",
        OwnerKind::ReplicationController,
    ));
    v.push(owner::<DaemonSet>(
        sh,
        &c,
        "daemonsets",
        OwnerKind::DaemonSet,
    ));
    v.push(owner::<StatefulSet>(
        sh,
        &c,
        "statefulsets",
        OwnerKind::StatefulSet,
    ));
    v.push(owner::<Job>(sh, &c, "jobs", OwnerKind::Job));
    v.push(owner::<CronJob>(sh, &c, "cronjobs", OwnerKind::CronJob));
    v
}

/// A metadata-only watch of an owner kind.
fn owner<K>(
    sh: &Arc<Shared>,
    c: &Client,
    table: &'static str,
    kind: OwnerKind,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let s = metadata_watcher(Api::<K>::all(c.clone()), watcher::Config::default());
    let apply = move |c: &mut Cache, o: PartialObjectMeta<K>| {
        c.apply_owner(table, kind, meta_of(&o.metadata))
    };
    let delete = |c: &mut Cache, o: PartialObjectMeta<K>| {
        c.delete_owner(o.metadata.uid.as_deref().unwrap_or(""))
    };
    let kind_of = Some(kind);
    tokio::spawn(drive(Arc::clone(sh), table, kind_of, s, apply, delete))
}

fn spawn<K, S>(
    sh: &Arc<Shared>,
    table: &'static str,
    s: S,
    apply: impl Fn(&mut Cache, K) + Send + 'static,
    delete: impl Fn(&mut Cache, K) + Send + 'static,
) -> tokio::task::JoinHandle<()>
where
    K: Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(drive(Arc::clone(sh), table, None, s, apply, delete))
}

/// Runs one watch into the cache until aborted.
async fn drive<K, S>(
    sh: Arc<Shared>,
    table: &'static str,
    kind: Option<OwnerKind>,
    s: S,
    apply: impl Fn(&mut Cache, K),
    delete: impl Fn(&mut Cache, K),
) where
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    sh.status(table, |s| s.state = "listing");
    let mut s = std::pin::pin!(s.default_backoff());
    while let Some(ev) = s.next().await {
        match ev {
            Ok(Event::Init) => {
                sh.status(table, |s| {
                    s.state = "listing";
                    s.lists += 1;
                });
                sh.update(|c| c.relist_begin(table));
            }
            Ok(Event::InitApply(o)) => {
                sh.update(|c| apply(c, o));
                sh.status(table, |s| s.events += 1);
            }
            Ok(Event::Apply(o)) => {
                sh.update(|c| apply(c, o));
                sh.status(table, watched);
            }
            Ok(Event::Delete(o)) => {
                sh.update(|c| delete(c, o));
                sh.status(table, watched);
            }
            Ok(Event::InitDone) => {
                sh.update(|c| c.relist_done(table, kind));
                let was = sh.statuses().get(table).map(|s| s.state);
                sh.status(table, |s| s.state = "watching");
                if was == Some("error") && !sh.quiet {
                    eprintln!("sonde: kubernetes: {table}: listed again, watching");
                }
            }
            Err(e) => report(&sh, table, &describe(table, &sh.url, &e)),
        }
    }
}

/// A watch event arrived: the watch works (again, after a resumed cut).
fn watched(s: &mut ResourceStatus) {
    s.events += 1;
    if s.state == "error" {
        s.state = "watching";
    }
}

/// Records an error and prints it when it is new for this resource.
fn report(sh: &Shared, table: &'static str, msg: &str) {
    let mut new = false;
    sh.status(table, |s| {
        s.errors += 1;
        new = s.last_error != msg || s.state != "error";
        s.state = "error";
        s.last_error = msg.to_string();
    });
    if new && !sh.quiet {
        eprintln!("sonde: kubernetes: {msg}");
    }
}

/// A one-line description of a watch error naming the resource.
pub fn describe(table: &str, url: &str, e: &watcher::Error) -> String {
    use watcher::Error as W;
    let (verb, inner) = match e {
        W::InitialListFailed(e) => ("list", e),
        W::WatchStartFailed(e) | W::WatchFailed(e) => ("watch", e),
        W::WatchError(r) => {
            return match r.code {
                410 => format!("{table}: watch expired (410 Gone), listing again"),
                403 => format!("{table}: watch forbidden (403, RBAC): {}", r.message),
                c => format!("{table}: watch error {c} {}: {}", r.reason, r.message),
            }
        }
        W::NoResourceVersion => return format!("{table}: the API server sent no resourceVersion"),
    };
    match inner {
        kube::Error::Api(r) if r.code == 401 => format!(
            "{table}: {verb} refused: bad credentials (401 Unauthorized): {}",
            r.message
        ),
        kube::Error::Api(r) if r.code == 403 => format!(
            "{table}: {verb} forbidden (403, RBAC): {} (the account needs list and watch on {table})",
            r.message
        ),
        kube::Error::Api(r) => format!("{table}: {verb} failed: {} {}: {}", r.code, r.reason, r.message),
        other => format!("{table}: {verb} failed: cannot reach the API server at {url}: {}", chain(other)),
    }
}

/// An error and its sources, joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// What sonde keeps of an object's metadata.
pub fn meta_of(m: &ObjectMeta) -> Meta {
    let owner = m.owner_references.as_ref().and_then(|refs| {
        let r = refs
            .iter()
            .find(|r| r.controller == Some(true))
            .or_else(|| refs.first())?;
        Some(OwnerRef {
            kind: OwnerKind::from_kind(&r.kind),
            kind_name: r.kind.as_str().into(),
            name: r.name.as_str().into(),
            uid: r.uid.as_str().into(),
        })
    });
    Meta {
        namespace: m.namespace.as_deref().unwrap_or("").into(),
        name: m.name.as_deref().unwrap_or("").into(),
        uid: m.uid.as_deref().unwrap_or("").into(),
        labels: labels_from(m.labels.as_ref()),
        owner,
    }
}

/// What sonde keeps of a pod.
pub fn pod_obj(p: &Pod) -> PodObj {
    let mut containers = Vec::new();
    let mut ip: Box<str> = "".into();
    if let Some(st) = &p.status {
        ip = st.pod_ip.as_deref().unwrap_or("").into();
        for list in [
            &st.container_statuses,
            &st.init_container_statuses,
            &st.ephemeral_container_statuses,
        ] {
            for c in list.iter().flatten() {
                if let Some(id) = c.container_id.as_deref().filter(|i| !i.is_empty()) {
                    containers.push(id.into());
                }
            }
        }
    }
    PodObj {
        meta: meta_of(&p.metadata),
        ip,
        node: p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("")
            .into(),
        containers,
    }
}

/// What sonde keeps of a service.
pub fn svc_obj(s: &Service) -> SvcObj {
    SvcObj {
        meta: meta_of(&s.metadata),
        selector: labels_from(s.spec.as_ref().and_then(|sp| sp.selector.as_ref())),
    }
}

/// The label naming an EndpointSlice's service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What sonde keeps of an EndpointSlice: its service and the pods on
/// `node` (or on no node named) its endpoints target.
pub fn slice_obj(s: &EndpointSlice, node: &str) -> SliceObj {
    let meta = meta_of(&s.metadata);
    let service = s
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL))
        .map_or("", String::as_str)
        .into();
    let mut pods: Vec<(Box<str>, Box<str>)> = s
        .endpoints
        .iter()
        .filter(|e| e.node_name.as_deref().map_or(true, |n| n == node))
        .filter_map(|e| e.target_ref.as_ref())
        .filter(|r| r.kind.as_deref() == Some("Pod"))
        .filter(|r| {
            r.namespace
                .as_deref()
                .map_or(true, |ns| *ns == *meta.namespace)
        })
        .map(|r| {
            (
                r.name.as_deref().unwrap_or("").into(),
                r.uid.as_deref().unwrap_or("").into(),
            )
        })
        .filter(|(n, u): &(Box<str>, Box<str>)| !n.is_empty() || !u.is_empty())
        .collect();
    pods.sort();
    pods.dedup();
    SliceObj {
        meta: Meta {
            labels: Vec::new(),
            owner: None,
            ..meta
        },
        service,
        pods,
    }
}

/// What sonde keeps of a node.
pub fn node_obj(n: &Node) -> NodeObj {
    let addresses = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| {
            a.iter()
                .map(|a| (a.type_.as_str().into(), a.address.as_str().into()))
                .collect()
        })
        .unwrap_or_default();
    NodeObj {
        meta: meta_of(&n.metadata),
        addresses,
    }
}

//! Cluster state for `sonde agent`: every agent takes part in a Lease
//! election ([`crate::lease`]) on a thread of its own; the one that holds
//! the Lease watches, cluster-wide, deployments, daemonsets,
//! statefulsets, replicasets, pods, jobs and nodes and reports them as
//! gauges ([`crate::kstate`]); every agent watches its node's pods (full
//! objects) and reports the requests and limits of their containers.
//! [`ClusterState::gauges`] is what the agent asks for each second: it
//! never waits on the watches (a lock it only tries; the last answer is
//! kept for a second it could not get it).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::background::{Background, Prepared};
use crate::config::Options;
use crate::kstate::{self, Gauge, Reduced};
use crate::lease::{self, LeaseOptions, Status};
use crate::Error;

/// How the cluster state runs.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The Lease and this candidate's identity (the node's name).
    pub lease: LeaseOptions,
    /// `k8s.cluster.name` on every gauge, when set.
    pub cluster_name: Option<String>,
}

/// The tables the watches keep: per resource, objects by namespace/name.
#[derive(Debug, Default)]
struct Store {
    tables: HashMap<&'static str, BTreeMap<String, Reduced>>,
    /// While a relist runs: what it has listed so far.
    pending: HashMap<&'static str, BTreeMap<String, Reduced>>,
    /// Whether the cluster-wide watches run (this agent leads).
    cluster_wide: bool,
}

/// What the agent reads.
struct Inner {
    store: Mutex<Store>,
    status: Arc<Status>,
    node: String,
    base: Vec<(String, String)>,
    last: Mutex<Vec<Gauge>>,
    quiet: bool,
}

/// The running election and watches; dropping it releases the Lease (if
/// held) and stops them.
pub struct ClusterState {
    inner: Arc<Inner>,
    /// The election's and the watches' thread.
    _bg: Background,
}

fn key_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

impl ClusterState {
    /// Checks the options and starts the election and the watches of this
    /// node's pods on their own thread (the API server is not contacted
    /// before this returns).
    pub fn start(opts: &Options, co: ClusterOptions) -> Result<ClusterState, Error> {
        let prep = Prepared::new(opts)?;
        let mut base = Vec::new();
        if let Some(c) = co.cluster_name.as_ref().filter(|c| !c.is_empty()) {
            base.push(("k8s.cluster.name".to_string(), c.clone()));
        }
        let inner = Arc::new(Inner {
            store: Mutex::new(Store::default()),
            status: Arc::new(Status::default()),
            node: prep.node.clone(),
            base,
            last: Mutex::new(Vec::new()),
            quiet: opts.quiet,
        });
        let (tx, rx) = tokio::sync::watch::channel(false);
        let inn = Arc::clone(&inner);
        let fail_inn = Arc::clone(&inner);
        let bg = prep.spawn(
            "sonde-k8s-cluster",
            move || {
                let _ = tx.send(true);
            },
            move |e| fail_inn.say(format!("cluster state: {e}")),
            move |client| async move {
                let api: Api<Lease> = Api::namespaced(client.clone(), &co.lease.namespace);
                let status = Arc::clone(&inn.status);
                let say_inn = Arc::clone(&inn);
                let election = tokio::spawn(lease::run(
                    api,
                    co.lease.clone(),
                    status,
                    move |m| say_inn.say(m),
                    rx.clone(),
                ));
                supervise(&client, &inn, rx).await;
                let _ = election.await;
            },
        )?;
        Ok(ClusterState { inner, _bg: bg })
    }

    /// Whether this agent holds the Lease now.
    pub fn leader(&self) -> bool {
        self.inner.status.leader.load(Ordering::Acquire)
    }

    /// The election's counters.
    pub fn status(&self) -> &Status {
        &self.inner.status
    }

    /// This second's gauges: the cluster-wide ones when this agent leads,
    /// the requests and limits of this node's containers always. Never
    /// waits: when a watch holds the tables, the last answer is repeated.
    pub fn gauges(&self) -> Vec<Gauge> {
        let Ok(store) = self.inner.store.try_lock() else {
            return self
                .inner
                .last
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default();
        };
        let g = gauges_of(&store, &self.inner, self.leader());
        drop(store);
        if let Ok(mut l) = self.inner.last.lock() {
            l.clone_from(&g);
        }
        g
    }
}

impl Inner {
    fn say(&self, m: String) {
        if !self.quiet {
            eprintln!("sonde: kubernetes: {m}");
        }
    }
}

fn gauges_of(store: &Store, inner: &Inner, leader: bool) -> Vec<Gauge> {
    let mut out = Vec::new();
    let base = &inner.base;
    let empty = BTreeMap::new();
    let table = |t: &str| store.tables.get(t).unwrap_or(&empty);
    let rs = table("replicasets");
    let deployment_of = |ns: &str, name: &str| match rs.get(&format!("{ns}/{name}")) {
        Some(Reduced::ReplicaSet(_, _, d)) => d.clone(),
        _ => None,
    };
    let cluster = leader && store.cluster_wide;
    for p in table("pods").values() {
        let Reduced::Pod(p) = p else { continue };
        let tags = kstate::pod_tags(p, base, deployment_of);
        if p.node == inner.node {
            kstate::resource_gauges(p, &tags, &mut out);
        }
        if cluster {
            kstate::pod_gauges(p, &tags, &mut out);
        }
    }
    if !cluster {
        return out;
    }
    for t in ["deployments", "daemonsets", "statefulsets", "jobs", "nodes"] {
        for o in table(t).values() {
            match o {
                Reduced::Workload(w) => kstate::workload_gauges(w, base, &mut out),
                Reduced::Job(j) => kstate::job_gauges(j, base, &mut out),
                Reduced::Node(n) => kstate::node_gauges(n, base, &mut out),
                _ => {}
            }
        }
    }
    out
}

/// Runs the watches this agent needs, changing them when it gains or
/// loses the Lease, until `stop`.
async fn supervise(
    client: &Client,
    inn: &Arc<Inner>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut running: Option<bool> = None;
    loop {
        let leader = inn.status.leader.load(Ordering::Acquire);
        if running != Some(leader) {
            for t in tasks.drain(..) {
                t.abort();
            }
            if let Ok(mut s) = inn.store.lock() {
                *s = Store {
                    cluster_wide: leader,
                    ..Store::default()
                };
            }
            tasks = spawn_watches(client, inn, leader);
            running = Some(leader);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    for t in tasks {
        t.abort();
    }
}

fn spawn_watches(
    client: &Client,
    inn: &Arc<Inner>,
    leader: bool,
) -> Vec<tokio::task::JoinHandle<()>> {
    let all = watcher::Config::default();
    if !leader {
        let mine = all.fields(&format!("spec.nodeName={}", inn.node));
        return vec![watch::<Pod>(client, inn, "pods", mine, kstate::pod)];
    }
    vec![
        watch::<Pod>(client, inn, "pods", all.clone(), kstate::pod),
        watch::<Deployment>(client, inn, "deployments", all.clone(), kstate::deployment),
        watch::<DaemonSet>(client, inn, "daemonsets", all.clone(), kstate::daemonset),
        watch::<StatefulSet>(
            client,
            inn,
            "statefulsets",
            all.clone(),
            kstate::statefulset,
        ),
        watch::<ReplicaSet>(client, inn, "replicasets", all.clone(), kstate::replicaset),
        watch::<Job>(client, inn, "jobs", all.clone(), kstate::job),
        watch::<Node>(client, inn, "nodes", all, kstate::node),
    ]
}

/// One list-then-watch of full objects into a table of the store.
fn watch<K>(
    client: &Client,
    inn: &Arc<Inner>,
    table: &'static str,
    cfg: watcher::Config,
    reduce: fn(&K) -> Reduced,
) -> tokio::task::JoinHandle<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let s = watcher(Api::<K>::all(client.clone()), cfg);
    tokio::spawn(drive(Arc::clone(inn), table, s, reduce))
}

async fn drive<K, S>(inn: Arc<Inner>, table: &'static str, s: S, reduce: fn(&K) -> Reduced)
where
    K: Resource,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    let mut s = std::pin::pin!(s.default_backoff());
    let mut last_error = String::new();
    while let Some(ev) = s.next().await {
        let Ok(mut st) = inn.store.lock() else { return };
        match ev {
            Ok(Event::Init) => {
                st.pending.insert(table, BTreeMap::new());
            }
            Ok(Event::InitApply(o)) => {
                let k = key_of(o.meta());
                st.pending.entry(table).or_default().insert(k, reduce(&o));
            }
            Ok(Event::InitDone) => {
                let t = st.pending.remove(table).unwrap_or_default();
                st.tables.insert(table, t);
                last_error.clear();
            }
            Ok(Event::Apply(o)) => {
                let k = key_of(o.meta());
                st.tables.entry(table).or_default().insert(k, reduce(&o));
            }
            Ok(Event::Delete(o)) => {
                let k = key_of(o.meta());
                if let Some(t) = st.tables.get_mut(table) {
                    t.remove(&k);
                }
            }
            Err(e) => {
                drop(st);
                let m = crate::watch::describe(table, "the API server", &e);
                if m != last_error {
                    inn.say(format!("cluster state: {m}"));
                    last_error = m;
                }
            }
        }
    }
}

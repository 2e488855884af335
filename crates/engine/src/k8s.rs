//! Kubernetes metadata on live containers (feature `k8s`): the link
//! between the container tracker and the cache `sonde-k8s` keeps from
//! the API server. Every `container` event the tracker queues gets the
//! labels that describe the container's pod (`sonde_k8s::labels`; plus
//! `io.kubernetes.pod.*` when the runtime did not set them, as sysdig
//! reads them), and when the cache changes (its generation moves) the
//! containers whose labels changed get a new `container` event. So the
//! metadata goes the normal path: state, sinks, `-w` files.
//!
//! Never waits on the API: the generation is an atomic load, the cache is
//! only tried (a busy cache is read on a later poll).

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use sonde_container::ContainerInfo;
use sonde_k8s::{labels, Shared};

use crate::containers::Synth;

/// How often, at most, changed metadata is looked for (a busy cluster
/// changes the cache all the time; the event thread pays for each look).
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// A container as last handed out: what the runtime said, whether that
/// was its metadata, and the revision of the k8s labels added.
struct Entry {
    base: ContainerInfo,
    resolved: bool,
    rev: u64,
}

/// See the module docs.
pub(crate) struct K8sLink {
    shared: Arc<Shared>,
    last_gen: u64,
    known: FxHashMap<Vec<u8>, Entry>,
    last_refresh: std::time::Instant,
    /// Container events re-sent because their pod's metadata changed.
    pub(crate) updates: u64,
}

impl K8sLink {
    pub(crate) fn new(shared: Arc<Shared>) -> K8sLink {
        K8sLink {
            shared,
            last_gen: u64::MAX,
            last_refresh: std::time::Instant::now(),
            known: FxHashMap::default(),
            updates: 0,
        }
    }

    /// Adds the pod's labels to a container event about to be queued.
    pub(crate) fn decorate(&mut self, info: &mut ContainerInfo, resolved: bool) {
        let short = info.short_id().as_bytes().to_vec();
        let base = info.clone();
        let rev = apply(&self.shared, info);
        self.known.insert(
            short,
            Entry {
                base,
                resolved,
                rev,
            },
        );
        // the cache may have been busy: look again at the next poll
        self.last_gen = u64::MAX;
    }

    /// A container left.
    pub(crate) fn forget(&mut self, short: &[u8]) {
        self.known.remove(short);
    }
    /// When the cache changed: queues a `container` event for each
    /// container whose pod's metadata changed.
    pub(crate) fn refresh(&mut self, out: &mut VecDeque<Synth>) {
        let gen = self.shared.generation();
        if gen == self.last_gen || self.last_refresh.elapsed() < REFRESH_EVERY {
            return;
        }
        self.last_refresh = std::time::Instant::now();
        let Some(cache) = self.shared.try_cache() else {
            return;
        };
        let mut changed = Vec::new();
        for (short, e) in &self.known {
            let rev = cache.container_labels(&e.base.id).map_or(0, |l| l.rev);
            if rev != e.rev {
                changed.push(short.clone());
            }
        }
        drop(cache);
        self.last_gen = gen;
        for short in changed {
            let Some(e) = self.known.get_mut(&short) else {
                continue;
            };
            let mut info = e.base.clone();
            let resolved = e.resolved;
            let rev = apply(&self.shared, &mut info);
            if let Some(e) = self.known.get_mut(&short) {
                e.rev = rev;
            }
            self.updates += 1;
            out.push_back(crate::containers::container_event(&info, resolved));
        }
    }

    /// The `-v` lines.
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut v = self.shared.notes();
        v.push(format!(
            "Kubernetes: {} container events re-sent for metadata changes",
            self.updates
        ));
        v
    }
}

/// Merges the cache's labels for `info` (0: none, or the cache busy).
fn apply(shared: &Shared, info: &mut ContainerInfo) -> u64 {
    let Some(cache) = shared.try_cache() else {
        return 0;
    };
    let Some(pl) = cache.container_labels(&info.id) else {
        return 0;
    };
    drop(cache);
    labels::merge(&mut info.labels, Some(&pl.labels));
    let get = |k: &str| {
        pl.labels
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
    };
    for (rt, ours) in [
        ("io.kubernetes.pod.name", labels::POD_NAME),
        ("io.kubernetes.pod.namespace", labels::NS_NAME),
        ("io.kubernetes.pod.uid", labels::POD_UID),
    ] {
        if !info.labels.iter().any(|(k, _)| k == rt) {
            if let Some(v) = get(ours) {
                info.labels.push((rt.to_string(), v));
            }
        }
    }
    pl.rev
}

//! The resolver: container metadata lookups off the event path.
//!
//! [`Resolver::request`] never blocks: it puts the request on a bounded
//! queue (when the queue is full the request is dropped and counted).
//! Worker threads try the sources that handle the container's runtime,
//! each within the per-lookup deadline; a source that fails with a timeout
//! or is unavailable is skipped for a back-off period, so one slow runtime
//! socket costs each later lookup nothing. [`Resolver::poll`] hands back
//! the finished lookups without blocking. Each source's failure reason is
//! kept once ([`Resolver::reasons`], for `-v`). Finished results are cached
//! up to a cap (oldest out first) until [`Resolver::forget`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::docker::DockerApi;
use crate::identity::Identity;
use crate::libpod::Libpod;
use crate::meta::{ContainerInfo, Source, SourceError};
use crate::oci::OciBundles;

/// How the resolver runs.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Requests waiting for a worker, at most.
    pub queue: usize,
    /// Worker threads.
    pub workers: usize,
    /// Time one lookup may take over all its sources.
    pub deadline: Duration,
    /// How long a source that timed out or was unavailable is skipped.
    pub backoff: Duration,
    /// Finished results kept, at most.
    pub cache: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            queue: 256,
            workers: 2,
            deadline: Duration::from_secs(2),
            backoff: Duration::from_secs(30),
            cache: 4096,
        }
    }
}

/// The sources found on this host, in the order they are tried: the docker
/// API sockets, libpod's store, the OCI bundles of the runtimes' state.
pub fn detect_sources() -> Vec<Arc<dyn Source>> {
    let mut v: Vec<Arc<dyn Source>> = Vec::new();
    for d in DockerApi::detect() {
        v.push(Arc::new(d));
    }
    let l = Libpod::default();
    if l.available() {
        v.push(Arc::new(l));
    }
    let o = OciBundles::default();
    if o.available() {
        v.push(Arc::new(o));
    }
    v
}

/// A finished lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Whom it was for.
    pub identity: Identity,
    /// What was found; None when no source knew the container (the
    /// container keeps its id and type, without names).
    pub info: Option<ContainerInfo>,
}

struct Request {
    identity: Identity,
}

struct Shared {
    sources: Vec<Arc<dyn Source>>,
    /// Per source: skipped until this instant.
    skip_until: Mutex<Vec<Option<Instant>>>,
    /// Reasons, one per source and kind of failure: (key, text).
    reasons: Mutex<Vec<(String, String)>>,
    deadline: Duration,
    backoff: Duration,
}

/// Container metadata lookups on worker threads. See the module docs.
pub struct Resolver {
    tx: Option<SyncSender<Request>>,
    done: Receiver<Resolved>,
    workers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    dropped: Arc<AtomicU64>,
    pending: HashSet<String>,
    cache: HashMap<String, Resolved>,
    order: VecDeque<String>,
    cap: usize,
}

impl Resolver {
    /// A resolver over `sources` (see [`detect_sources`]).
    pub fn new(sources: Vec<Arc<dyn Source>>, cfg: &ResolverConfig) -> Resolver {
        let (tx, rx) = mpsc::sync_channel::<Request>(cfg.queue.max(1));
        let (done_tx, done) = mpsc::channel();
        let shared = Arc::new(Shared {
            skip_until: Mutex::new(vec![None; sources.len()]),
            sources,
            reasons: Mutex::new(Vec::new()),
            deadline: cfg.deadline,
            backoff: cfg.backoff,
        });
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..cfg.workers.max(1))
            .filter_map(|i| {
                let rx = Arc::clone(&rx);
                let done_tx = done_tx.clone();
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("sonde-ctr-{i}"))
                    .spawn(move || worker(&rx, &done_tx, &shared))
                    .ok()
            })
            .collect();
        Resolver {
            tx: Some(tx),
            done,
            workers,
            shared,
            dropped: Arc::new(AtomicU64::new(0)),
            pending: HashSet::new(),
            cache: HashMap::new(),
            order: VecDeque::new(),
            cap: cfg.cache.max(1),
        }
    }

    /// Asks for the metadata of `identity`'s container; never blocks.
    /// Returns false when the request was not queued: already known or
    /// pending, or dropped because the queue is full ([`Resolver::dropped`]).
    pub fn request(&mut self, identity: &Identity) -> bool {
        if self.cache.contains_key(&identity.id) || self.pending.contains(&identity.id) {
            return false;
        }
        let Some(tx) = &self.tx else {
            return false;
        };
        let req = Request {
            identity: identity.clone(),
        };
        match tx.try_send(req) {
            Ok(()) => {
                self.pending.insert(identity.id.clone());
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The lookups finished since the last call; never blocks. They are
    /// also kept for [`Resolver::get`].
    pub fn poll(&mut self) -> Vec<Resolved> {
        let mut out = Vec::new();
        while let Ok(r) = self.done.try_recv() {
            let id = r.identity.id.clone();
            if !self.pending.remove(&id) {
                // forgotten while in flight
                continue;
            }
            if self.cache.insert(id.clone(), r.clone()).is_none() {
                self.order.push_back(id);
            }
            while self.cache.len() > self.cap {
                match self.order.pop_front() {
                    Some(old) => {
                        self.cache.remove(&old);
                    }
                    None => break,
                }
            }
            out.push(r);
        }
        out
    }

    /// Waits up to `timeout` for at least one lookup to finish, then
    /// returns what [`Resolver::poll`] returns (for tests and tools, not
    /// for the event path).
    pub fn wait(&mut self, timeout: Duration) -> Vec<Resolved> {
        let end = Instant::now() + timeout;
        loop {
            let r = self.poll();
            if !r.is_empty() || Instant::now() >= end {
                return r;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The finished lookup of container `id` (full id), if cached.
    pub fn get(&self, id: &str) -> Option<&Resolved> {
        self.cache.get(id)
    }

    /// Drops container `id` (full id) from the cache and from the pending
    /// set (a result still in flight is discarded): call it when the
    /// container's last thread exits.
    pub fn forget(&mut self, id: &str) {
        self.pending.remove(id);
        if self.cache.remove(id).is_some() {
            self.order.retain(|o| o != id);
        }
    }

    /// Cached results.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Requests queued or in flight.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Requests dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Why sources failed, one line per source and kind of failure.
    pub fn reasons(&self) -> Vec<String> {
        self.shared
            .reasons
            .lock()
            .map(|r| r.iter().map(|(_, t)| t.clone()).collect())
            .unwrap_or_default()
    }

    /// The names of the sources in use.
    pub fn sources(&self) -> Vec<&'static str> {
        self.shared.sources.iter().map(|s| s.name()).collect()
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // closing the queue ends the workers once their lookup returns;
        // they are not joined, so a slow source cannot delay the exit
        self.tx = None;
        self.workers.clear();
    }
}

fn worker(rx: &Mutex<Receiver<Request>>, done: &mpsc::Sender<Resolved>, shared: &Shared) {
    loop {
        let req = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(r) => r,
                Err(_) => return,
            }
        };
        let info = lookup(shared, &req.identity);
        if done
            .send(Resolved {
                identity: req.identity,
                info,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Tries the sources for one container until one knows it; each gets an
/// equal share of the time left, so a slow one leaves time to the others.
fn lookup(shared: &Shared, identity: &Identity) -> Option<ContainerInfo> {
    let deadline = Instant::now() + shared.deadline;
    let usable: Vec<usize> = (0..shared.sources.len())
        .filter(|&i| shared.sources[i].handles(identity.runtime) && !skipped(shared, i))
        .collect();
    for (k, &i) in usable.iter().enumerate() {
        let src = &shared.sources[i];
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let share = (deadline - now) / u32::try_from(usable.len() - k).unwrap_or(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            src.lookup(&identity.id, identity.runtime, now + share)
        }));
        match r {
            Ok(Ok(Some(mut info))) => {
                fill_from_identity(&mut info, identity);
                return Some(info);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                if matches!(e, SourceError::Timeout(_) | SourceError::Unavailable(_)) {
                    if let Ok(mut s) = shared.skip_until.lock() {
                        s[i] = Some(Instant::now() + shared.backoff);
                    }
                }
                note(shared, &e);
            }
            Err(_) => note(
                shared,
                &SourceError::Bad(src.name().to_string(), "source panicked".into()),
            ),
        }
    }
    None
}

fn skipped(shared: &Shared, i: usize) -> bool {
    let Ok(s) = shared.skip_until.lock() else {
        return false;
    };
    s.get(i)
        .copied()
        .flatten()
        .is_some_and(|t| Instant::now() < t)
}

/// Records a failure reason once per source and kind.
fn note(shared: &Shared, e: &SourceError) {
    let (who, kind) = match e {
        SourceError::Unavailable(w) => (w, "unavailable"),
        SourceError::Timeout(w) => (w, "timeout"),
        SourceError::Io(w, _) => (w, "io"),
        SourceError::Bad(w, _) => (w, "bad"),
    };
    let key = format!("{kind} {who}");
    if let Ok(mut r) = shared.reasons.lock() {
        if !r.iter().any(|(k, _)| *k == key) && r.len() < 64 {
            r.push((key, e.to_string()));
        }
    }
}

/// What the identity knows and the source did not say (the pod uid).
fn fill_from_identity(info: &mut ContainerInfo, identity: &Identity) {
    if let (Some(uid), Some(pod)) = (&identity.pod_uid, &mut info.pod) {
        if pod.uid.is_empty() {
            pod.uid.clone_from(uid);
        }
    }
}

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;

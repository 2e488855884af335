//! Leader election through a `coordination.k8s.io/v1` Lease, the way
//! client-go's leaderelection does it: every candidate reads the Lease;
//! the holder renews it every few seconds; a candidate takes it over when
//! it has no holder, or when its record has not changed for the lease's
//! duration on the candidate's own clock (clocks of different hosts are
//! never compared). Every write is a create or a `resourceVersion`
//! conditional replace, so of two candidates racing only one wins; the
//! other gets `409 Conflict` and reads again.
//!
//! [`Elector`] is the state machine (no I/O, time passed in); [`run`]
//! drives it against the API server until stopped, then releases the
//! Lease if held.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

/// Where the Lease is and who competes for it.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This candidate (the node's name, else the host's).
    pub identity: String,
    /// How long a record that stopped changing stays valid.
    pub duration: Duration,
}

/// The default Lease namespace and name.
pub const DEFAULT_LEASE: (&str, &str) = ("kube-system", "sonde-agent-cluster-state");

impl LeaseOptions {
    /// Options with the default Lease and a 15 s duration.
    pub fn new(identity: &str) -> LeaseOptions {
        LeaseOptions {
            namespace: DEFAULT_LEASE.0.into(),
            name: DEFAULT_LEASE.1.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
        }
    }

    /// How often the holder renews: a third of the duration.
    pub fn renew_every(&self) -> Duration {
        (self.duration / 3).max(Duration::from_millis(200))
    }

    /// How often a candidate reads the Lease: a fifth of the duration.
    pub fn retry_every(&self) -> Duration {
        (self.duration / 5).max(Duration::from_millis(200))
    }

    /// How long the holder keeps leading without a successful renewal
    /// (then it stops, before another candidate may take over).
    pub fn renew_deadline(&self) -> Duration {
        self.duration * 2 / 3
    }
}

/// The wall-clock time, as Lease records carry it.
pub fn now() -> MicroTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    MicroTime(
        k8s_openapi::chrono::DateTime::from_timestamp(d.as_secs() as i64, d.subsec_nanos())
            .unwrap_or_default(),
    )
}

/// What the state machine asks for after reading the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// There is no Lease: create it, held by us.
    Create,
    /// Replace it (conditional on `resource_version`), held by us; `takeover`
    /// when another candidate held it (a transition).
    Update {
        /// The version read, which the replace is conditional on.
        resource_version: String,
        /// Whether this is a takeover (transitions + 1).
        takeover: bool,
    },
    /// Another candidate holds a live Lease: follow.
    Follow,
}

/// The part of a Lease that tells whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    holder: String,
    renew: Option<String>,
    rv: String,
    duration: Option<Duration>,
}

fn record(l: &Lease) -> Record {
    let spec = l.spec.as_ref();
    Record {
        holder: spec
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default(),
        renew: spec
            .and_then(|s| s.renew_time.as_ref())
            .map(|t| t.0.to_rfc3339()),
        rv: l.metadata.resource_version.clone().unwrap_or_default(),
        duration: spec
            .and_then(|s| s.lease_duration_seconds)
            .filter(|&d| d > 0)
            .map(|d| Duration::from_secs(d as u64)),
    }
}

/// The election's state machine: what was last seen of the Lease, since
/// when, and whether we lead.
#[derive(Debug)]
pub struct Elector {
    opts: LeaseOptions,
    seen: Option<(Record, Instant)>,
    leading_since_renew: Option<Instant>,
}

impl Elector {
    /// A candidate that does not lead yet.
    pub fn new(opts: LeaseOptions) -> Elector {
        Elector {
            opts,
            seen: None,
            leading_since_renew: None,
        }
    }

    /// Whether we lead.
    pub fn leading(&self) -> bool {
        self.leading_since_renew.is_some()
    }

    /// The Lease as read at `now` (None: it does not exist): what to do.
    pub fn decide(&mut self, lease: Option<&Lease>, now: Instant) -> Step {
        let Some(l) = lease else {
            self.seen = None;
            return Step::Create;
        };
        let r = record(l);
        let changed = self.seen.as_ref().map_or(true, |(s, _)| *s != r);
        if changed {
            self.seen = Some((r.clone(), now));
        }
        let since = self.seen.as_ref().map_or(now, |s| s.1);
        let duration = r.duration.unwrap_or(self.opts.duration);
        let rv = r.rv.clone();
        if r.holder == self.opts.identity {
            return Step::Update {
                resource_version: rv,
                takeover: false,
            };
        }
        if r.holder.is_empty() || now.saturating_duration_since(since) >= duration {
            return Step::Update {
                resource_version: rv,
                takeover: true,
            };
        }
        self.leading_since_renew = None;
        Step::Follow
    }

    /// Our create or replace succeeded at `now`; `lease` is what the API
    /// server answered.
    pub fn won(&mut self, lease: &Lease, now: Instant) {
        self.seen = Some((record(lease), now));
        self.leading_since_renew = Some(now);
    }

    /// Our write lost a race (409 Conflict): we do not lead; read again.
    pub fn conflict(&mut self) {
        self.leading_since_renew = None;
    }

    /// The API server could not be reached at `now`: a holder past its
    /// renew deadline stops leading.
    pub fn unreachable(&mut self, now: Instant) {
        if let Some(t) = self.leading_since_renew {
            if now.saturating_duration_since(t) >= self.opts.renew_deadline() {
                self.leading_since_renew = None;
            }
        }
    }

    /// The Lease we write for `step`, from what was read (`None`: create).
    pub fn lease_for(&self, read: Option<&Lease>, step: &Step) -> Lease {
        let now = now();
        let old = read.and_then(|l| l.spec.clone()).unwrap_or_default();
        let (rv, takeover) = match step {
            Step::Update {
                resource_version,
                takeover,
            } => (Some(resource_version.clone()), *takeover),
            _ => (None, true),
        };
        let transitions = old.lease_transitions.unwrap_or(0);
        Lease {
            metadata: ObjectMeta {
                name: Some(self.opts.name.clone()),
                namespace: Some(self.opts.namespace.clone()),
                resource_version: rv,
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.opts.identity.clone()),
                lease_duration_seconds: Some(self.opts.duration.as_secs().max(1) as i32),
                acquire_time: if takeover {
                    Some(now.clone())
                } else {
                    old.acquire_time
                },
                renew_time: Some(now),
                lease_transitions: Some(if takeover && read.is_some() {
                    transitions + 1
                } else {
                    transitions
                }),
                ..LeaseSpec::default()
            }),
        }
    }
}

/// What the election shares with the rest of the agent.
#[derive(Debug, Default)]
pub struct Status {
    /// Whether this agent holds the Lease now.
    pub leader: AtomicBool,
    /// Times this agent took the Lease (created or taken over).
    pub acquired: AtomicU64,
    /// Writes refused with 409 Conflict.
    pub conflicts: AtomicU64,
    /// Other failed requests.
    pub errors: AtomicU64,
}

fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(r) if r.code == code)
}

/// One round: read, decide, write. Returns whether to read again at once
/// (a lost race).
async fn round(
    api: &Api<Lease>,
    el: &mut Elector,
    st: &Status,
    say: &(dyn Fn(String) + Sync),
) -> bool {
    let name = el.opts.name.clone();
    let read = match api.get_opt(&name).await {
        Ok(l) => l,
        Err(e) => {
            st.errors.fetch_add(1, Ordering::Relaxed);
            say(format!(
                "lease {}/{name}: read failed: {e}",
                el.opts.namespace
            ));
            el.unreachable(Instant::now());
            return false;
        }
    };
    let step = el.decide(read.as_ref(), Instant::now());
    let was = el.leading();
    let wrote = match &step {
        Step::Follow => return false,
        Step::Create => {
            api.create(&PostParams::default(), &el.lease_for(None, &step))
                .await
        }
        Step::Update { .. } => {
            let l = el.lease_for(read.as_ref(), &step);
            api.replace(&name, &PostParams::default(), &l).await
        }
    };
    match wrote {
        Ok(l) => {
            el.won(&l, Instant::now());
            if !was || matches!(step, Step::Create | Step::Update { takeover: true, .. }) {
                st.acquired.fetch_add(1, Ordering::Relaxed);
            }
            false
        }
        Err(e) if is_code(&e, 409) => {
            st.conflicts.fetch_add(1, Ordering::Relaxed);
            el.conflict();
            true
        }
        Err(e) => {
            st.errors.fetch_add(1, Ordering::Relaxed);
            say(format!(
                "lease {}/{name}: write failed: {e}",
                el.opts.namespace
            ));
            el.unreachable(Instant::now());
            false
        }
    }
}

/// Runs the election until `stop` resolves, keeping `status.leader`
/// current; then releases the Lease if held (holder cleared, so another
/// candidate takes over at its next read). `say` gets error messages.
pub async fn run(
    api: Api<Lease>,
    opts: LeaseOptions,
    status: Arc<Status>,
    say: impl Fn(String) + Sync,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut el = Elector::new(opts.clone());
    // an error is said once, not at every retry (a 403 would repeat)
    let last = std::sync::Mutex::new(String::new());
    let once = |m: String| {
        if let Ok(mut l) = last.lock() {
            if *l != m {
                say(m.clone());
                *l = m;
            }
        }
    };
    loop {
        if round(&api, &mut el, &status, &once).await {
            // one immediate re-read after a lost race, then the usual pace
            round(&api, &mut el, &status, &once).await;
        }
        status.leader.store(el.leading(), Ordering::Release);
        let wait = if el.leading() {
            opts.renew_every()
        } else {
            opts.retry_every()
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    if el.leading() {
        status.leader.store(false, Ordering::Release);
        release(&api, &opts).await;
    }
}

/// Clears the holder of a Lease we hold (conditional, so a Lease someone
/// else took in between is left alone).
async fn release(api: &Api<Lease>, opts: &LeaseOptions) {
    let Ok(Some(mut l)) = api.get_opt(&opts.name).await else {
        return;
    };
    let spec = l.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(opts.identity.as_str()) {
        return;
    }
    spec.holder_identity = None;
    spec.lease_duration_seconds = Some(1);
    spec.renew_time = Some(now());
    let _ = api.replace(&opts.name, &PostParams::default(), &l).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, rv: &str, renew_s: i64) -> Lease {
        use k8s_openapi::chrono::{TimeZone, Utc};
        Lease {
            metadata: ObjectMeta {
                name: Some("l".into()),
                resource_version: Some(rv.into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(Into::into),
                lease_duration_seconds: Some(10),
                renew_time: Some(MicroTime(Utc.timestamp_opt(renew_s, 0).unwrap())),
                lease_transitions: Some(2),
                ..LeaseSpec::default()
            }),
        }
    }

    fn opts(id: &str) -> LeaseOptions {
        LeaseOptions {
            duration: Duration::from_secs(10),
            ..LeaseOptions::new(id)
        }
    }

    #[test]
    fn absent_lease_is_created() {
        let mut e = Elector::new(opts("a"));
        assert_eq!(e.decide(None, Instant::now()), Step::Create);
        let l = e.lease_for(None, &Step::Create);
        let s = l.spec.unwrap();
        assert_eq!(s.holder_identity.as_deref(), Some("a"));
        assert_eq!(s.lease_duration_seconds, Some(10));
        assert_eq!(l.metadata.resource_version, None);
        assert_eq!(l.metadata.namespace.as_deref(), Some("kube-system"));
    }

    #[test]
    fn live_lease_of_another_is_followed_until_it_stops_changing() {
        let t0 = Instant::now();
        let mut e = Elector::new(opts("b"));
        let held = lease(Some("a"), "5", 100);
        assert_eq!(e.decide(Some(&held), t0), Step::Follow);
        // renewed: a new record restarts the clock
        let renewed = lease(Some("a"), "6", 103);
        assert_eq!(
            e.decide(Some(&renewed), t0 + Duration::from_secs(9)),
            Step::Follow
        );
        assert_eq!(
            e.decide(Some(&renewed), t0 + Duration::from_secs(18)),
            Step::Follow
        );
        // unchanged for the lease's duration on our clock: take it over
        let step = e.decide(Some(&renewed), t0 + Duration::from_secs(19));
        assert_eq!(
            step,
            Step::Update {
                resource_version: "6".into(),
                takeover: true
            }
        );
        let w = e.lease_for(Some(&renewed), &step);
        assert_eq!(w.metadata.resource_version.as_deref(), Some("6"));
        let s = w.spec.clone().unwrap();
        assert_eq!(s.lease_transitions, Some(3));
        assert_eq!(s.holder_identity.as_deref(), Some("b"));
        assert!(s.acquire_time.is_some());
        assert!(!e.leading());
        e.won(&w, t0 + Duration::from_secs(19));
        assert!(e.leading());
    }

    #[test]
    fn released_lease_is_taken_at_once_and_own_lease_renewed() {
        let t0 = Instant::now();
        let mut e = Elector::new(opts("b"));
        let free = lease(None, "9", 100);
        assert!(matches!(
            e.decide(Some(&free), t0),
            Step::Update { takeover: true, .. }
        ));
        let mine = lease(Some("b"), "10", 100);
        let step = e.decide(Some(&mine), t0);
        assert_eq!(
            step,
            Step::Update {
                resource_version: "10".into(),
                takeover: false
            }
        );
        // a renewal keeps the transitions and the acquire time
        let w = e.lease_for(Some(&mine), &step);
        assert_eq!(w.spec.unwrap().lease_transitions, Some(2));
    }

    #[test]
    fn conflict_and_unreachable_end_leadership() {
        let t0 = Instant::now();
        let mut e = Elector::new(opts("a"));
        let l = lease(Some("a"), "1", 1);
        e.won(&l, t0);
        e.unreachable(t0 + Duration::from_secs(3));
        assert!(e.leading(), "within the renew deadline");
        e.unreachable(t0 + Duration::from_secs(7));
        assert!(!e.leading(), "past the renew deadline (2/3 of 10 s)");
        e.won(&l, t0);
        e.conflict();
        assert!(!e.leading());
        // another holder appeared: follow
        let other = lease(Some("c"), "2", 2);
        assert_eq!(e.decide(Some(&other), t0), Step::Follow);
    }
}

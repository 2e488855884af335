//! Live containers: the engine's side of container attribution.
//!
//! [`Tracker`] installs a [`ContainerHook`] in the state engine that
//! identifies containers from a thread's cgroups (`sonde-container`, every
//! runtime), asks the non-blocking [`Resolver`] for the metadata of each
//! new container, and turns what happens to containers into events that go
//! through the normal engine path (state, capture filter, sinks, `-w`):
//!
//! - a `container` event (`CONTAINER_JSON_E`, sysdig's JSON layout) when a
//!   container is first seen (id and type only) and again when its
//!   metadata arrives (name, image, labels, ...): `evt.type=container`;
//! - a `notification` event when its last thread was reaped and it left
//!   the table (`evt.type=notification`, `evt.arg.id` = the short id,
//!   `evt.arg.desc` = `container stopped: <name>`). sysdig 0.29.3 writes
//!   no stop event; a notification is the generic meta-event it and its
//!   successors read, so written files stay readable there.
//!
//! The event loop only asks [`Tracker::due`] per event (an atomic load and
//! a counter test); lookups are polled at most once a millisecond.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap;
use sonde_container::{
    detect_sources, identify_cgroups, ContainerInfo, Identity, Resolver, ResolverConfig,
};
use sonde_event::codes;
use sonde_state::{container_id_from_cgroups, ContainerHook, ContainerIdent, State};

/// What the state engine's hook reports to the tracker.
#[derive(Default)]
struct Inbox {
    new: Vec<Identity>,
    gone: Vec<Vec<u8>>,
}

/// The hook the state engine calls (on the event thread).
struct Hook {
    inbox: Arc<Mutex<Inbox>>,
    flag: Arc<AtomicBool>,
    last: Option<Identity>,
}

impl ContainerHook for Hook {
    fn identify(&mut self, cgroups: &[u8]) -> Option<ContainerIdent> {
        let id = identify_cgroups(cgroups)?;
        let short = id.short_id().as_bytes().to_vec();
        // files are read with sysdig's docker rule: where it would not see
        // this container, a `sonde=/<id>` entry lets it (64-hex ids only)
        let alias = (short.len() != id.id.len()
            && container_id_from_cgroups(cgroups) != Some(short.as_slice()))
        .then(|| format!("sonde=/{}", id.id).into_bytes());
        let out = ContainerIdent {
            id: short,
            kind: id.runtime.sysdig_type(),
            alias,
        };
        self.last = Some(id);
        Some(out)
    }

    fn first_seen(&mut self, id: &[u8]) {
        let Some(ident) = self.last.take() else {
            return;
        };
        if ident.short_id().as_bytes() != id {
            return;
        }
        if let Ok(mut i) = self.inbox.lock() {
            i.new.push(ident);
        }
        self.flag.store(true, Ordering::Release);
    }

    fn gone(&mut self, id: &[u8]) {
        if let Ok(mut i) = self.inbox.lock() {
            i.gone.push(id.to_vec());
        }
        self.flag.store(true, Ordering::Release);
    }
}

/// A synthetic event waiting to be handed out: its code and body (the
/// parameter lengths, then the parameters).
pub(crate) struct Synth {
    pub code: u16,
    pub nparams: u32,
    pub large: bool,
    pub body: Vec<u8>,
    pub ts: u64,
}

/// Counts for `-v`.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    seen: u64,
    resolved: u64,
    unknown: u64,
    stopped: u64,
}

/// Live container tracking; see the module docs.
pub(crate) struct Tracker {
    resolver: Resolver,
    inbox: Arc<Mutex<Inbox>>,
    flag: Arc<AtomicBool>,
    /// Containers in the table, by short id, with their names.
    known: FxHashMap<Vec<u8>, (Identity, String)>,
    ready: VecDeque<Synth>,
    last_poll: Instant,
    stats: Stats,
    /// Kubernetes metadata added to container events.
    #[cfg(feature = "k8s")]
    pub(crate) k8s: Option<crate::k8s::K8sLink>,
}

/// How often finished lookups are collected, at most.
const POLL_EVERY: Duration = Duration::from_millis(1);

impl Tracker {
    /// A tracker over the metadata sources found on this host, with its
    /// hook installed in `st`.
    pub(crate) fn install(st: &mut State) -> Tracker {
        Tracker::install_with(
            st,
            Resolver::new(detect_sources(), &ResolverConfig::default()),
        )
    }

    /// A tracker over `resolver`, with its hook installed in `st`.
    pub(crate) fn install_with(st: &mut State, resolver: Resolver) -> Tracker {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let flag = Arc::new(AtomicBool::new(false));
        st.set_container_hook(Box::new(Hook {
            inbox: Arc::clone(&inbox),
            flag: Arc::clone(&flag),
            last: None,
        }));
        Tracker {
            resolver,
            inbox,
            flag,
            known: FxHashMap::default(),
            ready: VecDeque::new(),
            last_poll: Instant::now(),
            stats: Stats::default(),
            #[cfg(feature = "k8s")]
            k8s: None,
        }
    }

    /// Whether [`Tracker::work`] has something to do: a container came or
    /// went, or (every 16th event) lookups may have finished.
    #[inline]
    pub(crate) fn due(&self, num: u64) -> bool {
        num & 15 == 0 || self.flag.load(Ordering::Relaxed) || !self.ready.is_empty()
    }

    /// Takes in what the hook reported and the finished lookups (never
    /// blocks), queueing the events to hand out.
    pub(crate) fn work(&mut self) {
        if self.flag.swap(false, Ordering::Acquire) {
            let inbox = match self.inbox.lock() {
                Ok(mut i) => std::mem::take(&mut *i),
                Err(_) => Inbox::default(),
            };
            for ident in inbox.new {
                self.stats.seen += 1;
                self.resolver.request(&ident);
                #[allow(unused_mut)]
                let mut info = ContainerInfo::new(&ident.id, ident.runtime, "");
                #[cfg(feature = "k8s")]
                if let Some(k) = &mut self.k8s {
                    k.decorate(&mut info, false);
                }
                self.ready.push_back(container_event(&info, false));
                self.known
                    .insert(ident.short_id().as_bytes().to_vec(), (ident, String::new()));
            }
            for id in inbox.gone {
                let mut name = String::new();
                if let Some((ident, n)) = self.known.remove(&id) {
                    self.resolver.forget(&ident.id);
                    name = n;
                }
                #[cfg(feature = "k8s")]
                if let Some(k) = &mut self.k8s {
                    k.forget(&id);
                }
                self.stats.stopped += 1;
                self.ready.push_back(stop_event(&id, &name));
            }
        }
        if self.last_poll.elapsed() >= POLL_EVERY {
            self.last_poll = Instant::now();
            for r in self.resolver.poll() {
                let short = r.identity.short_id().as_bytes();
                let Some(known) = self.known.get_mut(short) else {
                    continue;
                };
                match r.info {
                    #[allow(unused_mut)]
                    Some(mut info) => {
                        self.stats.resolved += 1;
                        #[cfg(feature = "k8s")]
                        if let Some(k) = &mut self.k8s {
                            k.decorate(&mut info, true);
                        }
                        known.1.clone_from(&info.name);
                        self.ready.push_back(container_event(&info, true));
                    }
                    None => self.stats.unknown += 1,
                }
            }
            #[cfg(feature = "k8s")]
            if let Some(k) = &mut self.k8s {
                k.refresh(&mut self.ready);
            }
        }
    }

    /// At the start of live capture: takes in the containers of the
    /// threads read from /proc and waits up to `wait` for their lookups,
    /// so the first events handed out already see the containers named
    /// (a chisel such as lscontainers reads the table at its first event).
    pub(crate) fn settle(&mut self, wait: Duration) {
        let end = Instant::now() + wait;
        self.work();
        while self.resolver.pending() > 0 && Instant::now() < end {
            std::thread::sleep(POLL_EVERY);
            self.work();
        }
    }

    /// The next synthetic event to hand out.
    pub(crate) fn next(&mut self) -> Option<Synth> {
        self.ready.pop_front()
    }

    /// The `-v` lines: counts, the resolver's state and why sources failed.
    pub(crate) fn notes(&self, st: &State) -> Vec<String> {
        let s = self.stats;
        let mut v = vec![
            format!(
                "Containers: {} seen, {} resolved, {} unknown to the runtimes, {} stopped, {} in table",
                s.seen,
                s.resolved,
                s.unknown,
                s.stopped,
                st.containers.len()
            ),
            format!(
                "Container sources: [{}], lookups dropped: {}, pending: {}",
                self.resolver.sources().join(", "),
                self.resolver.dropped(),
                self.resolver.pending()
            ),
        ];
        for r in self.resolver.reasons() {
            v.push(format!("Container source failed: {r}"));
        }
        #[cfg(feature = "k8s")]
        if let Some(k) = &self.k8s {
            v.extend(k.notes());
        }
        v
    }
}

/// Now, in nanoseconds since the epoch (the live probe's clock).
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A `container` event for `info`: `CONTAINER_JSON_E`, or the large
/// payload variant when the JSON does not fit 64 KiB.
pub(crate) fn container_event(info: &ContainerInfo, resolved: bool) -> Synth {
    let mut json = sysdig_json(info, resolved).into_bytes();
    json.push(0);
    let large = json.len() > usize::from(u16::MAX);
    let mut body = Vec::with_capacity(json.len() + 4);
    if large {
        body.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes());
    } else {
        body.extend_from_slice(&u16::try_from(json.len()).unwrap_or(0).to_le_bytes());
    }
    body.extend_from_slice(&json);
    Synth {
        code: if large {
            codes::CONTAINER_JSON_2_E
        } else {
            codes::CONTAINER_JSON_E
        },
        nparams: 1,
        large,
        body,
        ts: now_ns(),
    }
}

/// The `notification` event of a container that left the table.
fn stop_event(id: &[u8], name: &str) -> Synth {
    let mut a = id.to_vec();
    a.push(0);
    let mut d = format!("container stopped: {name}").into_bytes();
    d.truncate(4096);
    d.push(0);
    let mut body = Vec::with_capacity(a.len() + d.len() + 4);
    body.extend_from_slice(&u16::try_from(a.len()).unwrap_or(0).to_le_bytes());
    body.extend_from_slice(&u16::try_from(d.len()).unwrap_or(0).to_le_bytes());
    body.extend_from_slice(&a);
    body.extend_from_slice(&d);
    Synth {
        code: codes::NOTIFICATION_E,
        nparams: 2,
        large: false,
        body,
        ts: now_ns(),
    }
}

/// The container JSON as sysdig writes it (keys sorted, as jsoncpp does):
/// what `sonde_state::parse_container_json` and sysdig read back.
/// `lookup_state` is 1 (successful) both for the first, nameless event
/// and for the one with the metadata.
pub(crate) fn sysdig_json(info: &ContainerInfo, resolved: bool) -> String {
    let mut j = String::with_capacity(512);
    j.push_str("{\"container\":{\"Mounts\":[");
    for (i, m) in info.mounts.iter().enumerate() {
        if i > 0 {
            j.push(',');
        }
        j.push_str("{\"Destination\":");
        string(&mut j, &m.dest);
        j.push_str(",\"Mode\":");
        string(&mut j, &m.mode);
        j.push_str(",\"Propagation\":");
        string(&mut j, &m.propagation);
        j.push_str(",\"RW\":");
        j.push_str(if m.rw { "true" } else { "false" });
        j.push_str(",\"Source\":");
        string(&mut j, &m.source);
        j.push('}');
    }
    j.push_str("],\"full_id\":");
    string(&mut j, &info.id);
    j.push_str(",\"id\":");
    string(&mut j, info.short_id());
    for (k, v) in [
        ("image", &info.image),
        ("imagedigest", &info.image_digest),
        ("imageid", &info.image_id),
        ("imagerepo", &info.image_repo),
        ("imagetag", &info.image_tag),
    ] {
        j.push_str(",\"");
        j.push_str(k);
        j.push_str("\":");
        string(&mut j, v);
    }
    j.push_str(",\"ip\":");
    string(
        &mut j,
        &info.ip.map(|ip| ip.to_string()).unwrap_or_default(),
    );
    j.push_str(",\"labels\":{");
    for (i, (k, v)) in info.labels.iter().enumerate() {
        if i > 0 {
            j.push(',');
        }
        string(&mut j, k);
        j.push(':');
        string(&mut j, v);
    }
    j.push_str("},\"lookup_state\":1,\"name\":");
    string(&mut j, &info.name);
    j.push_str(",\"privileged\":");
    j.push_str(if info.privileged { "true" } else { "false" });
    j.push_str(",\"type\":");
    j.push_str(&info.runtime.sysdig_type().to_string());
    if !resolved {
        j.push_str(",\"metadata_pending\":true");
    }
    j.push_str("}}");
    j
}

/// Appends `s` as a JSON string.
fn string(j: &mut String, s: &str) {
    j.push('"');
    for c in s.chars() {
        match c {
            '"' => j.push_str("\\\""),
            '\\' => j.push_str("\\\\"),
            '\n' => j.push_str("\\n"),
            '\r' => j.push_str("\\r"),
            '\t' => j.push_str("\\t"),
            c if (c as u32) < 0x20 => j.push_str(&format!("\\u{:04x}", c as u32)),
            c => j.push(c),
        }
    }
    j.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_container::{Runtime, SourceError};

    /// A metadata source that answers after `delay` with a name.
    struct Slow {
        delay: Duration,
    }

    impl sonde_container::Source for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn handles(&self, _: Runtime) -> bool {
            true
        }
        fn lookup(
            &self,
            id: &str,
            runtime: Runtime,
            _: Instant,
        ) -> Result<Option<ContainerInfo>, SourceError> {
            std::thread::sleep(self.delay);
            let mut info = ContainerInfo::new(id, runtime, "slow");
            info.name = "web".into();
            Ok(Some(info))
        }
    }

    /// A state with a tracker over a source that answers after `delay`,
    /// and one thread of a podman container read from /proc.
    fn tracked(delay: Duration) -> (State, Tracker) {
        let mut st = State::new();
        let resolver = Resolver::new(
            vec![std::sync::Arc::new(Slow { delay })],
            &ResolverConfig::default(),
        );
        let t = Tracker::install_with(&mut st, resolver);
        let id = "c".repeat(64);
        st.add_thread_info(&sonde_scap::ThreadInfo {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"sh".to_vec(),
            cgroups: format!("cpu=/machine.slice/libpod-{id}.scope\0").into_bytes(),
            ..Default::default()
        });
        (st, t)
    }

    /// The names of the container events `t` queued (empty: unresolved).
    fn queued_names(t: &mut Tracker) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(s) = t.next() {
            let ev = sonde_event::RawEvent::from_parts(1, -1, s.code, s.nparams, &s.body, s.large)
                .unwrap();
            let mut st = State::new();
            st.process(&ev);
            let c = st.containers.values().next().expect("a container event");
            names.push(String::from_utf8_lossy(&c.name).into_owned());
        }
        names
    }

    #[test]
    fn settling_waits_for_the_lookups_of_the_containers_at_start() {
        let (_st, mut t) = tracked(Duration::from_millis(50));
        t.settle(Duration::from_secs(5));
        assert_eq!(queued_names(&mut t), ["", "web"]);
    }

    #[test]
    fn settling_gives_up_at_its_bound() {
        let (_st, mut t) = tracked(Duration::from_millis(1500));
        let start = Instant::now();
        t.settle(Duration::from_millis(100));
        let took = start.elapsed();
        assert!(took < Duration::from_millis(1000), "settle took {took:?}");
        assert_eq!(queued_names(&mut t), [""]);
    }

    #[test]
    fn json_reads_back() {
        let id = "a".repeat(64);
        let mut info = ContainerInfo::new(&id, Runtime::Podman, "libpod");
        info.name = "web \"1\"".into();
        info.set_image("docker.io/library/busybox:1.36");
        info.labels = vec![("app".into(), "demo".into())];
        info.privileged = true;
        info.ip = Some("10.0.0.2".parse().unwrap());
        let j = sysdig_json(&info, true);
        let c = sonde_state::parse_container_json(j.as_bytes()).unwrap();
        assert_eq!(c.id, b"aaaaaaaaaaaa");
        assert_eq!(c.name, b"web \"1\"");
        assert_eq!(c.image, b"docker.io/library/busybox:1.36");
        assert_eq!(c.label(b"app"), Some(&b"demo"[..]));
        let m = c.meta.unwrap();
        assert_eq!(m.kind, Some(11));
        assert!(m.privileged);
        assert_eq!(m.image_tag, b"1.36");
        assert_eq!(m.ip, u32::from(std::net::Ipv4Addr::new(10, 0, 0, 2)));
        let s = container_event(&info, true);
        assert!(sonde_event::RawEvent::from_parts(1, -1, s.code, 1, &s.body, s.large).is_ok());
        let s = stop_event(b"aaaaaaaaaaaa", "web");
        assert!(sonde_event::RawEvent::from_parts(1, -1, s.code, 2, &s.body, false).is_ok());
    }
}

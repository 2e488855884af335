//! Containers in the state engine: `container` events (JSON and the old
//! fixed layout), attributing threads to containers from their cgroups
//! (sysdig's docker rule for capture files; a [`ContainerHook`] installed
//! for live capture), and dropping a live container after its last thread.
//! Parsing the metadata itself is `crate::container`'s.

use sonde_event::RawEvent;

use crate::container::{container_id_from_cgroups, parse_container_json, Container};
use crate::thread::Thread;

use super::State;

impl State {
    /// An old-layout `container` event: records the container.
    pub(super) fn on_container_event(&mut self, ev: &RawEvent<'_>) {
        let id = ev.param_str(0).unwrap_or_default().to_vec();
        let cont = Container {
            name: ev.param_str(2).unwrap_or_default().to_vec(),
            image: ev.param_str(3).unwrap_or_default().to_vec(),
            successful: true,
            id: id.clone(),
            labels: Vec::new(),
            meta: Some(Box::new(crate::container::ContainerMeta {
                kind: ev.param_u64(1).map(|t| t as u32),
                ..Default::default()
            })),
        };
        self.containers.insert(id, cont);
    }

    /// A `container` event: records the container and sets up the
    /// stand-in thread the event is shown with.
    pub(super) fn on_container_json(&mut self, ev: &RawEvent<'_>) {
        let Some(cont) = ev
            .param(0)
            .and_then(|j| parse_container_json(sonde_event::cstr(j)))
        else {
            return;
        };
        self.suppressed = !cont.successful;
        let mut comm = b"container:".to_vec();
        comm.extend_from_slice(&cont.id);
        let mut t = Thread::new(-1);
        t.comm = comm;
        t.pid = -1;
        t.vtid = -2;
        t.vpid = -2;
        t.ptid = 0;
        t.loginuid = 0;
        t.container_id = cont.id.clone();
        self.container_thread = Some(t);
        // live: a container whose threads are all gone (its metadata came
        // late) is shown with this event, then dropped again
        if let Some(live) = self.live_containers.as_mut() {
            if !self.threads.values().any(|t| t.container_id == cont.id) {
                live.stale = Some(cont.id.clone());
            }
        }
        self.containers.insert(cont.id.clone(), cont);
    }

    /// Attributes a thread to a container from its cgroups: with a
    /// [`ContainerHook`] (live capture) the hook decides, else sysdig's
    /// docker rule (capture files).
    pub(super) fn resolve_container(&mut self, tid: i64) {
        self.touch_threads();
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        t.container_id.clear();
        if let Some(live) = self.live_containers.as_mut() {
            let Some(ContainerIdent { id, kind, alias }) = live.hook.identify(&t.info.cgroups)
            else {
                return;
            };
            t.container_id.extend_from_slice(&id);
            if let Some(a) = alias {
                if !crate::thread::split_nul(&t.info.cgroups).any(|e| e == a.as_slice()) {
                    t.info.cgroups.extend_from_slice(&a);
                    t.info.cgroups.push(0);
                }
            }
            if !self.containers.contains_key(&id) {
                let c = Container {
                    id: id.clone(),
                    successful: true,
                    meta: Some(Box::new(crate::container::ContainerMeta {
                        kind: Some(kind),
                        ..Default::default()
                    })),
                    ..Default::default()
                };
                self.containers.insert(id.clone(), c);
                live.hook.first_seen(&id);
            }
            return;
        }
        if let Some(id) = container_id_from_cgroups(&t.info.cgroups) {
            t.container_id.extend_from_slice(id);
            if !self.containers.contains_key(id) {
                let c = Container {
                    id: id.to_vec(),
                    successful: true,
                    ..Default::default()
                };
                self.containers.insert(id.to_vec(), c);
            }
        }
    }

    /// Installs the container identifier of live capture: from now on
    /// threads are attributed by `hook`, and a container is dropped from
    /// the table once its last thread is reaped. Capture files keep
    /// sysdig's rule (no hook).
    pub fn set_container_hook(&mut self, hook: Box<dyn ContainerHook>) {
        self.live_containers = Some(LiveContainers { hook, stale: None });
    }

    /// Drops the container a `container` event described after its last
    /// thread was gone (live only), unless a thread came back.
    pub(super) fn drop_stale_container(&mut self) {
        let Some(id) = self.live_containers.as_mut().and_then(|l| l.stale.take()) else {
            return;
        };
        self.touch_threads();
        if !self.threads.values().any(|t| t.container_id == id) {
            self.containers.remove(&id);
        }
    }

    /// Whether a container hook is installed (live capture).
    pub fn has_container_hook(&self) -> bool {
        self.live_containers.is_some()
    }

    /// Removes thread `tid` (a stale entry), dropping its container when
    /// it was the last thread of it (live).
    pub(super) fn remove_stale_thread(&mut self, tid: i64) {
        self.touch_threads();
        if let Some(t) = self.threads.remove(&tid) {
            if !t.container_id.is_empty() {
                self.container_thread_gone(&t.container_id);
            }
        }
    }

    /// A thread of container `id` was reaped: with a hook, drops the
    /// container when no thread of it is left (a scan of the thread table,
    /// only for threads in containers).
    pub(super) fn container_thread_gone(&mut self, id: &[u8]) {
        let Some(live) = self.live_containers.as_mut() else {
            return;
        };
        if self.threads.values().any(|t| t.container_id == id) {
            return;
        }
        if self.containers.remove(id).is_some() {
            live.hook.gone(id);
        }
    }
}

/// Identifies the container of a live thread from its cgroups (the live
/// engine implements it over `sonde-container`; capture files have none).
pub trait ContainerHook: Send {
    /// The container `cgroups` (`controller=path` entries, NUL-separated)
    /// name; None for host threads.
    fn identify(&mut self, cgroups: &[u8]) -> Option<ContainerIdent>;
    /// Container `id` (as [`ContainerHook::identify`] returned it) was seen
    /// for the first time; a nameless entry is in the table already.
    fn first_seen(&mut self, id: &[u8]);
    /// The last thread of container `id` was reaped; its entry is gone.
    fn gone(&mut self, id: &[u8]);
}

/// What a [`ContainerHook`] says about a thread's cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerIdent {
    /// The short id (`container.id`), the table key.
    pub id: Vec<u8>,
    /// sysdig's container type number (`ContainerMeta::kind`).
    pub kind: u32,
    /// A `controller=path` entry appended to the thread's cgroups when
    /// sysdig's capture-file rule would not find the container in them
    /// (e.g. `sonde=/<64 hex id>` for a podman cgroupfs path), so that a
    /// written capture reads back with the same `container.id` in sysdig
    /// and in sonde.
    pub alias: Option<Vec<u8>>,
}

/// The installed hook.
pub(super) struct LiveContainers {
    hook: Box<dyn ContainerHook>,
    /// A container to drop at the next event (see `on_container_json`).
    stale: Option<Vec<u8>>,
}

impl std::fmt::Debug for LiveContainers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveContainers")
    }
}

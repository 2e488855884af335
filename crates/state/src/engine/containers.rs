//! Containers in the state engine: `container` events (JSON and the old
//! fixed layout) and attributing threads to containers from their cgroups.
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
        self.containers.insert(cont.id.clone(), cont);
    }

    /// Attributes a thread to a container from its cgroups.
    pub(super) fn resolve_container(&mut self, tid: i64) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        t.container_id.clear();
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
}

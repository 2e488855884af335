//! The `k8s.*` fields (sysdig's `k8s` class): their names, parsing,
//! extraction and registry rows. Values come from the labels of the
//! event's container, which hold everything sonde knows of its pod:
//!
//! - live with `-k`/`--kubeconfig`, the engine adds the pod's metadata from
//!   the API server (`sonde-k8s`) as labels under `sonde.k8s/` (pod,
//!   namespace, owner chain, selecting services: see `sonde_k8s::labels`);
//!   `container` events carry them into capture files, so `sonde -r` shows
//!   the same values with no API server;
//! - the labels container runtimes put on a pod's containers
//!   (`io.kubernetes.pod.name`, `.namespace`, `.uid`; the pod's labels on
//!   its sandbox) give `k8s.pod.*` and `k8s.ns.name` before the API has
//!   answered, and in captures of other tools (as sysdig reads them).
//!
//! Multi-valued fields (`k8s.svc.*`: every service selecting the pod)
//! join their values with `, `.

use sonde_state::Container;

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};

/// The label prefix of API metadata (as `sonde_k8s::labels::PREFIX`).
const PREFIX: &[u8] = b"sonde.k8s/";

/// Which part of an object a field shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum K8sPart {
    /// `.name`.
    Name,
    /// `.id` (the uid).
    Id,
    /// `.label.KEY` / `.label[KEY]`.
    Label(String),
    /// `.labels`: `key:value` pairs joined by `, `.
    Labels,
}

/// A `k8s.*` field beyond `k8s.pod.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum K8sX {
    /// `k8s.ns.name`.
    NsName,
    /// `k8s.pod.id`.
    PodId,
    /// `k8s.pod.label.X`.
    PodLabel(String),
    /// `k8s.pod.labels`.
    PodLabels,
    /// `k8s.pod.ip`.
    PodIp,
    /// `k8s.pod.owner.kind` (false) / `k8s.pod.owner.name` (true).
    Owner(bool),
    /// `k8s.ns.id`, `k8s.ns.label.X`, `k8s.ns.labels`.
    Ns(K8sPart),
    /// An owner of the pod (`rs`, `deployment`, `rc`, `daemonset`,
    /// `statefulset`, `job`, `cronjob`) and the part shown.
    Obj(&'static str, K8sPart),
    /// `k8s.svc.*`: every service selecting the pod.
    Svc(K8sPart),
}

/// The owner kinds, by their name in field names.
const OWNERS: [&str; 7] = [
    "rs",
    "deployment",
    "rc",
    "daemonset",
    "statefulset",
    "job",
    "cronjob",
];

/// Parses a `k8s.*` field (`base`: `name` without its `[arg]`).
pub(crate) fn parse(
    _name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    let rest = base.strip_prefix("k8s.")?;
    let (what, tail) = rest.split_once('.')?;
    let part = || -> Option<Result<K8sPart, FieldError>> {
        Some(Ok(match tail {
            "name" => K8sPart::Name,
            "id" => K8sPart::Id,
            "labels" => K8sPart::Labels,
            "label" => match arg {
                Some(a) => K8sPart::Label(a.to_string()),
                None => return Some(Err(FieldError(format!("{base} requires a label name")))),
            },
            t => K8sPart::Label(t.strip_prefix("label.")?.to_string()),
        }))
    };
    let x = match what {
        "pod" => match tail {
            "name" => return Some(Ok(Field::K8sPodName)),
            "ip" => Ok(K8sX::PodIp),
            "owner.kind" => Ok(K8sX::Owner(false)),
            "owner.name" => Ok(K8sX::Owner(true)),
            _ => part()?.map(|p| match p {
                K8sPart::Id => K8sX::PodId,
                K8sPart::Labels => K8sX::PodLabels,
                K8sPart::Label(l) => K8sX::PodLabel(l),
                K8sPart::Name => K8sX::NsName, // not reached: handled above
            }),
        },
        "ns" => part()?.map(|p| match p {
            K8sPart::Name => K8sX::NsName,
            p => K8sX::Ns(p),
        }),
        "svc" => part()?.map(K8sX::Svc),
        "node" => part()?.map(|p| K8sX::Obj("node", p)),
        w => {
            let o = OWNERS.iter().find(|o| **o == w)?;
            part()?.map(|p| K8sX::Obj(o, p))
        }
    };
    Some(x.map(Field::K8s))
}

/// Appends `v`, true.
fn put(out: &mut Vec<u8>, v: &[u8]) -> bool {
    out.extend_from_slice(v);
    true
}

/// The value of `sonde.k8s/<key>`.
fn api<'c>(cont: &'c Container, key: &[u8]) -> Option<&'c [u8]> {
    cont.labels
        .iter()
        .find(|(k, _)| {
            k.len() == PREFIX.len() + key.len()
                && k.starts_with(PREFIX)
                && &k[PREFIX.len()..] == key
        })
        .map(|(_, v)| v.as_slice())
}

/// The `key:value` pairs under `sonde.k8s/<what>.label.`, joined by `, `.
fn api_labels(cont: &Container, what: &str, out: &mut Vec<u8>) -> bool {
    let pre = [PREFIX, what.as_bytes(), b".label."].concat();
    let mut pairs: Vec<(&[u8], &[u8])> = cont
        .labels
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(pre.as_slice())?, v.as_slice())))
        .collect();
    pairs.sort_unstable();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(k);
        if !v.is_empty() {
            out.push(b':');
            out.extend_from_slice(v);
        }
    }
    true
}

/// A part of the object whose labels are under `sonde.k8s/<what>.`.
fn api_part(cont: &Container, what: &str, part: &K8sPart, out: &mut Vec<u8>) -> bool {
    let key = match part {
        K8sPart::Name => format!("{what}.name"),
        // the node's uid is under `node.uid`, as the pod's (`labels.rs`)
        K8sPart::Id if what == "node" => "node.uid".to_string(),
        K8sPart::Id => format!("{what}.id"),
        K8sPart::Label(l) => format!("{what}.label.{l}"),
        K8sPart::Labels => {
            // only for an object the API described
            if api(cont, format!("{what}.name").as_bytes()).is_none()
                && what != "ns"
                && what != "pod"
            {
                return false;
            }
            return api_labels(cont, what, out);
        }
    };
    api(cont, key.as_bytes()).is_some_and(|v| put(out, v))
}

impl Ctx<'_, '_> {
    /// `k8s.pod.name`: from the API, else from the runtime's labels.
    pub(crate) fn extract_k8s_pod_name(&self, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.thread() else { return false };
        if t.container_id.is_empty() {
            return false;
        }
        let Some(c) = self.st.containers.get(&t.container_id) else {
            return false;
        };
        match api(c, b"pod.name").or_else(|| c.label(b"io.kubernetes.pod.name")) {
            Some(v) => put(out, v),
            None => false,
        }
    }

    /// Appends the value of a [`K8sX`] field; false when it has none.
    pub(crate) fn extract_k8s(&self, x: &K8sX, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.st.event_thread(self.ev) else {
            return false;
        };
        if t.container_id.is_empty() {
            return false;
        }
        let Some(cont) = self.st.containers.get(&t.container_id) else {
            return false;
        };
        if api(cont, b"pod.uid").is_none() {
            return self.k8s_from_labels(x, cont, out);
        }
        match x {
            K8sX::NsName => api(cont, b"ns.name").is_some_and(|v| put(out, v)),
            K8sX::PodId => api(cont, b"pod.uid").is_some_and(|v| put(out, v)),
            K8sX::PodIp => api(cont, b"pod.ip").is_some_and(|v| put(out, v)),
            K8sX::PodLabel(l) => api_part(cont, "pod", &K8sPart::Label(l.clone()), out),
            K8sX::PodLabels => api_labels(cont, "pod", out),
            K8sX::Owner(name) => {
                let k: &[u8] = if *name { b"owner.name" } else { b"owner.kind" };
                api(cont, k).is_some_and(|v| put(out, v))
            }
            K8sX::Ns(p) => api_part(cont, "ns", p, out),
            K8sX::Obj(what, p) => api_part(cont, what, p, out),
            K8sX::Svc(p) => {
                let mut any = false;
                for i in 0.. {
                    let what = format!("svc.{i}");
                    if api(cont, format!("{what}.name").as_bytes()).is_none() {
                        break;
                    }
                    let mut v = Vec::new();
                    if api_part(cont, &what, p, &mut v) {
                        if any {
                            out.extend_from_slice(b", ");
                        }
                        out.extend_from_slice(&v);
                        any = true;
                    }
                }
                any
            }
        }
    }

    /// The k8s fields sysdig reads from the runtime's container labels
    /// (before the API answers, and in other tools' captures).
    fn k8s_from_labels(&self, x: &K8sX, cont: &Container, out: &mut Vec<u8>) -> bool {
        if cont.labels.is_empty() {
            return false;
        }
        let key: &[u8] = match x {
            K8sX::NsName => b"io.kubernetes.pod.namespace",
            K8sX::PodId => b"io.kubernetes.pod.uid",
            K8sX::PodLabel(_) | K8sX::PodLabels => {
                // pod labels are the labels of the pod's sandbox
                let Some(sandbox) = cont.label(b"io.kubernetes.sandbox.id") else {
                    return false;
                };
                let id = &sandbox[..sandbox.len().min(12)];
                let Some(sb) = self.st.containers.get(id).filter(|c| !c.labels.is_empty()) else {
                    return false;
                };
                if let K8sX::PodLabel(name) = x {
                    return sb.label(name.as_bytes()).is_some_and(|v| put(out, v));
                }
                let mut labels: Vec<&(Vec<u8>, Vec<u8>)> = sb.labels.iter().collect();
                labels.sort();
                labels.dedup_by(|a, b| a.0 == b.0);
                for (k, v) in labels {
                    if k.starts_with(b"annotation.")
                        || k.starts_with(b"io.kubernetes.")
                        || k.starts_with(PREFIX)
                    {
                        continue;
                    }
                    if !out.is_empty() {
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(k);
                    if !v.is_empty() {
                        out.push(b':');
                        out.extend_from_slice(v);
                    }
                }
                return true;
            }
            _ => return false,
        };
        cont.label(key).is_some_and(|v| put(out, v))
    }
}

/// The `k8s` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "k8s", shortdesc: "", desc: "Kubernetes related context. Available when configured to fetch k8s meta-data from API Server." };

#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "k8s.pod.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes pod name." },
    FieldInfo { name: "k8s.pod.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes pod id." },
    FieldInfo { name: "k8s.pod.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes pod label. E.g. 'k8s.pod.label.foo'." },
    FieldInfo { name: "k8s.pod.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes pod comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.rc.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replication controller name." },
    FieldInfo { name: "k8s.rc.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replication controller id." },
    FieldInfo { name: "k8s.rc.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes replication controller label. E.g. 'k8s.rc.label.foo'." },
    FieldInfo { name: "k8s.rc.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replication controller comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.svc.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes service name (can return more than one value, concatenated)." },
    FieldInfo { name: "k8s.svc.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes service id (can return more than one value, concatenated)." },
    FieldInfo { name: "k8s.svc.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes service label. E.g. 'k8s.svc.label.foo' (can return more than one value, concatenated)." },
    FieldInfo { name: "k8s.svc.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes service comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.ns.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes namespace name." },
    FieldInfo { name: "k8s.ns.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes namespace id." },
    FieldInfo { name: "k8s.ns.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes namespace label. E.g. 'k8s.ns.label.foo'." },
    FieldInfo { name: "k8s.ns.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes namespace comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.rs.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replica set name." },
    FieldInfo { name: "k8s.rs.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replica set id." },
    FieldInfo { name: "k8s.rs.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes replica set label. E.g. 'k8s.rs.label.foo'." },
    FieldInfo { name: "k8s.rs.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes replica set comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.deployment.name", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes deployment name." },
    FieldInfo { name: "k8s.deployment.id", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes deployment id." },
    FieldInfo { name: "k8s.deployment.label", class: class::K8S, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes deployment label. E.g. 'k8s.rs.label.foo'." },
    FieldInfo { name: "k8s.deployment.labels", class: class::K8S, ty: T::Charbuf, flags: 0, desc: "Kubernetes deployment comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "k8s.pod.ip", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes pod ip." },
    FieldInfo { name: "k8s.pod.owner.kind", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kind of the pod's controller (ReplicaSet, DaemonSet, StatefulSet, Job, ...)." },
    FieldInfo { name: "k8s.pod.owner.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Name of the pod's controller." },
    FieldInfo { name: "k8s.daemonset.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes daemon set name." },
    FieldInfo { name: "k8s.daemonset.id", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes daemon set id." },
    FieldInfo { name: "k8s.statefulset.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes stateful set name." },
    FieldInfo { name: "k8s.statefulset.id", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes stateful set id." },
    FieldInfo { name: "k8s.job.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes job name." },
    FieldInfo { name: "k8s.job.id", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes job id." },
    FieldInfo { name: "k8s.cronjob.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes cron job name." },
    FieldInfo { name: "k8s.cronjob.id", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes cron job id." },
    FieldInfo { name: "k8s.node.name", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Name of the Kubernetes node the pod runs on." },
    FieldInfo { name: "k8s.node.id", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Uid of the Kubernetes node the pod runs on." },
    FieldInfo { name: "k8s.node.label", class: class::K8S, ty: T::Charbuf, flags: NEWER | ARG_DOT | ARG_KEY | ARG_REQUIRED, desc: "Kubernetes node label. E.g. 'k8s.node.label.topology.kubernetes.io/zone'." },
    FieldInfo { name: "k8s.node.labels", class: class::K8S, ty: T::Charbuf, flags: NEWER, desc: "Kubernetes node comma-separated key/value labels." },
];

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn k8s_fields_from_container_labels() {
        let mut st = State::new();
        let json = |s: &str| {
            let mut j = s.as_bytes().to_vec();
            j.push(0);
            j
        };
        let sandbox = json(
            r#"{"container":{"id":"aaaaaaaaaaaa","name":"pause","labels":{"app":"web","tier":"front","io.kubernetes.pod.name":"p"}}}"#,
        );
        let app = json(
            r#"{"container":{"id":"bbbbbbbbbbbb","name":"web","labels":{"io.kubernetes.pod.name":"web-1","io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.uid":"u-1","io.kubernetes.sandbox.id":"aaaaaaaaaaaaffff"}}}"#,
        );
        for j in [&sandbox, &app] {
            let b = body(&[j]);
            let ev = RawEvent::from_parts(1, -1, c::CONTAINER_JSON_E, 1, &b, false).unwrap();
            st.process(&ev);
        }
        let b = body(&[&app]);
        let ev = RawEvent::from_parts(2, -1, c::CONTAINER_JSON_E, 1, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("k8s.pod.name").as_deref(), Some("web-1"));
        assert_eq!(f("k8s.ns.name").as_deref(), Some("prod"));
        assert_eq!(f("k8s.pod.id").as_deref(), Some("u-1"));
        assert_eq!(f("k8s.pod.label.app").as_deref(), Some("web"));
        assert_eq!(f("k8s.pod.label.nope"), None);
        assert_eq!(f("k8s.pod.labels").as_deref(), Some("app:web, tier:front"));
        assert_eq!(f("container.type").as_deref(), Some("docker"));
        assert_eq!(f("evt.is_async").as_deref(), Some("true"));
        assert_eq!(f("evt.asynctype").as_deref(), Some("container"));
    }

    #[test]
    fn k8s_fields_from_api_labels() {
        let mut st = State::new();
        let j = br#"{"container":{"id":"cccccccccccc","name":"web","labels":{"io.kubernetes.pod.name":"stale","sonde.k8s/pod.name":"web-1","sonde.k8s/pod.uid":"u-1","sonde.k8s/ns.name":"prod","sonde.k8s/ns.id":"n-1","sonde.k8s/ns.label.env":"p","sonde.k8s/pod.ip":"10.0.0.9","sonde.k8s/pod.label.app":"web","sonde.k8s/pod.label.tier":"front","sonde.k8s/owner.kind":"ReplicaSet","sonde.k8s/owner.name":"web-7d","sonde.k8s/rs.name":"web-7d","sonde.k8s/rs.id":"r-1","sonde.k8s/deployment.name":"web","sonde.k8s/deployment.id":"d-1","sonde.k8s/deployment.label.team":"blue","sonde.k8s/svc.0.name":"a","sonde.k8s/svc.0.id":"s-a","sonde.k8s/svc.1.name":"b","sonde.k8s/svc.1.id":"s-b","sonde.k8s/svc.1.label.x":"y","sonde.k8s/node.name":"n1","sonde.k8s/node.uid":"nu-1","sonde.k8s/node.label.zone":"z1","sonde.k8s/node.label.kubernetes.io/os":"linux","sonde.k8s/node.address.InternalIP":"10.1.0.1"}}}"#;
        let mut j = j.to_vec();
        j.push(0);
        let b = body(&[&j]);
        let ev = RawEvent::from_parts(1, -1, c::CONTAINER_JSON_E, 1, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("k8s.pod.name").as_deref(), Some("web-1"));
        assert_eq!(f("k8s.pod.id").as_deref(), Some("u-1"));
        assert_eq!(f("k8s.pod.ip").as_deref(), Some("10.0.0.9"));
        assert_eq!(f("k8s.pod.label.app").as_deref(), Some("web"));
        assert_eq!(f("k8s.pod.label[tier]").as_deref(), Some("front"));
        assert_eq!(f("k8s.pod.labels").as_deref(), Some("app:web, tier:front"));
        assert_eq!(f("k8s.pod.owner.kind").as_deref(), Some("ReplicaSet"));
        assert_eq!(f("k8s.ns.name").as_deref(), Some("prod"));
        assert_eq!(f("k8s.ns.id").as_deref(), Some("n-1"));
        assert_eq!(f("k8s.ns.labels").as_deref(), Some("env:p"));
        assert_eq!(f("k8s.rs.name").as_deref(), Some("web-7d"));
        assert_eq!(f("k8s.rs.labels").as_deref(), Some(""));
        assert_eq!(f("k8s.deployment.id").as_deref(), Some("d-1"));
        assert_eq!(f("k8s.deployment.label.team").as_deref(), Some("blue"));
        assert_eq!(f("k8s.rc.name"), None);
        assert_eq!(f("k8s.rc.labels"), None);
        assert_eq!(f("k8s.job.name"), None);
        assert_eq!(f("k8s.svc.name").as_deref(), Some("a, b"));
        assert_eq!(f("k8s.svc.id").as_deref(), Some("s-a, s-b"));
        assert_eq!(f("k8s.svc.label.x").as_deref(), Some("y"));
        assert_eq!(f("k8s.node.name").as_deref(), Some("n1"));
        assert_eq!(f("k8s.node.id").as_deref(), Some("nu-1"));
        assert_eq!(f("k8s.node.label.zone").as_deref(), Some("z1"));
        assert_eq!(
            f("k8s.node.label[kubernetes.io/os]").as_deref(),
            Some("linux")
        );
        assert_eq!(
            f("k8s.node.labels").as_deref(),
            Some("kubernetes.io/os:linux, zone:z1")
        );
        // per-event cost of a field from the API labels (prints it)
        let opts = sonde_output::RenderOpts::default();
        let ctx = crate::Ctx {
            st: &st,
            ev: &ev,
            num: 1,
            first_ts: 1,
            prev_ts: 0,
            opts: &opts,
            time_fmt: crate::TimeFmt::Human,
            lookups: Default::default(),
        };
        let fd = crate::Field::parse("k8s.deployment.name").unwrap();
        let fs = crate::Field::parse("k8s.svc.name").unwrap();
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        for _ in 0..100_000 {
            out.clear();
            assert!(ctx.extract(&fd, &mut out));
        }
        let per_dep = t.elapsed() / 100_000;
        let t = std::time::Instant::now();
        for _ in 0..100_000 {
            out.clear();
            assert!(ctx.extract(&fs, &mut out));
        }
        let per_svc = t.elapsed() / 100_000;
        println!("per-event lookup: k8s.deployment.name {per_dep:?}, k8s.svc.name {per_svc:?}");
        assert!(crate::Field::parse("k8s.rc.label").is_err());
        assert!(crate::Field::parse("k8s.nope.name").is_err());
    }
}

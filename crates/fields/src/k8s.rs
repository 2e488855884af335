//! The `k8s.*` fields (sysdig's `k8s` class): their names, parsing,
//! extraction and registry rows. A capture has no API server to ask, so
//! the values come from the labels container runtimes put on a pod's
//! containers (as sysdig reads them); the other `k8s.*` fields are
//! accepted by filters and never have a value.

use sonde_state::Container;

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};

/// A `k8s.*` field beyond `k8s.pod.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum K8sX {
    /// `k8s.ns.name`, from the container's labels.
    NsName,
    /// `k8s.pod.id`, from the container's labels.
    PodId,
    /// `k8s.pod.label.X`, from the labels of the pod's sandbox container.
    PodLabel(String),
    /// `k8s.pod.labels`, from the labels of the pod's sandbox container.
    PodLabels,
}

/// Parses a `k8s.*` field (`base`: `name` without its `[arg]`).
pub(crate) fn parse(
    _name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    if let Some(label) = base.strip_prefix("k8s.pod.label.") {
        return Some(Ok(Field::K8s(K8sX::PodLabel(label.to_string()))));
    }
    let x = match base {
        "k8s.pod.name" => return Some(Ok(Field::K8sPodName)),
        "k8s.ns.name" => Ok(K8sX::NsName),
        "k8s.pod.id" => Ok(K8sX::PodId),
        "k8s.pod.labels" => Ok(K8sX::PodLabels),
        "k8s.pod.label" => match arg {
            Some(a) => Ok(K8sX::PodLabel(a.to_string())),
            None => Err(FieldError("k8s.pod.label requires a label name".into())),
        },
        _ => return None,
    };
    Some(x.map(Field::K8s))
}

impl Ctx<'_, '_> {
    /// `k8s.pod.name`, from the container's labels.
    pub(crate) fn extract_k8s_pod_name(&self, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.thread() else { return false };
        match self
            .st
            .containers
            .get(&t.container_id)
            .and_then(|c| c.label(b"io.kubernetes.pod.name"))
        {
            Some(v) => out.extend_from_slice(v),
            None => return false,
        }
        true
    }

    /// Appends the value of a [`K8sX`] field; false when it has none.
    pub(crate) fn extract_k8s(&self, x: &K8sX, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.st.event_thread(self.ev) else {
            return false;
        };
        if t.container_id.is_empty() {
            return false;
        }
        match self.st.containers.get(&t.container_id) {
            Some(cont) => self.k8s_from_labels(x, cont, out),
            None => false,
        }
    }

    /// The k8s fields sysdig reads from container labels (a capture has
    /// no API server to ask).
    fn k8s_from_labels(&self, x: &K8sX, cont: &Container, out: &mut Vec<u8>) -> bool {
        if cont.labels.is_empty() {
            return false;
        }
        let key: &[u8] = match x {
            K8sX::NsName => b"io.kubernetes.pod.namespace",
            K8sX::PodId => b"io.kubernetes.pod.uid",
            _ => {
                // pod labels are the labels of the pod's sandbox
                let Some(sandbox) = cont.label(b"io.kubernetes.sandbox.id") else {
                    return false;
                };
                let id = &sandbox[..sandbox.len().min(12)];
                let Some(sb) = self.st.containers.get(id).filter(|c| !c.labels.is_empty()) else {
                    return false;
                };
                if let K8sX::PodLabel(name) = x {
                    return match sb.label(name.as_bytes()) {
                        Some(v) => {
                            out.extend_from_slice(v);
                            true
                        }
                        None => false,
                    };
                }
                let mut labels: Vec<&(Vec<u8>, Vec<u8>)> = sb.labels.iter().collect();
                labels.sort();
                labels.dedup_by(|a, b| a.0 == b.0);
                for (k, v) in labels {
                    if k.starts_with(b"annotation.") || k.starts_with(b"io.kubernetes.") {
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
        };
        match cont.label(key) {
            Some(v) => {
                out.extend_from_slice(v);
                true
            }
            None => false,
        }
    }
}

/// The `k8s` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "k8s", shortdesc: "", desc: "Kubernetes related context. Available when configured to fetch k8s meta-data from API Server." };

/// Its rows of the field registry, in `sysdig -l` order.
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
}

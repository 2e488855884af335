//! Container metadata: [`ContainerInfo`], what the runtimes say about one
//! container, the [`Source`] trait the runtimes implement, and the helpers
//! they share (image reference parsing, Kubernetes annotations, caps on
//! hostile sizes).
//!
//! Mapping onto `sonde_state::Container` (all strings as bytes):
//!
//! | `ContainerInfo`        | `sonde_state::Container` / `ContainerMeta`     |
//! |------------------------|------------------------------------------------|
//! | `short_id()`           | `Container::id` (the table key too)            |
//! | `name`                 | `Container::name`                              |
//! | `image`                | `Container::image`                             |
//! | (a lookup result)      | `Container::successful = true`                 |
//! | `labels`               | `Container::labels`                            |
//! | `image_id`             | `ContainerMeta::image_id`                      |
//! | `image_repo`           | `ContainerMeta::image_repo`                    |
//! | `image_tag`            | `ContainerMeta::image_tag`                     |
//! | `image_digest`         | `ContainerMeta::image_digest`                  |
//! | `runtime.sysdig_type()`| `ContainerMeta::kind = Some(..)`               |
//! | `privileged`           | `ContainerMeta::privileged`                    |
//! | `mounts`               | `ContainerMeta::mounts` (`rw` -> `rdwr`)       |
//! | `ip`                   | `ContainerMeta::ip` (`u32::from(ip)`, 0: none) |
//! | `pod`                  | (no field yet: `k8s.pod.*`)                    |

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

use crate::identity::{short_id, Runtime};

/// Most labels (and annotations) kept per container; the rest are dropped.
pub const MAX_LABELS: usize = 256;
/// Longest label key or value kept, in bytes; longer ones are dropped.
pub const MAX_LABEL_LEN: usize = 4096;
/// Longest name, image or path kept, in bytes (longer ones are cut).
pub const MAX_STR_LEN: usize = 4096;
/// Most mounts kept per container.
pub const MAX_MOUNTS: usize = 256;

/// What the runtimes say about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The full id (64 hex digits for the engines, the name for LXC,
    /// nspawn and hand-run runc/crun).
    pub id: String,
    /// The runtime (`container.type`).
    pub runtime: Runtime,
    /// The container's name (`container.name`), without docker's `/`.
    pub name: String,
    /// The image as the runtime names it (`container.image`).
    pub image: String,
    /// The image id (`container.image.id`).
    pub image_id: String,
    /// The image repository (`container.image.repository`).
    pub image_repo: String,
    /// The image tag (`container.image.tag`).
    pub image_tag: String,
    /// The image digest (`container.image.digest`).
    pub image_digest: String,
    /// Whether it runs privileged (`container.privileged`).
    pub privileged: bool,
    /// Its mounts (`container.mounts`).
    pub mounts: Vec<MountInfo>,
    /// Its IPv4 address (`container.ip`), if it has one.
    pub ip: Option<Ipv4Addr>,
    /// Its labels, sorted by key (`container.label.*`).
    pub labels: Vec<(String, String)>,
    /// The Kubernetes pod it belongs to, from the runtime's annotations.
    pub pod: Option<PodInfo>,
    /// The source that answered (`docker-api`, `libpod`, `oci`).
    pub source: &'static str,
}

impl ContainerInfo {
    /// An empty description of container `id`.
    pub fn new(id: &str, runtime: Runtime, source: &'static str) -> ContainerInfo {
        ContainerInfo {
            id: id.to_string(),
            runtime,
            name: String::new(),
            image: String::new(),
            image_id: String::new(),
            image_repo: String::new(),
            image_tag: String::new(),
            image_digest: String::new(),
            privileged: false,
            mounts: Vec::new(),
            ip: None,
            labels: Vec::new(),
            pod: None,
            source,
        }
    }

    /// sysdig's `container.id` (12 hex digits, or the whole name).
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `image` and the repository, tag and digest parsed from it.
    pub fn set_image(&mut self, image: &str) {
        self.image = cap(image);
        let r = parse_image(&self.image);
        self.image_repo = r.repo;
        self.image_tag = r.tag;
        if !r.digest.is_empty() {
            self.image_digest = r.digest;
        }
    }

    /// Sets the labels from a map, dropping oversized ones and any beyond
    /// [`MAX_LABELS`], and the pod from the `io.kubernetes.*` ones.
    pub fn set_labels(&mut self, labels: &BTreeMap<String, String>) {
        self.labels = capped_labels(labels);
        if self.pod.is_none() {
            self.pod = pod_from_annotations(labels);
        }
    }
}

/// One mount of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountInfo {
    /// Host path (or volume source).
    pub source: String,
    /// Path in the container.
    pub dest: String,
    /// Mode string as the runtime gives it (e.g. `z`, `ro`).
    pub mode: String,
    /// Read-write.
    pub rw: bool,
    /// Propagation (`rprivate`, ...).
    pub propagation: String,
}

/// The Kubernetes pod of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// `io.kubernetes.pod.name`.
    pub name: String,
    /// `io.kubernetes.pod.namespace`.
    pub namespace: String,
    /// `io.kubernetes.pod.uid`.
    pub uid: String,
    /// The pod's labels where the runtime records them (CRI-O).
    pub labels: Vec<(String, String)>,
}

/// Why a source could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The runtime is not there (no socket, no state directory).
    #[error("{0}: not available")]
    Unavailable(String),
    /// It did not answer before the deadline.
    #[error("{0}: timed out")]
    Timeout(String),
    /// I/O error talking to it.
    #[error("{0}: {1}")]
    Io(String, String),
    /// It answered something unusable.
    #[error("{0}: bad answer: {1}")]
    Bad(String, String),
}

/// A source of container metadata. Implementations must return by
/// `deadline` (or soon after) whatever the runtime does.
pub trait Source: Send + Sync {
    /// Short name for reasons and [`ContainerInfo::source`].
    fn name(&self) -> &'static str;
    /// Whether it can know containers of this runtime.
    fn handles(&self, runtime: Runtime) -> bool;
    /// The metadata of container `id` (full id as [`crate::Identity`] has
    /// it), `Ok(None)` if this source does not know it.
    fn lookup(
        &self,
        id: &str,
        runtime: Runtime,
        deadline: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError>;
}

/// An image reference split into repository, tag and digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag and digest.
    pub repo: String,
    /// The tag (empty if none).
    pub tag: String,
    /// The digest (`sha256:...`, empty if none).
    pub digest: String,
}

/// Splits `repo[:tag][@digest]` (a `:` before the last `/` is a registry
/// port, not a tag).
pub fn parse_image(image: &str) -> ImageRef {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d.to_string()),
        None => (image, String::new()),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], rest[slash + i + 1..].to_string()),
        None => (rest, String::new()),
    };
    ImageRef {
        repo: repo.to_string(),
        tag,
        digest,
    }
}

/// The pod from the annotation keys runtimes use: `io.kubernetes.pod.*`
/// (docker, CRI-O), `io.kubernetes.cri.sandbox-*` (containerd); the pod
/// labels from CRI-O's `io.kubernetes.cri-o.Labels`.
pub fn pod_from_annotations(a: &BTreeMap<String, String>) -> Option<PodInfo> {
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| a.get(*k))
            .map(|v| cap(v))
            .unwrap_or_default()
    };
    let name = get(&["io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name"]);
    if name.is_empty() {
        return None;
    }
    let labels = a
        .get("io.kubernetes.cri-o.Labels")
        .and_then(|j| serde_json::from_str::<BTreeMap<String, String>>(j).ok())
        .map(|m| {
            let m = m
                .into_iter()
                .filter(|(k, _)| !k.starts_with("io.kubernetes."))
                .collect();
            capped_labels(&m)
        })
        .unwrap_or_default();
    Some(PodInfo {
        name,
        namespace: get(&[
            "io.kubernetes.pod.namespace",
            "io.kubernetes.cri.sandbox-namespace",
        ]),
        uid: get(&["io.kubernetes.pod.uid", "io.kubernetes.cri.sandbox-uid"]),
        labels,
    })
}

/// Labels with the size caps applied, sorted by key.
pub fn capped_labels(labels: &BTreeMap<String, String>) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(k, v)| k.len() <= MAX_LABEL_LEN && v.len() <= MAX_LABEL_LEN)
        .take(MAX_LABELS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `s` cut to [`MAX_STR_LEN`] bytes (on a character boundary).
pub fn cap(s: &str) -> String {
    if s.len() <= MAX_STR_LEN {
        return s.to_string();
    }
    let mut end = MAX_STR_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Kept OCI/CRI annotation keys that name the container and its image.
pub(crate) fn name_and_image_from_annotations(
    info: &mut ContainerInfo,
    a: &BTreeMap<String, String>,
) {
    const NAMES: [&str; 3] = [
        "io.kubernetes.cri.container-name",
        "io.kubernetes.cri-o.ContainerName",
        "io.kubernetes.container.name",
    ];
    const IMAGES: [&str; 2] = [
        "io.kubernetes.cri.image-name",
        "io.kubernetes.cri-o.ImageName",
    ];
    if info.name.is_empty() {
        if let Some(n) = NAMES.iter().find_map(|k| a.get(*k)) {
            info.name = cap(n);
        }
    }
    if info.image.is_empty() {
        if let Some(i) = IMAGES.iter().find_map(|k| a.get(*k)) {
            info.set_image(i);
        }
    }
    if info.pod.is_none() {
        info.pod = pod_from_annotations(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs() {
        let r = parse_image("docker.io/library/busybox:latest");
        assert_eq!(
            (r.repo.as_str(), r.tag.as_str()),
            ("docker.io/library/busybox", "latest")
        );
        let r = parse_image("localhost:5000/app");
        assert_eq!(
            (r.repo.as_str(), r.tag.as_str()),
            ("localhost:5000/app", "")
        );
        let r = parse_image("nginx@sha256:abcd");
        assert_eq!(
            (r.repo.as_str(), r.digest.as_str()),
            ("nginx", "sha256:abcd")
        );
        let r = parse_image("reg:1/a/b:v1@sha256:ff");
        assert_eq!(
            (r.repo.as_str(), r.tag.as_str(), r.digest.as_str()),
            ("reg:1/a/b", "v1", "sha256:ff")
        );
        assert_eq!(parse_image(""), ImageRef::default());
    }

    #[test]
    fn pods_from_annotations() {
        let mut a = BTreeMap::new();
        assert_eq!(pod_from_annotations(&a), None);
        a.insert("io.kubernetes.pod.name".into(), "web-0".into());
        a.insert("io.kubernetes.pod.namespace".into(), "prod".into());
        a.insert("io.kubernetes.pod.uid".into(), "u-1".into());
        a.insert(
            "io.kubernetes.cri-o.Labels".into(),
            r#"{"app":"web","io.kubernetes.pod.name":"web-0"}"#.into(),
        );
        let p = pod_from_annotations(&a).unwrap();
        assert_eq!(
            (p.name.as_str(), p.namespace.as_str(), p.uid.as_str()),
            ("web-0", "prod", "u-1")
        );
        assert_eq!(p.labels, vec![("app".to_string(), "web".to_string())]);
        let mut c = BTreeMap::new();
        c.insert("io.kubernetes.cri.sandbox-name".into(), "p".into());
        c.insert("io.kubernetes.cri.sandbox-namespace".into(), "ns".into());
        assert_eq!(pod_from_annotations(&c).unwrap().namespace, "ns");
    }

    #[test]
    fn caps() {
        let mut m = BTreeMap::new();
        for i in 0..1000 {
            m.insert(format!("k{i:04}"), "v".to_string());
        }
        m.insert("big".into(), "x".repeat(MAX_LABEL_LEN + 1));
        let l = capped_labels(&m);
        assert_eq!(l.len(), MAX_LABELS);
        assert!(l.iter().all(|(k, _)| k != "big"));
        let s = "é".repeat(MAX_STR_LEN);
        assert!(cap(&s).len() <= MAX_STR_LEN);
    }
}

//! Implicit tags: what the state knows of a series' host, container (its
//! id, name, image, repository and tag, runtime) and Kubernetes pod (the
//! `sonde.k8s/` container labels the engine adds from the API server, or
//! the runtime's `io.kubernetes.*` labels), and of its process.

use sonde_state::{Container, State, Thread};

use crate::series::Tags;

/// The host's tags: its name (from the capture's machine record, else the
/// running host) plus the explicit tags.
pub fn host_tags(st: &State, hostname: Option<&str>, explicit: &[(String, String)]) -> Tags {
    let mut t: Tags = explicit.to_vec();
    let name = st
        .machine
        .as_ref()
        .map(|m| m.hostname.clone())
        .filter(|h| !h.is_empty())
        .or_else(|| hostname.map(str::to_string));
    if let Some(h) = name {
        put(&mut t, "host.hostname", h);
    }
    t
}

/// Sets `key` to `v` (replacing an explicit tag of the same key).
pub fn put(t: &mut Tags, key: &str, v: String) {
    if let Some(x) = t.iter_mut().find(|(k, _)| k == key) {
        x.1 = v;
    } else {
        t.push((key.to_string(), v));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The tags of container `id` (none when the state does not know it yet
/// but its id).
pub fn container_tags(st: &State, id: &[u8]) -> Tags {
    let mut t = Tags::new();
    put(&mut t, "container.id", text(id));
    let Some(c) = st.containers.get(id) else {
        return t;
    };
    add_container(&mut t, c);
    add_k8s(&mut t, c);
    t
}

fn add_container(t: &mut Tags, c: &Container) {
    if !c.name.is_empty() {
        put(t, "container.name", text(&c.name));
    }
    if !c.image.is_empty() {
        put(t, "container.image", text(&c.image));
    }
    let meta = c.meta.as_deref();
    let repo = meta.map(|m| m.image_repo.as_slice()).unwrap_or(b"");
    let tag = meta.map(|m| m.image_tag.as_slice()).unwrap_or(b"");
    let (repo, tag) = match (repo.is_empty(), c.image.is_empty()) {
        // split `repo:tag` ourselves when the runtime did not
        (true, false) => split_image(&c.image),
        _ => (text(repo), text(tag)),
    };
    if !repo.is_empty() {
        put(t, "container.image.repo", repo);
    }
    if !tag.is_empty() {
        put(t, "container.image.tag", tag);
    }
    if let Some(m) = meta {
        if !m.image_id.is_empty() {
            put(t, "container.image.id", text(&m.image_id));
        }
    }
}

/// `repo[:tag][@digest]` into repository and tag.
fn split_image(image: &[u8]) -> (String, String) {
    let s = text(image);
    let s = s.split('@').next().unwrap_or("").to_string();
    let slash = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    match s[slash..].rfind(':') {
        Some(i) => (s[..slash + i].to_string(), s[slash + i + 1..].to_string()),
        None => (s, "latest".to_string()),
    }
}

/// Kubernetes tags from the container's labels.
fn add_k8s(t: &mut Tags, c: &Container) {
    let mut svcs: Vec<String> = Vec::new();
    for (k, v) in &c.labels {
        let (k, v) = (text(k), text(v));
        if v.is_empty() {
            continue;
        }
        if let Some(rest) = k.strip_prefix("sonde.k8s/") {
            if let Some(key) = k8s_key(rest) {
                put(t, &key, v);
            } else if rest.starts_with("svc.") && rest.ends_with(".name") {
                svcs.push(v);
            }
        } else if k == "io.kubernetes.pod.name" && !has(t, "k8s.pod.name") {
            put(t, "k8s.pod.name", v);
        } else if k == "io.kubernetes.pod.namespace" && !has(t, "k8s.ns.name") {
            put(t, "k8s.ns.name", v);
        } else if k == "io.kubernetes.pod.uid" && !has(t, "k8s.pod.id") {
            put(t, "k8s.pod.id", v);
        }
    }
    if !svcs.is_empty() {
        svcs.sort();
        put(t, "k8s.svc.name", svcs.join(","));
    }
}

fn has(t: &Tags, key: &str) -> bool {
    t.iter().any(|(k, _)| k == key)
}

/// The tag key of a `sonde.k8s/` label kept as a tag: names of the pod,
/// namespace, controller and owner chain, the pod's uid and labels.
fn k8s_key(rest: &str) -> Option<String> {
    if rest == "pod.uid" {
        return Some("k8s.pod.id".into());
    }
    if let Some(l) = rest.strip_prefix("pod.label.") {
        return Some(format!("k8s.pod.label.{l}"));
    }
    let owners = [
        "rs",
        "deployment",
        "rc",
        "daemonset",
        "statefulset",
        "job",
        "cronjob",
        "owner",
    ];
    let keep = matches!(rest, "pod.name" | "ns.name" | "owner.kind")
        || owners.iter().any(|o| rest == format!("{o}.name"));
    keep.then(|| format!("k8s.{rest}"))
}

/// A process's own tags.
pub fn process_tags(t: &Thread) -> Tags {
    let mut tags = Tags::new();
    put(&mut tags, "proc.name", text(&t.info.comm));
    put(&mut tags, "proc.pid", t.pid.to_string());
    tags
}

/// `base` plus `more` (later keys win), sorted by key.
pub fn joined(base: &Tags, more: &[&Tags]) -> Tags {
    let mut t = base.clone();
    for m in more {
        for (k, v) in m.iter() {
            put(&mut t, k, v.clone());
        }
    }
    t.sort();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split() {
        assert_eq!(
            split_image(b"docker.io/library/nginx:1.25"),
            ("docker.io/library/nginx".into(), "1.25".into())
        );
        assert_eq!(
            split_image(b"localhost:5000/app"),
            ("localhost:5000/app".into(), "latest".into())
        );
        assert_eq!(
            split_image(b"app:v1@sha256:abc"),
            ("app".into(), "v1".into())
        );
    }

    #[test]
    fn k8s_labels_become_tags() {
        let c = Container {
            id: b"abc".to_vec(),
            name: b"web".to_vec(),
            image: b"nginx:1".to_vec(),
            labels: vec![
                (b"sonde.k8s/pod.name".to_vec(), b"web-1".to_vec()),
                (b"sonde.k8s/ns.name".to_vec(), b"prod".to_vec()),
                (b"sonde.k8s/deployment.name".to_vec(), b"web".to_vec()),
                (b"sonde.k8s/pod.label.app".to_vec(), b"web".to_vec()),
                (b"sonde.k8s/svc.0.name".to_vec(), b"web-svc".to_vec()),
                (b"sonde.k8s/rev".to_vec(), b"123".to_vec()),
            ],
            ..Container::default()
        };
        let mut t = Tags::new();
        add_container(&mut t, &c);
        add_k8s(&mut t, &c);
        let keys: Vec<&str> = t.iter().map(|x| x.0.as_str()).collect();
        for k in [
            "container.name",
            "container.image.repo",
            "container.image.tag",
            "k8s.pod.name",
            "k8s.ns.name",
            "k8s.deployment.name",
            "k8s.pod.label.app",
            "k8s.svc.name",
        ] {
            assert!(keys.contains(&k), "{k} missing: {keys:?}");
        }
        assert!(!keys.iter().any(|k| k.contains("rev")));
    }
}

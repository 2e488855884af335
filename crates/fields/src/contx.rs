//! The `container.*` fields beyond id and name, from the metadata of
//! `container` events. Semantics follow libsinsp 0.29.3
//! (`sinsp_filter_check_container`).

use sonde_state::{Container, ContainerMeta, Mount};

use crate::extract::{Ctx, FieldError};

/// A field of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContX {
    Image,
    ImageId,
    ImageRepository,
    ImageTag,
    ImageDigest,
    Type,
    Privileged,
    Mounts,
    /// `container.mount[N]` or `container.mount[GLOB]` (by source).
    Mount(MountSel),
    /// `container.mount.source[...]` & co: the part (0 source, 1 dest,
    /// 2 mode, 3 rdwr, 4 propagation) of the mount selected (by index, or
    /// by a glob on the destination for `source`, on the source otherwise).
    MountPart(u8, MountSel),
    /// Health probes: 1 healthcheck, 2 liveness, 3 readiness.
    Probe(u8),
    /// `k8s.ns.name`, from the container's labels.
    K8sNsName,
    /// `k8s.pod.id`, from the container's labels.
    K8sPodId,
    /// `k8s.pod.label.X`, from the labels of the pod's sandbox container.
    K8sPodLabel(String),
    /// `k8s.pod.labels`, from the labels of the pod's sandbox container.
    K8sPodLabels,
}

/// How a mount is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSel {
    Index(usize),
    Glob(String),
}

/// Parses a field of this module (`base` without its `[arg]`).
pub(crate) fn parse(base: &str, arg: Option<&str>) -> Option<Result<ContX, FieldError>> {
    if let Some(label) = base.strip_prefix("k8s.pod.label.") {
        return Some(Ok(ContX::K8sPodLabel(label.to_string())));
    }
    let sel = || -> Result<MountSel, FieldError> {
        let a = arg.ok_or_else(|| FieldError(format!("{base} requires an argument")))?;
        Ok(match a.trim().parse::<usize>() {
            Ok(n) => MountSel::Index(n),
            Err(_) => MountSel::Glob(a.to_string()),
        })
    };
    let part = |i: u8| sel().map(|s| ContX::MountPart(i, s));
    Some(match base {
        "container.image" => Ok(ContX::Image),
        "container.image.id" => Ok(ContX::ImageId),
        "container.image.repository" => Ok(ContX::ImageRepository),
        "container.image.tag" => Ok(ContX::ImageTag),
        "container.image.digest" => Ok(ContX::ImageDigest),
        "container.type" => Ok(ContX::Type),
        "container.privileged" => Ok(ContX::Privileged),
        "container.mounts" => Ok(ContX::Mounts),
        "container.mount" => sel().map(ContX::Mount),
        "container.mount.source" => part(0),
        "container.mount.dest" => part(1),
        "container.mount.mode" => part(2),
        "container.mount.rdwr" => part(3),
        "container.mount.propagation" => part(4),
        "container.healthcheck" => Ok(ContX::Probe(1)),
        "container.liveness_probe" => Ok(ContX::Probe(2)),
        "container.readiness_probe" => Ok(ContX::Probe(3)),
        "k8s.ns.name" => Ok(ContX::K8sNsName),
        "k8s.pod.id" => Ok(ContX::K8sPodId),
        "k8s.pod.labels" => Ok(ContX::K8sPodLabels),
        "k8s.pod.label" => match arg {
            Some(a) => Ok(ContX::K8sPodLabel(a.to_string())),
            None => Err(FieldError("k8s.pod.label requires a label name".into())),
        },
        _ => return None,
    })
}

/// The name of a container type (`sinsp_container_type`).
fn type_name(t: u32) -> &'static str {
    match t {
        0 => "docker",
        1 => "lxc",
        2 => "libvirt-lxc",
        3 => "mesos",
        4 => "rkt",
        6 => "cri",
        7 => "containerd",
        8 => "cri-o",
        9 => "bpm",
        // sysdig names no other type
        _ => "",
    }
}

/// Whether the type reports its privileged flag (docker-compatible).
fn docker_compatible(t: u32) -> bool {
    matches!(t, 0 | 6 | 7 | 8 | 11)
}

fn select<'m>(m: &'m ContainerMeta, sel: &MountSel, by_dest: bool) -> Option<&'m Mount> {
    match sel {
        MountSel::Index(n) => m.mounts.get(*n),
        MountSel::Glob(g) => m.mounts.iter().find(|x| {
            let target = if by_dest { &x.dest } else { &x.source };
            fnmatch(g.as_bytes(), target)
        }),
    }
}

impl Ctx<'_, '_> {
    /// Appends the value of a [`ContX`] field; false when it has none.
    pub(crate) fn extract_contx(&self, x: &ContX, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.st.event_thread(self.ev) else {
            return false;
        };
        if t.container_id.is_empty() {
            if matches!(x, ContX::Type) {
                out.extend_from_slice(b"host");
                return true;
            }
            return false;
        }
        let Some(cont): Option<&Container> = self.st.containers.get(&t.container_id) else {
            return false;
        };
        if let ContX::K8sNsName | ContX::K8sPodId | ContX::K8sPodLabel(_) | ContX::K8sPodLabels = x
        {
            return self.k8s_from_labels(x, cont, out);
        }
        let empty = ContainerMeta::default();
        let meta = cont.meta.as_deref().unwrap_or(&empty);
        let nonempty = |out: &mut Vec<u8>, v: &[u8]| {
            if v.is_empty() {
                return false;
            }
            out.extend_from_slice(v);
            true
        };
        match x {
            ContX::Image => return nonempty(out, &cont.image),
            ContX::ImageId => return nonempty(out, &meta.image_id),
            ContX::ImageRepository => return nonempty(out, &meta.image_repo),
            ContX::ImageTag => return nonempty(out, &meta.image_tag),
            ContX::ImageDigest => return nonempty(out, &meta.image_digest),
            // containers known from cgroups only are docker ones
            ContX::Type => out.extend_from_slice(type_name(meta.kind.unwrap_or(0)).as_bytes()),
            ContX::Privileged => {
                if !docker_compatible(meta.kind.unwrap_or(0)) {
                    return false;
                }
                out.extend_from_slice(if meta.privileged { b"true" } else { b"false" });
            }
            ContX::Mounts => {
                for (i, m) in meta.mounts.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    m.render(out);
                }
            }
            ContX::Mount(sel) => match select(meta, sel, false) {
                Some(m) => m.render(out),
                None => return false,
            },
            ContX::MountPart(part, sel) => {
                let Some(m) = select(meta, sel, *part == 0) else {
                    return false;
                };
                match part {
                    0 => out.extend_from_slice(&m.source),
                    1 => out.extend_from_slice(&m.dest),
                    2 => out.extend_from_slice(&m.mode),
                    3 => out.extend_from_slice(if m.rdwr { b"true" } else { b"false" }),
                    _ => out.extend_from_slice(&m.propagation),
                }
            }
            ContX::Probe(kind) => match meta.probes.iter().find(|p| p.0 == *kind) {
                Some((_, exe, args)) => {
                    out.extend_from_slice(exe);
                    for a in args {
                        out.push(b' ');
                        out.extend_from_slice(a);
                    }
                }
                None => out.extend_from_slice(b"NONE"),
            },
            // read from the labels above
            ContX::K8sNsName | ContX::K8sPodId | ContX::K8sPodLabel(_) | ContX::K8sPodLabels => {
                return false
            }
        }
        true
    }
}

impl Ctx<'_, '_> {
    /// The k8s fields sysdig reads from container labels (a capture has
    /// no API server to ask).
    fn k8s_from_labels(&self, x: &ContX, cont: &Container, out: &mut Vec<u8>) -> bool {
        if cont.labels.is_empty() {
            return false;
        }
        let key: &[u8] = match x {
            ContX::K8sNsName => b"io.kubernetes.pod.namespace",
            ContX::K8sPodId => b"io.kubernetes.pod.uid",
            _ => {
                // pod labels are the labels of the pod's sandbox
                let Some(sandbox) = cont.label(b"io.kubernetes.sandbox.id") else {
                    return false;
                };
                let id = &sandbox[..sandbox.len().min(12)];
                let Some(sb) = self.st.containers.get(id).filter(|c| !c.labels.is_empty()) else {
                    return false;
                };
                if let ContX::K8sPodLabel(name) = x {
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

/// `fnmatch(3)` without flags: `*`, `?`, `[...]` (with `!`/`^` negation
/// and ranges) and `\` escapes.
pub(crate) fn fnmatch(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star_p, mut star_s) = (None, 0);
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star_p = Some(pi);
                    star_s = si;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = class(&p[pi..], s[si]) {
                        if matched {
                            pi += len;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() && p[pi + 1] == s[si] => {
                    pi += 2;
                    si += 1;
                    continue;
                }
                b'\\' if pi + 1 < p.len() => {}
                ch if ch == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star_p {
            Some(sp) => {
                star_s += 1;
                si = star_s;
                pi = sp + 1;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&ch| ch == b'*')
}

/// Matches a bracket expression at the start of `p` against `ch`:
/// (matched, length of the expression), None when it is not closed.
fn class(p: &[u8], ch: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(i), Some(b'!' | b'^'));
    if neg {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let c0 = *p.get(i)?;
        if c0 == b']' && !first {
            return Some((matched != neg, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            let hi = p[i + 2];
            if (c0..=hi).contains(&ch) {
                matched = true;
            }
            i += 3;
        } else {
            if c0 == ch {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn globs_like_fnmatch() {
        assert!(fnmatch(b"/usr/*", b"/usr/local/lib"));
        assert!(fnmatch(b"/x?z", b"/xyz"));
        assert!(!fnmatch(b"/x?z", b"/xz"));
        assert!(fnmatch(b"/[a-c]b", b"/bb"));
        assert!(!fnmatch(b"/[!a-c]b", b"/bb"));
        assert!(fnmatch(b"*", b""));
        assert!(!fnmatch(b"/a", b"/ab"));
    }
}

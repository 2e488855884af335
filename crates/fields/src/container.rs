//! The `container.*` fields (sysdig's `container` class): their names,
//! parsing, extraction and registry rows, from the container table of the
//! state (the metadata of `container` events). Semantics follow libsinsp
//! 0.29.3 (`sinsp_filter_check_container`).

use sonde_state::{Container, ContainerMeta, Mount};

use crate::ctx::{push_bool, Ctx};
use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};

/// A `container.*` field beyond `container.id` and `container.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContX {
    /// `container.image`.
    Image,
    /// `container.image.id`.
    ImageId,
    /// `container.image.repository`.
    ImageRepository,
    /// `container.image.tag`.
    ImageTag,
    /// `container.image.digest`.
    ImageDigest,
    /// `container.type`.
    Type,
    /// `container.privileged`.
    Privileged,
    /// `container.mounts`.
    Mounts,
    /// `container.mount[N]` or `container.mount[GLOB]` (by source).
    Mount(MountSel),
    /// `container.mount.source[...]` & co: the part (0 source, 1 dest,
    /// 2 mode, 3 rdwr, 4 propagation) of the mount selected (by index, or
    /// by a glob on the destination for `source`, on the source otherwise).
    MountPart(u8, MountSel),
    /// Health probes: 1 healthcheck, 2 liveness, 3 readiness.
    Probe(u8),
}

/// How a mount is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSel {
    /// By position.
    Index(usize),
    /// The first whose path matches a glob.
    Glob(String),
}

/// Parses a `container.*` field (`base`: `name` without its `[arg]`).
pub(crate) fn parse(
    _name: &str,
    base: &str,
    arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    let sel = || -> Result<MountSel, FieldError> {
        let a = arg.ok_or_else(|| FieldError(format!("{base} requires an argument")))?;
        Ok(match a.trim().parse::<usize>() {
            Ok(n) => MountSel::Index(n),
            Err(_) => MountSel::Glob(a.to_string()),
        })
    };
    let part = |i: u8| sel().map(|s| ContX::MountPart(i, s));
    let x = match base {
        "container.id" => return Some(Ok(Field::ContainerId)),
        "container.name" => return Some(Ok(Field::ContainerName)),
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
        _ => return None,
    };
    Some(x.map(Field::Cont))
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
    /// `container.id` and `container.name`: `host` outside containers.
    pub(crate) fn extract_container(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.thread() else { return false };
        if t.container_id.is_empty() {
            out.extend_from_slice(b"host");
        } else if matches!(f, Field::ContainerId) {
            out.extend_from_slice(&t.container_id);
        } else {
            match self.st.containers.get(&t.container_id) {
                Some(c) if !c.name.is_empty() => out.extend_from_slice(&c.name),
                _ => return false,
            }
        }
        true
    }

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
                push_bool(out, meta.privileged);
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
                    3 => push_bool(out, m.rdwr),
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
        }
        true
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

/// The `container` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "container", shortdesc: "", desc: "Container information. If the event is not happening inside a container, both id and name will be set to 'host'." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "container.id", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container id." },
    FieldInfo { name: "container.name", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container name." },
    FieldInfo { name: "container.image", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container image name (e.g. falcosecurity/falco:latest for docker)." },
    FieldInfo { name: "container.image.id", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container image id (e.g. 6f7e2741b66b)." },
    FieldInfo { name: "container.type", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container type, eg: docker or rkt" },
    FieldInfo { name: "container.privileged", class: class::CONTAINER, ty: T::Bool, flags: 0, desc: "true for containers running as privileged, false otherwise" },
    FieldInfo { name: "container.mounts", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "A space-separated list of mount information. Each item in the list has the format <source>:<dest>:<mode>:<rdrw>:<propagation>" },
    FieldInfo { name: "container.mount", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "Information about a single mount, specified by number (e.g. container.mount[0]) or mount source (container.mount[/usr/local]). The pathname can be a glob (container.mount[/usr/local/*]), in which case the first matching mount will be returned. The information has the format <source>:<dest>:<mode>:<rdrw>:<propagation>. If there is no mount with the specified index or matching the provided source, returns the string \"none\" instead of a NULL value." },
    FieldInfo { name: "container.mount.source", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "the mount source, specified by number (e.g. container.mount.source[0]) or mount destination (container.mount.source[/host/lib/modules]). The pathname can be a glob." },
    FieldInfo { name: "container.mount.dest", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "the mount destination, specified by number (e.g. container.mount.dest[0]) or mount source (container.mount.dest[/lib/modules]). The pathname can be a glob." },
    FieldInfo { name: "container.mount.mode", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "the mount mode, specified by number (e.g. container.mount.mode[0]) or mount source (container.mount.mode[/usr/local]). The pathname can be a glob." },
    FieldInfo { name: "container.mount.rdwr", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "the mount rdwr value, specified by number (e.g. container.mount.rdwr[0]) or mount source (container.mount.rdwr[/usr/local]). The pathname can be a glob." },
    FieldInfo { name: "container.mount.propagation", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY | ARG_REQUIRED, desc: "the mount propagation value, specified by number (e.g. container.mount.propagation[0]) or mount source (container.mount.propagation[/usr/local]). The pathname can be a glob." },
    FieldInfo { name: "container.image.repository", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container image repository (e.g. falcosecurity/falco)." },
    FieldInfo { name: "container.image.tag", class: class::CONTAINER, ty: T::Charbuf, flags: ARG_KEY, desc: "the container image tag (e.g. stable, latest)." },
    FieldInfo { name: "container.image.digest", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "the container image registry digest (e.g. sha256:d977378f890d445c15e51795296e4e5062f109ce6da83e0a355fc4ad8699d27)." },
    FieldInfo { name: "container.healthcheck", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "The container's health check. Will be the null value (\"N/A\") if no healthcheck configured, \"NONE\" if configured but explicitly not created, and the healthcheck command line otherwise" },
    FieldInfo { name: "container.liveness_probe", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "The container's liveness probe. Will be the null value (\"N/A\") if no liveness probe configured, the liveness probe command line otherwise" },
    FieldInfo { name: "container.readiness_probe", class: class::CONTAINER, ty: T::Charbuf, flags: 0, desc: "The container's readiness probe. Will be the null value (\"N/A\") if no readiness probe configured, the readiness probe command line otherwise" },
];

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

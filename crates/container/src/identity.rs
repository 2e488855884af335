//! Container identity from cgroup paths: which container (if any) a thread
//! belongs to, which runtime made it, and the Kubernetes pod uid where the
//! path has one.
//!
//! Inputs are the two forms sonde sees: the `cgroups` parameter of clone and
//! execve events (`controller=path` entries, each followed by a NUL) and the
//! lines of `/proc/PID/cgroup` (`N:controllers:path`). The layouts of cgroup
//! v1, v2 and hybrid hosts differ only in which entries carry the path, so
//! every entry is tried; a runtime-specific match wins over the plain
//! runc/crun guess.

use std::fmt;

/// The `container.id` of threads that are in no container (as sysdig).
pub const HOST: &str = "host";

/// Length of sysdig's short container id.
pub const SHORT_ID_LEN: usize = 12;

/// The runtime a container's cgroup path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// Docker (cgroupfs `/docker/<id>`, systemd `docker-<id>.scope`).
    Docker,
    /// containerd through CRI (`cri-containerd-<id>.scope`).
    Containerd,
    /// A Kubernetes container whose path does not say the runtime
    /// (cgroupfs `/kubepods/.../pod<uid>/<id>`).
    Cri,
    /// CRI-O (`crio-<id>.scope`, `/crio/<id>`).
    CriO,
    /// podman / libpod (`libpod-<id>`, `libpod-<id>.scope`).
    Podman,
    /// LXC (`/lxc/<name>`, `lxc.payload.<name>`).
    Lxc,
    /// libvirt's LXC driver (`machine-lxc\x2d<name>.scope`).
    LibvirtLxc,
    /// systemd-nspawn (`machine.slice/machine-<name>.scope`).
    Nspawn,
    /// runc or crun run by hand (`/<id>`, or an id-like last component
    /// under no known runtime).
    Runc,
}

impl Runtime {
    /// The `container.type` string (sysdig's names where sysdig has one).
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Cri => "cri",
            Runtime::CriO => "cri-o",
            Runtime::Podman => "podman",
            Runtime::Lxc => "lxc",
            Runtime::LibvirtLxc => "libvirt-lxc",
            Runtime::Nspawn => "systemd-nspawn",
            Runtime::Runc => "runc",
        }
    }

    /// sysdig's `sinsp_container_type` number (`ContainerMeta::kind`);
    /// runtimes sysdig has no type for are `CT_CUSTOM` (5).
    pub fn sysdig_type(self) -> u32 {
        match self {
            Runtime::Docker => 0,
            Runtime::Lxc => 1,
            Runtime::LibvirtLxc => 2,
            Runtime::Cri => 6,
            Runtime::Containerd => 7,
            Runtime::CriO => 8,
            Runtime::Podman => 11,
            Runtime::Nspawn | Runtime::Runc => 5,
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a thread's cgroups say it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The id as the path has it: 64 hex digits for the engines that use
    /// them, the name for LXC, nspawn and hand-run runc/crun.
    pub id: String,
    /// The runtime.
    pub runtime: Runtime,
    /// The Kubernetes pod uid (with dashes) for kubepods paths.
    pub pod_uid: Option<String>,
}

impl Identity {
    /// sysdig's `container.id`: the first 12 characters of a 64-hex id,
    /// the whole id otherwise.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
}

/// sysdig's `container.id` for a full id.
pub fn short_id(id: &str) -> &str {
    if id.len() == 64 && is_hex(id) {
        &id[..SHORT_ID_LEN]
    } else {
        id
    }
}

/// The container of a thread from its `cgroups` parameter
/// (`controller=path\0...`); None for host threads.
pub fn identify_cgroups(cgroups: &[u8]) -> Option<Identity> {
    best(cgroups.split(|&c| c == 0).filter_map(|e| {
        let i = find(e, b"=/")?;
        std::str::from_utf8(&e[i + 1..]).ok()
    }))
}

/// The container of a process from the text of `/proc/PID/cgroup`
/// (`N:controllers:path` lines); None for host processes.
pub fn identify_proc_cgroup(text: &[u8]) -> Option<Identity> {
    best(text.split(|&c| c == b'\n').filter_map(|l| {
        let mut f = l.splitn(3, |&c| c == b':');
        let (_, _, path) = (f.next()?, f.next()?, f.next()?);
        std::str::from_utf8(path).ok()
    }))
}

/// The container of process `pid`, from `/proc/PID/cgroup` (None for host
/// processes and for processes that are gone).
pub fn identify_pid(pid: u32) -> Option<Identity> {
    let text = std::fs::read(format!("/proc/{pid}/cgroup")).ok()?;
    identify_proc_cgroup(&text)
}

/// `container.id` of a thread from its `cgroups` parameter: the short id,
/// or [`HOST`].
pub fn container_id(cgroups: &[u8]) -> String {
    identify_cgroups(cgroups).map_or_else(|| HOST.to_string(), |i| i.short_id().to_string())
}

/// The first runtime-specific identity among the paths, else the first
/// runc/crun guess.
fn best<'a>(paths: impl Iterator<Item = &'a str>) -> Option<Identity> {
    let mut guess = None;
    for p in paths {
        match identify_path(p) {
            Some(id) if id.runtime != Runtime::Runc => return Some(id),
            Some(id) if guess.is_none() => guess = Some(id),
            _ => {}
        }
    }
    guess
}

/// The container one cgroup path names, if any. The deepest matching
/// component wins (nested containers); components below it (a podman
/// `container` leaf, a process's own sub-cgroups) are allowed.
pub fn identify_path(path: &str) -> Option<Identity> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut found = None;
    for i in 0..comps.len() {
        let prev = if i > 0 { comps[i - 1] } else { "" };
        if let Some(m) = match_component(prev, comps[i]) {
            found = Some(m);
        }
    }
    let (id, runtime) = match found {
        Some(m) => m,
        None => runc_guess(&comps)?,
    };
    let pod_uid = if comps.iter().any(|c| c.starts_with("kubepods")) {
        comps.iter().find_map(|c| pod_uid(c))
    } else {
        None
    };
    Some(Identity {
        id,
        runtime,
        pod_uid,
    })
}

/// A runtime-specific match of one path component given its parent.
fn match_component(prev: &str, c: &str) -> Option<(String, Runtime)> {
    const SCOPES: [(&str, Runtime); 4] = [
        ("docker-", Runtime::Docker),
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
        ("libpod-", Runtime::Podman),
    ];
    for (prefix, rt) in SCOPES {
        if let Some(rest) = c.strip_prefix(prefix) {
            let id = rest.strip_suffix(".scope").unwrap_or(rest);
            if is_full_id(id) {
                return Some((id.to_string(), rt));
            }
        }
    }
    if is_full_id(c) {
        match prev {
            "docker" => return Some((c.to_string(), Runtime::Docker)),
            "crio" => return Some((c.to_string(), Runtime::CriO)),
            "libpod_parent" => return Some((c.to_string(), Runtime::Podman)),
            _ if pod_uid(prev).is_some() => return Some((c.to_string(), Runtime::Cri)),
            _ => {}
        }
    }
    if (prev == "lxc" || prev == "lxc.payload") && is_name(c) {
        return Some((c.to_string(), Runtime::Lxc));
    }
    if let Some(name) = c.strip_prefix("lxc.payload.") {
        if is_name(name) {
            return Some((name.to_string(), Runtime::Lxc));
        }
    }
    if prev == "machine.slice" {
        return machine_scope(c);
    }
    None
}

/// `machine-<name>.scope` under `machine.slice`: systemd-nspawn, or
/// libvirt LXC (`lxc-<n>-<name>`); virtual machines (`qemu-...`) are not
/// containers.
fn machine_scope(c: &str) -> Option<(String, Runtime)> {
    let name = unescape_unit(c.strip_prefix("machine-")?.strip_suffix(".scope")?);
    if name.starts_with("qemu-") || name.starts_with("libpod-") || !is_name(&name) {
        return None;
    }
    match name.strip_prefix("lxc-") {
        Some(rest) if !rest.is_empty() => Some((rest.to_string(), Runtime::LibvirtLxc)),
        _ => Some((name, Runtime::Nspawn)),
    }
}

/// Hand-run runc/crun: a single top-level component that is no systemd
/// unit nor a runtime's parent (crun's default `/<id>`), or a 64-hex last
/// component under no known runtime (a cgroupsPath the user set).
fn runc_guess(comps: &[&str]) -> Option<(String, Runtime)> {
    const PARENTS: [&str; 12] = [
        "docker",
        "lxc",
        "lxc.payload",
        "kubepods",
        "libpod_parent",
        "crio",
        "machine",
        "system",
        "user",
        "init",
        "containerd",
        "podruntime",
    ];
    const UNITS: [&str; 7] = [
        ".slice", ".scope", ".service", ".mount", ".socket", ".swap", ".target",
    ];
    let last = *comps.last()?;
    if comps.len() == 1 {
        let unit = UNITS.iter().any(|u| last.ends_with(u));
        let parent = PARENTS.contains(&last) || last.starts_with("lxc.");
        if !unit && !parent && is_name(last) {
            return Some((last.to_string(), Runtime::Runc));
        }
        return None;
    }
    is_full_id(last).then(|| (last.to_string(), Runtime::Runc))
}

/// The pod uid of a kubepods component: cgroupfs `pod<uid>`, systemd
/// `kubepods[-<qos>]-pod<uid with _>.slice`.
fn pod_uid(c: &str) -> Option<String> {
    let raw = if let Some(rest) = c.strip_prefix("pod") {
        rest
    } else if c.starts_with("kubepods") {
        let s = c.strip_suffix(".slice")?;
        &s[s.rfind("-pod")? + 4..]
    } else {
        return None;
    };
    let uid = raw.replace('_', "-");
    let ok = match uid.len() {
        36 => uid.char_indices().all(|(i, ch)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                ch == '-'
            } else {
                ch.is_ascii_hexdigit()
            }
        }),
        32 => is_hex(&uid),
        _ => false,
    };
    ok.then_some(uid)
}

/// systemd unit-name unescaping of `\xNN` (e.g. `\x2d` for `-`).
fn unescape_unit(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 4);
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if b.is_ascii() => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            _ => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// A 64-hex-digit engine id.
fn is_full_id(s: &str) -> bool {
    s.len() == 64 && is_hex(s)
}

/// A container name: 1..=128 characters of `[A-Za-z0-9_.-]`, not starting
/// with a dot.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;

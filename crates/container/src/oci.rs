//! OCI bundles: a container's `config.json` (annotations, mounts), found
//! through the runtimes' state directories: crun (`/run/crun/<id>/status`
//! names the bundle), runc (`/run/runc/<id>/state.json`), containerd's
//! shim v2 tasks (`/run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/`)
//! and CRI-O's / podman's userdata (`overlay-containers/<id>/userdata/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use crate::identity::Runtime;
use crate::meta::{
    cap, name_and_image_from_annotations, ContainerInfo, MountInfo, Source, SourceError,
    MAX_LABELS, MAX_MOUNTS,
};

/// Largest state or config file read, in bytes.
pub const MAX_FILE: u64 = 4 << 20;

/// Reads a file of at most [`MAX_FILE`] bytes.
pub(crate) fn read_small(p: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(p)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other("file too large"));
    }
    Ok(buf)
}

/// The runtimes' state directories.
#[derive(Debug, Clone)]
pub struct OciBundles {
    /// crun's state root (`/run/crun`).
    pub crun: PathBuf,
    /// runc's state root (`/run/runc`).
    pub runc: PathBuf,
    /// containerd's shim v2 task root.
    pub containerd: PathBuf,
    /// Directories holding `<id>/userdata/config.json` (CRI-O, podman).
    pub userdata: Vec<PathBuf>,
}

impl Default for OciBundles {
    fn default() -> Self {
        OciBundles {
            crun: "/run/crun".into(),
            runc: "/run/runc".into(),
            containerd: "/run/containerd/io.containerd.runtime.v2.task".into(),
            userdata: vec![
                "/run/containers/storage/overlay-containers".into(),
                "/var/lib/containers/storage/overlay-containers".into(),
            ],
        }
    }
}

impl OciBundles {
    /// Whether any of the directories exists.
    pub fn available(&self) -> bool {
        [&self.crun, &self.runc, &self.containerd]
            .into_iter()
            .chain(&self.userdata)
            .any(|p| p.is_dir())
    }

    /// The path of container `id`'s `config.json`, if a runtime has it.
    pub fn config_path(&self, id: &str) -> Option<PathBuf> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            return None;
        }
        let crun = self.crun.join(id);
        if let Some(b) = bundle_of(&crun.join("status"), "bundle") {
            return Some(b.join("config.json"));
        }
        if crun.join("config.json").is_file() {
            return Some(crun.join("config.json"));
        }
        if let Some(b) = bundle_of(&self.runc.join(id).join("state.json"), "bundle") {
            return Some(b.join("config.json"));
        }
        if let Ok(rd) = std::fs::read_dir(&self.containerd) {
            for ns in rd.flatten().take(64) {
                let p = ns.path().join(id).join("config.json");
                if p.is_file() {
                    return Some(p);
                }
            }
        }
        self.userdata
            .iter()
            .map(|d| d.join(id).join("userdata/config.json"))
            .find(|p| p.is_file())
    }
}

/// The bundle directory a runtime state file names (crun's `bundle`,
/// runc's `config.labels` entry `bundle=...`).
fn bundle_of(state: &Path, key: &str) -> Option<PathBuf> {
    let j: serde_json::Value = serde_json::from_slice(&read_small(state).ok()?).ok()?;
    if let Some(b) = j.get(key).and_then(|v| v.as_str()) {
        return Some(PathBuf::from(b));
    }
    j.pointer("/config/labels")?
        .as_array()?
        .iter()
        .filter_map(|l| l.as_str()?.strip_prefix("bundle="))
        .map(PathBuf::from)
        .next()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Spec {
    annotations: Option<BTreeMap<String, String>>,
    mounts: Option<Vec<SpecMount>>,
    process: Option<Process>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpecMount {
    destination: String,
    source: String,
    options: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Process {
    capabilities: Option<Caps>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Caps {
    bounding: Option<Vec<String>>,
}

/// What an OCI `config.json` says: annotations (name, image, pod,
/// podman's privileged flag), mounts; privileged also when the bounding
/// set has CAP_SYS_ADMIN.
pub fn parse_config(body: &[u8], id: &str, runtime: Runtime) -> Result<ContainerInfo, String> {
    let s: Spec = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut info = ContainerInfo::new(id, runtime, "oci");
    let ann: BTreeMap<String, String> = s
        .annotations
        .unwrap_or_default()
        .into_iter()
        .take(MAX_LABELS * 4)
        .collect();
    name_and_image_from_annotations(&mut info, &ann);
    let caps = s
        .process
        .and_then(|p| p.capabilities)
        .and_then(|c| c.bounding);
    info.privileged = ann
        .get("io.podman.annotations.privileged")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || caps.is_some_and(|c| c.iter().any(|c| c == "CAP_SYS_ADMIN"));
    info.mounts = s
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.source.starts_with('/'))
        .take(MAX_MOUNTS)
        .map(|m| {
            let opts = m.options.unwrap_or_default();
            let propagation = opts
                .iter()
                .find(|o| o.ends_with("private") || o.ends_with("shared") || o.ends_with("slave"))
                .cloned()
                .unwrap_or_default();
            MountInfo {
                source: cap(&m.source),
                dest: cap(&m.destination),
                mode: String::new(),
                rw: !opts.iter().any(|o| o == "ro"),
                propagation,
            }
        })
        .collect();
    Ok(info)
}

impl Source for OciBundles {
    fn name(&self) -> &'static str {
        "oci"
    }

    fn handles(&self, _runtime: Runtime) -> bool {
        true
    }

    fn lookup(
        &self,
        id: &str,
        runtime: Runtime,
        _deadline: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError> {
        let Some(p) = self.config_path(id) else {
            return Ok(None);
        };
        let who = || format!("oci {}", p.display());
        let body = read_small(&p).map_err(|e| SourceError::Io(who(), e.to_string()))?;
        parse_config(&body, id, runtime)
            .map(Some)
            .map_err(|m| SourceError::Bad(who(), m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json() {
        let b = br#"{"ociVersion":"1.0.2","annotations":{
              "io.kubernetes.cri.container-name":"app","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.25",
              "io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"prod",
              "io.kubernetes.cri.sandbox-uid":"u1"},
            "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                      {"destination":"/data","source":"/srv/data","options":["rbind","ro","rprivate"]}],
            "process":{"capabilities":{"bounding":["CAP_CHOWN"]}}}"#;
        let i = parse_config(b, "x", Runtime::Containerd).unwrap();
        assert_eq!((i.name.as_str(), i.image_tag.as_str()), ("app", "1.25"));
        let pod = i.pod.unwrap();
        assert_eq!(
            (pod.name.as_str(), pod.namespace.as_str(), pod.uid.as_str()),
            ("web-0", "prod", "u1")
        );
        assert_eq!(i.mounts.len(), 1);
        assert!(!i.mounts[0].rw);
        assert_eq!(i.mounts[0].propagation, "rprivate");
        assert!(!i.privileged);
        let p = br#"{"annotations":{"io.podman.annotations.privileged":"TRUE"}}"#;
        assert!(parse_config(p, "x", Runtime::Podman).unwrap().privileged);
        assert!(parse_config(b"[1,2]", "x", Runtime::Runc).is_err());
    }

    #[test]
    fn state_dirs() {
        let d = std::env::temp_dir().join(format!("sonde-oci-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let crun = d.join("crun/c1");
        std::fs::create_dir_all(&crun).unwrap();
        let bundle = d.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("config.json"), "{}").unwrap();
        std::fs::write(
            crun.join("status"),
            format!("{{\"bundle\":\"{}\"}}", bundle.display()),
        )
        .unwrap();
        let runc = d.join("runc/r1");
        std::fs::create_dir_all(&runc).unwrap();
        std::fs::write(
            runc.join("state.json"),
            format!(
                "{{\"config\":{{\"labels\":[\"bundle={}\"]}}}}",
                bundle.display()
            ),
        )
        .unwrap();
        let ctd = d.join("ctd/k8s.io/k1");
        std::fs::create_dir_all(&ctd).unwrap();
        std::fs::write(ctd.join("config.json"), "{}").unwrap();
        let o = OciBundles {
            crun: d.join("crun"),
            runc: d.join("runc"),
            containerd: d.join("ctd"),
            userdata: vec![d.join("none")],
        };
        assert!(o.available());
        assert_eq!(o.config_path("c1"), Some(bundle.join("config.json")));
        assert_eq!(o.config_path("r1"), Some(bundle.join("config.json")));
        assert_eq!(o.config_path("k1"), Some(ctd.join("config.json")));
        assert_eq!(o.config_path("nope"), None);
        assert_eq!(o.config_path("../crun"), None);
        let i = o
            .lookup("c1", Runtime::Runc, Instant::now())
            .unwrap()
            .unwrap();
        assert_eq!(i.id, "c1");
        let _ = std::fs::remove_dir_all(&d);
    }
}

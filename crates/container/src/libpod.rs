//! podman / libpod state on disk (`/var/lib/containers/storage`): the
//! container store's `overlay-containers/containers.json` (names, image),
//! the container's OCI `userdata/config.json` (annotations, mounts), and
//! libpod's own container config (labels, privileged, the image name),
//! which libpod keeps as JSON values in its bolt database
//! (`libpod/bolt_state.db`): bolt stores a value contiguously, so the
//! config is found by scanning the file for the container's id.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Deserialize;

use crate::identity::Runtime;
use crate::meta::{cap, ContainerInfo, Source, SourceError};
use crate::oci::{parse_config, read_small};

/// Largest bolt database scanned, in bytes.
pub const MAX_DB: u64 = 64 << 20;

/// libpod's state under one storage root.
#[derive(Debug, Clone)]
pub struct Libpod {
    root: PathBuf,
}

impl Default for Libpod {
    fn default() -> Self {
        Libpod::new("/var/lib/containers/storage")
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StoreEntry {
    id: String,
    names: Option<Vec<String>>,
    image: String,
    metadata: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StoreMeta {
    #[serde(rename = "image-name")]
    image_name: String,
    #[serde(rename = "image-id")]
    image_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LibpodConfig {
    id: String,
    name: String,
    labels: Option<BTreeMap<String, String>>,
    privileged: bool,
    #[serde(rename = "rootfsImageName")]
    image_name: String,
    #[serde(rename = "rootfsImageID")]
    image_id: String,
}

impl Libpod {
    /// The state under storage root `root`.
    pub fn new(root: impl Into<PathBuf>) -> Libpod {
        Libpod { root: root.into() }
    }

    /// Whether the store exists.
    pub fn available(&self) -> bool {
        self.root
            .join("overlay-containers/containers.json")
            .is_file()
    }

    fn store_entry(&self, id: &str) -> Result<Option<StoreEntry>, SourceError> {
        let p = self.root.join("overlay-containers/containers.json");
        let who = || format!("libpod {}", p.display());
        let body = match read_small(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SourceError::Unavailable(who()))
            }
            Err(e) => return Err(SourceError::Io(who(), e.to_string())),
        };
        let all: Vec<StoreEntry> =
            serde_json::from_slice(&body).map_err(|e| SourceError::Bad(who(), e.to_string()))?;
        Ok(all.into_iter().find(|e| e.id == id))
    }

    /// libpod's config of container `id` from the bolt database.
    fn libpod_config(&self, id: &str) -> Option<LibpodConfig> {
        let p = self.root.join("libpod/bolt_state.db");
        if std::fs::metadata(&p).ok()?.len() > MAX_DB {
            return None;
        }
        let db = std::fs::read(&p).ok()?;
        find_config(&db, id)
    }
}

/// The libpod config JSON value with `"id":"<id>"` in a bolt file's bytes.
fn find_config(db: &[u8], id: &str) -> Option<LibpodConfig> {
    let needle = format!("\"id\":\"{id}\"");
    let mut from = 0;
    while let Some(at) = find(&db[from..], needle.as_bytes()).map(|i| i + from) {
        from = at + needle.len();
        let Some(start) = rfind(&db[at.saturating_sub(1 << 20)..at], b"{\"spec\":")
            .map(|i| i + at.saturating_sub(1 << 20))
        else {
            continue;
        };
        let mut it = serde_json::Deserializer::from_slice(&db[start..]).into_iter::<LibpodConfig>();
        if let Some(Ok(c)) = it.next() {
            if c.id == id {
                return Some(c);
            }
        }
    }
    None
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).rposition(|w| w == n)
}

impl Source for Libpod {
    fn name(&self) -> &'static str {
        "libpod"
    }

    fn handles(&self, runtime: Runtime) -> bool {
        runtime == Runtime::Podman
    }

    fn lookup(
        &self,
        id: &str,
        runtime: Runtime,
        _deadline: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            return Ok(None);
        }
        let Some(entry) = self.store_entry(id)? else {
            return Ok(None);
        };
        let spec = self
            .root
            .join("overlay-containers")
            .join(id)
            .join("userdata/config.json");
        let mut info = read_small(&spec)
            .ok()
            .and_then(|b| parse_config(&b, id, runtime).ok())
            .unwrap_or_else(|| ContainerInfo::new(id, runtime, "libpod"));
        info.source = "libpod";
        if let Some(n) = entry.names.as_ref().and_then(|n| n.first()) {
            info.name = cap(n);
        }
        let meta: StoreMeta = serde_json::from_str(&entry.metadata).unwrap_or_default();
        info.set_image(&meta.image_name);
        info.image_id = cap(if meta.image_id.is_empty() {
            &entry.image
        } else {
            &meta.image_id
        });
        if let Some(c) = self.libpod_config(id) {
            if info.name.is_empty() {
                info.name = cap(&c.name);
            }
            if let Some(l) = &c.labels {
                info.set_labels(l);
            }
            info.privileged |= c.privileged;
            if info.image.is_empty() {
                info.set_image(&c.image_name);
            }
            if info.image_id.is_empty() {
                info.image_id = cap(&c.image_id);
            }
        }
        Ok(Some(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "b29d4585d87a8da043b8e4d7d687a501aab9be9700b47d9123214759121737a0";

    #[test]
    fn bolt_scan() {
        let cfg = format!(
            r#"{{"spec":{{"process":{{"args":["sh"]}}}},"id":"{ID}","name":"web1","labels":{{"app":"demo"}},"privileged":true}}"#
        );
        let mut db = vec![0u8; 300];
        db.extend_from_slice(b"\xff\xfe{\"spec\":{\"id\":\"other\"}}");
        db.extend_from_slice(cfg.as_bytes());
        db.extend_from_slice(b"\x00\x01garbage{");
        let c = find_config(&db, ID).unwrap();
        assert_eq!(c.name, "web1");
        assert_eq!(
            c.labels.unwrap().get("app").map(String::as_str),
            Some("demo")
        );
        assert!(c.privileged);
        assert!(find_config(&db, "other").is_none());
        assert!(find_config(b"\"id\":\"x\"", "x").is_none());
        // cut mid-value
        assert!(find_config(&cfg.as_bytes()[..cfg.len() - 5], ID).is_none());
    }

    #[test]
    fn store_on_disk() {
        let d = std::env::temp_dir().join(format!("sonde-libpod-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(format!("overlay-containers/{ID}/userdata"))).unwrap();
        std::fs::create_dir_all(d.join("libpod")).unwrap();
        std::fs::write(
            d.join("overlay-containers/containers.json"),
            format!(
                r#"[{{"id":"{ID}","names":["web1"],"image":"img1","metadata":"{{\"image-name\":\"docker.io/library/busybox:1.36\",\"image-id\":\"img1\"}}"}}]"#
            ),
        )
        .unwrap();
        std::fs::write(
            d.join(format!("overlay-containers/{ID}/userdata/config.json")),
            r#"{"annotations":{"io.podman.annotations.privileged":"FALSE"}}"#,
        )
        .unwrap();
        std::fs::write(
            d.join("libpod/bolt_state.db"),
            format!(r#"xx{{"spec":{{}},"id":"{ID}","name":"web1","labels":{{"app":"demo"}}}}"#),
        )
        .unwrap();
        let l = Libpod::new(&d);
        assert!(l.available());
        let i = l
            .lookup(ID, Runtime::Podman, Instant::now())
            .unwrap()
            .unwrap();
        assert_eq!(
            (i.name.as_str(), i.image_tag.as_str(), i.image_id.as_str()),
            ("web1", "1.36", "img1")
        );
        assert_eq!(i.label("app"), Some("demo"));
        assert_eq!(i.source, "libpod");
        assert_eq!(
            l.lookup("nope", Runtime::Podman, Instant::now()).unwrap(),
            None
        );
        let _ = std::fs::remove_dir_all(&d);
        assert!(matches!(
            l.lookup(ID, Runtime::Podman, Instant::now()),
            Err(SourceError::Unavailable(_))
        ));
    }
}

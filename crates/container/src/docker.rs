//! The docker API source: `GET /containers/<id>/json` on a unix socket
//! (docker's, or the Docker-compatible one `podman system service` serves).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use crate::http;
use crate::identity::Runtime;
use crate::meta::{cap, ContainerInfo, MountInfo, Source, SourceError, MAX_MOUNTS};

/// The docker API on one unix socket.
#[derive(Debug, Clone)]
pub struct DockerApi {
    socket: PathBuf,
}

impl DockerApi {
    /// The API on `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> DockerApi {
        DockerApi {
            socket: socket.into(),
        }
    }

    /// The sockets to try, in order: `$DOCKER_HOST` (`unix://` only),
    /// docker's and podman's default sockets; only those that exist.
    pub fn detect() -> Vec<DockerApi> {
        let mut paths: Vec<PathBuf> = Vec::new();
        if let Some(p) = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        {
            paths.push(p);
        }
        for p in ["/var/run/docker.sock", "/run/podman/podman.sock"] {
            let p = PathBuf::from(p);
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        paths
            .into_iter()
            .filter(|p| p.exists())
            .map(DockerApi::new)
            .collect()
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Source for DockerApi {
    fn name(&self) -> &'static str {
        "docker-api"
    }

    fn handles(&self, runtime: Runtime) -> bool {
        matches!(runtime, Runtime::Docker | Runtime::Podman | Runtime::Cri)
    }

    fn lookup(
        &self,
        id: &str,
        runtime: Runtime,
        deadline: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError> {
        let who = || format!("docker-api {}", self.socket.display());
        if id.is_empty()
            || !id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
        {
            return Ok(None);
        }
        let r =
            http::get(&self.socket, &format!("/containers/{id}/json"), deadline).map_err(|e| {
                match e {
                    http::HttpError::Timeout => SourceError::Timeout(who()),
                    http::HttpError::Connect(m) => {
                        SourceError::Unavailable(format!("{} ({m})", who()))
                    }
                    e => SourceError::Io(who(), e.to_string()),
                }
            })?;
        match r.status {
            200 => parse_inspect(&r.body, runtime)
                .map(Some)
                .map_err(|m| SourceError::Bad(who(), m)),
            404 => Ok(None),
            s => Err(SourceError::Bad(who(), format!("HTTP {s}"))),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Inspect {
    id: String,
    name: String,
    image: String,
    config: Option<Config>,
    host_config: Option<HostConfig>,
    mounts: Option<Vec<Mount>>,
    network_settings: Option<Network>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Config {
    image: String,
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct HostConfig {
    privileged: bool,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Mount {
    source: String,
    destination: String,
    mode: String,
    #[serde(rename = "RW")]
    rw: bool,
    propagation: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Network {
    #[serde(rename = "IPAddress")]
    ip: String,
    #[serde(rename = "Networks")]
    networks: Option<BTreeMap<String, NetworkEntry>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NetworkEntry {
    #[serde(rename = "IPAddress")]
    ip: String,
}

/// A `ContainerInfo` from the body of `GET /containers/<id>/json`.
pub fn parse_inspect(body: &[u8], runtime: Runtime) -> Result<ContainerInfo, String> {
    let j: Inspect = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if j.id.is_empty() {
        return Err("no Id".into());
    }
    let mut info = ContainerInfo::new(&cap(&j.id), runtime, "docker-api");
    info.name = cap(j.name.strip_prefix('/').unwrap_or(&j.name));
    let config = j.config.unwrap_or_default();
    info.set_image(&config.image);
    info.image_id = cap(j.image.strip_prefix("sha256:").unwrap_or(&j.image));
    if let Some(l) = &config.labels {
        info.set_labels(l);
    }
    info.privileged = j.host_config.is_some_and(|h| h.privileged);
    info.mounts = j
        .mounts
        .unwrap_or_default()
        .into_iter()
        .take(MAX_MOUNTS)
        .map(|m| MountInfo {
            source: cap(&m.source),
            dest: cap(&m.destination),
            mode: cap(&m.mode),
            rw: m.rw,
            propagation: cap(&m.propagation),
        })
        .collect();
    if let Some(n) = j.network_settings {
        let first = n
            .networks
            .iter()
            .flatten()
            .map(|(_, e)| e.ip.as_str())
            .find(|ip| !ip.is_empty());
        let ip = if n.ip.is_empty() {
            first.unwrap_or("")
        } else {
            &n.ip
        };
        info.ip = ip.parse().ok();
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_body() {
        let b = br#"{"Id":"abc","Name":"/web","Image":"sha256:ff00",
            "Config":{"Image":"nginx:1.25","Labels":{"app":"demo","io.kubernetes.pod.name":"p"}},
            "HostConfig":{"Privileged":true},
            "Mounts":[{"Source":"/h","Destination":"/c","Mode":"z","RW":true,"Propagation":"rprivate"}],
            "NetworkSettings":{"IPAddress":"","Networks":{"bridge":{"IPAddress":"10.0.0.5"}}}}"#;
        let i = parse_inspect(b, Runtime::Docker).unwrap();
        assert_eq!(i.name, "web");
        assert_eq!(
            (
                i.image.as_str(),
                i.image_repo.as_str(),
                i.image_tag.as_str()
            ),
            ("nginx:1.25", "nginx", "1.25")
        );
        assert_eq!(i.image_id, "ff00");
        assert_eq!(i.label("app"), Some("demo"));
        assert_eq!(i.pod.as_ref().unwrap().name, "p");
        assert!(i.privileged);
        assert_eq!(i.mounts[0].dest, "/c");
        assert_eq!(i.ip, Some("10.0.0.5".parse().unwrap()));
        // nulls where podman gives them
        let i = parse_inspect(
            br#"{"Id":"x","Config":{"Labels":null},"Mounts":null}"#,
            Runtime::Podman,
        )
        .unwrap();
        assert!(i.labels.is_empty());
        assert!(parse_inspect(b"{}", Runtime::Docker).is_err());
        assert!(parse_inspect(b"\xff\xfe", Runtime::Docker).is_err());
        assert!(parse_inspect(
            br#"{"Id":"x","Config":{"Labels":{"a":"\xff"}}}"#,
            Runtime::Docker
        )
        .is_err());
    }
}

//! How sonde reaches the API server: sysdig's `-k URL` and `-K`
//! credentials (a bearer token file, or `cert:key[:ca]`), a kubeconfig
//! (`--kubeconfig`, else `KUBECONFIG` or `~/.kube/config`), or the
//! in-cluster service account. TLS verification is always on.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Config;

use crate::cache::DEFAULT_MAX_OBJECTS;
use crate::Error;

/// Where the service account's files are inside a pod.
pub const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How to connect and what to watch.
#[derive(Debug, Clone)]
pub struct Options {
    /// `-k`: the API server's URL (`https://host:port`).
    pub url: Option<String>,
    /// `-K`: a bearer token file, or `cert_file:key_file[:ca_cert_file]`.
    pub auth: Option<String>,
    /// `--kubeconfig`: a kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// `--node-name`: the node whose pods are watched (default: the host name).
    pub node: Option<String>,
    /// The bound on each table of the cache.
    pub max_objects: usize,
    /// Do not print watch errors on stderr (they stay in the notes).
    pub quiet: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: None,
            auth: None,
            kubeconfig: None,
            node: None,
            max_objects: DEFAULT_MAX_OBJECTS,
            quiet: false,
        }
    }
}

/// This host's name, the default node name.
pub fn host_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn readable(what: &str, p: &str) -> Result<String, Error> {
    std::fs::metadata(p)
        .map_err(|e| Error::Config(format!("{what} {p}: {e}")))
        .map(|_| p.to_string())
}

/// The client configuration the options describe.
pub async fn load(o: &Options) -> Result<Config, Error> {
    if let Some(url) = &o.url {
        return from_url(url, o.auth.as_deref()).await;
    }
    if o.auth.is_some() {
        return Err(Error::Config("-K needs -k URL".into()));
    }
    let kc = match &o.kubeconfig {
        Some(p) => Kubeconfig::read_from(p)
            .map_err(|e| Error::Config(format!("kubeconfig {}: {e}", p.display())))?,
        None => match Kubeconfig::read() {
            Ok(k) => k,
            Err(kerr) => {
                return Config::incluster().map_err(|e| {
                    Error::Config(format!(
                        "no kubeconfig ({kerr}) and not in a cluster ({e}): give -k URL or --kubeconfig"
                    ))
                })
            }
        },
    };
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Config(format!("kubeconfig: {e}")))
}

/// `-k URL` with `-K` credentials, or the service account's when in a pod.
async fn from_url(url: &str, auth: Option<&str>) -> Result<Config, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| Error::Config(format!("bad API server URL {url:?}: {e}")))?;
    match uri.scheme_str() {
        Some("https") | Some("http") if uri.host().is_some() => {}
        _ => {
            return Err(Error::Config(format!(
                "bad API server URL {url:?}: expected https://host[:port]"
            )))
        }
    }
    let mut user = serde_json::Map::new();
    let mut cluster = serde_json::Map::new();
    cluster.insert("server".into(), url.into());
    let sa = Path::new(SERVICE_ACCOUNT);
    match auth {
        Some(a) if a.contains(':') => {
            let mut parts = a.splitn(3, ':');
            let cert = parts.next().unwrap_or_default();
            let key = parts.next().unwrap_or_default();
            // sysdig's `key#password`: encrypted keys are not supported
            if key.contains('#') {
                return Err(Error::Config(
                    "-K: encrypted client keys are not supported".into(),
                ));
            }
            user.insert(
                "client-certificate".into(),
                readable("-K certificate", cert)?.into(),
            );
            user.insert("client-key".into(), readable("-K key", key)?.into());
            if let Some(ca) = parts.next().filter(|c| !c.is_empty()) {
                cluster.insert(
                    "certificate-authority".into(),
                    readable("-K CA", ca)?.into(),
                );
            }
        }
        Some(token) => {
            user.insert("tokenFile".into(), readable("-K token file", token)?.into());
        }
        None if sa.join("token").exists() => {
            let t = sa.join("token").to_string_lossy().into_owned();
            user.insert("tokenFile".into(), t.into());
        }
        None => {}
    }
    if !cluster.contains_key("certificate-authority") && sa.join("ca.crt").exists() {
        let ca = sa.join("ca.crt").to_string_lossy().into_owned();
        cluster.insert("certificate-authority".into(), ca.into());
    }
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sonde", "cluster": cluster}],
        "users": [{"name": "sonde", "user": user}],
        "contexts": [{"name": "sonde", "context": {"cluster": "sonde", "user": "sonde"}}],
        "current-context": "sonde",
    });
    let kc = Kubeconfig::from_yaml(&doc.to_string())
        .map_err(|e| Error::Config(format!("-k/-K: {e}")))?;
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Config(format!("-k/-K: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(o: Options) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        match rt.block_on(load(&o)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_urls_and_files() {
        let o = |url: &str, auth: Option<&str>| Options {
            url: Some(url.into()),
            auth: auth.map(Into::into),
            ..Options::default()
        };
        assert!(
            err(o("not a url", None)).contains("bad API server URL"),
            "{}",
            err(o("not a url", None))
        );
        assert!(err(o("ftp://x", None)).contains("expected https"));
        assert!(err(o("https://127.0.0.1:1", Some("/nonexistent/token")))
            .contains("-K token file /nonexistent/token"));
        assert!(err(o("https://127.0.0.1:1", Some("/no/c:/no/k"))).contains("-K certificate /no/c"));
        assert_eq!(err(o("https://127.0.0.1:1", None)), "ok");
    }
}

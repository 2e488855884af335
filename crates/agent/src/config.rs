//! The agent's configuration file (YAML; JSON is YAML too): explicit tags
//! added to every series, the caps, the statsd listener and the snapshot
//! length. Unknown keys and wrong types are errors that name the key.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The agent's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Tags added to every series.
    pub tags: BTreeMap<String, String>,
    /// Caps on cardinality.
    pub limits: Limits,
    /// statsd settings.
    pub statsd: StatsdConfig,
    /// Bytes of each I/O buffer the live probe captures (payload decoding
    /// needs the start of HTTP messages and whole statsd datagrams).
    pub snaplen: u32,
    /// Decode HTTP/1.x from payloads.
    pub http: bool,
    /// Decode DNS over UDP (port 53) from payloads.
    pub dns: bool,
    /// Scraping the Prometheus endpoints of discovered HTTP servers.
    pub scrape: ScrapeConfig,
    /// Kubernetes cluster state (with `-k`/`--kubeconfig`).
    pub kubernetes: KubernetesConfig,
}

/// The Kubernetes cluster state: a Lease election picks the agent that
/// reports the cluster's objects; every agent reports its node's
/// containers' requests and limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Take part at all (on by default when Kubernetes is configured).
    pub cluster_state: bool,
    /// `k8s.cluster.name` on the cluster-state gauges.
    pub cluster_name: Option<String>,
    /// The Lease, `NAMESPACE/NAME`.
    pub lease: String,
    /// The Lease's duration, in seconds.
    pub lease_duration_s: u64,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            cluster_state: true,
            cluster_name: None,
            lease: "kube-system/sonde-agent-cluster-state".into(),
            lease_duration_s: 15,
        }
    }
}

/// Scraping discovered Prometheus endpoints ([`crate::scrape`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrapeConfig {
    /// Scrape at all (off unless asked for).
    pub enabled: bool,
    /// The path asked for on each HTTP port.
    pub path: String,
    /// Seconds between two scrapes of a port.
    pub interval_s: u64,
    /// Connect and read timeout, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ScrapeConfig {
    fn default() -> Self {
        ScrapeConfig {
            enabled: false,
            path: "/metrics".into(),
            interval_s: 10,
            timeout_ms: 1000,
        }
    }
}

/// Caps on cardinality.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Series per host per second; past it, series are dropped and
    /// counted in `sonde.agent.series_dropped`.
    pub max_series: usize,
    /// Distinct normalised HTTP paths (the rest are `{other}`).
    pub max_http_paths: usize,
    /// Distinct queried DNS names (the rest are `{other}`).
    pub max_dns_names: usize,
    /// Distinct file names per second with their own series.
    pub max_files: usize,
    /// Distinct connections per second with their own series.
    pub max_connections: usize,
}

/// statsd settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    /// Also listen on this UDP address (for processes outside the capture).
    pub listen: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_series: 20_000,
            max_http_paths: 200,
            max_dns_names: 200,
            max_files: 100,
            max_connections: 200,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tags: BTreeMap::new(),
            limits: Limits::default(),
            statsd: StatsdConfig::default(),
            snaplen: 1024,
            http: true,
            dns: true,
            scrape: ScrapeConfig::default(),
            kubernetes: KubernetesConfig::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read '{path}': {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not a valid configuration (the message names the key).
    #[error("invalid configuration '{path}': {msg}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, and where.
        msg: String,
    },
}

impl Config {
    /// Parses a configuration text (`path` only names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid {
            path: path.to_string(),
            msg,
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let c: Config = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if c.limits.max_series == 0 {
            return Err(invalid("limits.max_series: must be at least 1".into()));
        }
        if c.snaplen < 64 || c.snaplen > 65_536 {
            return Err(invalid("snaplen: must be between 64 and 65536".into()));
        }
        let k = &c.kubernetes;
        if !matches!(k.lease.split_once('/'), Some((ns, n)) if !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        {
            return Err(invalid(format!(
                "kubernetes.lease: expected NAMESPACE/NAME, got {:?}",
                k.lease
            )));
        }
        if k.lease_duration_s < 2 {
            return Err(invalid(
                "kubernetes.lease_duration_s: must be at least 2".into(),
            ));
        }
        for k in c.tags.keys() {
            if k.is_empty() || k.contains(['"', '\n', '=']) {
                return Err(invalid(format!("tags: bad tag key {k:?}")));
            }
        }
        Ok(c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tags_and_limits() {
        let c = Config::parse(
            "tags:\n  env: prod\nlimits:\n  max_series: 50\nstatsd:\n  listen: 127.0.0.1:9125\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.tags["env"], "prod");
        assert_eq!(c.limits.max_series, 50);
        assert_eq!(c.limits.max_files, 100);
        assert_eq!(c.statsd.listen.as_deref(), Some("127.0.0.1:9125"));
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("limits:\n  max_seriez: 5\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_seriez"), "{e}");
        let e = Config::parse("limits:\n  max_series: lots\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.max_series"), "{e}");
        let e = Config::parse("snaplen: 1\n", "x").unwrap_err().to_string();
        assert!(e.contains("snaplen"), "{e}");
        let e = Config::parse("kubernetes:\n  lease: nolease\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("kubernetes.lease"), "{e}");
        let c = Config::parse("kubernetes:\n  cluster_name: prod\n", "x").unwrap();
        assert_eq!(c.kubernetes.cluster_name.as_deref(), Some("prod"));
        assert_eq!(c.kubernetes.lease_duration_s, 15);
    }
}

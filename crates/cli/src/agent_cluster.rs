//! `sonde agent`'s Kubernetes cluster state: its flags (over the config's
//! `kubernetes` section) and the `sonde-k8s` `ClusterState` (a Lease
//! election; the elected agent reports the cluster's workloads, pods,
//! jobs and nodes, every agent its node's containers' requests and
//! limits), handed to the metrics sink or the sidecar loop as external
//! gauges.

use anyhow::Result;
use sonde_agent::config::KubernetesConfig;
use sonde_agent::{External, ExternalGauge};

use crate::pipeline::K8sFlags;
use crate::UsageError;

/// The cluster-state flags.
#[derive(clap::Args, Debug)]
pub(crate) struct ClusterArgs {
    /// Kubernetes: take no part in the cluster-state election and report
    /// no requests/limits (config: kubernetes.cluster_state: false).
    #[arg(long = "no-cluster-state")]
    no_cluster_state: bool,
    /// Kubernetes: the cluster's name, tag `k8s.cluster.name` of the
    /// cluster-state series (config: kubernetes.cluster_name).
    #[arg(long = "cluster-name", value_name = "NAME")]
    cluster_name: Option<String>,
    /// Kubernetes: the Lease that elects the agent reporting the cluster
    /// state (default kube-system/sonde-agent-cluster-state).
    #[arg(long = "lease", value_name = "NAMESPACE/NAME")]
    lease: Option<String>,
    /// Kubernetes: the Lease's duration in seconds (default 15).
    #[arg(long = "lease-duration", value_name = "SECS")]
    lease_duration: Option<u64>,
}

/// The Lease's namespace, name and duration (s), and the cluster's name.
type Settings = (String, String, u64, Option<String>);

/// The settings, flags over the config; `None`: no cluster state.
fn settings(a: &ClusterArgs, c: &KubernetesConfig) -> Result<Option<Settings>> {
    if a.no_cluster_state || !c.cluster_state {
        return Ok(None);
    }
    let lease = a.lease.clone().unwrap_or_else(|| c.lease.clone());
    let (ns, name) = match lease.split_once('/') {
        Some((ns, n)) if !ns.is_empty() && !n.is_empty() && !n.contains('/') => {
            (ns.to_string(), n.to_string())
        }
        _ => return Err(UsageError(format!("--lease {lease:?}: expected NAMESPACE/NAME")).into()),
    };
    let secs = a.lease_duration.unwrap_or(c.lease_duration_s);
    if secs < 2 {
        return Err(UsageError("--lease-duration: at least 2 seconds".into()).into());
    }
    let cluster = a.cluster_name.clone().or_else(|| c.cluster_name.clone());
    Ok(Some((ns, name, secs, cluster)))
}

/// Starts the cluster state when Kubernetes is configured (live only);
/// the gauges it reports each second, for the sink.
#[cfg(feature = "k8s")]
pub(crate) fn start(
    a: &ClusterArgs,
    c: &KubernetesConfig,
    k8s: K8sFlags<'_>,
    reading_file: bool,
) -> Result<Option<External>> {
    let Some((namespace, name, secs, cluster_name)) = settings(a, c)? else {
        return Ok(None);
    };
    if !k8s.any() || reading_file {
        return Ok(None);
    }
    let opts = sonde_k8s::Options {
        url: k8s.api.clone(),
        auth: k8s.auth.clone(),
        kubeconfig: k8s.kubeconfig.as_ref().map(Into::into),
        node: k8s.node.clone(),
        ..sonde_k8s::Options::default()
    };
    let identity = k8s
        .node
        .clone()
        .unwrap_or_else(sonde_k8s::config::host_node_name);
    let co = sonde_k8s::ClusterOptions {
        lease: sonde_k8s::lease::LeaseOptions {
            namespace,
            name,
            identity,
            duration: std::time::Duration::from_secs(secs),
        },
        cluster_name,
    };
    let cs = sonde_k8s::ClusterState::start(&opts, co).map_err(|e| UsageError(e.to_string()))?;
    Ok(Some(Box::new(move || {
        cs.gauges()
            .into_iter()
            .map(|g| ExternalGauge {
                name: g.name.to_string(),
                container: g.container,
                tags: g.tags,
                value: g.value,
            })
            .collect()
    })))
}

/// Without the `k8s` feature there is no cluster state.
#[cfg(not(feature = "k8s"))]
pub(crate) fn start(
    a: &ClusterArgs,
    c: &KubernetesConfig,
    k8s: K8sFlags<'_>,
    _reading_file: bool,
) -> Result<Option<External>> {
    settings(a, c)?;
    if k8s.any() {
        return Err(UsageError("Kubernetes support is not built in (feature `k8s`)".into()).into());
    }
    Ok(None)
}

/// Adds the external gauges to a sidecar batch (containers tagged with
/// their id; the sidecar has no container metadata of others).
pub(crate) fn add_to(
    b: &mut sonde_agent::Batch,
    ext: &mut External,
    host: &[(String, String)],
    explicit: &[(String, String)],
) {
    let s = sonde_agent::external::series(ext(), &host.to_vec(), &explicit.to_vec(), |id| {
        vec![("container.id".to_string(), id.to_string())]
    });
    b.series.extend(s);
    b.series
        .sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.tags.cmp(&b.tags)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(lease: Option<&str>, secs: Option<u64>) -> ClusterArgs {
        ClusterArgs {
            no_cluster_state: false,
            cluster_name: None,
            lease: lease.map(Into::into),
            lease_duration: secs,
        }
    }

    #[test]
    fn flags_over_config_and_bad_values() {
        let c = KubernetesConfig {
            cluster_name: Some("prod".into()),
            ..KubernetesConfig::default()
        };
        let s = settings(&args(Some("mon/agents"), Some(4)), &c)
            .unwrap()
            .unwrap();
        assert_eq!(s, ("mon".into(), "agents".into(), 4, Some("prod".into())));
        let d = settings(&args(None, None), &c).unwrap().unwrap();
        assert_eq!(
            (d.0.as_str(), d.1.as_str(), d.2),
            ("kube-system", "sonde-agent-cluster-state", 15)
        );
        for bad in ["x", "/x", "a/b/c"] {
            let e = settings(&args(Some(bad), None), &c)
                .unwrap_err()
                .to_string();
            assert!(e.contains("--lease"), "{e}");
        }
        assert!(settings(&args(None, Some(1)), &c).is_err());
        let off = ClusterArgs {
            no_cluster_state: true,
            ..args(None, None)
        };
        assert!(settings(&off, &c).unwrap().is_none());
    }
}

//! # sonde-k8s: Kubernetes metadata for sonde
//!
//! Owns the client side of Kubernetes: reaching the API server (sysdig's
//! `-k URL` / `-K` credentials, a kubeconfig, the in-cluster service
//! account; TLS verification on), one list-then-watch per resource on a
//! thread of its own (pods of this node, namespaces, services,
//! EndpointSlices, this node, and the owners of pods: replicasets,
//! deployments, replication controllers, daemonsets, statefulsets, jobs,
//! cronjobs, metadata-only where the full object is not needed) into a
//! bounded [`Cache`], and the mapping from a container id to its pod, its
//! node, the pod's owner chain and its services (selector match, or an
//! EndpointSlice endpoint targeting the pod), rendered as container labels ([`labels`]) so the metadata
//! travels with `container` events into the state and capture files.
//!
//! For `sonde agent`, [`ClusterState`] runs a Lease election
//! ([`lease`]); the agent that wins watches the cluster's workloads, pods,
//! jobs and nodes and reports them as gauges ([`kstate`]), and every agent
//! reports the requests and limits of its node's containers.
//!
//! The event path never waits on the API: it reads [`Shared`] (an atomic
//! generation and a lock it only tries).
//!
//! Does **not** own: container identity and runtime metadata
//! (`sonde-container`), the `k8s.*` fields (`sonde-fields`), when the
//! engine asks the cache (`sonde-engine`). With the `test-server` feature
//! it also exports `testserver`, the HTTPS endpoint the tests serve the
//! Kubernetes API from (test code only).

#![warn(missing_docs)]

mod background;
pub mod cache;
pub mod cluster;
pub mod config;
pub mod kstate;
pub mod labels;
pub mod lease;
#[cfg(feature = "test-server")]
pub mod testserver;
pub mod watch;

pub use cache::{short_container_id, Cache, OwnerKind, PodLabels};
pub use cluster::{ClusterOptions, ClusterState};
pub use config::Options;
pub use watch::{ResourceStatus, Shared, Watch};

/// Why the watches could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad options: URL, credentials, kubeconfig.
    #[error("kubernetes: {0}")]
    Config(String),
    /// The watch thread or its runtime could not start.
    #[error("kubernetes: {0}")]
    Runtime(String),
}

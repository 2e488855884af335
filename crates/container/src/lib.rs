//! The container layer of sonde: which container a thread is in (from its
//! cgroup paths), what the runtimes say about that container (name, image,
//! labels, Kubernetes pod), and a resolver that asks them off the event
//! path.
//!
//! - [`identity`]: cgroup paths -> [`Identity`] (id, [`Runtime`], pod uid);
//! - [`meta`]: [`ContainerInfo`], the metadata of one container, and the
//!   sources that produce it ([`docker`], [`libpod`], [`oci`]);
//! - [`resolver`]: [`Resolver`], lookups on worker threads with a bounded
//!   queue, deadlines and a bounded cache.
#![warn(missing_docs)]

pub mod identity;

pub use identity::{
    container_id, identify_cgroups, identify_path, identify_proc_cgroup, short_id, Identity,
    Runtime, HOST,
};
pub mod meta;
pub mod resolver;

pub mod docker;
pub mod http;
pub mod libpod;
pub mod oci;

pub use docker::DockerApi;
pub use libpod::Libpod;
pub use meta::{ContainerInfo, MountInfo, PodInfo, Source, SourceError};
pub use oci::OciBundles;
pub use resolver::{detect_sources, Resolved, Resolver, ResolverConfig};

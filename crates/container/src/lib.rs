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
//!
//! # Wiring (state engine and event loop)
//!
//! 1. When a thread gets its cgroups (clone/execve exit, the /proc scan at
//!    start), call [`identify_cgroups`] on the `cgroups` bytes (or
//!    [`identify_pid`] for a pid). `None` is `container.id = host`. Otherwise
//!    key the container table by [`Identity::short_id`] and, if the id is
//!    new, insert a nameless entry at once (id, `runtime.sysdig_type()`,
//!    `successful = true`) so the thread's events carry the id, and call
//!    [`Resolver::request`] (it never blocks).
//! 2. Once per event batch (or per poll of the source), call
//!    [`Resolver::poll`] and copy each [`Resolved::info`] into the table
//!    entry of `identity.short_id()` (field mapping in [`meta`]); `None`
//!    means no source knew it: keep the nameless entry.
//! 3. When a container's last thread exits, drop its entry and call
//!    [`Resolver::forget`] with the full id.
//! 4. `-v`: print [`Resolver::reasons`] and [`Resolver::dropped`] at the end.
//!
//! Build the resolver with `Resolver::new(detect_sources(),
//! &ResolverConfig::default())` for live captures only; reading capture
//! files needs no resolver (the files carry `container` events). For files,
//! sysdig 0.29.3 attributes any `/<64 hex>` last component to a docker
//! container (its docker engine's `/` layout): keep that rule where output
//! must match sysdig byte for byte; [`identify_cgroups`] gives the same id
//! there but names the runtime `runc`.
#![warn(missing_docs)]

pub mod identity;

pub use identity::{
    container_id, identify_cgroups, identify_path, identify_pid, identify_proc_cgroup, short_id,
    Identity, Runtime, HOST,
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

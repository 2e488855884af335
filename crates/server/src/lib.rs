//! # sonde-server: where agents send their seconds, and where they are asked
//!
//! Owns `sonde server`'s logic: the agents' ingest endpoint (through
//! `sonde_transport::Ingest`: tokens or client certificates, dedup by
//! sequence number) and the decoding of their records into the storage
//! model ([`decode`]), the host registry (keepalives, silent and
//! deregistered hosts: [`hosts`]), the REST API ([`api`]), the Prometheus
//! HTTP query API with a PromQL subset translated into `sonde_store::Query`
//! and binary operators between the results ([`prom`]), Prometheus remote
//! write in (`/api/v1/write`) and out (`--remote-write-url`: [`remote`]),
//! the OpenAPI document of every route ([`openapi`]), captures asked of agents' flight recorders and kept as
//! files ([`captures`]), the HTTPS listener serving all of them on one
//! port ([`serve`]), users, sessions, roles and API tokens ([`auth`]) and the embedded
//! web UI ([`web`], built from `web/` by the build script), and alert
//! rules, silences and handlers over REST ([`alerts_api`], sonde-alerts),
//! with each rule's state for the UI, and the topology map's graph of
//! connections between groups ([`topology`]), and saved dashboards
//! ([`dashboards`], a JSON file in the data directory), and teams that
//! see only their namespaces ([`teams`]), and live `sonde top`-like tables
//! asked of an agent while a page polls them ([`live`]).
//!
//! Does **not** own: any storage engine (it takes any
//! `sonde_store::Store`; the binary opens DuckDB or ClickHouse), the wire protocol
//! (sonde-transport), the agent.
#![warn(missing_docs)]

pub mod alert_capture;
pub mod alerts_api;
pub mod api;
pub mod auth;
pub mod captures;
pub mod dashboards;
pub mod decode;
pub mod hosts;
pub mod live;
pub mod openapi;
pub mod prom;
pub mod remote;
pub mod serve;
pub mod teams;
pub mod topology;
pub mod web;

/// A server setup failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A flag or file that cannot be used (exit 2).
    #[error("{0}")]
    Config(String),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] sonde_transport::TlsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sonde_store::StoreError),
    /// Listening or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

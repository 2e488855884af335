//! # sonde-transport: from the agent to the server
//!
//! Owns getting the agent's records to the server, and the server's half
//! of the exchange. The agent only connects out: [`Sender`] gathers the
//! records pushed to it, seals one [`Batch`] per second (agent id, a
//! sequence number that only grows, the records as opaque JSON), writes
//! it to a bounded disk [`Spool`] (oldest batches dropped first and
//! counted), and posts the oldest unacknowledged batches in order over
//! HTTPS (rustls with ring; a bearer token and/or a client certificate):
//!
//! ```text
//! POST /api/v1/ingest HTTP/1.1
//! Authorization: Bearer <token>
//! Content-Type: application/json
//!
//! {"agent":"host-1","seq":42,"ts_ms":...,"dropped":0,"records":[...]}
//!
//! -> 200 {"acked":42}     (the highest sequence number the server holds for the agent)
//! -> 401 {"error":"..."}  (token refused: the sender keeps spooling and says so)
//! ```
//!
//! Acknowledged batches leave the spool and the acknowledged number is
//! persisted, so a restart neither loses nor resends them; the receiving
//! side ([`Ingest`]) accepts a batch only when its number is above the
//! agent's last one, so a batch resent after a lost answer is never
//! counted twice. [`Ingest`] is plain logic (token check, dedup, hand-off
//! to a store) for the server's HTTP stack; with the `receiver` feature,
//! `receiver::Receiver` serves it over TLS itself (tests, a stand-in
//! server).
//!
//! [`otlp::OtlpExporter`] posts the agent's series to an OpenTelemetry
//! receiver (OTLP/HTTP, JSON) the same way: its own thread, a bounded
//! queue, retries in order.
//!
//! Does **not** own: what the records are (metrics, check results,
//! events: the agent's), the server's storage, or the agent's config.
#![warn(missing_docs)]

mod commands;
mod http;
mod ingest;
pub mod otlp;
mod protocol;
#[cfg(feature = "receiver")]
pub mod receiver;
mod secret;
mod sender;
mod spool;
mod tls;

/// The HTTP/1.1 framing the sender and the receiver read from the network,
/// over bytes in memory: entry points for the fuzz targets
/// (`crates/transport/fuzz`) and `tests/fuzz_parsers.rs`, not an API (the
/// framing itself stays private).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::http::{read_answer, read_requests};
}

pub use commands::{CommandQueue, UploadError, Uploader};
pub use ingest::{Commands, Delivered, Ingest, IngestReply, Store, MAX_BATCH};
pub use protocol::{Ack, Batch, INGEST_PATH};
/// The rustls the configurations are built with (certificate and key types).
pub use rustls;
pub use secret::Token;
pub use sender::{Sender, SenderConfig, SenderHandle, SenderStatus, TransportError};
pub use spool::{Spool, SpoolError};
pub use tls::{client_config, load_certs, load_key, server_config, TlsError};

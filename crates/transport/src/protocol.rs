//! What travels: a [`Batch`] from the agent, an [`Ack`] back.

use serde::{Deserialize, Serialize};

/// The path batches are posted to.
pub const INGEST_PATH: &str = "/api/v1/ingest";

/// One second of an agent's records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The agent's id (one logical stream per agent).
    pub agent: String,
    /// Sequence number: starts at 1, one more per batch, never reused.
    pub seq: u64,
    /// When the batch was sealed, ms since the epoch.
    pub ts_ms: u64,
    /// Batches the agent's spool dropped (over its byte cap) so far: the
    /// numbers missing below `seq` that will never come.
    #[serde(default)]
    pub dropped: u64,
    /// The records, opaque to the transport.
    pub records: Vec<serde_json::Value>,
}

/// The server's answer to a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The highest sequence number the server holds for this agent: every
    /// batch up to it may leave the agent's spool.
    pub acked: u64,
    /// Requests for the agent (e.g. a flight-recorder capture), opaque to
    /// the transport. The agent only connects out, so the server's way to
    /// ask it something is the answer to its next batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<serde_json::Value>,
}

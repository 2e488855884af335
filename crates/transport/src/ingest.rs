//! The receiving side's logic, independent of the HTTP stack: check the
//! credentials, parse the batch, accept it only when its sequence number
//! is above the agent's last (so a resent batch is never counted twice),
//! hand it to the store, answer with the acknowledged number.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::protocol::{Ack, Batch};
use crate::secret::Token;

/// Largest batch accepted (bytes of JSON).
pub const MAX_BATCH: usize = 64 << 20;

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// New: handed to the store.
    New,
    /// Already held (a resend): acknowledged again, not stored again.
    Duplicate,
    /// Refused (credentials, a malformed batch, the store failed).
    Refused,
}

/// The HTTP answer to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestReply {
    /// HTTP status: 200, 400 (malformed), 401 (credentials), 413 (too
    /// large), 503 (the store failed).
    pub status: u16,
    /// JSON body: `{"acked":N}` or `{"error":"..."}`.
    pub body: Vec<u8>,
    /// What became of the batch.
    pub delivered: Delivered,
}

impl IngestReply {
    fn error(status: u16, msg: &str) -> IngestReply {
        IngestReply {
            status,
            body: serde_json::json!({ "error": msg }).to_string().into_bytes(),
            delivered: Delivered::Refused,
        }
    }
}

/// Where accepted batches go (the server's store); an error refuses the
/// batch (503), so the agent keeps it and sends it again.
pub type Store = Box<dyn Fn(&Batch) -> Result<(), String> + Send + Sync>;

/// The requests waiting for an agent, taken when its batch is answered.
pub type Commands = Box<dyn Fn(&str) -> Vec<serde_json::Value> + Send + Sync>;

/// The receiving side. Thread-safe: share it behind an `Arc`.
pub struct Ingest {
    tokens: Vec<Token>,
    last: Mutex<HashMap<String, u64>>,
    store: Store,
    commands: Option<Commands>,
    duplicates: std::sync::atomic::AtomicU64,
}

impl Ingest {
    /// Accepts batches carrying one of `tokens` (with none, only peers
    /// whose client certificate the TLS layer verified) and hands new
    /// ones to `store`.
    pub fn new(
        tokens: Vec<Token>,
        store: impl Fn(&Batch) -> Result<(), String> + Send + Sync + 'static,
    ) -> Ingest {
        Ingest {
            tokens,
            last: Mutex::new(HashMap::new()),
            store: Box::new(store),
            commands: None,
            duplicates: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Starts from the last sequence number held per agent (a server
    /// restoring its dedup state from its store).
    pub fn with_last(self, last: HashMap<String, u64>) -> Ingest {
        if let Ok(mut l) = self.last.lock() {
            *l = last;
        }
        self
    }

    /// Answers every accepted batch with the requests `take` hands out
    /// for its agent ([`Ack::commands`]).
    pub fn with_commands(
        mut self,
        take: impl Fn(&str) -> Vec<serde_json::Value> + Send + Sync + 'static,
    ) -> Ingest {
        self.commands = Some(Box::new(take));
        self
    }

    /// The last sequence number held for `agent`.
    pub fn last_seq(&self, agent: &str) -> Option<u64> {
        self.last.lock().ok()?.get(agent).copied()
    }

    /// Resent batches acknowledged again without being stored, so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the request's credentials pass: a `Bearer` token from the
    /// list, or (with no tokens configured) a verified client certificate.
    pub fn authorized(&self, authorization: Option<&str>, peer_cert_verified: bool) -> bool {
        if self.tokens.is_empty() {
            return peer_cert_verified;
        }
        let Some(tok) = authorization.and_then(|a| a.trim().strip_prefix("Bearer ")) else {
            return false;
        };
        self.tokens.iter().any(|t| t.matches(tok.trim()))
    }

    /// Handles one `POST /api/v1/ingest`: its `Authorization` header,
    /// whether TLS verified a client certificate, and its body.
    pub fn handle(
        &self,
        authorization: Option<&str>,
        peer_cert_verified: bool,
        body: &[u8],
    ) -> IngestReply {
        if !self.authorized(authorization, peer_cert_verified) {
            return IngestReply::error(401, "unauthorized");
        }
        if body.len() > MAX_BATCH {
            return IngestReply::error(413, "batch too large");
        }
        let batch: Batch = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return IngestReply::error(400, &format!("malformed batch: {e}")),
        };
        if batch.agent.is_empty() || batch.seq == 0 {
            return IngestReply::error(400, "malformed batch: empty agent or sequence number 0");
        }
        let Ok(mut last) = self.last.lock() else {
            return IngestReply::error(503, "receiver state unavailable");
        };
        let held = last.get(&batch.agent).copied().unwrap_or(0);
        let delivered = if batch.seq <= held {
            self.duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Delivered::Duplicate
        } else {
            if let Err(e) = (self.store)(&batch) {
                return IngestReply::error(503, &format!("store failed: {e}"));
            }
            last.insert(batch.agent.clone(), batch.seq);
            Delivered::New
        };
        drop(last);
        let acked = held.max(batch.seq);
        let commands = self
            .commands
            .as_ref()
            .map_or_else(Vec::new, |f| f(&batch.agent));
        IngestReply {
            status: 200,
            body: serde_json::to_vec(&Ack { acked, commands }).unwrap_or_default(),
            delivered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn batch(agent: &str, seq: u64) -> Vec<u8> {
        serde_json::to_vec(&Batch {
            agent: agent.into(),
            seq,
            ts_ms: 0,
            dropped: 0,
            records: vec![serde_json::json!({"n": seq})],
        })
        .unwrap()
    }

    #[test]
    fn dedups_by_agent_and_seq_and_checks_the_token() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let ing = Ingest::new(vec![Token::new("t0k")], move |b: &Batch| {
            g.lock().unwrap().push((b.agent.clone(), b.seq));
            Ok(())
        });
        let ok = Some("Bearer t0k");
        assert_eq!(
            ing.handle(Some("Bearer nope"), false, &batch("a", 1))
                .status,
            401
        );
        assert_eq!(ing.handle(None, true, &batch("a", 1)).status, 401);
        let r = ing.handle(ok, false, &batch("a", 1));
        assert_eq!((r.status, r.delivered), (200, Delivered::New));
        assert_eq!(r.body, br#"{"acked":1}"#);
        assert_eq!(
            ing.handle(ok, false, &batch("a", 1)).delivered,
            Delivered::Duplicate
        );
        assert_eq!(
            ing.handle(ok, false, &batch("b", 1)).delivered,
            Delivered::New
        );
        let r = ing.handle(ok, false, &batch("a", 3));
        assert_eq!(
            (r.delivered, r.body.as_slice()),
            (Delivered::New, &br#"{"acked":3}"#[..])
        );
        let r = ing.handle(ok, false, &batch("a", 2));
        assert_eq!(
            (r.delivered, r.body.as_slice()),
            (Delivered::Duplicate, &br#"{"acked":3}"#[..])
        );
        assert_eq!(ing.handle(ok, false, b"{not json").status, 400);
        assert_eq!(ing.handle(ok, false, &batch("", 5)).status, 400);
        assert_eq!(
            *got.lock().unwrap(),
            [
                ("a".to_string(), 1),
                ("b".to_string(), 1),
                ("a".to_string(), 3)
            ]
        );
    }

    #[test]
    fn client_certificate_alone_when_no_tokens() {
        let ing = Ingest::new(vec![], |_: &Batch| Ok(()));
        assert_eq!(ing.handle(None, true, &batch("a", 1)).status, 200);
        assert_eq!(
            ing.handle(Some("Bearer x"), false, &batch("a", 2)).status,
            401
        );
    }

    #[test]
    fn a_failing_store_refuses_and_the_batch_can_come_again() {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let f = fail.clone();
        let ing = Ingest::new(vec![Token::new("t")], move |_: &Batch| {
            if f.load(std::sync::atomic::Ordering::Relaxed) {
                Err("disk full".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(
            ing.handle(Some("Bearer t"), false, &batch("a", 1)).status,
            503
        );
        fail.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            ing.handle(Some("Bearer t"), false, &batch("a", 1))
                .delivered,
            Delivered::New
        );
    }
}

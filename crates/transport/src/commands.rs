//! The server's half of a conversation the agent starts: requests that
//! come back with batch acknowledgements ([`CommandQueue`]), and files the
//! agent sends on its own connection ([`Uploader`]). The agent still only
//! connects out.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::sender::{connect, SenderConfig, Target};

/// Requests waiting for the agent; the oldest go first when more than
/// this many wait (a server flooding an agent cannot grow its memory).
const MAX_QUEUED: usize = 64;

/// Largest answer read for an upload.
const MAX_ANSWER: usize = 1 << 20;

/// The server's requests, oldest first. Clones share the queue.
#[derive(Clone, Default)]
pub struct CommandQueue {
    inner: Arc<(Mutex<VecDeque<serde_json::Value>>, Condvar)>,
}

impl CommandQueue {
    pub(crate) fn new() -> CommandQueue {
        CommandQueue::default()
    }

    /// Adds requests (from an acknowledgement).
    pub(crate) fn push_all(&self, cmds: Vec<serde_json::Value>) {
        if cmds.is_empty() {
            return;
        }
        let (q, cv) = &*self.inner;
        if let Ok(mut q) = q.lock() {
            for c in cmds {
                if q.len() >= MAX_QUEUED {
                    q.pop_front();
                }
                q.push_back(c);
            }
        }
        cv.notify_all();
    }

    /// The next request, waiting at most `timeout` for one.
    pub fn next(&self, timeout: Duration) -> Option<serde_json::Value> {
        let (q, cv) = &*self.inner;
        let q = q.lock().ok()?;
        let (mut q, _) = cv.wait_timeout_while(q, timeout, |q| q.is_empty()).ok()?;
        q.pop_front()
    }
}

/// What an upload got back.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No answer (connection, TLS, timeout).
    #[error("cannot send to the server: {0}")]
    Send(String),
    /// The server answered with an error status.
    #[error("the server answered {status}: {text}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The start of the answer's body.
        text: String,
    },
}

/// Posts files to the sender's server with its credentials, each on a
/// connection of its own (so a large file never delays the batches).
#[derive(Clone)]
pub struct Uploader {
    cfg: SenderConfig,
    target: Target,
}

impl Uploader {
    pub(crate) fn new(cfg: SenderConfig, target: Target) -> Uploader {
        Uploader { cfg, target }
    }

    /// `POST path` (a path on the server, e.g. `/api/v1/agent/captures/ID`)
    /// with `body` as `application/octet-stream`; the answer's body.
    pub fn upload(&self, path: &str, body: &[u8]) -> Result<Vec<u8>, UploadError> {
        let mut conn = connect(&self.cfg, &self.target).map_err(UploadError::Send)?;
        let host = format!("{}:{}", self.target.host, self.target.port);
        let (status, answer, _) = conn
            .post_as(
                &host,
                path,
                self.cfg.token.as_ref(),
                "application/octet-stream",
                body,
                MAX_ANSWER,
            )
            .map_err(|e| UploadError::Send(e.to_string()))?;
        if status == 200 {
            return Ok(answer);
        }
        let text = String::from_utf8_lossy(&answer).chars().take(200).collect();
        Err(UploadError::Refused { status, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_ordered() {
        let q = CommandQueue::new();
        assert!(q.next(Duration::from_millis(1)).is_none());
        q.push_all((0..100).map(|i| serde_json::json!(i)).collect());
        let first = q.next(Duration::ZERO).unwrap();
        assert_eq!(first, serde_json::json!(100 - MAX_QUEUED));
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            let mut n = 1;
            while q2.next(Duration::from_millis(50)).is_some() {
                n += 1;
            }
            n
        });
        assert_eq!(t.join().unwrap(), MAX_QUEUED);
    }
}

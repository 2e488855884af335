//! Captures taken on request from agents' flight recorders: a request
//! (`POST /api/v1/captures`, or an alert's action through
//! [`Captures::request`]) waits for the host's agent and goes out with the
//! acknowledgement of its next batch (the agent only connects out); the
//! agent uploads the file (`POST /api/v1/agent/captures/ID`, agent
//! credentials) or why it failed (`.../ID/failed`); the server keeps it
//! under `DATA_DIR/captures/ID.scap` and records each step as a
//! `capture` event (`state` requested, stored, failed or expired), so the
//! events timeline links to the file (`GET /api/v1/captures/ID`).
//! Does not own: the recorder (the agent's) or alert rules.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use sonde_store::{Event, EventQuery};

use crate::api::{blocking, ApiError};
use crate::serve::{AppState, PeerVerified, SERVER_AGENT};

/// The largest capture file an agent may upload.
pub const MAX_UPLOAD: usize = 512 << 20;
/// Requests waiting at most this long for their agent are dropped (ms).
const PENDING_TTL_MS: i64 = 10 * 60_000;

/// A request that has not been answered yet.
#[derive(Debug, Clone)]
struct Requested {
    agent: String,
    at_ms: i64,
    reason: String,
    labels: sonde_store::Tags,
}

/// The captures asked for and the directory they are kept in.
#[derive(Default)]
pub struct Captures {
    dir: OnceLock<PathBuf>,
    /// Per agent: the requests not yet handed out.
    queued: Mutex<HashMap<String, Vec<serde_json::Value>>>,
    /// Every request not yet answered, by id.
    open: Mutex<HashMap<String, Requested>>,
}

/// What to capture.
#[derive(Debug, Clone, Deserialize)]
pub struct CaptureRequest {
    /// The host (agent id).
    pub host: String,
    /// Seconds before the request the file starts (at most the agent's
    /// recorder window).
    #[serde(default = "ten")]
    pub before_s: f64,
    /// Seconds after the request it goes on.
    #[serde(default = "five")]
    pub after_s: f64,
    /// Why (an alert's id, a user's note), kept in the events.
    #[serde(default)]
    pub reason: String,
    /// More tags for its events (an alert's rule and group).
    #[serde(default)]
    pub labels: sonde_store::Tags,
}

fn ten() -> f64 {
    10.0
}
fn five() -> f64 {
    5.0
}

/// A fresh, unguessable id: the upload's only proof that it answers a
/// request besides the agent credentials.
pub(crate) fn new_id() -> String {
    let mut b = [0u8; 12];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if ok.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b.copy_from_slice(&t.to_le_bytes()[..12]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn valid_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Captures {
    /// Keeps files in `dir` (made if missing).
    pub fn set_dir(&self, dir: PathBuf) -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let _ = self.dir.set(dir);
        Ok(())
    }

    /// Queues a request for `req.host`; its id and the `requested` event.
    pub fn request(&self, req: &CaptureRequest, now_ms: i64) -> Result<(String, Event), ApiError> {
        let span = |s: f64, what: &str| {
            if !(0.0..=600.0).contains(&s) {
                return Err(ApiError::bad(format!("'{what}' must be 0 to 600 seconds")));
            }
            Ok((s * 1000.0) as u64)
        };
        let (before_ms, after_ms) = (
            span(req.before_s, "before_s")?,
            span(req.after_s, "after_s")?,
        );
        if req.host.is_empty() || req.host == SERVER_AGENT {
            return Err(ApiError::bad("'host' must name an agent"));
        }
        let id = new_id();
        let cmd =
            json!({"kind": "capture", "id": id, "before_ms": before_ms, "after_ms": after_ms});
        if let Ok(mut q) = self.queued.lock() {
            q.entry(req.host.clone()).or_default().push(cmd);
        }
        if let Ok(mut o) = self.open.lock() {
            o.insert(
                id.clone(),
                Requested {
                    agent: req.host.clone(),
                    at_ms: now_ms,
                    reason: req.reason.clone(),
                    labels: req.labels.clone(),
                },
            );
        }
        let mut ev = event(
            &id,
            &req.host,
            now_ms,
            "requested",
            &req.reason,
            json!({
                "before_ms": before_ms, "after_ms": after_ms,
            }),
        );
        add_labels(&mut ev, &req.labels);
        Ok((id, ev))
    }

    /// The requests for `agent`, handed out once (with its batch's answer).
    pub fn take(&self, agent: &str) -> Vec<serde_json::Value> {
        self.queued
            .lock()
            .ok()
            .and_then(|mut q| q.remove(agent))
            .unwrap_or_default()
    }

    /// Requests nobody answered within the time allowed: `expired` events.
    pub fn sweep(&self, now_ms: i64) -> Vec<Event> {
        let Ok(mut o) = self.open.lock() else {
            return Vec::new();
        };
        let old: Vec<String> = o
            .iter()
            .filter(|(_, r)| now_ms - r.at_ms > PENDING_TTL_MS)
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in old {
            if let Some(r) = o.remove(&id) {
                if let Ok(mut q) = self.queued.lock() {
                    if let Some(v) = q.get_mut(&r.agent) {
                        v.retain(|c| c["id"] != id.as_str());
                    }
                }
                let mut ev = event(&id, &r.agent, now_ms, "expired", &r.reason, json!({}));
                add_labels(&mut ev, &r.labels);
                out.push(ev);
            }
        }
        out
    }

    /// An agent's answer to request `id`: the file, or why it failed.
    fn answer(
        &self,
        id: &str,
        result: Result<&[u8], String>,
        now_ms: i64,
    ) -> Result<Event, ApiError> {
        let r = self
            .open
            .lock()
            .ok()
            .and_then(|mut o| o.remove(id))
            .ok_or_else(|| {
                ApiError(
                    StatusCode::NOT_FOUND,
                    format!("no capture '{id}' is waiting"),
                )
            })?;
        let mut ev = match result {
            Ok(bytes) => {
                let dir = self.dir.get().ok_or_else(|| {
                    ApiError(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no capture directory".into(),
                    )
                })?;
                let path = dir.join(format!("{id}.scap"));
                std::fs::write(&path, bytes).map_err(|e| {
                    ApiError(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("cannot keep the capture: {e}"),
                    )
                })?;
                event(
                    id,
                    &r.agent,
                    now_ms,
                    "stored",
                    &r.reason,
                    json!({"bytes": bytes.len()}),
                )
            }
            Err(why) => event(
                id,
                &r.agent,
                now_ms,
                "failed",
                &r.reason,
                json!({"error": why}),
            ),
        };
        add_labels(&mut ev, &r.labels);
        Ok(ev)
    }

    /// The kept file of capture `id`.
    fn file(&self, id: &str) -> Option<PathBuf> {
        let p = self.dir.get()?.join(format!("{id}.scap"));
        p.is_file().then_some(p)
    }
}

/// Adds a request's labels to its event's tags (never over the
/// capture's own: id, state, host, reason).
fn add_labels(ev: &mut Event, labels: &sonde_store::Tags) {
    for (k, v) in labels {
        ev.tags.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn event(
    id: &str,
    agent: &str,
    ts_ms: i64,
    state: &str,
    reason: &str,
    extra: serde_json::Value,
) -> Event {
    let mut tags = sonde_store::Tags::new();
    tags.insert("capture".into(), id.into());
    tags.insert("state".into(), state.into());
    tags.insert("host".into(), agent.into());
    if !reason.is_empty() {
        tags.insert("reason".into(), reason.into());
    }
    let mut body = json!({"id": id, "host": agent, "state": state, "reason": reason});
    if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(x.clone());
    }
    if state == "stored" {
        body["download"] = json!(format!("/api/v1/captures/{id}"));
    }
    Event {
        ts_ms,
        agent: agent.into(),
        kind: "capture".into(),
        tags,
        body,
    }
}

/// The API routes (API credentials): request a capture, list them,
/// download one.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/captures", post(create).get(list))
        .route("/api/v1/captures/{id}", get(download))
}

/// The agents' routes (agent credentials): answers to requests.
pub fn agent_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agent/captures/{id}", post(upload))
        .route("/api/v1/agent/captures/{id}/failed", post(failed))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
}

async fn create(State(st): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let req: CaptureRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("bad capture request: {e}")))?;
    let id = blocking(move || {
        let (id, ev) = st.captures.request(&req, crate::now_ms())?;
        st.store_own_events(&[ev])?;
        Ok(id)
    })
    .await?;
    let download = format!("/api/v1/captures/{id}");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "download": download})),
    )
        .into_response())
}

async fn list(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let now = crate::now_ms();
    let q = EventQuery {
        start_ms: 0,
        end_ms: now + 1,
        kinds: vec!["capture".into()],
        limit: 1000,
        ..EventQuery::default()
    };
    let evs = blocking(move || Ok(st.store.events(&q)?)).await?;
    let captures = summarize(&evs);
    Ok(Json(json!({ "captures": captures, "events": evs })).into_response())
}

/// One row per capture from its `capture` events (any order): its latest
/// state, host, why, the alert's rule and firing time (`alert_ts_ms`)
/// when an alert asked for it, when it was requested and answered, its
/// size and download path once stored, the agent's error if it failed.
/// Newest request first.
pub fn summarize(evs: &[Event]) -> Vec<serde_json::Value> {
    let mut by_id: std::collections::BTreeMap<&str, Vec<&Event>> = Default::default();
    for e in evs {
        if let Some(id) = e.tags.get("capture") {
            by_id.entry(id.as_str()).or_default().push(e);
        }
    }
    let mut rows: Vec<(i64, serde_json::Value)> = by_id
        .into_iter()
        .map(|(id, mut v)| {
            v.sort_by_key(|e| {
                let requested = e.tags.get("state").map(String::as_str) == Some("requested");
                (e.ts_ms, !requested)
            });
            let (first, last) = (v[0], v[v.len() - 1]);
            let tag = |k: &str| last.tags.get(k).or_else(|| first.tags.get(k)).cloned();
            let requested = v
                .iter()
                .find(|e| e.tags.get("state").map(String::as_str) == Some("requested"))
                .map_or(first.ts_ms, |e| e.ts_ms);
            let state = tag("state").unwrap_or_default();
            let mut row = json!({
                "id": id,
                "state": state,
                "host": tag("host").unwrap_or_else(|| last.agent.clone()),
                "reason": tag("reason").unwrap_or_default(),
                "rule": tag("rule"),
                "alert_ts_ms": tag("alert_ts_ms").and_then(|t| t.parse::<i64>().ok()),
                "requested_ms": requested,
                "updated_ms": last.ts_ms,
                "before_ms": first.body.get("before_ms"),
                "after_ms": first.body.get("after_ms"),
            });
            if state == "stored" {
                row["bytes"] = last.body.get("bytes").cloned().unwrap_or(json!(null));
                row["download"] = json!(format!("/api/v1/captures/{id}"));
            }
            if let Some(err) = last.body.get("error") {
                row["error"] = err.clone();
            }
            (requested, row)
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    rows.into_iter().map(|(_, r)| r).collect()
}

async fn download(
    State(st): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let missing = |id: &str| ApiError(StatusCode::NOT_FOUND, format!("no capture '{id}'"));
    if !valid_id(&id) {
        return Err(missing(&id));
    }
    let path = st.captures.file(&id).ok_or_else(|| missing(&id))?;
    let i = id.clone();
    let bytes = blocking(move || std::fs::read(&path).map_err(|_| missing(&i))).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sonde-{id}.scap\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// Agent credentials, as for ingest.
pub(crate) fn agent_auth(
    st: &AppState,
    headers: &HeaderMap,
    verified: bool,
) -> Result<(), ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if st.agent_authorized(auth, verified) {
        Ok(())
    } else {
        Err(ApiError(StatusCode::UNAUTHORIZED, "unauthorized".into()))
    }
}

async fn upload(
    State(st): State<Arc<AppState>>,
    Extension(PeerVerified(verified)): Extension<PeerVerified>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    agent_answer(st, &headers, verified, id, Ok(body)).await?;
    Ok(Json(json!({"stored": true})).into_response())
}

async fn failed(
    State(st): State<Arc<AppState>>,
    Extension(PeerVerified(verified)): Extension<PeerVerified>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    agent_answer(st, &headers, verified, id, Err(body)).await?;
    Ok(Json(json!({"stored": false})).into_response())
}

/// An agent's answer to capture request `id`: the file (`Ok`), or why it
/// failed (`Err`, its first 500 characters kept); stored as an event.
async fn agent_answer(
    st: Arc<AppState>,
    headers: &HeaderMap,
    verified: bool,
    id: String,
    body: Result<Bytes, Bytes>,
) -> Result<(), ApiError> {
    agent_auth(&st, headers, verified)?;
    if !valid_id(&id) {
        return Err(ApiError::bad("bad capture id"));
    }
    blocking(move || {
        let result = match &body {
            Ok(file) => Ok(&file[..]),
            Err(why) => Err(String::from_utf8_lossy(why).chars().take(500).collect()),
        };
        let ev = st.captures.answer(&id, result, crate::now_ms())?;
        st.store_own_events(&[ev])?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str) -> CaptureRequest {
        CaptureRequest {
            host: host.into(),
            before_s: 3.0,
            after_s: 1.0,
            reason: "test".into(),
            labels: [("rule".to_string(), "r1".to_string())].into(),
        }
    }

    #[test]
    fn requests_go_to_their_agent_once_and_expire() {
        let c = Captures::default();
        let (id, ev) = c.request(&req("h1"), 1000).unwrap();
        assert!(valid_id(&id));
        assert_eq!(ev.tags["state"], "requested");
        assert_eq!(ev.tags["rule"], "r1");
        assert!(c.take("h2").is_empty());
        let got = c.take("h1");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["id"], id.as_str());
        assert_eq!(got[0]["before_ms"], 3000);
        assert!(c.take("h1").is_empty(), "handed out once");
        assert!(c.sweep(1000 + PENDING_TTL_MS).is_empty());
        let gone = c.sweep(1001 + PENDING_TTL_MS);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].tags["state"], "expired");
        assert!(
            c.answer(&id, Err("late".into()), 0).is_err(),
            "no longer waiting"
        );
    }

    #[test]
    fn bad_requests_and_answers() {
        let c = Captures::default();
        assert!(c.request(&req(""), 0).is_err());
        let mut r = req("h");
        r.before_s = 601.0;
        assert!(c.request(&r, 0).is_err());
        r.before_s = f64::NAN;
        assert!(c.request(&r, 0).is_err());
        assert!(c.answer("0123456789abcdef01234567", Ok(b"x"), 0).is_err());
        assert!(!valid_id("../../etc/passwd"));
    }

    #[test]
    fn captures_summarize_to_their_latest_state() {
        let c = Captures::default();
        let dir = std::env::temp_dir().join(format!("sonde-capsum-{}", std::process::id()));
        c.set_dir(dir.clone()).unwrap();
        let (a, ra) = c.request(&req("h1"), 1000).unwrap();
        let sa = c.answer(&a, Ok(b"scap"), 3000).unwrap();
        let mut plain = req("h2");
        plain.labels.clear();
        let (b, rb) = c.request(&plain, 2000).unwrap();
        let fb = c.answer(&b, Err("no recorder".into()), 2500).unwrap();
        let (w, rw) = c.request(&req("h3"), 500).unwrap();
        // events come newest first from the store
        let rows = summarize(&[sa, fb, rb, ra, rw]);
        let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [b.as_str(), a.as_str(), w.as_str()]);
        assert_eq!(rows[0]["state"], "failed");
        assert_eq!(rows[0]["error"], "no recorder");
        assert_eq!(rows[0]["rule"], json!(null));
        assert!(rows[0].get("download").is_none());
        assert_eq!(rows[1]["state"], "stored");
        assert_eq!(rows[1]["host"], "h1");
        assert_eq!(rows[1]["rule"], "r1");
        assert_eq!(rows[1]["bytes"], 4);
        assert_eq!(rows[1]["requested_ms"], 1000);
        assert_eq!(rows[1]["updated_ms"], 3000);
        assert_eq!(rows[1]["before_ms"], 3000);
        assert_eq!(rows[1]["download"], format!("/api/v1/captures/{a}"));
        assert_eq!(rows[2]["state"], "requested");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Live tables: a host's `sonde top`-like tables for a scope (the host,
//! or one container), asked of its agent while a page polls them.
//! `GET /api/v1/live?host=H&view=V[&container=ID]` starts a session (or
//! keeps it going) and answers the latest sample the agent sent. The
//! request goes to the agent as a `live` command with the
//! acknowledgement of its next batch (the agent only connects out): the
//! agent runs the view on its own event stream, filtered to the scope,
//! for [`LEASE_MS`], and uploads each sample (every ~2 s) to
//! `POST /api/v1/agent/live/ID` (agent credentials). The lease is renewed
//! while the page keeps asking; a session nobody asked about for
//! [`IDLE_MS`] is forgotten, and the agent's run ends with its lease.
//! A team user may open only a container of its namespaces.
//! Does not own: the views (sonde-top, in the agent) or the agent's side
//! (`sonde agent`'s `agent_live`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sonde_store::TagFilter;

use crate::api::{blocking, ApiError};
use crate::auth::Principal;
use crate::serve::{AppState, PeerVerified};

/// How long an agent runs a view per request (ms).
pub const LEASE_MS: i64 = 10_000;
/// A session not asked about for this long is forgotten (ms).
pub const IDLE_MS: i64 = 30_000;
/// Sessions the server keeps at once (each costs its agent a view).
const MAX_SESSIONS: usize = 64;
/// The largest sample an agent may upload.
pub const MAX_SAMPLE: usize = 4 << 20;

/// The views a live table may show: the bundled table views of
/// `sonde top` (lists and spectrograms aside).
pub const VIEWS: [&str; 16] = [
    "procs",
    "procs_cpu",
    "procs_errors",
    "procs_fd_usage",
    "threads",
    "connections",
    "incoming_connections",
    "port_bindings",
    "sports",
    "files",
    "directories",
    "io_by_type",
    "errors",
    "syscalls",
    "page_faults",
    "containers",
];

/// One page's table: what is asked, and what came back.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    agent: String,
    view: String,
    container: Option<String>,
    /// When a page last asked (ms).
    polled_ms: i64,
    /// When the agent was last asked (ms), 0: not yet.
    sent_ms: i64,
    /// The latest sample, and when it came.
    sample: Option<(i64, Value)>,
    /// The agent's refusal: message and whether the request was bad.
    error: Option<(String, bool)>,
}

/// The live sessions and the commands waiting for their agents.
#[derive(Default)]
pub struct Live {
    /// Sessions by `agent/view/container`.
    sessions: Mutex<HashMap<String, Session>>,
    /// Per agent: the commands not yet handed out.
    queued: Mutex<HashMap<String, Vec<Value>>>,
}

/// What a page asks.
#[derive(Debug, Clone, Deserialize)]
pub struct LiveQuery {
    /// The host (`host.hostname`, or the agent id).
    #[serde(default)]
    pub host: String,
    /// The view's id.
    #[serde(default)]
    pub view: String,
    /// A container's id: only its processes' events.
    #[serde(default)]
    pub container: Option<String>,
}

/// Whether `id` looks like a container id (hex, as runtimes make them).
fn valid_container(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The query checked: the view and the scope (400 with the reason).
pub fn check(q: &LiveQuery) -> Result<(), ApiError> {
    if q.host.is_empty() {
        return Err(ApiError::bad(
            "'host' is required (a host name or agent id)",
        ));
    }
    if !VIEWS.contains(&q.view.as_str()) {
        return Err(ApiError::bad(format!(
            "unknown view '{}': one of {}",
            q.view,
            VIEWS.join(", ")
        )));
    }
    if let Some(c) = &q.container {
        if !valid_container(c) {
            return Err(ApiError::bad(format!(
                "bad scope: container '{c}' is not a container id (1 to 64 hex digits)"
            )));
        }
    }
    Ok(())
}

impl Live {
    /// The session for `q` on `agent` (made if new), its lease renewed
    /// when due; what the page gets back.
    fn poll(&self, agent: &str, q: &LiveQuery, now: i64) -> Result<Session, ApiError> {
        let key = format!(
            "{agent}/{}/{}",
            q.view,
            q.container.as_deref().unwrap_or("")
        );
        let mut ss = self
            .sessions
            .lock()
            .map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "live sessions".into()))?;
        ss.retain(|_, s| now - s.polled_ms <= IDLE_MS);
        if !ss.contains_key(&key) && ss.len() >= MAX_SESSIONS {
            return Err(ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many live tables open ({MAX_SESSIONS}); try again later"),
            ));
        }
        let s = ss.entry(key).or_insert_with(|| Session {
            id: crate::captures::new_id(),
            agent: agent.to_string(),
            view: q.view.clone(),
            container: q.container.clone(),
            polled_ms: now,
            sent_ms: 0,
            sample: None,
            error: None,
        });
        s.polled_ms = now;
        // renew before the agent's lease runs out (batches come each second)
        if s.error.is_none() && (s.sent_ms == 0 || now - s.sent_ms > LEASE_MS - 4_000) {
            s.sent_ms = now;
            let cmd = json!({
                "kind": "live", "id": s.id, "view": s.view,
                "container": s.container, "duration_ms": LEASE_MS,
            });
            if let Ok(mut q) = self.queued.lock() {
                let v = q.entry(agent.to_string()).or_default();
                // one pending renewal per session is enough
                v.retain(|c| c["id"] != s.id.as_str());
                v.push(cmd);
            }
        }
        Ok(s.clone())
    }

    /// The commands for `agent`, handed out once (with its batch's answer).
    pub fn take(&self, agent: &str) -> Vec<Value> {
        self.queued
            .lock()
            .ok()
            .and_then(|mut q| q.remove(agent))
            .unwrap_or_default()
    }

    /// An agent's upload for session `id`: `{"sample": {...}}` or
    /// `{"error": "...", "bad_request": bool}`.
    fn answer(&self, id: &str, body: Value, now: i64) -> bool {
        let Ok(mut ss) = self.sessions.lock() else {
            return false;
        };
        let Some(s) = ss.values_mut().find(|s| s.id == id) else {
            return false;
        };
        if let Some(e) = body.get("error").and_then(|e| e.as_str()) {
            let bad = body.get("bad_request").and_then(|b| b.as_bool()) == Some(true);
            s.error = Some((e.chars().take(500).collect(), bad));
        } else if let Some(sample) = body.get("sample") {
            s.sample = Some((now, sample.clone()));
        }
        true
    }
}

/// The API route (a session or API token; viewers may read).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/live", get(poll))
}

/// The agents' route (agent credentials): samples and refusals.
pub fn agent_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agent/live/{id}", post(upload))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SAMPLE))
}

/// A team user's scope: a container of one of its namespaces (a host's
/// table holds every namespace's processes).
fn team_allows(st: &AppState, p: &Principal, q: &LiveQuery) -> Result<(), ApiError> {
    let Some(ns) = crate::teams::scope(st, p)? else {
        return Ok(());
    };
    let Some(c) = &q.container else {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden: a team user may open only a container's live table".into(),
        ));
    };
    let now = crate::now_ms();
    let filters = [TagFilter::Eq("container.id".into(), c.clone()), ns];
    let found = st
        .store
        .series(Some("cpu.user"), &filters, now - 3_600_000, now + 1)?;
    if found.is_empty() {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("forbidden: container '{c}' is not in a namespace of your team"),
        ));
    }
    Ok(())
}

async fn poll(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Query(q): Query<LiveQuery>,
) -> Result<Response, ApiError> {
    check(&q)?;
    let s = blocking(move || {
        team_allows(&st, &p, &q)?;
        let agent = st.agent_of_host(&q.host);
        if !st.hosts.hosts().iter().any(|h| h.agent == agent) {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("no host '{}' has sent anything to this server", q.host),
            ));
        }
        st.live.poll(&agent, &q, crate::now_ms())
    })
    .await?;
    if let Some((e, bad)) = &s.error {
        let code = if *bad {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return Err(ApiError(code, format!("agent '{}': {e}", s.agent)));
    }
    let (updated, sample) = match s.sample {
        Some((t, v)) => (json!(t), v),
        None => (json!(null), json!(null)),
    };
    Ok(Json(json!({
        "id": s.id, "agent": s.agent, "view": s.view, "container": s.container,
        "state": if sample.is_null() { "waiting" } else { "live" },
        "updated_ms": updated, "sample": sample, "lease_ms": LEASE_MS,
    }))
    .into_response())
}

async fn upload(
    State(st): State<Arc<AppState>>,
    Extension(PeerVerified(verified)): Extension<PeerVerified>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::captures::agent_auth(&st, &headers, verified)?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("bad sample: {e}")))?;
    if st.live.answer(&id, v, crate::now_ms()) {
        Ok(Json(json!({"stored": true})).into_response())
    } else {
        // the page went away: the agent stops at its lease's end
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no live session '{id}'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(view: &str, container: Option<&str>) -> LiveQuery {
        LiveQuery {
            host: "h1".into(),
            view: view.into(),
            container: container.map(String::from),
        }
    }

    #[test]
    fn bad_views_and_scopes_are_refused_with_the_reason() {
        assert!(check(&q("procs", None)).is_ok());
        assert!(check(&q("connections", Some("0123abcdef"))).is_ok());
        let e = check(&q("nope", None)).unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST);
        assert!(e.1.contains("unknown view 'nope'") && e.1.contains("procs"));
        let e = check(&q("procs", Some("x; rm"))).unwrap_err();
        assert!(e.1.contains("bad scope"), "{}", e.1);
        let mut no_host = q("procs", None);
        no_host.host.clear();
        assert!(check(&no_host).is_err());
    }

    #[test]
    fn sessions_renew_their_lease_and_take_answers() {
        let l = Live::default();
        let s = l.poll("a1", &q("procs", None), 1000).unwrap();
        let cmds = l.take("a1");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0]["kind"], "live");
        assert_eq!(cmds[0]["id"], s.id.as_str());
        assert!(l.take("a1").is_empty(), "handed out once");
        // asked again soon: same session, no new command
        let s2 = l.poll("a1", &q("procs", None), 2000).unwrap();
        assert_eq!(s2.id, s.id);
        assert!(l.take("a1").is_empty());
        // near the lease's end: renewed
        l.poll("a1", &q("procs", None), 1000 + LEASE_MS - 3_000)
            .unwrap();
        assert_eq!(l.take("a1").len(), 1);
        // another view is another session
        let o = l.poll("a1", &q("files", None), 2000).unwrap();
        assert_ne!(o.id, s.id);
        assert_eq!(l.take("a1").len(), 1);
        assert!(l.answer(&s.id, json!({"sample": {"rows": []}}), 3000));
        assert!(!l.answer("nope", json!({}), 3000));
        let got = l.poll("a1", &q("procs", None), 3500).unwrap();
        assert_eq!(got.sample.unwrap().0, 3000);
        // an agent's refusal sticks (no more commands)
        l.answer(
            &o.id,
            json!({"error": "unknown view", "bad_request": true}),
            4000,
        );
        let e = l.poll("a1", &q("files", None), 4000 + LEASE_MS).unwrap();
        assert!(e.error.unwrap().1);
        assert!(l.take("a1").iter().all(|c| c["id"] != o.id.as_str()));
        // forgotten when nobody asks
        let later = 4000 + LEASE_MS + IDLE_MS + 1;
        let n = l.poll("a1", &q("procs", None), later).unwrap();
        assert_ne!(n.id, s.id);
    }
}

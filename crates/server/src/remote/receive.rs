//! `POST /api/v1/write`: Prometheus remote write into the store.
//!
//! The caller shows an agent's credentials (a token of
//! `--agent-token-file`, or a verified client certificate) or an API
//! token (`Authorization: Bearer`) of an editor or admin; a session
//! cookie alone is not enough, and an anonymous write gets 401. The
//! samples are stored in one batch under the server's own stream, so they
//! are written once and PromQL and the native API see them at once. A
//! body that cannot be used gets 400 with the reason; success is 204.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use crate::auth::Role;
use crate::serve::{AppState, PeerVerified};

/// The path.
pub const WRITE_PATH: &str = "/api/v1/write";

/// The route (its own credentials check: see the module's doc).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        WRITE_PATH,
        post(write).layer(DefaultBodyLimit::max(super::MAX_BODY)),
    )
}

/// `GET /api/v1/remote_write`: the forwarder's counts (`enabled: false`
/// without `--remote-write-url`); behind the APIs' credentials.
pub fn status_routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/api/v1/remote_write",
        axum::routing::get(|State(st): State<Arc<AppState>>| async move {
            axum::Json(match st.forward.get() {
                Some(f) => serde_json::json!({"enabled": true, "stats": f.stats()}),
                None => serde_json::json!({"enabled": false}),
            })
        }),
    )
}

/// Whether the request may write: agent credentials, or an editor's
/// (or admin's) bearer token.
fn allowed(st: &AppState, headers: &HeaderMap, verified: bool) -> bool {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if st.agent_authorized(auth, verified) {
        return true;
    }
    auth.and_then(|a| a.trim().strip_prefix("Bearer "))
        .and_then(|t| st.auth.token(t.trim()))
        .is_some_and(|p| p.role >= Role::Editor)
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into() + "\n",
    )
        .into_response()
}

/// Decodes and stores a body: the number of samples stored, or the
/// status and reason of a refusal.
pub fn store_body(st: &AppState, body: &[u8]) -> Result<usize, (StatusCode, String)> {
    let req = super::decode(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let samples = super::to_samples(&req).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    st.store_own(&samples, &[])
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")))?;
    st.note_metrics(&samples);
    Ok(samples.len())
}

async fn write(
    State(st): State<Arc<AppState>>,
    Extension(PeerVerified(verified)): Extension<PeerVerified>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !allowed(&st, &headers, verified) {
        return text(
            StatusCode::UNAUTHORIZED,
            "unauthorized: remote write needs an agent token, a client certificate or an editor's API token (Authorization: Bearer ...)",
        );
    }
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("snappy");
    if !enc.eq_ignore_ascii_case("snappy") {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Content-Encoding '{enc}': remote write 1.0 bodies are snappy"),
        );
    }
    match tokio::task::spawn_blocking(move || store_body(&st, &body)).await {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err((status, msg))) => text(status, msg),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

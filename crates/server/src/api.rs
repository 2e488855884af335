//! The REST API (every call needs an API token): hosts, metric names,
//! metric queries in the native [`Query`] form (one, or a page's
//! several at once), and events; the JSON
//! error shape and the status each kind of failure gets.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;
use sonde_store::{EventQuery, Query, StoreError, TagFilter};

use crate::auth::Principal;
use crate::serve::AppState;

/// Events returned when no limit is asked for, and the most a call gets.
pub const EVENTS_LIMIT: (usize, usize) = (100, 10_000);

/// An API error: a status and a message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    /// A 400.
    pub fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::BadQuery(m) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, m),
            StoreError::Engine(m) => ApiError(StatusCode::SERVICE_UNAVAILABLE, m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())))
}

/// Middleware: a `Bearer` API token from the list, or 401.
pub async fn require_token(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.trim().strip_prefix("Bearer "))
        .is_some_and(|t| st.api_tokens.iter().any(|k| k.matches(t.trim())));
    if !ok {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized: an API token is needed (Authorization: Bearer ...)".into(),
        )
        .into_response();
    }
    next.run(req).await
}

/// Any other path: 404.
pub async fn not_found(uri: Uri) -> Response {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("unknown API path '{}'", uri.path()),
    )
    .into_response()
}

/// The REST routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/hosts", get(hosts))
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/metrics/query", post(query))
        .route("/api/v1/metrics/queries", post(queries))
        .route("/api/v1/events", get(events))
}

/// The hosts, and the ingest's counters since the server started.
async fn hosts(State(st): State<Arc<AppState>>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    Json(json!({
        "hosts": st.hosts.hosts(),
        "ingest": {
            "batches": st.batches.load(Relaxed),
            "duplicates": st.duplicates(),
            "unknown_records": st.unknown_records.load(Relaxed),
        },
    }))
    .into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let s2 = st.clone();
    blocking(move || Ok(s2.refresh_metrics()?)).await?;
    let names: Vec<String> = st
        .metrics
        .read()
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
        .iter()
        .cloned()
        .collect();
    Ok(Json(json!({ "metrics": names })).into_response())
}

/// Checks a native query: a range, a step, a known metric. Blocks on the
/// store when the metric is not known yet.
pub fn check_query(st: &AppState, q: &Query) -> Result<(), ApiError> {
    if q.end_ms <= q.start_ms {
        return Err(ApiError::bad("end_ms must be after start_ms"));
    }
    if q.step_ms < 0 {
        return Err(ApiError::bad("step_ms must not be negative"));
    }
    let known = || {
        st.metrics
            .read()
            .map(|m| m.contains(&q.metric))
            .unwrap_or(false)
    };
    // Another server over the same store may have ingested it.
    if !known() && (st.refresh_metrics().is_err() || !known()) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown metric '{}'", q.metric),
        ));
    }
    Ok(())
}

async fn query(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut q: Query =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("not a query: {e}")))?;
    q.filters.extend(crate::teams::scope(&st, &p)?);
    let a = blocking(move || {
        check_query(&st, &q)?;
        Ok(st.store.query(&q)?)
    })
    .await?;
    Ok(Json(a).into_response())
}

/// The most queries one `queries` call may hold.
pub const MAX_QUERIES: usize = 64;

/// `POST /api/v1/metrics/queries {"queries": [Query...]}`: a page's
/// queries at once (the store reads the rows they share once). Answers
/// in order, each an [`Answer`](sonde_store::Answer) or `{"error",
/// "status"}` as `query` would have failed.
async fn queries(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Body {
        queries: Vec<Query>,
    }
    let b: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not a list of queries: {e}")))?;
    if b.queries.len() > MAX_QUERIES {
        return Err(ApiError::bad(format!(
            "{} queries: at most {MAX_QUERIES} in one call",
            b.queries.len()
        )));
    }
    let scope = crate::teams::scope(&st, &p)?;
    let mut qs = b.queries;
    for q in &mut qs {
        q.filters.extend(scope.iter().cloned());
    }
    let answers = blocking(move || {
        // checked first; the valid ones go to the store together
        let checked: Vec<Result<(), ApiError>> = qs.iter().map(|q| check_query(&st, q)).collect();
        let valid: Vec<Query> = qs
            .iter()
            .zip(&checked)
            .filter(|(_, c)| c.is_ok())
            .map(|(q, _)| q.clone())
            .collect();
        let mut answered = st.store.query_many(&valid).into_iter();
        Ok(checked
            .into_iter()
            .map(|c| {
                let r = c.and_then(|()| match answered.next() {
                    Some(a) => Ok(a?),
                    None => Err(ApiError(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no answer".into(),
                    )),
                });
                match r {
                    Ok(a) => serde_json::to_value(a).unwrap_or_default(),
                    Err(ApiError(status, m)) => json!({"error": m, "status": status.as_u16()}),
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "answers": answers })).into_response())
}

/// Parses `tag=NAME=VALUE` (or `NAME!=VALUE`, `NAME=~RE`, `NAME!~RE`).
fn tag_filter(s: &str) -> Result<TagFilter, ApiError> {
    for (op, make) in [
        ("!~", TagFilter::NotRe as fn(String, String) -> TagFilter),
        ("=~", TagFilter::Re),
        ("!=", TagFilter::Ne),
        ("=", TagFilter::Eq),
    ] {
        if let Some((k, v)) = s.split_once(op) {
            if !k.is_empty() {
                return Ok(make(k.into(), v.into()));
            }
        }
    }
    Err(ApiError::bad(format!(
        "tag filter '{s}': expected NAME=VALUE, NAME!=VALUE, NAME=~RE or NAME!~RE"
    )))
}

fn int(k: &str, v: &str) -> Result<i64, ApiError> {
    v.parse().map_err(|_| {
        ApiError::bad(format!(
            "'{k}' must be an integer (ms since the epoch), not '{v}'"
        ))
    })
}

/// `GET /api/v1/events?kind=K&agent=A&tag=NAME=VALUE&start=MS&end=MS&limit=N`
/// (kind and tag repeatable; the range defaults to the last hour).
async fn events(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let now = crate::now_ms();
    let mut q = EventQuery {
        start_ms: now - 3_600_000,
        end_ms: now + 1,
        limit: EVENTS_LIMIT.0,
        ..EventQuery::default()
    };
    for (k, v) in &params {
        match k.as_str() {
            "kind" => q
                .kinds
                .extend(v.split(',').filter(|s| !s.is_empty()).map(String::from)),
            "agent" | "host" => q.agent = Some(v.clone()),
            "tag" => q.filters.push(tag_filter(v)?),
            "start" => q.start_ms = int(k, v)?,
            "end" => q.end_ms = int(k, v)?,
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad(format!("'limit' must be a count, not '{v}'")))?
                    .min(EVENTS_LIMIT.1);
            }
            other => return Err(ApiError::bad(format!("unknown parameter '{other}'"))),
        }
    }
    if q.end_ms <= q.start_ms {
        return Err(ApiError::bad("'end' must be after 'start'"));
    }
    q.filters.extend(crate::teams::scope(&st, &p)?);
    let evs = blocking(move || Ok(st.store.events(&q)?)).await?;
    Ok(Json(json!({ "events": evs })).into_response())
}

//! The HTTP side of auth: the middleware every API call passes (a session
//! cookie or a `Bearer` API token, else 401; the role each call needs,
//! else 403), login and logout (the `sonde_session` cookie: HttpOnly,
//! Secure, SameSite=Strict), `/api/v1/me`, users (admin) and API tokens.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{Principal, Role};
use crate::api::{blocking, ApiError};
use crate::now_ms;
use crate::serve::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "sonde_session";

/// Calls that only read although they are POSTs (queries).
const READ_POSTS: [&str; 7] = [
    "/api/v1/metrics/query",
    "/api/v1/metrics/queries",
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/query_exemplars",
];

/// The role a call needs: reads need viewer, user management admin,
/// any other write editor.
pub fn required_role(method: &Method, path: &str) -> Role {
    if path.starts_with("/api/v1/users") || path.starts_with("/api/v1/teams") {
        return Role::Admin;
    }
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST && READ_POSTS.contains(&path));
    if read {
        Role::Viewer
    } else {
        Role::Editor
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who the request comes from: a `Bearer` token, else the session cookie.
pub fn principal(st: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.trim().strip_prefix("Bearer "));
    match bearer {
        Some(t) => st.auth.token(t.trim()),
        None => cookie(headers, COOKIE).and_then(|s| st.auth.session(s, now_ms())),
    }
}

/// Middleware: 401 without a principal, 403 without the role the call
/// needs; the principal goes into the request's extensions.
pub async fn require(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let Some(p) = principal(&st, req.headers()) else {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized: log in, or send an API token (Authorization: Bearer ...)".into(),
        )
        .into_response();
    };
    let need = required_role(req.method(), req.uri().path());
    if p.role < need {
        return ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "forbidden: '{}' is a {:?}; this call needs {:?}",
                p.user, p.role, need
            )
            .to_lowercase(),
        )
        .into_response();
    }
    if let Err(e) = crate::teams::guard(&p, req.uri().path()) {
        return e.into_response();
    }
    req.extensions_mut().insert(p);
    next.run(req).await
}

/// Routes open to anyone: login and logout.
pub fn public_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
}

/// Routes behind [`require`]: who am I, users, tokens.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(users).post(set_user))
        .route("/api/v1/users/{name}", put(change_user).delete(delete_user))
        .route("/api/v1/tokens", get(tokens).post(make_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(State(st): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let l: Login = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("expected {{\"user\", \"password\"}}: {e}")))?;
    let s = st.clone();
    let p = blocking(move || Ok(s.auth.verify(&l.user, &l.password))).await?;
    let Some(p) = p else {
        return Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password".into(),
        ));
    };
    let secret = st.auth.start_session(p.clone(), now_ms());
    let c = format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        super::SESSION_MS / 1000
    );
    Ok((
        [(header::SET_COOKIE, c)],
        Json(json!({ "user": p.user, "role": p.role, "team": p.team })),
    )
        .into_response())
}

async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(s) = cookie(&headers, COOKIE) {
        st.auth.end_session(s);
    }
    let c = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, c)], Json(json!({ "ok": true }))).into_response()
}

async fn me(State(st): State<Arc<AppState>>, Extension(p): Extension<Principal>) -> Response {
    let ns = st.auth.namespaces(&p);
    Json(json!({ "user": p.user, "role": p.role, "team": p.team, "namespaces": ns }))
        .into_response()
}

async fn users(State(st): State<Arc<AppState>>) -> Response {
    let u: Vec<_> = st
        .auth
        .users()
        .into_iter()
        .map(|(name, role, team)| json!({ "name": name, "role": role, "team": team }))
        .collect();
    Json(json!({ "users": u })).into_response()
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    password: String,
    role: String,
    #[serde(default)]
    team: Option<String>,
}

/// A bad request is 400; the users file failing 503.
fn auth_error(e: super::AuthError) -> ApiError {
    match e {
        super::AuthError::Bad(m) => ApiError::bad(m),
        e @ super::AuthError::File(..) => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn role(s: &str) -> Result<Role, ApiError> {
    Role::parse(s).ok_or_else(|| ApiError::bad(format!("role '{s}': viewer, editor or admin")))
}

async fn set_user(State(st): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let u: NewUser = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(format!(
            "expected {{\"name\", \"password\", \"role\", \"team\"?}}: {e}"
        ))
    })?;
    let r = role(&u.role)?;
    blocking(move || {
        st.auth
            .set_user(&u.name, &u.password, r, u.team.as_deref())
            .map_err(|e| ApiError::bad(e.to_string()))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "ok": true }))).into_response())
}

async fn delete_user(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    match st.auth.delete_user(&name) {
        Ok(true) => Ok(Json(json!({ "ok": true })).into_response()),
        Ok(false) => Err(ApiError(StatusCode::NOT_FOUND, format!("no user '{name}'"))),
        Err(e) => Err(auth_error(e)),
    }
}

/// `PUT /api/v1/users/{name}`: the fields given change (`"team": null`
/// takes the user out of its team).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    team: Option<Option<String>>,
    password: Option<String>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn change_user(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: UserChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(format!(
            "expected {{\"role\"?, \"team\"?, \"password\"?}}: {e}"
        ))
    })?;
    let r = c.role.as_deref().map(role).transpose()?;
    let found = blocking(move || {
        st.auth
            .update_user(
                &name,
                r,
                c.team.as_ref().map(|t| t.as_deref()),
                c.password.as_deref(),
            )
            .map_err(auth_error)
            .and_then(|found| {
                found
                    .then_some(())
                    .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no user '{name}'")))
            })
    })
    .await;
    found.map(|()| Json(json!({ "ok": true })).into_response())
}

/// `GET /api/v1/tokens`: an admin's list has every user's tokens, any
/// other user's its own; never a secret.
async fn tokens(State(st): State<Arc<AppState>>, Extension(p): Extension<Principal>) -> Response {
    let mine = (p.role < Role::Admin).then_some(p.user.as_str());
    Json(json!({ "tokens": st.auth.tokens(mine) })).into_response()
}

/// `DELETE /api/v1/tokens/{id}`: one's own token, or any for an admin.
async fn revoke_token(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match st.auth.revoke_token(&id, &p) {
        Ok(true) => Ok(Json(json!({ "ok": true })).into_response()),
        Ok(false) => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no token '{id}' of yours"),
        )),
        Err(e) => Err(auth_error(e)),
    }
}

#[derive(Deserialize)]
struct NewToken {
    role: Option<String>,
}

async fn make_token(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t: NewToken = if body.is_empty() {
        NewToken { role: None }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad(format!("expected {{\"role\"}}: {e}")))?
    };
    let r = t.role.as_deref().map(role).transpose()?.unwrap_or(p.role);
    let (id, secret) = st
        .auth
        .make_token(&p, r, now_ms())
        .map_err(|e| ApiError::bad(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "token": secret, "role": r })),
    )
        .into_response())
}

//! Team scoping: a user in a team sees only the Kubernetes namespaces the
//! team is given (`k8s.ns.name`). Enforced on the server for every data
//! call: metric queries (Explore, dashboards) and events get a filter on
//! the team's namespaces added ([`scope`]), so series and events of other
//! namespaces, and those of no namespace (host-level), are not read; the
//! topology is built from the same filtered rows; saved dashboards are
//! the team's own. Calls that cannot be scoped by namespace are refused
//! with 403 ([`guard`]): the Prometheus API (PromQL would need rewriting),
//! captures (a flight-recorder capture holds every process of its host),
//! alert rules and their state (they span namespaces). A live table
//! (`/api/v1/live`) is checked by its handler: a container of the team's
//! namespaces only. Teams are made by
//! admins: `PUT /api/v1/teams/{name}` `{"namespaces": [...]}`, `GET
//! /api/v1/teams`, `DELETE /api/v1/teams/{name}`; a user joins one with
//! `"team"` in `POST /api/v1/users`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sonde_store::TagFilter;

use crate::api::{blocking, ApiError};
use crate::auth::Principal;
use crate::serve::AppState;

/// The tag naming a series' or event's namespace.
pub const NS_TAG: &str = "k8s.ns.name";

/// The calls a team user may make (each scoped by namespace, or holding
/// no namespace data); any other is refused.
const SCOPED: [&str; 10] = [
    "/api/v1/me",
    "/api/v1/tokens",
    "/api/v1/hosts",
    "/api/v1/metrics",
    "/api/v1/metrics/query",
    "/api/v1/metrics/queries",
    "/api/v1/events",
    "/api/v1/topology",
    "/api/v1/dashboards",
    "/api/v1/live",
];

/// Refuses (403) a team user's call that is not scoped by namespace.
pub fn guard(p: &Principal, path: &str) -> Result<(), ApiError> {
    let Some(team) = &p.team else {
        return Ok(());
    };
    let ok = SCOPED.contains(&path)
        || path.starts_with("/api/v1/dashboards/")
        || path.starts_with("/api/v1/tokens/");
    if ok {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("forbidden: '{}' is in team '{team}', which sees only its namespaces; '{path}' is not scoped by namespace", p.user),
        ))
    }
}

/// The filter keeping `p` to its team's namespaces: `None` without a
/// team; 403 when the team has none.
pub fn scope(st: &AppState, p: &Principal) -> Result<Option<TagFilter>, ApiError> {
    let Some(ns) = st.auth.namespaces(p) else {
        return Ok(None);
    };
    if ns.is_empty() {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "forbidden: team '{}' is given no namespace",
                p.team.as_deref().unwrap_or("")
            ),
        ));
    }
    let alts: Vec<String> = ns.iter().map(|n| regex::escape(n)).collect();
    Ok(Some(TagFilter::Re(NS_TAG.into(), alts.join("|"))))
}

/// The team routes (admin: `auth::routes::required_role`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/teams", get(list))
        .route("/api/v1/teams/{name}", put(set).delete(remove))
}

async fn list(State(st): State<Arc<AppState>>) -> Response {
    Json(json!({ "teams": st.auth.teams() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Team {
    namespaces: Vec<String>,
}

async fn set(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t: Team = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("expected {{\"namespaces\": [...]}}: {e}")))?;
    blocking(move || {
        st.auth
            .set_team(&name, t.namespaces)
            .map_err(|e| ApiError::bad(e.to_string()))
    })
    .await?;
    Ok(Json(json!({ "ok": true })).into_response())
}

async fn remove(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    match st.auth.delete_team(&name) {
        Ok(true) => Ok(Json(json!({ "ok": true })).into_response()),
        Ok(false) => Err(ApiError(StatusCode::NOT_FOUND, format!("no team '{name}'"))),
        Err(e) => Err(ApiError::bad(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn team_users_make_only_scoped_calls() {
        let free = Principal {
            user: "a".into(),
            role: Role::Admin,
            team: None,
        };
        let t = Principal {
            team: Some("shop".into()),
            ..free.clone()
        };
        for path in ["/api/v1/query", "/api/v1/captures", "/api/v1/alerts/status"] {
            assert!(guard(&free, path).is_ok());
            assert_eq!(guard(&t, path).unwrap_err().0, StatusCode::FORBIDDEN);
        }
        for path in ["/api/v1/metrics/query", "/api/v1/dashboards/ab12"] {
            assert!(guard(&t, path).is_ok());
        }
    }
}

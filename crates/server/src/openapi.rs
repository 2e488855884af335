//! The OpenAPI 3.0 document of every HTTP route, built with serde from
//! one route table ([`ROUTES`]); `docs/openapi.json` is its output, and
//! the `openapi` test fails when the table, the checked-in document or
//! the routes the sources declare disagree (regenerate with
//! `SONDE_WRITE_OPENAPI=1 cargo test -p sonde-server --test openapi`).

use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Open,
    /// An agent: its token or client certificate.
    Agent,
    /// A session or API token with the call's role (reads: viewer; user
    /// management: admin; other writes: editor).
    Api,
    /// An agent's credentials or an editor's API token.
    AgentOrEditor,
}

/// One method on one path.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// As axum writes it (`{name}` for a path parameter).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    access: Access,
) -> Route {
    Route {
        method,
        path,
        summary,
        access,
    }
}

use Access::{Agent, AgentOrEditor, Api, Open};

/// Every route the server serves (the web UI's files aside).
pub const ROUTES: &[Route] = &[
    r("GET", "/healthz", "Liveness: `ok`", Open),
    r(
        "POST",
        "/api/v1/ingest",
        "An agent's batch of seconds (JSON), deduplicated by sequence number",
        Agent,
    ),
    r(
        "POST",
        "/api/v1/agent/captures/{id}",
        "An agent uploads the capture file asked of it",
        Agent,
    ),
    r(
        "POST",
        "/api/v1/agent/captures/{id}/failed",
        "An agent reports a capture it could not take",
        Agent,
    ),
    r(
        "POST",
        "/api/v1/agent/live/{id}",
        "An agent uploads a live table's latest sample (or why it cannot run it)",
        Agent,
    ),
    r(
        "POST",
        "/api/v1/write",
        "Prometheus remote write 1.0 (snappy protobuf WriteRequest)",
        AgentOrEditor,
    ),
    r(
        "POST",
        "/api/v1/login",
        "Log in (user and password): a session cookie",
        Open,
    ),
    r("POST", "/api/v1/logout", "End the session", Open),
    r("GET", "/api/v1/me", "The caller's user and role", Api),
    r("GET", "/api/v1/users", "Users and their roles", Api),
    r("POST", "/api/v1/users", "Create or change a user", Api),
    r(
        "PUT",
        "/api/v1/users/{name}",
        "Change a user's role, team or password (admin; fields left out stay)",
        Api,
    ),
    r("DELETE", "/api/v1/users/{name}", "Delete a user", Api),
    r(
        "GET",
        "/api/v1/dashboards",
        "Saved dashboards (the caller's team's)",
        Api,
    ),
    r("POST", "/api/v1/dashboards", "Save a new dashboard", Api),
    r("GET", "/api/v1/dashboards/{id}", "One saved dashboard", Api),
    r(
        "PUT",
        "/api/v1/dashboards/{id}",
        "Change a saved dashboard",
        Api,
    ),
    r(
        "DELETE",
        "/api/v1/dashboards/{id}",
        "Delete a saved dashboard",
        Api,
    ),
    r(
        "GET",
        "/api/v1/teams",
        "Teams and their namespaces (admin)",
        Api,
    ),
    r(
        "PUT",
        "/api/v1/teams/{name}",
        "Create or change a team's namespaces (admin)",
        Api,
    ),
    r(
        "DELETE",
        "/api/v1/teams/{name}",
        "Delete a team (admin)",
        Api,
    ),
    r(
        "POST",
        "/api/v1/tokens",
        "Make an API token for the caller",
        Api,
    ),
    r(
        "GET",
        "/api/v1/tokens",
        "API tokens without secrets (an admin: everyone's; others: their own)",
        Api,
    ),
    r(
        "DELETE",
        "/api/v1/tokens/{id}",
        "Revoke an API token (one's own; an admin: any)",
        Api,
    ),
    r(
        "GET",
        "/api/v1/hosts",
        "Hosts (ok, silent, deregistered) and ingest counters",
        Api,
    ),
    r("GET", "/api/v1/metrics", "Metric names held", Api),
    r(
        "POST",
        "/api/v1/metrics/query",
        "A native query (sonde_store::Query as JSON)",
        Api,
    ),
    r(
        "POST",
        "/api/v1/metrics/queries",
        "Native queries at once ({\"queries\": [Query]}: {\"answers\"}, each an answer or an error)",
        Api,
    ),
    r(
        "GET",
        "/api/v1/events",
        "Events by kind, agent, tag and time",
        Api,
    ),
    r(
        "GET",
        "/api/v1/topology",
        "The graph of connections between groups (`level`, `scope`, `range_ms`): nodes with bytes/s, requests/s and p95 served; edges client to server with bytes/s, connections and the HTTP requests, 4xx, 5xx and p95 over them (`http`, null without HTTP)",
        Api,
    ),
    r(
        "POST",
        "/api/v1/captures",
        "Ask an agent's flight recorder for a capture",
        Api,
    ),
    r("GET", "/api/v1/captures", "Captures asked and taken", Api),
    r(
        "GET",
        "/api/v1/live",
        "A host's live top-like table for a scope (`host`, `view`, `container`): starts or renews it, answers its latest sample",
        Api,
    ),
    r(
        "GET",
        "/api/v1/captures/{id}",
        "Download a capture file",
        Api,
    ),
    r(
        "GET",
        "/api/v1/remote_write",
        "Remote write out: sent, dropped, rejected, retried, queued",
        Api,
    ),
    r("GET", "/api/v1/alerts", "Active alerts", Api),
    r("POST", "/api/v1/alerts/ack", "Acknowledge an alert", Api),
    r("GET", "/api/v1/alerts/history", "Alert history", Api),
    r("GET", "/api/v1/alerts/status", "Each rule's state", Api),
    r("GET", "/api/v1/alerts/rules", "Alert rules", Api),
    r("POST", "/api/v1/alerts/rules", "Create an alert rule", Api),
    r("GET", "/api/v1/alerts/rules/{name}", "One alert rule", Api),
    r(
        "PUT",
        "/api/v1/alerts/rules/{name}",
        "Replace an alert rule",
        Api,
    ),
    r(
        "DELETE",
        "/api/v1/alerts/rules/{name}",
        "Delete an alert rule",
        Api,
    ),
    r("GET", "/api/v1/alerts/handlers", "Handlers", Api),
    r("POST", "/api/v1/alerts/handlers", "Create a handler", Api),
    r("GET", "/api/v1/alerts/handlers/{name}", "One handler", Api),
    r(
        "PUT",
        "/api/v1/alerts/handlers/{name}",
        "Replace a handler",
        Api,
    ),
    r(
        "DELETE",
        "/api/v1/alerts/handlers/{name}",
        "Delete a handler",
        Api,
    ),
    r("GET", "/api/v1/alerts/silences", "Silences", Api),
    r("POST", "/api/v1/alerts/silences", "Create a silence", Api),
    r(
        "DELETE",
        "/api/v1/alerts/silences/{id}",
        "Delete a silence",
        Api,
    ),
    r(
        "GET",
        "/api/v1/query",
        "Prometheus: instant query (PromQL)",
        Api,
    ),
    r(
        "POST",
        "/api/v1/query",
        "Prometheus: instant query (form body)",
        Api,
    ),
    r(
        "GET",
        "/api/v1/query_range",
        "Prometheus: range query (PromQL)",
        Api,
    ),
    r(
        "POST",
        "/api/v1/query_range",
        "Prometheus: range query (form body)",
        Api,
    ),
    r(
        "GET",
        "/api/v1/series",
        "Prometheus: series matching selectors",
        Api,
    ),
    r(
        "POST",
        "/api/v1/series",
        "Prometheus: series matching selectors (form body)",
        Api,
    ),
    r("GET", "/api/v1/labels", "Prometheus: label names", Api),
    r(
        "POST",
        "/api/v1/labels",
        "Prometheus: label names (form body)",
        Api,
    ),
    r(
        "GET",
        "/api/v1/label/{name}/values",
        "Prometheus: a label's values",
        Api,
    ),
    r(
        "GET",
        "/api/v1/status/buildinfo",
        "Prometheus: build information",
        Api,
    ),
];

fn operation(rt: &Route) -> Value {
    let params: Vec<Value> = rt
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let security = match rt.access {
        Open => json!([]),
        Agent => json!([{"agentToken": []}]),
        Api => json!([{"apiToken": []}, {"session": []}]),
        AgentOrEditor => json!([{"agentToken": []}, {"apiToken": []}]),
    };
    let id: String = format!("{} {}", rt.method.to_lowercase(), rt.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut op = json!({
        "summary": rt.summary,
        "operationId": id,
        "security": security,
        "responses": {
            "200": {"description": "success"},
            "400": {"description": "bad input, with the reason"},
            "401": {"description": "no or wrong credentials"},
        },
    });
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for rt in ROUTES {
        let item = paths.entry(rt.path).or_insert_with(|| json!({}));
        item[rt.method.to_lowercase()] = operation(rt);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "sonde server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Agents' ingest, the REST API, the Prometheus HTTP query API and remote write, on one HTTPS port.",
        },
        "components": {"securitySchemes": {
            "agentToken": {"type": "http", "scheme": "bearer", "description": "a token of --agent-token-file (or a client certificate)"},
            "apiToken": {"type": "http", "scheme": "bearer", "description": "a token of --api-token-file, or one made with POST /api/v1/tokens"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sonde_session"},
        }},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_method_and_path_with_its_parameters() {
        let mut seen = std::collections::BTreeSet::new();
        for rt in ROUTES {
            assert!(
                seen.insert((rt.method, rt.path)),
                "{} {} twice",
                rt.method,
                rt.path
            );
        }
        let d = document();
        let op = &d["paths"]["/api/v1/alerts/rules/{name}"]["put"];
        assert_eq!(op["parameters"][0]["name"], "name");
        assert_eq!(d["paths"]["/healthz"]["get"]["security"], json!([]));
    }
}

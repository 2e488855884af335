//! The topology map: nodes are groups at a chosen level (any tag: a host,
//! a container, a pod, a deployment...), edges are the connections
//! between them, from the agents' `net.connection.bytes` series (tag
//! `net.connection`, `CLIENT:PORT->SERVER:PORT`, counted by each end's
//! process) and the side serving each port (`net.listening`, tag
//! `net.port`), with byte and request rates and the p95 latency of the
//! HTTP requests each node served. When both ends (or
//! neither) listen on the port, as hosts all running the same server do,
//! the direction is a guess.
//!
//! A scope (`k=v` tags) drills in: groups inside it are shown at the
//! level, groups outside it are folded into one node per value of the
//! scope's first tag they differ on, so the edges leaving the scope stay.
//! An end no agent reports is an external node (its address).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Query as UrlQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;
use sonde_store::{Agg, Query, Store, TagFilter, Tags};

use crate::api::{blocking, ApiError};
use crate::serve::AppState;

/// The connections metric.
pub const CONN_METRIC: &str = "net.connection.bytes";
/// The listening sockets' metric, telling which side serves a port.
pub const PORT_METRIC: &str = "net.listening";
const CONN_TAG: &str = "net.connection";
const PORT_TAG: &str = "net.port";

/// A node of the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Its id: the level's value, `tag=value` for a folded group outside
    /// the scope, or an address for an external end.
    pub id: String,
    /// `group`, `outside` (folded) or `external`.
    pub kind: &'static str,
    /// Connection bytes per second through it.
    pub bytes_per_s: f64,
    /// Requests per second it served (HTTP and other protocols).
    pub requests_per_s: f64,
    /// The p95 of the HTTP requests it served over the range, ms (for a
    /// folded node, the largest of its groups'); `None` without any.
    pub p95_ms: Option<f64>,
}

/// A directed edge, client to server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// The client node's id.
    pub from: String,
    /// The server node's id.
    pub to: String,
    /// Bytes per second both ways.
    pub bytes_per_s: f64,
    /// Distinct connections.
    pub connections: usize,
}

/// The map.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    /// The nodes, by id.
    pub nodes: Vec<Node>,
    /// The edges, by (from, to).
    pub edges: Vec<Edge>,
}

/// One aggregated row of a query: its group's tags and its total.
pub type Row = (Tags, f64);

/// The node a group's tags fall in.
fn node_of(t: &Tags, level: &str, scope: &[(String, String)]) -> (String, &'static str) {
    let get = |k: &str| t.get(k).cloned().unwrap_or_default();
    for (k, v) in scope {
        let got = get(k);
        if &got != v {
            let shown = if got.is_empty() { "(none)" } else { &got };
            return (format!("{k}={shown}"), "outside");
        }
    }
    let v = get(level);
    (if v.is_empty() { "(none)".into() } else { v }, "group")
}

/// The node `id`, made of `kind` if new.
fn touch<'a>(nodes: &'a mut BTreeMap<String, Node>, id: &str, kind: &'static str) -> &'a mut Node {
    nodes.entry(id.to_string()).or_insert_with(|| Node {
        id: id.to_string(),
        kind,
        bytes_per_s: 0.0,
        requests_per_s: 0.0,
        p95_ms: None,
    })
}

/// `"a:1->b:2"` as its client and server ends.
fn ends(conn: &str) -> Option<(&str, &str)> {
    let (c, s) = conn.split_once("->")?;
    (!c.is_empty() && !s.is_empty()).then_some((c, s))
}

fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').map_or("", |(_, p)| p)
}

/// The rows a map is built from, each grouped by the scope's tags and
/// the level.
#[derive(Debug, Default)]
pub struct Rows {
    /// `net.connection.bytes` totals, also by `net.connection`.
    pub conns: Vec<Row>,
    /// `net.listening`, also by `net.port`.
    pub ports: Vec<Row>,
    /// Requests served (totals).
    pub requests: Vec<Row>,
    /// The p95 of the served requests' latency, ns.
    pub p95_ns: Vec<Row>,
}

/// Builds the map from the rows, over `range_s` seconds.
pub fn build(level: &str, scope: &[(String, String)], rows: &Rows, range_s: f64) -> Graph {
    let (conns, ports, requests) = (&rows.conns, &rows.ports, &rows.requests);
    let range_s = range_s.max(1e-3);
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut serves: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (t, _) in ports {
        let (id, kind) = node_of(t, level, scope);
        touch(&mut nodes, &id, kind);
        if let Some(p) = t.get(PORT_TAG) {
            serves.entry(p.clone()).or_default().insert(id);
        }
    }
    // per connection: each node seeing it, with its bytes
    let mut by_conn: BTreeMap<&str, BTreeMap<String, f64>> = BTreeMap::new();
    for (t, v) in conns {
        let Some(c) = t.get(CONN_TAG).filter(|c| ends(c).is_some()) else {
            continue;
        };
        let (id, kind) = node_of(t, level, scope);
        touch(&mut nodes, &id, kind);
        *by_conn.entry(c).or_default().entry(id).or_default() += v;
    }
    let mut edges: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for (conn, seen) in by_conn {
        let (client, server) = ends(conn).unwrap_or_default();
        if seen.len() == 1 && host_of(client) == host_of(server) {
            continue; // a node talking to itself
        }
        let servers = serves.get(port(server));
        let is_server = |id: &String| servers.is_some_and(|s| s.contains(id));
        let bytes = seen.values().copied().fold(0.0, f64::max);
        let srv: Vec<&String> = seen.keys().filter(|id| is_server(id)).collect();
        let cli: Vec<&String> = seen.keys().filter(|id| !is_server(id)).collect();
        let (from, to) = match (cli.first(), srv.first()) {
            (Some(c), Some(s)) => ((*c).clone(), (*s).clone()),
            (Some(c), None) if cli.len() > 1 => ((*c).clone(), cli[1].clone()),
            (Some(c), None) => ((*c).clone(), server.to_string()),
            (None, Some(s)) if srv.len() > 1 => (srv[1].clone(), (*s).clone()),
            (None, Some(s)) => (host_of(client).to_string(), (*s).clone()),
            (None, None) => continue,
        };
        if from == to {
            continue; // within one node
        }
        let e = edges.entry((from, to)).or_default();
        e.0 += bytes;
        e.1 += 1;
    }
    for ((from, to), (bytes, _)) in &edges {
        for id in [from, to] {
            touch(&mut nodes, id, "external").bytes_per_s += bytes / range_s;
        }
    }
    for (t, v) in requests {
        let (id, kind) = node_of(t, level, scope);
        touch(&mut nodes, &id, kind).requests_per_s += v / range_s;
    }
    for (t, v) in rows.p95_ns.iter().filter(|(_, v)| v.is_finite()) {
        let (id, kind) = node_of(t, level, scope);
        let n = touch(&mut nodes, &id, kind);
        n.p95_ms = Some(n.p95_ms.unwrap_or(0.0).max(v / 1e6));
    }
    Graph {
        nodes: nodes.into_values().collect(),
        edges: edges
            .into_iter()
            .map(|((from, to), (bytes, connections))| Edge {
                from,
                to,
                bytes_per_s: bytes / range_s,
                connections,
            })
            .collect(),
    }
}

/// The query of `metric`'s totals over the range, by `group_by`.
fn totals(
    metric: &str,
    group_by: Vec<String>,
    filters: Vec<TagFilter>,
    range: (i64, i64),
) -> Query {
    Query {
        metric: metric.into(),
        start_ms: range.0,
        end_ms: range.1,
        step_ms: 0,
        filters,
        group_by,
        time_agg: Agg::Sum,
        group_agg: Agg::Sum,
        top: None,
    }
}

/// Each query's rows (its groups' tags and totals), all asked at once
/// (the store reads their rows together).
fn rows(store: &dyn Store, qs: &[Query]) -> Result<Vec<Vec<Row>>, ApiError> {
    store
        .query_many(qs)
        .into_iter()
        .map(|a| {
            // a metric the store does not hold has no groups
            Ok(a?
                .groups
                .into_iter()
                .map(|g| (g.tags, g.points.iter().map(|p| p.1).sum()))
                .collect())
        })
        .collect()
}

/// `GET /api/v1/topology?level=TAG&scope=K=V&...&range_ms=N`.
async fn topology(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<crate::auth::Principal>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut level = "host".to_string();
    let mut scope = Vec::new();
    let mut range_ms: i64 = 300_000;
    for (k, v) in params {
        match k.as_str() {
            "level" => level = v,
            "scope" => match v.split_once('=') {
                Some((a, b)) if !a.is_empty() => scope.push((a.to_string(), b.to_string())),
                _ => return Err(ApiError::bad(format!("scope '{v}': expected TAG=VALUE"))),
            },
            "range_ms" => {
                range_ms = v
                    .parse()
                    .ok()
                    .filter(|r| (1_000..=86_400_000).contains(r))
                    .ok_or_else(|| ApiError::bad("'range_ms' must be 1000 to 86400000"))?
            }
            other => return Err(ApiError::bad(format!("unknown parameter '{other}'"))),
        }
    }
    if level.is_empty() {
        return Err(ApiError::bad("'level' must name a tag"));
    }
    let end = crate::now_ms();
    let range = (end - range_ms, end);
    // a team's rows only: its namespaces' series
    let team: Vec<TagFilter> = crate::teams::scope(&st, &p)?.into_iter().collect();
    let g = blocking(move || {
        let mut by: Vec<String> = scope.iter().map(|(k, _)| k.clone()).collect();
        by.push(level.clone());
        let with = |t: &str| {
            by.iter()
                .cloned()
                .chain([t.to_string()])
                .collect::<Vec<_>>()
        };
        let mut server = vec![TagFilter::Eq("side".into(), "server".into())];
        server.extend(team.iter().cloned());
        let mut p95 = totals("http.latency", by.clone(), server.clone(), range);
        (p95.time_agg, p95.group_agg) = (Agg::Quantile(0.95), Agg::Merge);
        let qs = [
            totals(CONN_METRIC, with(CONN_TAG), team.clone(), range),
            totals(PORT_METRIC, with(PORT_TAG), team, range),
            totals("http.requests", by.clone(), server.clone(), range),
            totals("app.requests", by, server, range),
            p95,
        ];
        let mut r = rows(st.store.as_ref(), &qs)?.into_iter();
        let mut next = || r.next().unwrap_or_default();
        let mut rows = Rows {
            conns: next(),
            ports: next(),
            requests: next(),
            p95_ns: Vec::new(),
        };
        rows.requests.extend(next());
        rows.p95_ns = next();
        Ok(build(&level, &scope, &rows, range_ms as f64 / 1000.0))
    })
    .await?;
    Ok(Json(g).into_response())
}

/// The route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/topology", get(topology))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(kv: &[(&str, &str)]) -> Tags {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn conn(host: &str, ctr: &str, c: &str, bytes: f64) -> Row {
        (
            tags(&[("host", host), ("container.name", ctr), (CONN_TAG, c)]),
            bytes,
        )
    }

    fn serves(host: &str, ctr: &str, port: &str) -> Row {
        (
            tags(&[("host", host), ("container.name", ctr), (PORT_TAG, port)]),
            1.0,
        )
    }

    /// web (h1) calls api (h2) twice and db (h2) once, and an outside
    /// address; api also talks to itself.
    fn fleet() -> (Vec<Row>, Vec<Row>) {
        let conns = vec![
            conn("h1", "web", "10.0.0.1:5000->10.0.0.2:80", 100.0),
            conn("h2", "api", "10.0.0.1:5000->10.0.0.2:80", 100.0),
            conn("h1", "web", "10.0.0.1:5001->10.0.0.2:80", 50.0),
            conn("h2", "api", "10.0.0.1:5001->10.0.0.2:80", 60.0),
            conn("h2", "api", "10.0.0.2:6000->10.0.0.2:5432", 30.0),
            conn("h2", "db", "10.0.0.2:6000->10.0.0.2:5432", 30.0),
            conn("h1", "web", "10.0.0.1:7000->93.184.216.34:443", 40.0),
            conn("h2", "api", "127.0.0.1:9->127.0.0.1:9", 5.0),
            conn("h2", "api", "not-a-connection", 5.0),
        ];
        let ports = vec![serves("h2", "api", "80"), serves("h2", "db", "5432")];
        (conns, ports)
    }

    fn edge<'a>(g: &'a Graph, from: &str, to: &str) -> &'a Edge {
        g.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no edge {from} -> {to} in {:?}", g.edges))
    }

    #[test]
    fn containers_are_linked_client_to_server_with_rates() {
        let (conns, ports) = fleet();
        let rows = Rows {
            conns,
            ports,
            requests: vec![(tags(&[("container.name", "api")]), 300.0)],
            p95_ns: vec![(tags(&[("container.name", "api")]), 12e6)],
        };
        let g = build("container.name", &[], &rows, 10.0);
        assert_eq!(g.edges.len(), 3, "{:?}", g.edges);
        let e = edge(&g, "web", "api");
        // each end counts the same bytes: the larger, not the sum
        assert_eq!((e.bytes_per_s, e.connections), (16.0, 2));
        assert_eq!(edge(&g, "api", "db").bytes_per_s, 3.0);
        assert_eq!(edge(&g, "web", "93.184.216.34:443").connections, 1);
        let ext = g
            .nodes
            .iter()
            .find(|n| n.id == "93.184.216.34:443")
            .unwrap();
        assert_eq!(ext.kind, "external");
        let api = g.nodes.iter().find(|n| n.id == "api").unwrap();
        assert_eq!(
            (api.kind, api.requests_per_s, api.bytes_per_s, api.p95_ms),
            ("group", 30.0, 19.0, Some(12.0))
        );
        let web = g.nodes.iter().find(|n| n.id == "web").unwrap();
        assert_eq!(web.p95_ms, None, "it serves nothing");
    }

    #[test]
    fn hosts_fold_what_runs_on_them_and_drop_inner_edges() {
        let (conns, ports) = fleet();
        let rows = Rows {
            conns,
            ports,
            ..Rows::default()
        };
        let g = build("host", &[], &rows, 10.0);
        let ids: Vec<(&str, &str)> = g
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(ids, [("h1", "93.184.216.34:443"), ("h1", "h2")]);
    }

    #[test]
    fn a_scope_drills_in_and_folds_the_rest() {
        let (conns, ports) = fleet();
        let scope = [("host".to_string(), "h2".to_string())];
        let rows = Rows {
            conns,
            ports,
            ..Rows::default()
        };
        let g = build("container.name", &scope, &rows, 10.0);
        assert_eq!(edge(&g, "host=h1", "api").connections, 2);
        assert_eq!(edge(&g, "api", "db").connections, 1);
        let kinds: Vec<(&str, &str)> = g.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
        assert!(kinds.contains(&("host=h1", "outside")), "{kinds:?}");
        assert!(kinds.contains(&("db", "group")), "{kinds:?}");
        // an empty map when nothing is known
        assert_eq!(build("host", &[], &Rows::default(), 0.0), Graph::default());
    }
}

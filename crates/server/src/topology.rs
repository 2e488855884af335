//! The topology map: nodes are groups at a chosen level (any tag: a host,
//! a container, a pod, a deployment...), edges are the connections
//! between them, from the agents' `net.connection.bytes` series (tag
//! `net.connection`, `CLIENT:PORT->SERVER:PORT`, counted by each end's
//! process) and the side serving each port (`net.listening`, tag
//! `net.port`), with byte and request rates and the p95 latency of the
//! HTTP requests each node served (from the finest `scope` the agents
//! report, so a request counted for a host, its container and its
//! process is summed once). When both ends (or
//! neither) listen on the port, as hosts all running the same server do,
//! the direction is a guess.
//!
//! Each edge also carries the HTTP requests that went over its
//! connections (`http.connection.requests` by `side` and
//! `http.status_class`, `http.connection.latency` by `side`, tagged with
//! the same `net.connection`): per connection, the server end's count
//! when an agent saw it, else the client end's, so a request seen by both
//! ends counts once. An edge over one connection has that connection's
//! p95. Otherwise its p95 merges the latency histograms of the edge's
//! connections when they are few enough to name in one filter
//! ([`EXACT_CONNS`]), all counted on one side, and within the map's budget
//! of such queries ([`EXACT_BUDGET`] connections, the busiest edges
//! first: each is a query of its own); else it is the request-weighted
//! p95 of the connections' own p95s (exact when each connection carried
//! one request). An edge with no HTTP has no `http`
//! (never zeros).
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
/// Requests per connection, by `side` and `http.status_class`.
pub const CONN_REQ_METRIC: &str = "http.connection.requests";
/// Latency per connection, by `side`.
pub const CONN_LAT_METRIC: &str = "http.connection.latency";
/// At most this many connections of an edge are named in the filter of
/// its exact p95 query.
pub const EXACT_CONNS: usize = 100;
/// At most this many connections are named in all of a map's exact p95
/// queries together (they cost a query each: a map of many edges keeps
/// its estimates and answers in time).
pub const EXACT_BUDGET: usize = 100;
const CONN_TAG: &str = "net.connection";
const PORT_TAG: &str = "net.port";
const SIDE_TAG: &str = "side";
const CLASS_TAG: &str = "http.status_class";

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
    /// The HTTP requests over its connections; `None` when none was seen.
    pub http: Option<EdgeHttp>,
}

/// The HTTP requests that went over an edge during the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeHttp {
    /// Requests.
    pub requests: f64,
    /// Of which answered 5xx.
    pub errors: f64,
    /// Of which answered 4xx.
    pub client_errors: f64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// 5xx answers per second.
    pub errors_per_s: f64,
    /// The p95 latency, ms (`None` when no latency was stored).
    pub p95_ms: Option<f64>,
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
    /// `http.connection.requests` totals, also by `net.connection`,
    /// `side` and `http.status_class`.
    pub conn_requests: Vec<Row>,
    /// The p95 of `http.connection.latency`, ns, also by
    /// `net.connection` and `side`.
    pub conn_p95_ns: Vec<Row>,
}

/// The connections an edge's requests were counted on, for its exact p95.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeConns {
    /// The connections counted on their server end.
    pub server: Vec<String>,
    /// The connections counted on their client end.
    pub client: Vec<String>,
}

impl EdgeConns {
    /// The side and connections to merge for an exact p95, when the
    /// connections were all counted on one side and are few enough (and
    /// more than one: one connection's own p95 is already exact).
    pub fn exact(&self) -> Option<(&'static str, &[String])> {
        let few = |v: &[String]| (2..=EXACT_CONNS).contains(&v.len());
        match (self.server.is_empty(), self.client.is_empty()) {
            (false, true) if few(&self.server) => Some(("server", self.server.as_slice())),
            (true, false) if few(&self.client) => Some(("client", self.client.as_slice())),
            _ => None,
        }
    }
}

/// The edges whose p95 is asked exactly: those [`EdgeConns::exact`]
/// allows, busiest first (`requests` per edge), while the connections
/// named stay within [`EXACT_BUDGET`].
fn exact_edges(conns: &[EdgeConns], requests: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..conns.len())
        .filter(|&i| conns[i].exact().is_some())
        .collect();
    let busy = |i: usize| requests.get(i).copied().unwrap_or(0.0);
    order.sort_by(|&a, &b| busy(b).total_cmp(&busy(a)).then(a.cmp(&b)));
    let mut left = EXACT_BUDGET;
    order.retain(|&i| {
        let n = conns[i].exact().map_or(0, |(_, l)| l.len());
        let fits = n <= left;
        if fits {
            left -= n;
        }
        fits
    });
    order
}

/// Per connection and side: requests, 5xx, 4xx and p95 (ns).
#[derive(Debug, Default, Clone, Copy)]
struct ConnHttp {
    requests: f64,
    errors: f64,
    client_errors: f64,
    p95_ns: Option<f64>,
}

/// The HTTP of each connection, the server end's when seen, else the
/// client end's: (connection, side) to counts.
fn conn_http(rows: &Rows) -> BTreeMap<&str, (&'static str, ConnHttp)> {
    let mut both: BTreeMap<(&str, &'static str), ConnHttp> = BTreeMap::new();
    let side_of = |t: &Tags| match t.get(SIDE_TAG).map(String::as_str) {
        Some("server") => Some("server"),
        Some("client") => Some("client"),
        _ => None,
    };
    for (t, v) in &rows.conn_requests {
        let (Some(c), Some(side)) = (t.get(CONN_TAG), side_of(t)) else {
            continue;
        };
        let e = both.entry((c.as_str(), side)).or_default();
        e.requests += v;
        match t.get(CLASS_TAG).map(String::as_str) {
            Some("5xx") => e.errors += v,
            Some("4xx") => e.client_errors += v,
            _ => {}
        }
    }
    for (t, v) in rows.conn_p95_ns.iter().filter(|(_, v)| v.is_finite()) {
        if let (Some(c), Some(side)) = (t.get(CONN_TAG), side_of(t)) {
            if let Some(e) = both.get_mut(&(c.as_str(), side)) {
                // one group per connection and side unless a scope splits
                // a process's series: keep the larger
                e.p95_ns = Some(e.p95_ns.unwrap_or(0.0).max(*v));
            }
        }
    }
    let mut out: BTreeMap<&str, (&'static str, ConnHttp)> = BTreeMap::new();
    for ((c, side), h) in both {
        if h.requests <= 0.0 {
            continue;
        }
        match out.get(c) {
            Some(("server", _)) => {}
            _ => {
                out.insert(c, (side, h));
            }
        }
    }
    out
}

/// The rows of one `scope`: an agent counts each request for its host,
/// container and process alike, so only the finest scope present
/// (process, else container) is summed; rows without scopes all are.
fn finest(rows: &[Row]) -> impl Iterator<Item = &Row> {
    let has = |s: &str| {
        rows.iter()
            .any(|(t, _)| t.get("scope").is_some_and(|v| v == s))
    };
    let pick = ["process", "container"].into_iter().find(|s| has(s));
    rows.iter()
        .filter(move |(t, _)| pick.map_or(true, |p| t.get("scope").is_some_and(|v| v == p)))
}

/// The request-weighted p95 of the connections' own p95s.
fn weighted_p95(mut v: Vec<(f64, f64)>) -> Option<f64> {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    let rank = (0.95 * total).ceil().max(1.0);
    let mut seen = 0.0;
    for (p, w) in &v {
        seen += w;
        if seen >= rank - 1e-9 {
            return Some(*p);
        }
    }
    v.last().map(|x| x.0)
}

/// Builds the map from the rows, over `range_s` seconds.
pub fn build(level: &str, scope: &[(String, String)], rows: &Rows, range_s: f64) -> Graph {
    build_with_conns(level, scope, rows, range_s).0
}

/// [`build`], with each edge's HTTP connections (by the edges' order).
pub fn build_with_conns(
    level: &str,
    scope: &[(String, String)],
    rows: &Rows,
    range_s: f64,
) -> (Graph, Vec<EdgeConns>) {
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
    let mut edge_of: BTreeMap<&str, (String, String)> = BTreeMap::new();
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
        edge_of.insert(conn, (from.clone(), to.clone()));
        let e = edges.entry((from, to)).or_default();
        e.0 += bytes;
        e.1 += 1;
    }
    let http = edge_http(rows, &edge_of, range_s);
    for ((from, to), (bytes, _)) in &edges {
        for id in [from, to] {
            touch(&mut nodes, id, "external").bytes_per_s += bytes / range_s;
        }
    }
    for (t, v) in finest(requests) {
        let (id, kind) = node_of(t, level, scope);
        touch(&mut nodes, &id, kind).requests_per_s += v / range_s;
    }
    for (t, v) in finest(&rows.p95_ns).filter(|(_, v)| v.is_finite()) {
        let (id, kind) = node_of(t, level, scope);
        let n = touch(&mut nodes, &id, kind);
        n.p95_ms = Some(n.p95_ms.unwrap_or(0.0).max(v / 1e6));
    }
    let mut conns = Vec::with_capacity(edges.len());
    let edges = edges
        .into_iter()
        .map(|((from, to), (bytes, connections))| {
            let (h, c) = http
                .get(&(from.clone(), to.clone()))
                .cloned()
                .map_or((None, EdgeConns::default()), |(h, c)| (Some(h), c));
            conns.push(c);
            Edge {
                from,
                to,
                bytes_per_s: bytes / range_s,
                connections,
                http: h,
            }
        })
        .collect();
    let g = Graph {
        nodes: nodes.into_values().collect(),
        edges,
    };
    (g, conns)
}

/// Each edge's HTTP, from the connections mapped to it.
fn edge_http(
    rows: &Rows,
    edge_of: &BTreeMap<&str, (String, String)>,
    range_s: f64,
) -> BTreeMap<(String, String), (EdgeHttp, EdgeConns)> {
    // per edge: its sums, its connections, each connection's (p95, requests)
    type Acc = (EdgeHttp, EdgeConns, Vec<(f64, f64)>);
    let mut acc: BTreeMap<&(String, String), Acc> = BTreeMap::new();
    for (conn, (side, h)) in conn_http(rows) {
        let Some(edge) = edge_of.get(conn) else {
            continue;
        };
        let (e, c, p95s) = acc.entry(edge).or_insert_with(|| {
            let h = EdgeHttp {
                requests: 0.0,
                errors: 0.0,
                client_errors: 0.0,
                requests_per_s: 0.0,
                errors_per_s: 0.0,
                p95_ms: None,
            };
            (h, EdgeConns::default(), Vec::new())
        });
        e.requests += h.requests;
        e.errors += h.errors;
        e.client_errors += h.client_errors;
        if let Some(p) = h.p95_ns {
            p95s.push((p, h.requests));
        }
        match side {
            "server" => c.server.push(conn.to_string()),
            _ => c.client.push(conn.to_string()),
        }
    }
    acc.into_iter()
        .map(|(edge, (mut e, c, p95s))| {
            e.requests_per_s = e.requests / range_s;
            e.errors_per_s = e.errors / range_s;
            e.p95_ms = weighted_p95(p95s).map(|p| p / 1e6);
            (edge.clone(), (e, c))
        })
        .collect()
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

/// Replaces the estimated p95 of each edge whose connections can be named
/// in one filter by the p95 of their merged latency histograms.
fn exact_p95(
    store: &dyn Store,
    g: &mut Graph,
    conns: &[EdgeConns],
    team: &[TagFilter],
    range: (i64, i64),
) -> Result<(), ApiError> {
    let mut which = Vec::new();
    let mut qs = Vec::new();
    let requests: Vec<f64> = g
        .edges
        .iter()
        .map(|e| e.http.as_ref().map_or(0.0, |h| h.requests))
        .collect();
    for i in exact_edges(conns, &requests) {
        let Some((side, list)) = conns[i].exact() else {
            continue;
        };
        let mut filters = exact_filters(side, list);
        filters.extend(team.iter().cloned());
        let mut q = totals(CONN_LAT_METRIC, Vec::new(), filters, range);
        (q.time_agg, q.group_agg) = (Agg::Quantile(0.95), Agg::Merge);
        qs.push(q);
        which.push(i);
    }
    if qs.is_empty() {
        return Ok(());
    }
    // a query the store refuses keeps that edge's estimate
    for (i, a) in which.into_iter().zip(store.query_many(&qs)) {
        let p = a.ok().and_then(|a| {
            let g = a.groups.into_iter().next()?;
            g.points.first().map(|p| p.1).filter(|v| v.is_finite())
        });
        if let (Some(p), Some(h)) = (p, g.edges[i].http.as_mut()) {
            h.p95_ms = Some(p / 1e6);
        }
    }
    Ok(())
}

/// The filters naming an edge's connections counted on `side`.
fn exact_filters(side: &str, conns: &[String]) -> Vec<TagFilter> {
    let names: Vec<String> = conns.iter().map(|c| regex::escape(c)).collect();
    vec![
        TagFilter::Re(CONN_TAG.into(), names.join("|")),
        TagFilter::Eq(SIDE_TAG.into(), side.into()),
    ]
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
        let with_all = |t: &[&str]| {
            by.iter()
                .cloned()
                .chain(t.iter().map(|t| t.to_string()))
                .collect::<Vec<_>>()
        };
        let with = |t: &str| with_all(&[t]);
        let mut server = vec![TagFilter::Eq("side".into(), "server".into())];
        server.extend(team.iter().cloned());
        let scoped = with("scope");
        let mut p95 = totals("http.latency", scoped.clone(), server.clone(), range);
        (p95.time_agg, p95.group_agg) = (Agg::Quantile(0.95), Agg::Merge);
        let mut conn_p95 = totals(
            CONN_LAT_METRIC,
            with_all(&[CONN_TAG, SIDE_TAG]),
            team.clone(),
            range,
        );
        (conn_p95.time_agg, conn_p95.group_agg) = (Agg::Quantile(0.95), Agg::Merge);
        let qs = [
            totals(CONN_METRIC, with(CONN_TAG), team.clone(), range),
            totals(PORT_METRIC, with(PORT_TAG), team.clone(), range),
            totals("http.requests", scoped.clone(), server.clone(), range),
            totals("app.requests", scoped, server, range),
            p95,
            totals(
                CONN_REQ_METRIC,
                with_all(&[CONN_TAG, SIDE_TAG, CLASS_TAG]),
                team.clone(),
                range,
            ),
            conn_p95,
        ];
        let mut r = rows(st.store.as_ref(), &qs)?.into_iter();
        let mut next = || r.next().unwrap_or_default();
        let mut rows = Rows {
            conns: next(),
            ports: next(),
            requests: next(),
            ..Rows::default()
        };
        rows.requests.extend(next());
        rows.p95_ns = next();
        rows.conn_requests = next();
        rows.conn_p95_ns = next();
        let (mut g, conns) = build_with_conns(&level, &scope, &rows, range_ms as f64 / 1000.0);
        exact_p95(st.store.as_ref(), &mut g, &conns, &team, range)?;
        Ok(g)
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
            ..Rows::default()
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

    #[test]
    fn node_rates_count_each_request_once() {
        // the agent counts a request for its host, container and process
        let mut rows = Rows::default();
        for (scope, ctr) in [("host", ""), ("container", "api"), ("process", "api")] {
            let t = tags(&[("scope", scope), ("container.name", ctr)]);
            rows.requests.push((t.clone(), 100.0));
            rows.p95_ns
                .push((t, if scope == "process" { 7e6 } else { 9e6 }));
        }
        let g = build("container.name", &[], &rows, 10.0);
        let ids: Vec<(&str, f64, Option<f64>)> = g
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.requests_per_s, n.p95_ms))
            .collect();
        assert_eq!(
            ids,
            [("api", 10.0, Some(7.0))],
            "no (none) node from the host's rows"
        );
        // a source with container rows only (no process series)
        rows.requests.retain(|(t, _)| t["scope"] != "process");
        let g = build("host", &[], &rows, 10.0);
        assert_eq!(g.nodes[0].requests_per_s, 10.0);
    }

    fn req(host: &str, ctr: &str, c: &str, side: &str, class: &str, n: f64) -> Row {
        (
            tags(&[
                ("host", host),
                ("container.name", ctr),
                (CONN_TAG, c),
                (SIDE_TAG, side),
                (CLASS_TAG, class),
            ]),
            n,
        )
    }

    fn lat(host: &str, ctr: &str, c: &str, side: &str, p95_ms: f64) -> Row {
        (
            tags(&[
                ("host", host),
                ("container.name", ctr),
                (CONN_TAG, c),
                (SIDE_TAG, side),
            ]),
            p95_ms * 1e6,
        )
    }

    /// The fleet's HTTP: web's two connections to api, seen by both ends
    /// (web's client counts differ: the server end's are the ones kept),
    /// and web's call to the outside address, seen by its client only.
    fn fleet_http() -> Rows {
        let (conns, ports) = fleet();
        let (c1, c2) = ("10.0.0.1:5000->10.0.0.2:80", "10.0.0.1:5001->10.0.0.2:80");
        let ext = "10.0.0.1:7000->93.184.216.34:443";
        Rows {
            conns,
            ports,
            conn_requests: vec![
                req("h2", "api", c1, "server", "2xx", 90.0),
                req("h2", "api", c1, "server", "5xx", 5.0),
                req("h2", "api", c1, "server", "4xx", 5.0),
                req("h1", "web", c1, "client", "2xx", 999.0),
                req("h2", "api", c2, "server", "2xx", 10.0),
                req("h1", "web", ext, "client", "2xx", 20.0),
                req("h1", "web", ext, "client", "5xx", 10.0),
            ],
            conn_p95_ns: vec![
                lat("h2", "api", c1, "server", 4.0),
                lat("h1", "web", c1, "client", 500.0),
                lat("h2", "api", c2, "server", 50.0),
                lat("h1", "web", ext, "client", 30.0),
            ],
            ..Rows::default()
        }
    }

    fn http<'a>(g: &'a Graph, from: &str, to: &str) -> &'a EdgeHttp {
        edge(g, from, to)
            .http
            .as_ref()
            .unwrap_or_else(|| panic!("no HTTP on {from} -> {to}"))
    }

    #[test]
    fn edges_carry_the_requests_that_went_over_them() {
        let rows = fleet_http();
        let (g, conns) = build_with_conns("container.name", &[], &rows, 10.0);
        let h = http(&g, "web", "api");
        // the server end's counts, not the client's 999 as well
        assert_eq!(
            (h.requests, h.errors, h.client_errors),
            (110.0, 5.0, 5.0),
            "{h:?}"
        );
        assert_eq!((h.requests_per_s, h.errors_per_s), (11.0, 0.5));
        // 100 requests at p95 4 ms, 10 at p95 50 ms: rank 105 falls in the
        // second connection's
        assert_eq!(h.p95_ms, Some(50.0));
        // only the client saw the outside call
        let x = http(&g, "web", "93.184.216.34:443");
        assert_eq!((x.requests, x.errors, x.p95_ms), (30.0, 10.0, Some(30.0)));
        // no HTTP between api and db: none, not zeros
        assert_eq!(edge(&g, "api", "db").http, None);
        // the connections an exact p95 merges, by edge
        let i = g.edges.iter().position(|e| e.to == "api").unwrap();
        assert_eq!(
            conns[i].exact(),
            Some((
                "server",
                &[
                    "10.0.0.1:5000->10.0.0.2:80".to_string(),
                    "10.0.0.1:5001->10.0.0.2:80".to_string()
                ][..]
            ))
        );
        let j = g.edges.iter().position(|e| e.to == "db").unwrap();
        assert_eq!(conns[j], EdgeConns::default());
    }

    #[test]
    fn folded_and_drilled_edges_keep_their_requests() {
        let rows = fleet_http();
        let g = build("host", &[], &rows, 10.0);
        let h = http(&g, "h1", "h2");
        assert_eq!((h.requests, h.errors, h.p95_ms), (110.0, 5.0, Some(50.0)));
        assert_eq!(http(&g, "h1", "93.184.216.34:443").requests, 30.0);
        let scope = [("host".to_string(), "h2".to_string())];
        let g = build("container.name", &scope, &rows, 10.0);
        let h = http(&g, "host=h1", "api");
        assert_eq!((h.requests, h.client_errors), (110.0, 5.0));
        assert_eq!(edge(&g, "api", "db").http, None);
    }

    #[test]
    fn exact_p95_only_for_one_side_and_few_connections() {
        let many: Vec<String> = (0..=EXACT_CONNS).map(|i| format!("a:{i}->b:80")).collect();
        let c = EdgeConns {
            server: many.clone(),
            client: Vec::new(),
        };
        assert_eq!(c.exact(), None);
        let c = EdgeConns {
            server: many[..2].to_vec(),
            client: many[2..3].to_vec(),
        };
        assert_eq!(c.exact(), None, "mixed sides cannot be one filter");
        let c = EdgeConns {
            server: Vec::new(),
            client: many[..3].to_vec(),
        };
        assert_eq!(c.exact().map(|(s, l)| (s, l.len())), Some(("client", 3)));
        // the largest filter an edge asks for compiles in the store
        let v6: Vec<String> = (0..EXACT_CONNS)
            .map(|i| {
                format!("2600:1f18:262c:6542:9aa6:df7a:9a47:d29e:{i}->2607:f8b0:4004:802::2004:80")
            })
            .collect();
        let f = exact_filters("server", &v6);
        let m = sonde_store::eval::compile_filters(&f).expect("the filter compiles");
        let t = tags(&[(CONN_TAG, v6[7].as_str()), (SIDE_TAG, "server")]);
        assert!(sonde_store::eval::matches(&m, &t));
        let t = tags(&[
            (
                CONN_TAG,
                "2600:1f18:262c:6542:9aa6:df7a:9a47:d29e:7->2607:f8b0:4004:802::2004:8",
            ),
            (SIDE_TAG, "server"),
        ]);
        assert!(
            !sonde_store::eval::matches(&m, &t),
            "a whole name, not a prefix"
        );
        assert_eq!(weighted_p95(vec![]), None);
        assert_eq!(
            weighted_p95(vec![(3.0, 1.0), (1.0, 1.0), (2.0, 18.0)]),
            Some(2.0)
        );
        assert_eq!(
            weighted_p95(vec![(3.0, 2.0), (1.0, 1.0), (2.0, 17.0)]),
            Some(3.0)
        );
    }

    #[test]
    fn exact_p95_queries_stay_within_the_budget_busiest_first() {
        let named = |n: usize, k: usize| EdgeConns {
            server: (0..n).map(|i| format!("a{k}:{i}->b:80")).collect(),
            client: Vec::new(),
        };
        // one connection: its own p95 is exact, no query
        assert_eq!(named(1, 0).exact(), None);
        // 60 + 60 + 30 + 1 connections, a budget of 100: the busiest 60,
        // then the 30 (the other 60 does not fit), never the single one
        let conns = [named(60, 0), named(60, 1), named(30, 2), named(1, 3)];
        let picked = exact_edges(&conns, &[5.0, 9.0, 1.0, 100.0]);
        assert_eq!(picked, vec![1, 2]);
        let named_total: usize = picked.iter().map(|&i| conns[i].server.len()).sum();
        assert!(named_total <= EXACT_BUDGET);
        assert_eq!(exact_edges(&[], &[]), Vec::<usize>::new());
    }
}

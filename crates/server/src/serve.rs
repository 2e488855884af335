//! The HTTPS listener and the shared state: one port (rustls) serving the
//! agents' ingest endpoint and every API; the ingest path (credentials,
//! record decoding, dedup, the store); the background sweep that marks
//! silent hosts and the store's roll-up/expiry.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use sonde_store::{Event, Store};
use sonde_transport::{Batch, Ingest, Token};

use crate::decode::{decode, Decoded};
use crate::hosts::Registry;
use crate::{alerts_api, api, auth, now_ms, prom, web, ServerError};

/// The stream under which the server stores the events it makes itself
/// (host state changes): the empty id, which ingest refuses from agents,
/// so its sequence numbers never collide with an agent's.
pub const SERVER_AGENT: &str = "";

/// What every handler shares.
pub struct AppState {
    /// The storage engine.
    pub store: Arc<dyn Store>,
    /// The host registry.
    pub hosts: Registry,
    /// Bearer tokens of API users.
    pub api_tokens: Vec<Token>,
    /// Metric names held (seeded from the store, grown by ingest).
    pub metrics: RwLock<BTreeSet<String>>,
    /// Records of unknown kinds received (kept as events).
    pub unknown_records: AtomicU64,
    /// Batches stored.
    pub batches: AtomicU64,
    /// Captures asked of agents' flight recorders.
    pub captures: crate::captures::Captures,
    /// Live tables asked of agents.
    pub live: crate::live::Live,
    /// The agent each host name in series tags came from (they differ
    /// when an agent runs with `--agent-id`).
    host_agents: RwLock<std::collections::HashMap<String, String>>,
    /// Users, sessions and API tokens (the `api_tokens` act as admin).
    pub auth: crate::auth::Auth,
    /// Saved dashboards.
    pub dashboards: crate::dashboards::Dashboards,
    /// The alerting engine, once started (`alerts_api::start`).
    pub alerts: std::sync::OnceLock<Arc<crate::alerts_api::Running>>,
    /// Where stored agent seconds are forwarded (remote write out), once
    /// started.
    pub forward: std::sync::OnceLock<Arc<crate::remote::forward::Forwarder>>,
    ingest: Ingest,
    server_seq: AtomicI64,
    /// Held while a batch of the server's own stream is numbered and
    /// written (a later number stored first would make the store ignore
    /// the earlier one).
    own_writes: std::sync::Mutex<()>,
    /// When [`AppState::refresh_metrics`] last read the store (ms).
    metrics_read_ms: AtomicI64,
}

/// Whether TLS verified the peer's client certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerVerified(pub(crate) bool);

thread_local! {
    /// The batch decoded by the handler, for the ingest's store callback
    /// that runs on the same thread (so records are decoded once).
    static DECODED: RefCell<Option<(u64, Decoded)>> = const { RefCell::new(None) };
}

impl AppState {
    /// The state over `store`: the ingest's dedup restored from the
    /// store's last sequence numbers, the hosts and metric names it holds.
    pub fn new(
        store: Arc<dyn Store>,
        agent_tokens: Vec<Token>,
        api_tokens: Vec<Token>,
    ) -> Result<Arc<AppState>, ServerError> {
        let last = store.last_seqs()?;
        let names: BTreeSet<String> = store
            .series(None, &[], 0, i64::MAX)?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let server_seq = last.get(SERVER_AGENT).copied().unwrap_or(0);
        let hosts = Registry::with_agents(last.keys().filter(|a| *a != SERVER_AGENT));
        Ok(Arc::new_cyclic(|weak: &std::sync::Weak<AppState>| {
            let w = weak.clone();
            let w2 = weak.clone();
            let ingest = Ingest::new(agent_tokens, move |b: &Batch| match w.upgrade() {
                Some(st) => st.store_batch(b),
                None => Err("server stopping".into()),
            })
            .with_last(last)
            .with_commands(move |agent| {
                w2.upgrade()
                    .map(|st| {
                        let mut c = st.captures.take(agent);
                        c.extend(st.live.take(agent));
                        c
                    })
                    .unwrap_or_default()
            });
            AppState {
                store,
                hosts,
                auth: crate::auth::Auth::new(api_tokens.clone()),
                api_tokens,
                metrics: RwLock::new(names),
                unknown_records: AtomicU64::new(0),
                batches: AtomicU64::new(0),
                captures: Default::default(),
                live: Default::default(),
                host_agents: Default::default(),
                dashboards: Default::default(),
                alerts: std::sync::OnceLock::new(),
                forward: std::sync::OnceLock::new(),
                ingest,
                server_seq: AtomicI64::new(i64::try_from(server_seq).unwrap_or(i64::MAX)),
                own_writes: std::sync::Mutex::new(()),
                metrics_read_ms: AtomicI64::new(now_ms()),
            }
        }))
    }

    /// Adds the metric names the store holds that this server has not
    /// seen (another server over the same store ingested them); at most
    /// once a second, and a no-op otherwise. Blocks on the store.
    pub fn refresh_metrics(&self) -> Result<(), sonde_store::StoreError> {
        let now = now_ms();
        let last = self.metrics_read_ms.load(Ordering::Relaxed);
        if now - last < 1000
            || self
                .metrics_read_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        let names: BTreeSet<String> = self
            .store
            .series(None, &[], 0, i64::MAX)?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        if let Ok(mut m) = self.metrics.write() {
            m.extend(names);
        }
        Ok(())
    }

    /// The ingest's store callback: the batch's decoded records (and the
    /// host state changes they cause) into the store.
    fn store_batch(&self, b: &Batch) -> Result<(), String> {
        let ts = i64::try_from(b.ts_ms).unwrap_or(i64::MAX);
        let d = match DECODED.with(|d| d.borrow_mut().take()) {
            Some((seq, d)) if seq == b.seq => d,
            _ => decode(&b.agent, ts, &b.records).map_err(|e| e.to_string())?,
        };
        // the agent's samples name their host `host.hostname`
        let host = d
            .samples
            .first()
            .and_then(|s| crate::alert_capture::host_tag(&s.tags));
        if let Some(h) = host {
            let known = self
                .host_agents
                .read()
                .is_ok_and(|m| m.get(h) == Some(&b.agent));
            if !known {
                if let Ok(mut m) = self.host_agents.write() {
                    m.insert(h.clone(), b.agent.clone());
                }
            }
        }
        let mut events = d.events;
        events.extend(self.hosts.batch(&b.agent, now_ms(), &d.keepalives));
        self.store
            .write_batch(&b.agent, b.seq, &d.samples, &events)
            .map_err(|e| e.to_string())?;
        self.unknown_records.fetch_add(d.unknown, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        if let Some(f) = self.forward.get() {
            f.push(&d.samples);
        }
        self.note_metrics(&d.samples);
        Ok(())
    }

    /// Adds the metric names of `samples` this server has not seen.
    pub fn note_metrics(&self, samples: &[sonde_store::Sample]) {
        let new: Vec<&String> = match self.metrics.read() {
            Ok(m) => samples
                .iter()
                .map(|s| &s.metric)
                .filter(|n| !m.contains(*n))
                .collect(),
            Err(_) => return,
        };
        if !new.is_empty() {
            if let Ok(mut m) = self.metrics.write() {
                m.extend(new.into_iter().cloned());
            }
        }
    }

    /// Resent batches acknowledged without being stored again, since start.
    pub fn duplicates(&self) -> u64 {
        self.ingest.duplicates()
    }

    /// Stores events the server made itself (under [`SERVER_AGENT`]).
    pub fn store_own_events(&self, events: &[Event]) -> Result<(), sonde_store::StoreError> {
        self.store_own(&[], events)
    }

    /// Stores samples and events under the server's own stream
    /// ([`SERVER_AGENT`]): the server's events, remote-written samples.
    pub fn store_own(
        &self,
        samples: &[sonde_store::Sample],
        events: &[Event],
    ) -> Result<(), sonde_store::StoreError> {
        if events.is_empty() && samples.is_empty() {
            return Ok(());
        }
        let _one_at_a_time = self.own_writes.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        let next = |p: i64| p.max(now - 1) + 1;
        let prev = self
            .server_seq
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| Some(next(p)))
            .unwrap_or(now);
        let seq = u64::try_from(next(prev)).unwrap_or(1);
        self.store.write_batch(SERVER_AGENT, seq, samples, events)
    }

    /// The agent that sends the series tagged `host` (the name itself
    /// when no series said so).
    pub fn agent_of_host(&self, host: &str) -> String {
        self.host_agents
            .read()
            .ok()
            .and_then(|m| m.get(host).cloned())
            .unwrap_or_else(|| host.to_string())
    }

    /// Whether a request carries agent credentials (as ingest checks them).
    pub fn agent_authorized(&self, authorization: Option<&str>, peer_cert_verified: bool) -> bool {
        self.ingest.authorized(authorization, peer_cert_verified)
    }

    /// Handles one ingest request (blocking: runs on a blocking thread).
    fn ingest(&self, auth: Option<&str>, verified: bool, body: &[u8]) -> (u16, Vec<u8>) {
        if !self.ingest.authorized(auth, verified) {
            return (401, br#"{"error":"unauthorized"}"#.to_vec());
        }
        if body.len() <= sonde_transport::MAX_BATCH {
            if let Ok(b) = serde_json::from_slice::<Batch>(body) {
                let ts = i64::try_from(b.ts_ms).unwrap_or(i64::MAX);
                match decode(&b.agent, ts, &b.records) {
                    Ok(d) => DECODED.with(|x| *x.borrow_mut() = Some((b.seq, d))),
                    Err(e) => {
                        let msg = format!("malformed batch: {e}");
                        return (400, serde_json::json!({ "error": msg }).to_string().into());
                    }
                }
            }
        }
        let r = self.ingest.handle(auth, verified, body);
        DECODED.with(|x| x.borrow_mut().take());
        (r.status, r.body)
    }
}

async fn ingest_handler(
    State(st): State<Arc<AppState>>,
    Extension(PeerVerified(verified)): Extension<PeerVerified>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let res =
        tokio::task::spawn_blocking(move || st.ingest(auth.as_deref(), verified, &body)).await;
    let (status, body) = res.unwrap_or((503, br#"{"error":"ingest failed"}"#.to_vec()));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Every route: the ingest endpoint (agent credentials), login, the REST
/// and Prometheus APIs (a session or an API token, and the call's role:
/// `auth::routes::require`), the web UI, and a JSON 404 for any other API
/// path.
pub fn router(st: Arc<AppState>) -> Router {
    let apis = api::routes()
        .merge(prom::routes())
        .merge(auth::routes::routes())
        .merge(crate::captures::routes())
        .merge(alerts_api::routes())
        .merge(crate::topology::routes())
        .merge(crate::dashboards::routes())
        .merge(crate::teams::routes())
        .merge(crate::live::routes())
        .merge(crate::remote::receive::status_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            st.clone(),
            auth::routes::require,
        ));
    Router::new()
        .route(
            sonde_transport::INGEST_PATH,
            // axum's default 2 MiB would refuse a busy host's second forever
            post(ingest_handler).layer(axum::extract::DefaultBodyLimit::max(
                sonde_transport::MAX_BATCH,
            )),
        )
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::captures::agent_routes())
        .merge(crate::live::agent_routes())
        .merge(crate::remote::receive::routes())
        .merge(auth::routes::public_routes())
        .merge(apis)
        .fallback(web::fallback)
        .with_state(st)
}

/// Runs the periodic work: marks silent hosts (every second), evaluates
/// alert rules (every `interval_s` of the alerts config), and rolls up
/// and expires the store (every minute). Never returns.
pub async fn background(st: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        alerts_api::tick(&st, n);
        let s = st.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let mut changes = s.hosts.sweep(now_ms());
            changes.extend(s.captures.sweep(now_ms()));
            if let Err(e) = s.store_own_events(&changes) {
                eprintln!("sonde-server: storing host state changes: {e}");
            }
            if n % 60 == 0 {
                if let Err(e) = s.store.maintain(now_ms()) {
                    eprintln!("sonde-server: roll-up and expiry: {e}");
                }
            }
        })
        .await;
    }
}

/// Serves `app` over TLS on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<sonde_transport::rustls::ServerConfig>,
    app: Router,
) -> Result<(), ServerError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sonde-server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let verified = tls.get_ref().1.peer_certificates().is_some();
            let svc = app.layer(Extension(PeerVerified(verified)));
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
        });
    }
}

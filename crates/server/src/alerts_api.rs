//! Alerts in the server: the `--alerts-config` file (evaluation interval
//! and delay, handlers), the engine's setup over the server's store and
//! its own event stream, the periodic evaluation, and the REST routes
//! (rules, handlers, silences, active alerts, acknowledgements, history)
//! under the API token. The logic is sonde-alerts'.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value as J};
use sonde_alerts::eval::{Active, Phase};
use sonde_alerts::{AlertError, Alerts, Handler, Rule, Silence};

use crate::api::{blocking, ApiError, EVENTS_LIMIT};
use crate::auth::Principal;
use crate::serve::AppState;
use crate::{now_ms, ServerError};

/// The `--alerts-config` file (JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seconds between evaluations (default 10).
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// How far behind the clock rules are evaluated, ms (default 2000),
    /// so the last seconds' batches have arrived: evaluation runs on the
    /// data's event time, `now - delay_ms`.
    #[serde(default = "default_delay")]
    pub delay_ms: i64,
    /// Handlers declared by the file (REST can add, replace or delete).
    #[serde(default)]
    pub handlers: Vec<Handler>,
}

fn default_interval() -> u64 {
    10
}

fn default_delay() -> i64 {
    2_000
}

impl Default for Config {
    fn default() -> Config {
        Config {
            interval_s: default_interval(),
            delay_ms: default_delay(),
            handlers: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Config, ServerError> {
        let bad =
            |m: String| ServerError::Config(format!("--alerts-config '{}': {m}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let c: Config = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if !(1..=3600).contains(&c.interval_s) {
            return Err(bad("interval_s: must be within 1 and 3600".into()));
        }
        if !(0..=3_600_000).contains(&c.delay_ms) {
            return Err(bad("delay_ms: must be within 0 and 3600000".into()));
        }
        for h in &c.handlers {
            h.validate().map_err(|e| bad(e.to_string()))?;
        }
        Ok(c)
    }
}

/// The alerting engine as the server runs it.
pub struct Running {
    /// The engine.
    pub engine: Arc<Alerts>,
    interval_s: u64,
    delay_ms: i64,
    busy: AtomicBool,
}

/// Sets up the engine over `st`'s store (its events written under the
/// server's own stream) and attaches it to `st`.
pub fn start(st: &Arc<AppState>, cfg: Config) -> Result<(), ServerError> {
    let weak = Arc::downgrade(st);
    let writer: sonde_alerts::Writer =
        Arc::new(move |evs: &[sonde_store::Event]| match weak.upgrade() {
            Some(st) => st.store_own_events(evs),
            None => Err(sonde_store::StoreError::Engine("server stopping".into())),
        });
    let engine = Alerts::new(st.store.clone(), writer, cfg.handlers).map_err(|e| match e {
        AlertError::Store(s) => ServerError::Store(s),
        other => ServerError::Config(format!("alerts: {other}")),
    })?;
    let r = Running {
        engine: Arc::new(engine),
        interval_s: cfg.interval_s,
        delay_ms: cfg.delay_ms,
        busy: AtomicBool::new(false),
    };
    st.alerts
        .set(Arc::new(r))
        .map_err(|_| ServerError::Config("alerts started twice".into()))
}

/// Called by the server's 1-second tick `n`: evaluates when due, on a
/// blocking thread, never two at once.
pub fn tick(st: &Arc<AppState>, n: u64) {
    let Some(r) = st.alerts.get() else { return };
    if n % r.interval_s != 0 || r.busy.swap(true, Ordering::SeqCst) {
        return;
    }
    let (r, st) = (r.clone(), st.clone());
    tokio::task::spawn_blocking(move || {
        match r.engine.evaluate(now_ms() - r.delay_ms) {
            Ok(rep) => {
                crate::alert_capture::on_transitions(&st, &rep.transitions);
                for (rule, e) in rep.errors {
                    eprintln!("sonde-server: alert rule '{rule}': {e}");
                }
            }
            Err(e) => eprintln!("sonde-server: alert evaluation: {e}"),
        }
        r.busy.store(false, Ordering::SeqCst);
    });
}

impl From<AlertError> for ApiError {
    fn from(e: AlertError) -> ApiError {
        match e {
            AlertError::Invalid(m) => ApiError::bad(m),
            AlertError::NotFound(m) => ApiError(StatusCode::NOT_FOUND, m),
            AlertError::Store(s) => s.into(),
        }
    }
}

fn engine(st: &AppState) -> Result<Arc<Alerts>, ApiError> {
    st.alerts.get().map(|r| r.engine.clone()).ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "alerts are not running".into(),
        )
    })
}

/// Parses a JSON body as `T`; with `name` (from the path), sets the
/// body's `key` to it, refusing a different one.
fn parse<T: DeserializeOwned>(
    body: &[u8],
    what: &str,
    key: &str,
    name: Option<&str>,
) -> Result<T, ApiError> {
    let mut v: J =
        serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("not a {what}: {e}")))?;
    if let (Some(n), Some(o)) = (name, v.as_object_mut()) {
        match o.get(key).and_then(J::as_str) {
            Some(b) if b != n => {
                return Err(ApiError::bad(format!(
                    "the {what}'s {key} '{b}' differs from the path's '{n}'"
                )))
            }
            _ => {
                o.insert(key.into(), J::from(n));
            }
        }
    }
    serde_json::from_value(v).map_err(|e| ApiError::bad(format!("not a {what}: {e}")))
}

/// The alert routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/alerts", get(active))
        .route("/api/v1/alerts/ack", post(ack))
        .route("/api/v1/alerts/history", get(history))
        .route("/api/v1/alerts/status", get(status))
        .route("/api/v1/alerts/rules", get(list_rules).post(create_rule))
        .route(
            "/api/v1/alerts/rules/{name}",
            get(get_rule).put(put_rule).delete(delete_rule),
        )
        .route(
            "/api/v1/alerts/handlers",
            get(list_handlers).post(create_handler),
        )
        .route(
            "/api/v1/alerts/handlers/{name}",
            get(get_handler).put(put_handler).delete(delete_handler),
        )
        .route(
            "/api/v1/alerts/silences",
            get(list_silences).post(create_silence),
        )
        .route(
            "/api/v1/alerts/silences/{id}",
            axum::routing::delete(delete_silence),
        )
}

// The engine's lock may be held by an evaluation: every call that takes
// it runs on a blocking thread.

async fn active(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let a = blocking(move || Ok(e.active())).await?;
    Ok(Json(json!({ "alerts": a })).into_response())
}

async fn list_rules(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let r = blocking(move || Ok(e.rules())).await?;
    Ok(Json(json!({ "rules": r })).into_response())
}

async fn get_rule(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let r = blocking(move || {
        e.rule(&name)
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no rule '{name}'")))
    })
    .await?;
    Ok(Json(r).into_response())
}

async fn save_rule(st: Arc<AppState>, r: Rule, create_only: bool) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let shown = r.clone();
    let new = blocking(move || {
        if create_only && e.rule(&r.name).is_some() {
            return Err(ApiError(
                StatusCode::CONFLICT,
                format!(
                    "rule '{}' exists (PUT /api/v1/alerts/rules/{} replaces it)",
                    r.name, r.name
                ),
            ));
        }
        Ok(e.put_rule(r)?)
    })
    .await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(shown)).into_response())
}

async fn create_rule(State(st): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    save_rule(st, parse(&body, "rule", "name", None)?, true).await
}

async fn put_rule(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    save_rule(st, parse(&body, "rule", "name", Some(&name))?, false).await
}

async fn delete_rule(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    blocking(move || Ok(e.delete_rule(&name)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn handler_json(h: &Handler, s: &sonde_alerts::deliver::Stats) -> J {
    let mut v = serde_json::to_value(h).unwrap_or(J::Null);
    v["stats"] = serde_json::to_value(s).unwrap_or(J::Null);
    v
}

async fn list_handlers(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let hs: Vec<J> = engine(&st)?
        .handlers()
        .iter()
        .map(|(h, s)| handler_json(h, s))
        .collect();
    Ok(Json(json!({ "handlers": hs })).into_response())
}

async fn get_handler(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let h = engine(&st)?
        .handlers()
        .into_iter()
        .find(|(h, _)| h.name == name)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no handler '{name}'")))?;
    Ok(Json(handler_json(&h.0, &h.1)).into_response())
}

async fn save_handler(
    st: Arc<AppState>,
    h: Handler,
    create_only: bool,
) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    if create_only && e.handlers().iter().any(|(x, _)| x.name == h.name) {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("handler '{}' exists (PUT replaces it)", h.name),
        ));
    }
    let shown = h.redacted();
    let new = blocking(move || Ok(e.put_handler(h)?)).await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(shown)).into_response())
}

async fn create_handler(
    State(st): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    save_handler(st, parse(&body, "handler", "name", None)?, true).await
}

async fn put_handler(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    save_handler(st, parse(&body, "handler", "name", Some(&name))?, false).await
}

async fn delete_handler(
    State(st): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    blocking(move || Ok(e.delete_handler(&name)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_silences(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let s = blocking(move || Ok(e.silences(now_ms()))).await?;
    Ok(Json(json!({ "silences": s })).into_response())
}

async fn create_silence(
    State(st): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s: Silence = parse(&body, "silence", "id", None)?;
    if s.until_ms <= now_ms() {
        return Err(ApiError::bad("until_ms: the silence would already be over"));
    }
    let e = engine(&st)?;
    let id = blocking(move || Ok(e.put_silence(s)?)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

async fn delete_silence(
    State(st): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    blocking(move || Ok(e.delete_silence(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/alerts/ack`: `{"rule": R, "group": {tags}, "by": WHO}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    rule: String,
    #[serde(default)]
    group: sonde_store::Tags,
    #[serde(default)]
    by: String,
}

async fn ack(
    State(st): State<Arc<AppState>>,
    who: Option<Extension<Principal>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let a: Ack = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not an acknowledgement: {e}")))?;
    let e = engine(&st)?;
    // the logged-in user, else what the caller says, else "api"
    let who = match who {
        Some(Extension(p)) if p.user != "token" => p.user,
        _ if !a.by.is_empty() => a.by,
        _ => "api".to_string(),
    };
    let done = blocking(move || Ok(e.acknowledge(&a.rule, &a.group, &who, now_ms())?)).await?;
    Ok(Json(done).into_response())
}

/// `GET /api/v1/alerts/history?rule=R&state=S&start=MS&end=MS&limit=N`
/// (the range defaults to the last day).
async fn history(
    State(st): State<Arc<AppState>>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let (mut rule, mut state) = (None, None);
    let (mut start, mut end, mut limit) = (now - 86_400_000, now + 1, EVENTS_LIMIT.0);
    let int = |k: &str, v: &str| {
        v.parse::<i64>().map_err(|_| {
            ApiError::bad(format!(
                "'{k}' must be an integer (ms since the epoch), not '{v}'"
            ))
        })
    };
    for (k, v) in params {
        match k.as_str() {
            "rule" => rule = Some(v),
            "state" => state = Some(v),
            "start" => start = int(&k, &v)?,
            "end" => end = int(&k, &v)?,
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad(format!("'limit' must be a count, not '{v}'")))?
                    .min(EVENTS_LIMIT.1);
            }
            other => return Err(ApiError::bad(format!("unknown parameter '{other}'"))),
        }
    }
    if end <= start {
        return Err(ApiError::bad("'end' must be after 'start'"));
    }
    let e = engine(&st)?;
    let evs =
        blocking(move || Ok(e.history(rule.as_deref(), state.as_deref(), start, end, limit)?))
            .await?;
    Ok(Json(json!({ "events": evs })).into_response())
}

/// An alert's state as the UI shows it: `pending`, `firing`, `acked`
/// (firing, acknowledged) or `silenced` (firing, a silence matches).
fn alert_state(rule: &str, a: &Active, silences: &[Silence], now_ms: i64) -> &'static str {
    let mut tags = a.group.clone();
    tags.insert("rule".into(), rule.into());
    match a.phase {
        Phase::Pending => "pending",
        _ if silences.iter().any(|s| s.matches(rule, &tags, now_ms)) => "silenced",
        _ if a.acknowledged_by.is_some() => "acked",
        _ => "firing",
    }
}

/// Each rule with its state (the most urgent of its alerts': firing,
/// pending, acked, silenced; else `silenced` if a silence covers the
/// whole rule, else `ok`) and its active alerts, each with its state.
pub fn rule_status(rules: &[Rule], active: &[Active], silences: &[Silence], now_ms: i64) -> Vec<J> {
    const ORDER: [&str; 4] = ["firing", "pending", "acked", "silenced"];
    rules
        .iter()
        .map(|r| {
            let alerts: Vec<J> = active
                .iter()
                .filter(|a| a.rule == r.name)
                .map(|a| {
                    let mut v = serde_json::to_value(a).unwrap_or(J::Null);
                    v["state"] = J::from(alert_state(&r.name, a, silences, now_ms));
                    v
                })
                .collect();
            let worst = ORDER
                .iter()
                .find(|s| alerts.iter().any(|a| a["state"] == **s))
                .copied();
            let rule_tags: sonde_store::Tags = [("rule".to_string(), r.name.clone())].into();
            let state = worst.unwrap_or_else(|| {
                let whole = silences.iter().any(|s| {
                    s.rule.as_deref() == Some(r.name.as_str())
                        && s.matchers.is_empty()
                        && s.matches(&r.name, &rule_tags, now_ms)
                });
                if whole {
                    "silenced"
                } else {
                    "ok"
                }
            });
            json!({"rule": r, "state": state, "alerts": alerts})
        })
        .collect()
}

/// `GET /api/v1/alerts/status`: every rule with its state and alerts.
async fn status(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let e = engine(&st)?;
    let now = now_ms();
    let v =
        blocking(move || Ok(rule_status(&e.rules(), &e.active(), &e.silences(now), now))).await?;
    Ok(Json(json!({ "rules": v })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> Rule {
        serde_json::from_value(json!({"name": name,
            "condition": {"check_critical": {}}}))
        .unwrap()
    }

    fn active(rule: &str, host: &str, phase: Phase, acked: bool) -> Active {
        Active {
            rule: rule.into(),
            group: [("host".to_string(), host.to_string())].into(),
            phase,
            since_ms: 1,
            fired_ms: 2,
            value: 2.0,
            acknowledged_by: acked.then(|| "ed".to_string()),
        }
    }

    fn silence(rule: &str, matchers: serde_json::Value) -> Silence {
        serde_json::from_value(json!({"id": "s", "rule": rule, "matchers": matchers,
            "until_ms": 1000}))
        .unwrap()
    }

    fn states(v: &[J]) -> Vec<&str> {
        v.iter().map(|r| r["state"].as_str().unwrap()).collect()
    }

    #[test]
    fn rule_states_take_the_most_urgent_alert() {
        let rules = [rule("a"), rule("b"), rule("c"), rule("d")];
        let act = [
            active("a", "h1", Phase::Firing, true),
            active("a", "h2", Phase::Firing, false),
            active("b", "h1", Phase::Pending, false),
            active("c", "h1", Phase::Firing, true),
        ];
        let v = rule_status(&rules, &act, &[], 0);
        assert_eq!(states(&v), ["firing", "pending", "acked", "ok"]);
        assert_eq!(v[0]["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(v[0]["alerts"][0]["state"], "acked");
        assert_eq!(v[0]["rule"]["name"], "a");
    }

    #[test]
    fn silences_cover_alerts_and_whole_rules_until_they_end() {
        let rules = [rule("a"), rule("d")];
        let act = [active("a", "h1", Phase::Firing, false)];
        let on_h1 = silence("a", json!([{"eq": ["host", "h1"]}]));
        let v = rule_status(&rules, &act, std::slice::from_ref(&on_h1), 10);
        assert_eq!(states(&v), ["silenced", "ok"]);
        let on_h2 = silence("a", json!([{"eq": ["host", "h2"]}]));
        assert_eq!(
            states(&rule_status(&rules, &act, &[on_h2], 10))[0],
            "firing"
        );
        // a silence of the whole rule shows on a rule with no alert
        let whole = silence("d", json!([]));
        assert_eq!(
            states(&rule_status(&rules, &act, std::slice::from_ref(&whole), 10))[1],
            "silenced"
        );
        // once over, nothing is silenced
        assert_eq!(
            states(&rule_status(&rules, &act, &[on_h1, whole], 1000)),
            ["firing", "ok"]
        );
    }
}

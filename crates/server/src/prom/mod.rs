//! The Prometheus HTTP query API over the store, so Grafana (or any
//! Prometheus client) reads sonde as a Prometheus data source:
//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/{name}/values` (GET, or POST with a
//! form) and `/api/v1/status/buildinfo`, with Prometheus's JSON envelope
//! (`{"status":"success","data":...}`) and errors (`{"status":"error",
//! "errorType":"bad_data","error":"..."}`). PromQL is parsed by
//! `promql-parser` and the subset in [`translate`] is evaluated by
//! [`eval`] (one store query per selector) and [`binary`] (the operators
//! between their results); sonde's metric and tag names are shown with
//! `.` as `_`.

pub mod binary;
pub mod eval;
pub mod translate;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value as J};
use sonde_store::StoreError;

use crate::serve::AppState;
use binary::Value;
use eval::{prom_name, EvalError, Names, Series, Times};
use translate::Plan;

/// The default window of a bare selector in an instant query, ms.
pub const INSTANT_LOOKBACK_MS: i64 = 5_000;

/// A Prometheus API error.
#[derive(Debug)]
pub struct PromError {
    status: StatusCode,
    kind: &'static str,
    msg: String,
}

fn bad(msg: impl Into<String>) -> PromError {
    PromError {
        status: StatusCode::BAD_REQUEST,
        kind: "bad_data",
        msg: msg.into(),
    }
}

impl From<EvalError> for PromError {
    fn from(e: EvalError) -> PromError {
        match e {
            EvalError::Bad(m) => bad(m),
            EvalError::Execution(m) => PromError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                kind: "execution",
                msg: m,
            },
            EvalError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for PromError {
    fn from(e: StoreError) -> PromError {
        match e {
            StoreError::BadQuery(m) => PromError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                kind: "execution",
                msg: m,
            },
            StoreError::Engine(m) => PromError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "unavailable",
                msg: m,
            },
        }
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let body = json!({"status": "error", "errorType": self.kind, "error": self.msg});
        (self.status, Json(body)).into_response()
    }
}

fn success(data: J) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// The routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/query", get(instant).post(instant))
        .route("/api/v1/query_range", get(range).post(range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/status/buildinfo", get(buildinfo))
}

/// The request's parameters: the URL's and a form body's.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(q: Option<String>, body: &[u8]) -> Result<Params, PromError> {
        let mut v: Vec<(String, String)> = match q {
            Some(q) => {
                serde_urlencoded::from_str(&q).map_err(|e| bad(format!("query string: {e}")))?
            }
            None => Vec::new(),
        };
        if !body.is_empty() {
            let f: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|e| bad(format!("form body: {e}")))?;
            v.extend(f);
        }
        Ok(Params(v))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    /// Parameter `k`, which must be there.
    fn required(&self, k: &str) -> Result<&str, PromError> {
        self.get(k)
            .ok_or_else(|| bad(format!("missing parameter '{k}'")))
    }

    fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn time(&self, k: &str, default: i64) -> Result<i64, PromError> {
        self.get(k).map_or(Ok(default), |v| {
            parse_time(v).map_err(|e| bad(format!("invalid parameter '{k}': {e}")))
        })
    }

    fn duration(&self, k: &str) -> Result<Option<i64>, PromError> {
        self.get(k)
            .map(|v| parse_duration(v).map_err(|e| bad(format!("invalid parameter '{k}': {e}"))))
            .transpose()
    }
}

/// A time: Unix seconds (fractions allowed) or RFC 3339; ms.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f.abs() < 1e13 {
            // in range (checked)
            #[allow(clippy::cast_possible_truncation)]
            return Ok((f * 1000.0).round() as i64);
        }
        return Err(format!("cannot parse \"{s}\" to a valid timestamp"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|_| format!("cannot parse \"{s}\" to a valid timestamp"))
}

/// A duration: seconds (fractions allowed) or PromQL's (`15s`, `1m30s`); ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let ms = if let Ok(f) = s.parse::<f64>() {
        if !(f.is_finite() && (0.0..1e10).contains(&f)) {
            return Err(format!("cannot parse \"{s}\" to a valid duration"));
        }
        // in range (checked)
        #[allow(clippy::cast_possible_truncation)]
        let v = (f * 1000.0).round() as i64;
        v
    } else {
        let d = promql_parser::util::parse_duration(s)
            .map_err(|_| format!("cannot parse \"{s}\" to a valid duration"))?;
        i64::try_from(d.as_millis()).map_err(|_| format!("duration \"{s}\" too long"))?
    };
    if ms <= 0 {
        return Err("zero or negative query resolution step widths are not accepted: try a positive integer".into());
    }
    Ok(ms)
}

/// Prometheus's number text.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

// Unix seconds as Prometheus shows them (a float).
#[allow(clippy::cast_precision_loss)]
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The names PromQL sees, from the store (metrics held, tags in range).
fn names(st: &AppState, start: i64, end: i64) -> Result<Names, PromError> {
    let tags = st.store.tag_names(start, end)?;
    let m = st.metrics.read().map_err(|e| bad(e.to_string()))?;
    Ok(Names::new(m.iter(), tags.iter()))
}

/// `plan` evaluated at `times`.
fn evaluate(st: &AppState, plan: &Plan, times: &Times) -> Result<Value, PromError> {
    Ok(match plan {
        Plan::Scalar(v) => Value::Scalar(*v),
        Plan::Vector(p) => {
            let w = p.range_ms.unwrap_or(times.lookback_ms);
            let n = names(st, times.start_ms - w, times.end_ms + 1)?;
            Value::Vector(eval::eval(st.store.as_ref(), &n, p, times)?)
        }
        Plan::Binary(b) => {
            let l = evaluate(st, &b.lhs, times)?;
            let r = evaluate(st, &b.rhs, times)?;
            b.apply(l, r)?
        }
    })
}

fn run(st: &AppState, query: &str, times: Times) -> Result<Result<Vec<Series>, f64>, PromError> {
    let plan = translate::plan(query).map_err(|e| bad(e.0))?;
    Ok(match evaluate(st, &plan, &times)? {
        Value::Scalar(v) => Err(v),
        Value::Vector(s) => Ok(s),
    })
}

async fn blocking(f: impl FnOnce() -> Result<Response, PromError> + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(e) => PromError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "internal",
            msg: e.to_string(),
        }
        .into_response(),
    }
}

async fn instant(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    blocking(move || {
        let p = Params::new(q, &body)?;
        let query = p.required("query")?.to_string();
        let t = p.time("time", crate::now_ms())?;
        let lookback = p.duration("lookback_delta")?.unwrap_or(INSTANT_LOOKBACK_MS);
        let times = Times {
            start_ms: t,
            end_ms: t,
            step_ms: 0,
            lookback_ms: lookback,
        };
        Ok(success(match run(&st, &query, times)? {
            Err(v) => json!({"resultType": "scalar", "result": [secs(t), num(v)]}),
            Ok(series) => {
                let r: Vec<J> = series
                    .into_iter()
                    .filter_map(|s| {
                        let (pt, v) = *s.points.last()?;
                        Some(json!({"metric": s.labels, "value": [secs(pt), num(v)]}))
                    })
                    .collect();
                json!({"resultType": "vector", "result": r})
            }
        }))
    })
    .await
}

async fn range(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    blocking(move || {
        let p = Params::new(q, &body)?;
        let query = p.required("query")?.to_string();
        let start = p.required("start")?;
        let end = p.required("end")?;
        let start =
            parse_time(start).map_err(|e| bad(format!("invalid parameter 'start': {e}")))?;
        let end = parse_time(end).map_err(|e| bad(format!("invalid parameter 'end': {e}")))?;
        let step = p
            .duration("step")?
            .ok_or_else(|| bad("missing parameter 'step'"))?;
        let lookback = p.duration("lookback_delta")?.unwrap_or(step.max(1000));
        let times = Times {
            start_ms: start,
            end_ms: end,
            step_ms: step,
            lookback_ms: lookback,
        };
        Ok(success(match run(&st, &query, times)? {
            Err(v) => {
                let mut pts = Vec::new();
                let mut t = start;
                while t <= end && pts.len() < 11_000 {
                    pts.push(json!([secs(t), num(v)]));
                    t += step;
                }
                json!({"resultType": "matrix", "result": [{"metric": {}, "values": pts}]})
            }
            Ok(series) => {
                let r: Vec<J> = series
                    .into_iter()
                    .filter(|s| !s.points.is_empty())
                    .map(|s| {
                        let vals: Vec<J> = s
                            .points
                            .iter()
                            .map(|&(t, v)| json!([secs(t), num(v)]))
                            .collect();
                        json!({"metric": s.labels, "values": vals})
                    })
                    .collect();
                json!({"resultType": "matrix", "result": r})
            }
        }))
    })
    .await
}

/// The range of a metadata call (default: the last 6 hours).
fn meta_range(p: &Params) -> Result<(i64, i64), PromError> {
    let now = crate::now_ms();
    Ok((
        p.time("start", now - 6 * 3_600_000)?,
        p.time("end", now)? + 1,
    ))
}

/// The store series of each `match[]` selector, as PromQL label sets.
fn matched(st: &AppState, p: &Params, start: i64, end: i64) -> Result<Vec<J>, PromError> {
    let n = names(st, start, end)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let sels = p.all("match[]");
    if sels.is_empty() {
        return Err(bad("no match[] parameter provided"));
    }
    for sel in sels {
        let Plan::Vector(plan) = translate::plan(sel).map_err(|e| bad(e.0))? else {
            return Err(bad(format!("match[] '{sel}' is not a series selector")));
        };
        if !plan.keep_name {
            return Err(bad(format!("match[] '{sel}' is not a series selector")));
        }
        let Some(metric) = n.metric(&plan.metric) else {
            continue;
        };
        for (m, tags) in st
            .store
            .series(Some(metric), &eval::filters(&plan, &n), start, end)?
        {
            let mut l: std::collections::BTreeMap<String, String> =
                tags.into_iter().map(|(k, v)| (prom_name(&k), v)).collect();
            l.insert("__name__".into(), prom_name(&m));
            if seen.insert(l.clone()) {
                out.push(json!(l));
            }
        }
    }
    Ok(out)
}

async fn series(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    blocking(move || {
        let p = Params::new(q, &body)?;
        let (start, end) = meta_range(&p)?;
        Ok(success(J::Array(matched(&st, &p, start, end)?)))
    })
    .await
}

async fn labels(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    blocking(move || {
        let p = Params::new(q, &body)?;
        let (start, end) = meta_range(&p)?;
        let mut set: BTreeSet<String> = BTreeSet::new();
        if p.get("match[]").is_some() {
            for s in matched(&st, &p, start, end)? {
                if let Some(o) = s.as_object() {
                    set.extend(o.keys().cloned());
                }
            }
        } else {
            set.insert("__name__".into());
            set.extend(st.store.tag_names(start, end)?.iter().map(|t| prom_name(t)));
        }
        Ok(success(json!(set)))
    })
    .await
}

async fn label_values(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    blocking(move || {
        let p = Params::new(q, &[])?;
        let (start, end) = meta_range(&p)?;
        let vals: BTreeSet<String> = if name == "__name__" {
            let m = st.metrics.read().map_err(|e| bad(e.to_string()))?;
            m.iter().map(|m| prom_name(m)).collect()
        } else {
            let n = names(&st, start, end)?;
            st.store
                .tag_values(n.tag(&name), start, end)?
                .into_iter()
                .collect()
        };
        Ok(success(json!(vals)))
    })
    .await
}

async fn buildinfo() -> Response {
    success(json!({
        "version": "2.53.0",
        "revision": concat!("sonde-server ", env!("CARGO_PKG_VERSION")),
        "branch": "sonde",
        "buildUser": "sonde",
        "buildDate": "",
        "goVersion": "none (sonde-server, Rust)",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_durations_and_numbers() {
        assert_eq!(parse_time("1700000000.5"), Ok(1_700_000_000_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("fast").is_err());
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(f64::INFINITY), "+Inf");
        assert_eq!(num(3.0), "3");
    }
}

//! Saved dashboards: named lists of panels (a time series or a top-N
//! table of one metric, over a scope of tag filters, grouped by tags,
//! with an aggregation), kept in `dashboards.json` in the data directory
//! and served over REST: list, read, create, replace, delete. Reading
//! needs a viewer, writing an editor (the auth middleware's rule for any
//! non-GET call). The UI opens one by its id in the URL, so a link shows
//! every user the same panels. A dashboard saved by a user in a team
//! belongs to the team: only its users (and users of no team) see it;
//! a team user sees only its team's (`teams`).
//!
//! Why a file and not the store: dashboards are a few kilobytes of
//! configuration written by people, like the users file beside it; the
//! `Store` trait (two engines) stays about measurements and events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{blocking, ApiError};
use crate::auth::Principal;
use crate::serve::AppState;

/// The most panels a dashboard holds, and dashboards a server keeps.
pub const LIMITS: (usize, usize) = (48, 1_000);

/// The aggregations a panel may ask for (over time; groups are summed,
/// or merged for quantiles).
pub const AGGS: [&str; 10] = [
    "avg", "sum", "min", "max", "count", "rate", "p50", "p90", "p95", "p99",
];

/// What a panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// One line per group over the range.
    Series,
    /// The highest groups over the range, one number each.
    Top,
}

/// One panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Its title.
    pub title: String,
    /// Time series or top-N.
    pub kind: PanelKind,
    /// The metric's name.
    pub metric: String,
    /// The scope: `tag=value` filters, all of which must hold.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Tags whose values make the groups.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// One of [`AGGS`].
    pub agg: String,
    /// How many rows a top-N panel shows (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
}

/// What a client sends to create or replace a dashboard.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSpec {
    /// Its name.
    pub name: String,
    /// Its panels, in order.
    pub panels: Vec<Panel>,
}

/// A saved dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Its id (in the URL).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its panels, in order.
    pub panels: Vec<Panel>,
    /// Who created it.
    pub owner: String,
    /// Who saved it last.
    pub updated_by: String,
    /// When it was created, ms.
    pub created_ms: i64,
    /// When it was saved last, ms.
    pub updated_ms: i64,
    /// The team it belongs to (its creator's), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Whether a user of `team` (`None`: no team, sees all) sees `d`.
fn visible(d: &Dashboard, team: Option<&str>) -> bool {
    team.is_none() || d.team.as_deref() == team
}

/// A dashboard operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A bad dashboard.
    #[error("{0}")]
    Bad(String),
    /// No such dashboard.
    #[error("no dashboard '{0}'")]
    Missing(String),
    /// The file cannot be read or written.
    #[error("dashboards file '{0}': {1}")]
    File(PathBuf, String),
}

impl From<DashboardError> for ApiError {
    fn from(e: DashboardError) -> ApiError {
        let code = match &e {
            DashboardError::Bad(_) => StatusCode::BAD_REQUEST,
            DashboardError::Missing(_) => StatusCode::NOT_FOUND,
            DashboardError::File(..) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError(code, e.to_string())
    }
}

fn bad(msg: String) -> DashboardError {
    DashboardError::Bad(msg)
}

fn check_tag(what: &str, t: &str) -> Result<(), DashboardError> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} '{t}': a tag name of letters, digits, '.', '_', '-', ':', '/'"
        )))
    }
}

impl Panel {
    /// Checks the panel (panel `i` of its dashboard, for messages).
    pub fn check(&self, i: usize) -> Result<(), DashboardError> {
        let n = i + 1;
        if self.title.trim().is_empty() || self.title.len() > 200 {
            return Err(bad(format!("panel {n}: a title of 1-200 characters")));
        }
        if self.metric.trim().is_empty() || self.metric.len() > 200 {
            return Err(bad(format!("panel {n}: a metric name is needed")));
        }
        if !AGGS.contains(&self.agg.as_str()) {
            return Err(bad(format!(
                "panel {n}: aggregation '{}': one of {}",
                self.agg,
                AGGS.join(", ")
            )));
        }
        for f in &self.filters {
            let Some((k, v)) = f.split_once('=') else {
                return Err(bad(format!("panel {n}: scope '{f}': expected tag=value")));
            };
            check_tag(&format!("panel {n}: scope"), k)?;
            if v.len() > 512 {
                return Err(bad(format!("panel {n}: scope '{k}': value too long")));
            }
        }
        for g in &self.group_by {
            check_tag(&format!("panel {n}: group-by"), g)?;
        }
        if self.kind == PanelKind::Top && self.group_by.is_empty() {
            return Err(bad(format!(
                "panel {n}: a top-N panel needs a group-by tag"
            )));
        }
        if self.top.is_some_and(|t| t == 0 || t > 100) {
            return Err(bad(format!("panel {n}: top: 1-100 rows")));
        }
        Ok(())
    }
}

impl DashboardSpec {
    /// Checks the name and every panel.
    pub fn check(&self) -> Result<(), DashboardError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(bad("a dashboard needs a name of 1-200 characters".into()));
        }
        if self.panels.len() > LIMITS.0 {
            return Err(bad(format!("at most {} panels", LIMITS.0)));
        }
        for (i, p) in self.panels.iter().enumerate() {
            p.check(i)?;
        }
        Ok(())
    }
}

/// The saved dashboards. Thread-safe; every change is written to the
/// file (atomically: a temporary file renamed) before it is answered.
#[derive(Debug, Default)]
pub struct Dashboards {
    file: RwLock<Option<PathBuf>>,
    all: RwLock<BTreeMap<String, Dashboard>>,
}

impl Dashboards {
    /// Loads (or starts) `dir/dashboards.json`.
    pub fn open(&self, dir: &Path) -> Result<(), DashboardError> {
        let path = dir.join("dashboards.json");
        let all: BTreeMap<String, Dashboard> = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| DashboardError::File(path.clone(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(DashboardError::File(path, e.to_string())),
        };
        *self.all.write().unwrap_or_else(|e| e.into_inner()) = all;
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = Some(path);
        Ok(())
    }

    fn save(&self, all: &BTreeMap<String, Dashboard>) -> Result<(), DashboardError> {
        let Some(path) = self.file.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(all)
            .map_err(|e| DashboardError::File(path.clone(), e.to_string()))?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| DashboardError::File(path, e.to_string()))
    }

    /// The dashboards a user of `team` sees, by name.
    pub fn list(&self, team: Option<&str>) -> Vec<Dashboard> {
        let mut v: Vec<Dashboard> = self
            .all
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|d| visible(d, team))
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v
    }

    /// One dashboard, if a user of `team` sees it.
    pub fn get(&self, id: &str, team: Option<&str>) -> Option<Dashboard> {
        self.all
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .filter(|d| visible(d, team))
            .cloned()
    }

    /// Saves `spec` as a new dashboard of `user` (of `team`).
    pub fn create(
        &self,
        spec: DashboardSpec,
        user: &str,
        team: Option<&str>,
        now_ms: i64,
    ) -> Result<Dashboard, DashboardError> {
        spec.check()?;
        let mut all = self.all.write().unwrap_or_else(|e| e.into_inner());
        if all.len() >= LIMITS.1 {
            return Err(bad(format!("at most {} dashboards", LIMITS.1)));
        }
        let mut id = crate::auth::random_id();
        while all.contains_key(&id) {
            id = crate::auth::random_id();
        }
        let d = Dashboard {
            id: id.clone(),
            name: spec.name.trim().to_string(),
            panels: spec.panels,
            owner: user.to_string(),
            updated_by: user.to_string(),
            created_ms: now_ms,
            updated_ms: now_ms,
            team: team.map(String::from),
        };
        all.insert(id.clone(), d.clone());
        if let Err(e) = self.save(&all) {
            all.remove(&id);
            return Err(e);
        }
        Ok(d)
    }

    /// Replaces dashboard `id`'s name and panels (`user` of `team`).
    pub fn replace(
        &self,
        id: &str,
        spec: DashboardSpec,
        (user, team): (&str, Option<&str>),
        now_ms: i64,
    ) -> Result<Dashboard, DashboardError> {
        spec.check()?;
        let mut all = self.all.write().unwrap_or_else(|e| e.into_inner());
        let Some(old) = all.get(id).filter(|d| visible(d, team)).cloned() else {
            return Err(DashboardError::Missing(id.to_string()));
        };
        let d = Dashboard {
            name: spec.name.trim().to_string(),
            panels: spec.panels,
            updated_by: user.to_string(),
            updated_ms: now_ms,
            ..old.clone()
        };
        all.insert(id.to_string(), d.clone());
        if let Err(e) = self.save(&all) {
            all.insert(id.to_string(), old);
            return Err(e);
        }
        Ok(d)
    }

    /// Deletes dashboard `id` (asked by a user of `team`).
    pub fn delete(&self, id: &str, team: Option<&str>) -> Result<(), DashboardError> {
        let mut all = self.all.write().unwrap_or_else(|e| e.into_inner());
        if !all.get(id).is_some_and(|d| visible(d, team)) {
            return Err(DashboardError::Missing(id.to_string()));
        }
        let Some(old) = all.remove(id) else {
            return Err(DashboardError::Missing(id.to_string()));
        };
        if let Err(e) = self.save(&all) {
            all.insert(id.to_string(), old);
            return Err(e);
        }
        Ok(())
    }
}

/// The routes (behind the auth middleware: GET needs a viewer, the rest
/// an editor).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/dashboards", get(list).post(create))
        .route(
            "/api/v1/dashboards/{id}",
            get(read).put(replace).delete(delete),
        )
}

fn spec(body: &[u8]) -> Result<DashboardSpec, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad(format!(
            "expected {{\"name\", \"panels\": [{{\"title\", \"kind\": \"series\"|\"top\", \
             \"metric\", \"filters\", \"group_by\", \"agg\"}}]}}: {e}"
        ))
    })
}

async fn list(State(st): State<Arc<AppState>>, Extension(p): Extension<Principal>) -> Response {
    Json(json!({ "dashboards": st.dashboards.list(p.team.as_deref()) })).into_response()
}

async fn read(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let d = st
        .dashboards
        .get(&id, p.team.as_deref())
        .ok_or(DashboardError::Missing(id))?;
    Ok(Json(d).into_response())
}

async fn create(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s = spec(&body)?;
    let d = blocking(move || {
        let team = p.team.as_deref();
        Ok(st.dashboards.create(s, &p.user, team, crate::now_ms())?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

async fn replace(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s = spec(&body)?;
    let d = blocking(move || {
        let who = (p.user.as_str(), p.team.as_deref());
        Ok(st.dashboards.replace(&id, s, who, crate::now_ms())?)
    })
    .await?;
    Ok(Json(d).into_response())
}

async fn delete(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    blocking(move || Ok(st.dashboards.delete(&id, p.team.as_deref())?)).await?;
    Ok(Json(json!({ "ok": true })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(kind: PanelKind, by: &[&str]) -> Panel {
        Panel {
            title: "CPU".into(),
            kind,
            metric: "cpu.user".into(),
            filters: vec!["scope=container".into()],
            group_by: by.iter().map(|s| s.to_string()).collect(),
            agg: "avg".into(),
            top: None,
        }
    }

    #[test]
    fn checks_and_persists() {
        let dir = std::env::temp_dir().join(format!("sonde-dash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = Dashboards::default();
        d.open(&dir).unwrap();
        let good = DashboardSpec {
            name: " mine ".into(),
            panels: vec![
                panel(PanelKind::Series, &[]),
                panel(PanelKind::Top, &["container.name"]),
            ],
        };
        // a top-N panel without group-by, a bad aggregation, a bad scope
        let mut s = good.clone();
        s.panels[1].group_by.clear();
        assert!(matches!(
            d.create(s, "ed", None, 1),
            Err(DashboardError::Bad(_))
        ));
        let mut s = good.clone();
        s.panels[0].agg = "median".into();
        assert!(d.create(s, "ed", None, 1).is_err());
        let mut s = good.clone();
        s.panels[0].filters = vec!["container.name".into()];
        assert!(d.create(s, "ed", None, 1).is_err());
        let mut s = good.clone();
        s.name = "  ".into();
        assert!(d.create(s, "ed", None, 1).is_err());
        assert!(d.list(None).is_empty());

        let made = d.create(good.clone(), "ed", None, 1).unwrap();
        assert_eq!((made.name.as_str(), made.owner.as_str()), ("mine", "ed"));
        let mut s = good.clone();
        s.panels.pop();
        let r = d.replace(&made.id, s, ("al", None), 2).unwrap();
        assert_eq!((r.panels.len(), r.owner.as_str()), (1, "ed"));
        assert_eq!((r.updated_by.as_str(), r.updated_ms), ("al", 2));
        assert!(matches!(
            d.replace("nope", good.clone(), ("al", None), 3),
            Err(DashboardError::Missing(_))
        ));
        // another server over the same directory reads the same
        let d2 = Dashboards::default();
        d2.open(&dir).unwrap();
        assert_eq!(d2.get(&made.id, None), Some(r));
        d2.delete(&made.id, None).unwrap();
        assert!(d2.delete(&made.id, None).is_err());
        let d3 = Dashboards::default();
        d3.open(&dir).unwrap();
        assert!(d3.list(None).is_empty());
        // a team's dashboard: its users and users of no team see it
        let t = d3.create(good.clone(), "tina", Some("shop"), 5).unwrap();
        assert_eq!(t.team.as_deref(), Some("shop"));
        assert!(d3.get(&t.id, Some("ops")).is_none());
        assert!(d3.list(Some("ops")).is_empty());
        let who = ("oscar", Some("ops"));
        assert!(d3.replace(&t.id, good.clone(), who, 6).is_err());
        assert!(d3.delete(&t.id, Some("ops")).is_err());
        assert!(d3.get(&t.id, Some("shop")).is_some());
        assert_eq!(d3.list(None).len(), 1);
        d3.create(good, "al", None, 7).unwrap();
        assert_eq!(d3.list(Some("shop")).len(), 1, "not the teamless one");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

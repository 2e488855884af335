//! The engine: rules, handlers and silences (kept in the store as
//! `alert_config` events, newest wins, so they survive a restart), the
//! active alerts (restored from the latest `alert` events), evaluation
//! at a given time, and the hand-off to the handlers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::json;
use sonde_store::{Event, EventQuery, Store, Tags};

use crate::deliver::{Dispatcher, Stats};
use crate::eval::{read, step, Active, Phase, Reading, Transition, EVENTS_LIMIT};
use crate::handler::Handler;
use crate::rule::{Rule, Silence};
use crate::AlertError;

/// The kind of the events holding rules, handlers and silences.
pub const CONFIG_KIND: &str = "alert_config";

/// Stores events the engine makes (the server: under its own stream).
pub type Writer = Arc<dyn Fn(&[Event]) -> sonde_store::Result<()> + Send + Sync>;

/// What one evaluation did.
#[derive(Debug, Default)]
pub struct EvalReport {
    /// The transitions, as stored (`alert` events).
    pub transitions: Vec<Event>,
    /// Events handed to the handlers (alerts firing or resolved and not
    /// silenced, new check results and keepalive changes).
    pub notified: Vec<Event>,
    /// Alert notifications held back by a silence.
    pub silenced: usize,
    /// Rules that could not be evaluated, with why.
    pub errors: Vec<(String, String)>,
}

#[derive(Default)]
struct Inner {
    rules: BTreeMap<String, Rule>,
    handlers: BTreeMap<String, Handler>,
    silences: BTreeMap<String, Silence>,
    active: BTreeMap<(String, Tags), Active>,
    /// Check and keepalive events before this (event time) were handed on.
    cursor: Option<i64>,
}

/// The alerting engine. Thread-safe.
pub struct Alerts {
    store: Arc<dyn Store>,
    writer: Writer,
    inner: Mutex<Inner>,
    dispatcher: Dispatcher,
    config_ts: AtomicI64,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn all_events(kind: &str) -> EventQuery {
    EventQuery {
        start_ms: i64::MIN,
        end_ms: i64::MAX,
        kinds: vec![kind.into()],
        limit: EVENTS_LIMIT,
        ..EventQuery::default()
    }
}

impl Alerts {
    /// The engine over `store`: handlers from the config file first, then
    /// the rules, handlers and silences stored (newest wins, deletions
    /// included), and the alerts pending or firing when it last ran.
    pub fn new(
        store: Arc<dyn Store>,
        writer: Writer,
        config_handlers: Vec<Handler>,
    ) -> Result<Alerts, AlertError> {
        let mut inner = Inner::default();
        for h in config_handlers {
            h.validate()?;
            inner.handlers.insert(h.name.clone(), h);
        }
        let evs = store.events(&all_events(CONFIG_KIND))?;
        let last_ts = evs.first().map_or(0, |e| e.ts_ms);
        let mut seen = std::collections::BTreeSet::new();
        for e in evs {
            let (Some(obj), Some(name)) = (e.tags.get("object"), e.tags.get("name")) else {
                continue;
            };
            if !seen.insert((obj.clone(), name.clone())) {
                continue;
            }
            let put = e.tags.get("op").is_some_and(|o| o == "put");
            restore_config(&mut inner, obj, name, put.then_some(e.body));
        }
        restore_active(store.as_ref(), &mut inner)?;
        let dispatcher = Dispatcher::default();
        for h in inner.handlers.values() {
            dispatcher.set(h.clone());
        }
        Ok(Alerts {
            store,
            writer,
            inner: Mutex::new(inner),
            dispatcher,
            config_ts: AtomicI64::new(last_ts),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores a config change (`body` None: a deletion).
    fn save(
        &self,
        object: &str,
        name: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(), AlertError> {
        let now = wall_ms();
        let prev = self
            .config_ts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| Some(now.max(p + 1)))
            .unwrap_or(now);
        let mut tags = Tags::new();
        tags.insert("object".into(), object.into());
        tags.insert("name".into(), name.into());
        tags.insert(
            "op".into(),
            if body.is_some() { "put" } else { "delete" }.into(),
        );
        let e = Event {
            ts_ms: now.max(prev + 1),
            agent: String::new(),
            kind: CONFIG_KIND.into(),
            tags,
            body: body.unwrap_or(serde_json::Value::Null),
        };
        (self.writer)(&[e])?;
        Ok(())
    }

    /// Creates or replaces a rule (its alerts start over); true if new.
    pub fn put_rule(&self, rule: Rule) -> Result<bool, AlertError> {
        rule.validate()?;
        let body = serde_json::to_value(&rule).map_err(|e| AlertError::Invalid(e.to_string()))?;
        let mut inner = self.lock();
        self.save("rule", &rule.name, Some(body))?;
        inner.active.retain(|(r, _), _| *r != rule.name);
        Ok(inner.rules.insert(rule.name.clone(), rule).is_none())
    }

    /// Deletes a rule and forgets its alerts.
    pub fn delete_rule(&self, name: &str) -> Result<(), AlertError> {
        let mut inner = self.lock();
        if !inner.rules.contains_key(name) {
            return Err(AlertError::NotFound(format!("no rule '{name}'")));
        }
        self.save("rule", name, None)?;
        inner.rules.remove(name);
        inner.active.retain(|(r, _), _| r != name);
        Ok(())
    }

    /// Every rule, by name.
    pub fn rules(&self) -> Vec<Rule> {
        self.lock().rules.values().cloned().collect()
    }

    /// One rule.
    pub fn rule(&self, name: &str) -> Option<Rule> {
        self.lock().rules.get(name).cloned()
    }

    /// Creates or replaces a handler; true if new.
    pub fn put_handler(&self, h: Handler) -> Result<bool, AlertError> {
        h.validate()?;
        let body = serde_json::to_value(&h).map_err(|e| AlertError::Invalid(e.to_string()))?;
        let mut inner = self.lock();
        self.save("handler", &h.name, Some(body))?;
        self.dispatcher.set(h.clone());
        Ok(inner.handlers.insert(h.name.clone(), h).is_none())
    }

    /// Deletes a handler.
    pub fn delete_handler(&self, name: &str) -> Result<(), AlertError> {
        let mut inner = self.lock();
        if !inner.handlers.contains_key(name) {
            return Err(AlertError::NotFound(format!("no handler '{name}'")));
        }
        self.save("handler", name, None)?;
        inner.handlers.remove(name);
        self.dispatcher.remove(name);
        Ok(())
    }

    /// Every handler, without its secrets, with its delivery counters.
    pub fn handlers(&self) -> Vec<(Handler, Stats)> {
        self.dispatcher.list()
    }

    /// Adds or replaces a silence (an empty id gets one); returns its id.
    pub fn put_silence(&self, mut s: Silence) -> Result<String, AlertError> {
        if s.id.is_empty() {
            s.id = format!("silence-{}", wall_ms());
        }
        s.validate()?;
        let body = serde_json::to_value(&s).map_err(|e| AlertError::Invalid(e.to_string()))?;
        let mut inner = self.lock();
        self.save("silence", &s.id, Some(body))?;
        let id = s.id.clone();
        inner.silences.insert(s.id.clone(), s);
        Ok(id)
    }

    /// Removes a silence.
    pub fn delete_silence(&self, id: &str) -> Result<(), AlertError> {
        let mut inner = self.lock();
        if !inner.silences.contains_key(id) {
            return Err(AlertError::NotFound(format!("no silence '{id}'")));
        }
        self.save("silence", id, None)?;
        inner.silences.remove(id);
        Ok(())
    }

    /// The silences still in force at `now_ms`.
    pub fn silences(&self, now_ms: i64) -> Vec<Silence> {
        let inner = self.lock();
        inner
            .silences
            .values()
            .filter(|s| s.until_ms > now_ms)
            .cloned()
            .collect()
    }

    /// The alerts pending or firing.
    pub fn active(&self) -> Vec<Active> {
        self.lock().active.values().cloned().collect()
    }

    /// Acknowledges the alert of `rule` whose group is `group`, by `who`
    /// (stored as an `alert_ack` event; shown on the alert and its
    /// later events).
    pub fn acknowledge(
        &self,
        rule: &str,
        group: &Tags,
        who: &str,
        now_ms: i64,
    ) -> Result<Active, AlertError> {
        let mut inner = self.lock();
        let a = inner
            .active
            .get_mut(&(rule.to_string(), group.clone()))
            .ok_or_else(|| {
                AlertError::NotFound(format!(
                    "no active alert of rule '{rule}' for group {group:?}"
                ))
            })?;
        a.acknowledged_by = Some(who.to_string());
        let a = a.clone();
        let mut tags = group.clone();
        tags.insert("rule".into(), rule.into());
        let e = Event {
            ts_ms: now_ms,
            agent: group.get("host").cloned().unwrap_or_default(),
            kind: "alert_ack".into(),
            tags,
            body: json!({"rule": rule, "group": group, "by": who}),
        };
        (self.writer)(&[e])?;
        Ok(a)
    }

    /// Alert events (transitions), newest first, by rule and state.
    pub fn history(
        &self,
        rule: Option<&str>,
        state: Option<&str>,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<Event>, AlertError> {
        let mut filters = Vec::new();
        if let Some(r) = rule {
            filters.push(sonde_store::TagFilter::Eq("rule".into(), r.into()));
        }
        if let Some(s) = state {
            filters.push(sonde_store::TagFilter::Eq("state".into(), s.into()));
        }
        let q = EventQuery {
            start_ms,
            end_ms,
            kinds: vec!["alert".into()],
            agent: None,
            filters,
            limit,
        };
        Ok(self.store.events(&q)?)
    }

    /// Evaluates every rule at `now_ms` (event time): stores the
    /// transitions, hands alerts firing or resolved (unless silenced) and
    /// the check and keepalive events since the last evaluation to the
    /// handlers. Returns what it did; a rule that fails is reported, the
    /// others still run.
    pub fn evaluate(&self, now_ms: i64) -> Result<EvalReport, AlertError> {
        let mut inner = self.lock();
        let mut rep = EvalReport::default();
        let rules: Vec<Rule> = inner.rules.values().cloned().collect();
        for rule in &rules {
            let readings = match read(self.store.as_ref(), rule, now_ms) {
                Ok(r) => r,
                Err(e) => {
                    rep.errors.push((rule.name.clone(), e.to_string()));
                    continue;
                }
            };
            self.apply(&mut inner, rule, &readings, now_ms, &mut rep);
        }
        if !rep.transitions.is_empty() {
            (self.writer)(&rep.transitions)?;
        }
        let notify: Vec<(Event, Vec<String>)> = std::mem::take(&mut rep.notified)
            .into_iter()
            .map(|e| {
                let hs = e
                    .tags
                    .get("rule")
                    .and_then(|r| inner.rules.get(r))
                    .map(|r| r.handlers.clone())
                    .unwrap_or_default();
                (e, hs)
            })
            .collect();
        for (e, hs) in notify {
            self.dispatcher.dispatch(&e, &hs);
            rep.notified.push(e);
        }
        self.pass_through(&mut inner, now_ms, &mut rep)?;
        Ok(rep)
    }

    /// Runs one rule's state machines over its readings.
    fn apply(
        &self,
        inner: &mut Inner,
        rule: &Rule,
        readings: &[Reading],
        now_ms: i64,
        rep: &mut EvalReport,
    ) {
        let mut groups: BTreeMap<Tags, Option<&Reading>> = inner
            .active
            .keys()
            .filter(|(r, _)| *r == rule.name)
            .map(|(_, g)| (g.clone(), None))
            .collect();
        for r in readings {
            groups.insert(r.group.clone(), Some(r));
        }
        for (group, reading) in groups {
            let key = (rule.name.clone(), group.clone());
            let prev = inner.active.get(&key).cloned();
            let (next, t) = step(prev.as_ref(), reading, rule, now_ms);
            match &next {
                Some(a) => inner.active.insert(key, a.clone()),
                None => inner.active.remove(&key),
            };
            let Some(t) = t else { continue };
            let shown = next.as_ref().or(prev.as_ref());
            let value = reading.map_or(f64::NAN, |r| r.value);
            let silenced = inner.silences.values().any(|s| {
                let mut tags = group.clone();
                tags.insert("rule".into(), rule.name.clone());
                s.matches(&rule.name, &tags, now_ms)
            });
            let e = alert_event(rule, &group, t, value, shown, silenced, now_ms);
            rep.transitions.push(e.clone());
            if matches!(t, Transition::Firing | Transition::Resolved) {
                if silenced {
                    rep.silenced += 1;
                } else {
                    rep.notified.push(e);
                }
            }
        }
    }

    /// Hands check results and keepalive changes newer than the last
    /// evaluation to the handlers.
    fn pass_through(
        &self,
        inner: &mut Inner,
        now_ms: i64,
        rep: &mut EvalReport,
    ) -> Result<(), AlertError> {
        let Some(from) = inner.cursor.replace(now_ms) else {
            return Ok(());
        };
        if from >= now_ms {
            return Ok(());
        }
        let q = EventQuery {
            start_ms: from,
            end_ms: now_ms,
            kinds: vec!["check".into(), "keepalive".into()],
            agent: None,
            filters: Vec::new(),
            limit: EVENTS_LIMIT,
        };
        let mut evs = self.store.events(&q)?;
        evs.reverse();
        for e in evs {
            self.dispatcher.dispatch(&e, &[]);
            rep.notified.push(e);
        }
        Ok(())
    }
}

fn alert_event(
    rule: &Rule,
    group: &Tags,
    t: Transition,
    value: f64,
    active: Option<&Active>,
    silenced: bool,
    now_ms: i64,
) -> Event {
    let mut tags = group.clone();
    tags.insert("rule".into(), rule.name.clone());
    tags.insert("state".into(), t.name().into());
    tags.insert(
        "value".into(),
        if value.is_finite() {
            value.to_string()
        } else {
            String::new()
        },
    );
    if silenced {
        tags.insert("silenced".into(), "true".into());
    }
    let mut body = json!({
        "rule": rule.name,
        "state": t.name(),
        "group": group,
        "value": if value.is_finite() { json!(value) } else { json!(null) },
        "since_ms": active.map_or(now_ms, |a| a.since_ms),
        "fired_ms": active.map_or(0, |a| a.fired_ms),
        "acknowledged_by": active.and_then(|a| a.acknowledged_by.clone()),
        "silenced": silenced,
        "description": rule.description,
        "condition": rule.condition,
    });
    if t == Transition::Firing && !rule.actions.is_empty() {
        body["actions"] = json!(rule.actions);
    }
    Event {
        ts_ms: now_ms,
        agent: group.get("host").cloned().unwrap_or_default(),
        kind: "alert".into(),
        tags,
        body,
    }
}

fn restore_config(inner: &mut Inner, obj: &str, name: &str, body: Option<serde_json::Value>) {
    let Some(body) = body else {
        match obj {
            "rule" => {
                inner.rules.remove(name);
            }
            "handler" => {
                inner.handlers.remove(name);
            }
            "silence" => {
                inner.silences.remove(name);
            }
            _ => {}
        }
        return;
    };
    let ok = match obj {
        "rule" => serde_json::from_value::<Rule>(body)
            .map(|r| inner.rules.insert(name.into(), r))
            .is_ok(),
        "handler" => serde_json::from_value::<Handler>(body)
            .map(|h| inner.handlers.insert(name.into(), h))
            .is_ok(),
        "silence" => serde_json::from_value::<Silence>(body)
            .map(|s| inner.silences.insert(name.into(), s))
            .is_ok(),
        _ => true,
    };
    if !ok {
        eprintln!("sonde-server: stored alert {obj} '{name}' cannot be read; skipped");
    }
}

/// The alerts pending or firing at the last evaluation before a restart
/// (the latest `alert` event per rule and group).
fn restore_active(store: &dyn Store, inner: &mut Inner) -> Result<(), AlertError> {
    let mut seen = std::collections::BTreeSet::new();
    for e in store.events(&all_events("alert"))? {
        let b = &e.body;
        let (Some(rule), Some(state)) = (b["rule"].as_str(), b["state"].as_str()) else {
            continue;
        };
        let group: Tags = serde_json::from_value(b["group"].clone()).unwrap_or_default();
        if !seen.insert((rule.to_string(), group.clone())) || !inner.rules.contains_key(rule) {
            continue;
        }
        let phase = match state {
            "pending" => Phase::Pending,
            "firing" => Phase::Firing,
            _ => continue,
        };
        let a = Active {
            rule: rule.into(),
            group: group.clone(),
            phase,
            since_ms: b["since_ms"].as_i64().unwrap_or(e.ts_ms),
            fired_ms: b["fired_ms"].as_i64().unwrap_or(0),
            value: b["value"].as_f64().unwrap_or(f64::NAN),
            acknowledged_by: b["acknowledged_by"].as_str().map(String::from),
        };
        inner.active.insert((rule.to_string(), group), a);
    }
    Ok(())
}

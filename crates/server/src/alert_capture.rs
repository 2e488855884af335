//! Capture on alert: a rule's `{"capture": {"seconds_before": N,
//! "seconds_after": M}}` action asks the agents of the alert's hosts for
//! their flight recorders' seconds around the moment it fired (through
//! [`crate::captures`]); the capture events carry the rule and the
//! alert's group as tags, so the alert's timeline finds its files.
//! The hosts in scope: the group's `host` tag, else the hosts (`host` or
//! `host.hostname`) of the rule's metric series matching the group (a service's pods on several
//! hosts each get asked), mapped from the series' host names to agent ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use sonde_store::{Event, TagFilter};

use crate::captures::CaptureRequest;
use crate::serve::AppState;

/// A series' host: its `host` tag, else `host.hostname` (the agent's
/// samples carry the latter).
pub fn host_tag(t: &sonde_store::Tags) -> Option<&String> {
    t.get("host").or_else(|| t.get("host.hostname"))
}

/// The capture action of a firing alert event, if its rule has one.
fn action(ev: &Event) -> Option<(f64, f64)> {
    let actions = ev.body.get("actions")?.as_array()?;
    actions.iter().find_map(|a| {
        let c = a.get("capture")?;
        let num = |k: &str, d: f64| c.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
        Some((num("seconds_before", 10.0), num("seconds_after", 5.0)))
    })
}

/// The agents the alert `ev` concerns.
fn agents(st: &AppState, ev: &Event) -> Vec<String> {
    let mut hosts = BTreeSet::new();
    if let Some(h) = ev.tags.get("host") {
        hosts.insert(h.clone());
    } else if let Some(metric) = ev
        .body
        .pointer("/condition/metric/metric")
        .and_then(|m| m.as_str())
    {
        // the group's tags (all but the alert's own) select the series
        let own = ["rule", "state", "value", "silenced"];
        let filters: Vec<TagFilter> = ev
            .tags
            .iter()
            .filter(|(k, _)| !own.contains(&k.as_str()))
            .map(|(k, v)| TagFilter::Eq(k.clone(), v.clone()))
            .collect();
        let to = ev.ts_ms + 1;
        if let Ok(series) = st.store.series(Some(metric), &filters, to - 600_000, to) {
            hosts.extend(
                series
                    .into_iter()
                    .filter_map(|(_, t)| host_tag(&t).cloned()),
            );
        }
    }
    hosts.into_iter().map(|h| st.agent_of_host(&h)).collect()
}

/// Asks for the captures the firing alerts among `transitions` call for.
pub fn on_transitions(st: &Arc<AppState>, transitions: &[Event]) {
    for ev in transitions {
        if ev.kind != "alert" || ev.tags.get("state").map(String::as_str) != Some("firing") {
            continue;
        }
        let Some((before_s, after_s)) = action(ev) else {
            continue;
        };
        let rule = ev.tags.get("rule").cloned().unwrap_or_default();
        let mut labels = ev.tags.clone();
        labels.remove("state");
        labels.remove("value");
        labels.insert("alert_ts_ms".into(), ev.ts_ms.to_string());
        for agent in agents(st, ev) {
            let req = CaptureRequest {
                host: agent.clone(),
                before_s: before_s.clamp(0.0, 600.0),
                after_s: after_s.clamp(0.0, 600.0),
                reason: format!("alert {rule}"),
                labels: labels.clone(),
            };
            let r = st
                .captures
                .request(&req, crate::now_ms())
                .map_err(|e| e.1)
                .and_then(|(_, e)| st.store_own_events(&[e]).map_err(|e| e.to_string()));
            if let Err(e) = r {
                eprintln!("sonde-server: capture for alert '{rule}' on '{agent}': {e}");
            }
        }
    }
}

//! Rule evaluation over a real DuckStore fed with synthetic samples and
//! events, with a test clock (`evaluate(now)`): an alert fires only after
//! `for`, resolves, one alert per group, a silence holds back the
//! notification but not the record, rules and active alerts survive a
//! restart, host-silent and check-critical rules, and bad rules.

mod common;

use common::*;
use serde_json::json;
use sonde_alerts::{AlertError, Alerts, Phase, Rule, Silence};
use sonde_store::Store;

const MS: u64 = 1_000_000;

fn p95_rule(for_ms: i64) -> Rule {
    serde_json::from_value(json!({
        "name": "slow-service",
        "condition": {"metric": {
            "metric": "http.latency", "group_by": ["service"],
            "time_agg": {"quantile": 0.95}, "group_agg": "merge",
            "window_ms": 30_000, "op": ">", "threshold": 500e6}},
        "for_ms": for_ms,
        "actions": [{"capture": {"seconds_before": 10}}],
    }))
    .unwrap()
}

/// api is slow (800 ms) from t0 to t0+120 s, then fast; db is slow from
/// t0+40 s on; web is always fast. Two pods per service.
fn feed(store: &dyn Store, t0: i64) {
    for s in 0..240 {
        let ts = t0 + s * 1000;
        let mut batch = Vec::new();
        for pod in ["a", "b"] {
            let api = if s < 120 { 800 * MS } else { 100 * MS };
            let db = if s >= 40 { 900 * MS } else { 50 * MS };
            batch.push(latency(ts, &[("service", "api"), ("pod", pod)], api, 10));
            batch.push(latency(ts, &[("service", "db"), ("pod", pod)], db, 10));
            batch.push(latency(
                ts,
                &[("service", "web"), ("pod", pod)],
                100 * MS,
                10,
            ));
        }
        store.write_batch("h1", s as u64 + 1, &batch, &[]).unwrap();
    }
}

fn transitions(a: &Alerts, t0: i64, until_s: i64) -> Vec<(i64, String, String)> {
    let mut out = Vec::new();
    for s in (10..=until_s).step_by(10) {
        let rep = a.evaluate(t0 + s * 1000).unwrap();
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        for e in rep.transitions {
            out.push((s, e.tags["service"].clone(), e.tags["state"].clone()));
        }
    }
    out
}

#[test]
fn fires_after_for_resolves_and_groups() {
    let store = store();
    let t0 = t0();
    feed(store.as_ref(), t0);
    let a = Alerts::new(store.clone(), writer(&store), vec![]).unwrap();
    assert!(a.put_rule(p95_rule(60_000)).unwrap());
    let got = transitions(&a, t0, 200);
    let want: Vec<(i64, String, String)> = [
        (10, "api", "pending"),
        // db's window [t-30 s, t) first holds only slow seconds' p95 > 500 ms
        // once more than 5% of its values are slow: at t0+50 s
        (50, "db", "pending"),
        (70, "api", "firing"),
        (110, "db", "firing"),
        // api is fast from 120 s: its p95 over [t-30, t) drops below 500 ms
        // once at most 5% of the window is slow: 150 s
        (150, "api", "resolved"),
    ]
    .iter()
    .map(|(s, g, st)| (*s, g.to_string(), st.to_string()))
    .collect();
    assert_eq!(got, want);
    // web never: one alert per group, only the groups that hold
    let active = a.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].group["service"], "db");
    assert_eq!(active[0].phase, Phase::Firing);
    assert!(active[0].value >= 900e6 * 0.94, "{}", active[0].value);
    // history from the store, newest first
    let h = a
        .history(Some("slow-service"), None, 0, i64::MAX, 100)
        .unwrap();
    assert_eq!(h.len(), 5);
    assert_eq!(h[0].tags["state"], "resolved");
    assert_eq!(h[0].tags["service"], "api");
    let firing = a.history(None, Some("firing"), 0, i64::MAX, 100).unwrap();
    assert_eq!(firing.len(), 2);
    assert_eq!(
        firing[0].body["actions"][0]["capture"]["seconds_before"],
        10
    );
    assert_eq!(firing[1].body["since_ms"], t0 + 10_000);
}

#[test]
fn fires_only_after_for() {
    let store = store();
    let t0 = t0();
    feed(store.as_ref(), t0);
    let a = Alerts::new(store.clone(), writer(&store), vec![]).unwrap();
    a.put_rule(p95_rule(60_000)).unwrap();
    // t0+10 s: pending; at t0+69 s still pending; t0+70 s: firing
    let rep = a.evaluate(t0 + 10_000).unwrap();
    assert_eq!(rep.transitions[0].tags["state"], "pending");
    assert!(rep.notified.is_empty(), "pending is not notified");
    let api = |rep: &sonde_alerts::EvalReport| -> Vec<String> {
        rep.transitions
            .iter()
            .filter(|e| e.tags["service"] == "api")
            .map(|e| e.tags["state"].clone())
            .collect()
    };
    assert!(api(&a.evaluate(t0 + 69_000).unwrap()).is_empty());
    let rep = a.evaluate(t0 + 70_000).unwrap();
    assert_eq!(api(&rep), ["firing"]);
    assert_eq!(rep.notified.len(), 1);
    assert_eq!(rep.notified[0].tags["service"], "api");
    // for 0: fires at once
    let mut r = p95_rule(0);
    r.name = "at-once".into();
    a.put_rule(r).unwrap();
    let rep = a.evaluate(t0 + 71_000).unwrap();
    let states: Vec<&str> = rep
        .transitions
        .iter()
        .map(|e| e.tags["state"].as_str())
        .collect();
    assert_eq!(states, ["firing", "firing"], "api and db at once");
}

#[test]
fn silence_holds_back_notification_not_the_record() {
    let store = store();
    let t0 = t0();
    feed(store.as_ref(), t0);
    let a = Alerts::new(store.clone(), writer(&store), vec![]).unwrap();
    a.put_rule(p95_rule(0)).unwrap();
    let s: Silence = serde_json::from_value(json!({
        "rule": "slow-service", "matchers": [{"eq": ["service", "db"]}],
        "until_ms": t0 + 100_000, "comment": "db maintenance"}))
    .unwrap();
    let id = a.put_silence(s).unwrap();
    let rep = a.evaluate(t0 + 60_000).unwrap();
    assert_eq!(rep.transitions.len(), 2, "api and db both fire");
    assert_eq!(rep.silenced, 1);
    assert_eq!(rep.notified.len(), 1);
    assert_eq!(rep.notified[0].tags["service"], "api");
    let db = rep
        .transitions
        .iter()
        .find(|e| e.tags["service"] == "db")
        .unwrap();
    assert_eq!(db.tags["silenced"], "true");
    assert_eq!(a.silences(t0).len(), 1);
    assert!(a.silences(t0 + 100_000).is_empty(), "expired");
    a.delete_silence(&id).unwrap();
    assert!(matches!(
        a.delete_silence(&id),
        Err(AlertError::NotFound(_))
    ));
}

#[test]
fn rules_and_alerts_survive_a_restart_and_ack() {
    let store = store();
    let t0 = t0();
    feed(store.as_ref(), t0);
    let w = writer(&store);
    {
        let a = Alerts::new(store.clone(), w.clone(), vec![]).unwrap();
        a.put_rule(p95_rule(60_000)).unwrap();
        let mut gone = p95_rule(0);
        gone.name = "gone".into();
        a.put_rule(gone).unwrap();
        a.delete_rule("gone").unwrap();
        a.evaluate(t0 + 10_000).unwrap();
        a.evaluate(t0 + 70_000).unwrap();
        let g = tags(&[("service", "api")]);
        let acked = a
            .acknowledge("slow-service", &g, "alice", t0 + 71_000)
            .unwrap();
        assert_eq!(acked.acknowledged_by.as_deref(), Some("alice"));
        assert!(a
            .acknowledge("slow-service", &tags(&[("service", "web")]), "x", 0)
            .is_err());
    }
    let a = Alerts::new(store.clone(), w, vec![]).unwrap();
    assert_eq!(a.rules().len(), 1, "the deleted rule stays deleted");
    assert_eq!(a.rule("slow-service").unwrap(), p95_rule(60_000));
    let act = a.active();
    assert_eq!(act.len(), 2);
    assert_eq!(act[0].group["service"], "api");
    assert_eq!(
        (act[0].phase, act[0].since_ms),
        (Phase::Firing, t0 + 10_000)
    );
    assert_eq!(act[0].acknowledged_by, None, "acks are not restored");
    assert_eq!(
        (act[1].phase, act[1].since_ms),
        (Phase::Pending, t0 + 70_000)
    );
    // no second 'firing' of api after the restart; db's 'for' counts from before it
    let rep = a.evaluate(t0 + 80_000).unwrap();
    assert!(rep.transitions.is_empty(), "{:?}", rep.transitions);
    let rep = a.evaluate(t0 + 130_000).unwrap();
    let states: Vec<String> = rep
        .transitions
        .iter()
        .map(|e| format!("{}:{}", e.tags["service"], e.tags["state"]))
        .collect();
    assert_eq!(states, ["db:firing"]);
    let rep = a.evaluate(t0 + 150_000).unwrap();
    assert!(rep
        .transitions
        .iter()
        .any(|e| e.tags["service"] == "api" && e.tags["state"] == "resolved"));
}

#[test]
fn host_silent_and_check_critical() {
    let store = store();
    let t0 = t0();
    let ev = |kind: &str, s: i64, t: &[(&str, &str)]| event(kind, t0 + s * 1000, t);
    store
        .write_batch(
            "h1",
            1,
            &[],
            &[
                ev("keepalive", 0, &[("host", "h1"), ("status", "silent")]),
                ev("keepalive", 5, &[("host", "h2"), ("status", "silent")]),
                ev(
                    "check",
                    0,
                    &[("host", "h1"), ("check", "disk"), ("status", "ok")],
                ),
                ev(
                    "check",
                    10,
                    &[("host", "h1"), ("check", "disk"), ("status", "critical")],
                ),
                ev(
                    "check",
                    10,
                    &[("host", "h2"), ("check", "disk"), ("status", "warning")],
                ),
            ],
        )
        .unwrap();
    let a = Alerts::new(store.clone(), writer(&store), vec![]).unwrap();
    a.put_rule(
        serde_json::from_value(json!({"name": "silent",
        "condition": {"host_silent": {"seconds": 30, "filters": [{"eq": ["host", "h1"]}]}}}))
        .unwrap(),
    )
    .unwrap();
    a.put_rule(
        serde_json::from_value(json!({"name": "disk",
        "condition": {"check_critical": {"check": "disk"}}}))
        .unwrap(),
    )
    .unwrap();
    let states = |rep: sonde_alerts::EvalReport| -> Vec<String> {
        rep.transitions
            .iter()
            .map(|e| format!("{}:{}:{}", e.tags["rule"], e.tags["host"], e.tags["state"]))
            .collect()
    };
    assert_eq!(
        states(a.evaluate(t0 + 5_000).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(states(a.evaluate(t0 + 11_000).unwrap()), ["disk:h1:firing"]);
    assert_eq!(
        states(a.evaluate(t0 + 29_000).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        states(a.evaluate(t0 + 30_000).unwrap()),
        ["silent:h1:firing"],
        "h2 is filtered out"
    );
    store
        .write_batch(
            "h1",
            2,
            &[],
            &[
                ev("keepalive", 40, &[("host", "h1"), ("status", "ok")]),
                ev(
                    "check",
                    40,
                    &[("host", "h1"), ("check", "disk"), ("status", "ok")],
                ),
            ],
        )
        .unwrap();
    let mut got = states(a.evaluate(t0 + 41_000).unwrap());
    got.sort();
    assert_eq!(got, ["disk:h1:resolved", "silent:h1:resolved"]);
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    let store = store();
    let a = Alerts::new(store.clone(), writer(&store), vec![]).unwrap();
    let bad = |v: serde_json::Value, want: &str| {
        let r: Rule = match serde_json::from_value(v) {
            Ok(r) => r,
            Err(e) => {
                assert!(e.to_string().contains(want), "{e} lacks {want}");
                return;
            }
        };
        let e = a.put_rule(r).unwrap_err().to_string();
        assert!(e.contains(want), "{e} lacks {want}");
    };
    let m = |extra: serde_json::Value| {
        let mut c = json!({"metric": "x", "time_agg": "avg", "group_agg": "avg", "op": ">", "threshold": 1});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        json!({"name": "r", "condition": {"metric": c}})
    };
    bad(
        json!({"name": "a b", "condition": {"check_critical": {}}}),
        "rule name 'a b'",
    );
    bad(m(json!({"time_agg": "merge"})), "metric.time_agg");
    bad(m(json!({"group_agg": "rate"})), "metric.group_agg");
    bad(m(json!({"time_agg": {"quantile": 1.5}})), "quantile 1.5");
    bad(m(json!({"window_ms": 0})), "metric.window_ms");
    bad(m(json!({"group_by": ["state"]})), "metric.group_by");
    bad(
        m(json!({"filters": [{"re": ["host", "("]}]})),
        "invalid regex",
    );
    bad(m(json!({"op": "~"})), "unknown variant");
    bad(
        json!({"name": "r", "condition": {"host_silent": {"seconds": 0}}}),
        "host_silent.seconds",
    );
    bad(
        json!({"name": "r", "condition": {"check_critical": {}}, "for_ms": -1}),
        "for_ms",
    );
    bad(
        json!({"name": "r", "condition": {"check_critical": {}}, "bogus": 1}),
        "unknown field",
    );
    assert!(a.rules().is_empty());
    let s: Silence = serde_json::from_value(json!({"until_ms": 1})).unwrap();
    assert!(a
        .put_silence(s)
        .unwrap_err()
        .to_string()
        .contains("needs a 'rule' or 'matchers'"));
}

//! Handlers against real components: a webhook to a local HTTP listener
//! (JSON and Slack bodies, headers), a TCP listener, a real command (pipe
//! writes a file; a tag is data, never a shell word; a timeout kills),
//! failures counted and kept out of the caller's way (a full queue
//! drops, never blocks), occurrences and refresh, secrets never shown,
//! and an alert firing through the engine to a webhook.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use sonde_alerts::deliver::{send, Dispatcher};
use sonde_alerts::{Alerts, Handler, Rule};
use sonde_store::Event;

fn handler(v: serde_json::Value) -> Handler {
    let h: Handler = serde_json::from_value(v).unwrap();
    h.validate().unwrap();
    h
}

fn check(ts_ms: i64, status: &str) -> Event {
    event(
        "check",
        ts_ms,
        &[("host", "h1"), ("check", "disk"), ("status", status)],
    )
}

fn stats(d: &Dispatcher, name: &str) -> sonde_alerts::deliver::Stats {
    d.list()
        .into_iter()
        .find(|(h, _)| h.name == name)
        .unwrap()
        .1
}

#[test]
fn webhook_json_and_slack() {
    let (url, rx) = http_listener(200);
    let d = Dispatcher::default();
    d.set(handler(
        json!({"name": "hook", "type": "webhook", "url": format!("{url}/hook?token=s3cret"),
        "headers": {"Authorization": "Bearer hdr-s3cret"}}),
    ));
    d.set(handler(
        json!({"name": "chat", "type": "webhook", "url": format!("{url}/slack"), "format": "slack",
        "filters": {"kinds": ["check"], "states": ["critical"]}}),
    ));
    assert_eq!(d.dispatch(&check(1000, "critical"), &[]), 2);
    let mut got: Vec<_> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    got.sort();
    let (path, head, body) = &got[0];
    assert_eq!(path, "/hook?token=s3cret");
    assert!(head.contains("authorization: bearer hdr-s3cret"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let e: Event = serde_json::from_str(body).unwrap();
    assert_eq!(e, check(1000, "critical"));
    let (path, _, body) = &got[1];
    assert_eq!(path, "/slack");
    let j: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(j, json!({"text": "[CRITICAL] check disk on h1"}));
    // 'ok' passes the first handler's filters only
    assert_eq!(d.dispatch(&check(2000, "ok"), &[]), 1);
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    wait_until("3 delivered", || {
        stats(&d, "hook").delivered + stats(&d, "chat").delivered == 3
    });
    // shown without secrets
    let shown = serde_json::to_string(&d.list()).unwrap();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("http://127.0.0.1"), "{shown}");
}

#[test]
fn webhook_failures_are_counted_and_keep_their_secrets() {
    let (url, rx) = http_listener(500);
    let d = Dispatcher::default();
    d.set(handler(
        json!({"name": "bad", "type": "webhook", "url": format!("{url}/x?token=s3cret")}),
    ));
    d.dispatch(&check(1000, "critical"), &[]);
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    wait_until("failed", || stats(&d, "bad").failed == 1);
    assert!(stats(&d, "bad").failing);
    // nobody listening: the error does not carry the URL's token or the header
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = handler(
        json!({"name": "gone", "type": "webhook", "timeout_ms": 2000,
        "url": format!("http://127.0.0.1:{port}/x?token=s3cret"), "headers": {"X-Key": "hdr-s3cret"}}),
    );
    let err = send(&h, &check(1, "ok")).unwrap_err();
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn tcp_writes_a_json_line() {
    let (addr, rx) = tcp_listener();
    let d = Dispatcher::default();
    d.set(handler(
        json!({"name": "sock", "type": "tcp", "address": addr}),
    ));
    d.dispatch(&check(1000, "critical"), &[]);
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let e: Event = serde_json::from_str(&line).unwrap();
    assert_eq!(e, check(1000, "critical"));
}

#[test]
fn pipe_writes_a_file_and_a_tag_is_never_a_shell_word() {
    let dir = std::env::temp_dir().join(format!("sonde-alerts-pipe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("event.json");
    let pwned = dir.join("pwned");
    let h =
        handler(json!({"name": "tee", "type": "pipe", "command": ["tee", out.to_str().unwrap()]}));
    let mut e = check(1000, "critical");
    let evil = format!("$(touch {}); `touch {}`", pwned.display(), pwned.display());
    e.tags.insert("check".into(), evil.clone());
    send(&h, &e).unwrap();
    let written: Event =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_eq!(written.tags["check"], evil);
    assert!(!pwned.exists(), "a tag ran as a command");
    // a failing command and one that outlives its timeout
    let f = handler(json!({"name": "f", "type": "pipe", "command": ["false"]}));
    assert!(send(&f, &e).unwrap_err().contains("exited"));
    let slow = handler(
        json!({"name": "slow", "type": "pipe", "command": ["sleep", "30"], "timeout_ms": 200}),
    );
    let t = Instant::now();
    assert!(send(&slow, &e).unwrap_err().contains("killed after 200 ms"));
    assert!(t.elapsed() < Duration::from_secs(5));
    let missing = handler(json!({"name": "m", "type": "pipe", "command": ["/nonexistent/cmd"]}));
    assert!(send(&missing, &e).unwrap_err().contains("cannot run"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_queue_drops_and_never_blocks() {
    let d = Dispatcher::default();
    d.set(handler(
        json!({"name": "slow", "type": "pipe", "command": ["sleep", "1"], "timeout_ms": 2000}),
    ));
    let t = Instant::now();
    for i in 0..1000 {
        d.dispatch(&check(i, "critical"), &[]);
    }
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let s = stats(&d, "slow");
    assert!(s.dropped >= 1000 - 257, "{s:?}");
}

#[test]
fn occurrences_and_refresh() {
    let (addr, rx) = tcp_listener();
    let d = Dispatcher::default();
    d.set(handler(json!({"name": "t", "type": "tcp", "address": addr,
        "filters": {"occurrences": 3, "refresh_ms": 60_000}})));
    // the third critical in a row, then not again within a minute
    let n: usize = [0, 10, 20, 30, 40, 50]
        .iter()
        .map(|s| d.dispatch(&check(s * 1000, "critical"), &[]))
        .sum();
    assert_eq!(n, 1);
    let e: Event =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(e.ts_ms, 20_000);
    assert_eq!(
        d.dispatch(&check(80_000, "critical"), &[]),
        1,
        "a minute later"
    );
    // flapping: a state change restarts the count
    assert_eq!(d.dispatch(&check(81_000, "ok"), &[]), 0);
    assert_eq!(d.dispatch(&check(82_000, "critical"), &[]), 0);
    // another subject has its own count
    let mut other = check(83_000, "critical");
    other.tags.insert("host".into(), "h2".into());
    assert_eq!(d.dispatch(&other, &[]), 0);
}

#[test]
fn bad_handlers_are_refused() {
    for (v, want) in [
        (
            json!({"name": "a", "type": "webhook", "url": "ftp://x"}),
            "http:// or https://",
        ),
        (
            json!({"name": "a", "type": "tcp", "address": "nohost"}),
            "host:port",
        ),
        (
            json!({"name": "a", "type": "pipe", "command": []}),
            "needs a program",
        ),
        (
            json!({"name": "a", "type": "pipe", "command": ["x"], "timeout_ms": 0}),
            "timeout_ms",
        ),
        (
            json!({"name": "a", "type": "webhook", "url": "http://x/", "headers": {"a b": "c"}}),
            "header 'a b'",
        ),
        (
            json!({"name": "a/b", "type": "tcp", "address": "x:1"}),
            "handler name",
        ),
    ] {
        let h: Handler = serde_json::from_value(v).unwrap();
        let e = h.validate().unwrap_err().to_string();
        assert!(e.contains(want), "{e} lacks {want}");
    }
}

#[test]
fn an_alert_fires_through_the_engine_to_its_handler_only() {
    let store = store();
    let t0 = t0();
    for s in 0..30 {
        let b = [gauge(
            "cpu.used.percent",
            t0 + s * 1000,
            &[("host", "h1")],
            97.0,
        )];
        store.write_batch("h1", s as u64 + 1, &b, &[]).unwrap();
    }
    let (url, rx) = http_listener(200);
    let (addr, trx) = tcp_listener();
    let hook = handler(json!({"name": "hook", "type": "webhook", "url": url, "format": "slack"}));
    let a = Alerts::new(store.clone(), writer(&store), vec![hook]).unwrap();
    a.put_handler(handler(
        json!({"name": "other", "type": "tcp", "address": addr, "filters": {"kinds": ["alert"]}}),
    ))
    .unwrap();
    let r: Rule = serde_json::from_value(json!({"name": "cpu", "handlers": ["hook"],
        "condition": {"metric": {"metric": "cpu.used.percent", "group_by": ["host"], "time_agg": "avg",
        "group_agg": "max", "window_ms": 10_000, "op": ">=", "threshold": 95}}})).unwrap();
    a.put_rule(r).unwrap();
    let rep = a.evaluate(t0 + 20_000).unwrap();
    assert_eq!(rep.notified.len(), 1);
    let (_, _, body) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j, json!({"text": "[FIRING] alert cpu host=h1 (value 97)"}));
    assert!(
        trx.recv_timeout(Duration::from_millis(500)).is_err(),
        "the rule names only 'hook'"
    );
    // check results reach every handler taking them
    store
        .write_batch("h1", 100, &[], &[check(t0 + 25_000, "critical")])
        .unwrap();
    a.evaluate(t0 + 30_000).unwrap();
    let (_, _, body) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(body.contains("[CRITICAL] check disk on h1"), "{body}");
    assert!(
        trx.recv_timeout(Duration::from_millis(500)).is_err(),
        "'other' takes alerts only"
    );
    let names: Vec<String> = a.handlers().into_iter().map(|(h, _)| h.name).collect();
    assert_eq!(names, ["hook", "other"]);
}

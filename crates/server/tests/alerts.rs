//! Alerts through the real `sonde-server`: handlers declared in the
//! `--alerts-config` file, a rule created over REST, data fed through the
//! real ingest path, the alert pending then firing and its webhook
//! called (a real local HTTP listener), resolving when the data cools,
//! silences, acknowledgement, history, rules surviving a restart, bad
//! rules refused with 400 and requests without an API token with 401.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value as J};

/// A local HTTP listener answering 200; sends (path, body) on.
fn webhook_listener() -> (String, Receiver<(String, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let (mut line, mut len, mut path) = (String::new(), 0usize, String::new());
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if path.is_empty() {
                    path = line.split(' ').nth(1).unwrap_or("").to_string();
                }
                line.clear();
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((path, String::from_utf8(body).unwrap()));
        }
    });
    (format!("http://{addr}"), rx)
}

fn start(pki: &Pki, port: u16, dir: &std::path::Path, config: &std::path::Path) -> Server {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.arg("--alerts-config").arg(config);
    Server::start_with(cmd, pki, port, &dir.join("data"))
}

fn status(s: &Server, method: &str, path: &str, body: Option<&J>) -> u16 {
    let b = body.map(J::to_string).unwrap_or_default();
    s.try_req(
        method,
        path,
        Some(API_TOKEN),
        Some(("application/json", b.as_bytes())),
    )
    .unwrap()
    .0
}

/// Feeds h1 at `hot` and h2 at 10 (cpu.used.percent) each 250 ms until
/// `done` says so (or 40 s pass).
fn feed_until(
    s: &Server,
    seq: &mut u64,
    hot: f64,
    what: &str,
    mut done: impl FnMut(&Server) -> bool,
) {
    let t0 = Instant::now();
    loop {
        let t = now_s();
        *seq += 1;
        let recs = vec![
            gauge("cpu.used.percent", t, &[("host", "h1")], hot),
            gauge("cpu.used.percent", t, &[("host", "h2")], 10.0),
        ];
        let (st, b) = s.ingest(&batch("h1", *seq, t, recs));
        assert_eq!(st, 200, "{b}");
        if done(s) {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(40), "never: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn active(s: &Server) -> Vec<J> {
    let (st, j) = s.get("/api/v1/alerts");
    assert_eq!(st, 200, "{j}");
    j["alerts"].as_array().unwrap().clone()
}

/// 401 without an API token; 400 with a reason for bad rules.
fn refuses_bad_requests(s: &Server, rule: &J) {
    // no token, or an agent's: 401
    for tok in [None, Some(AGENT_TOKEN)] {
        let (st, _) = s.req("GET", "/api/v1/alerts/rules", tok, None);
        assert_eq!(st, 401);
        let (st, _) = s.req(
            "POST",
            "/api/v1/alerts/rules",
            tok,
            Some(("application/json", b"{}")),
        );
        assert_eq!(st, 401);
    }
    // bad rules: 400 with a reason
    let mut bad = rule.clone();
    bad["condition"]["metric"]["time_agg"] = json!({"quantile": 2});
    let (st, j) = s.post_json("/api/v1/alerts/rules", &bad);
    assert_eq!(
        (st, j["error"].as_str().unwrap().contains("quantile 2")),
        (400, true),
        "{j}"
    );
    let (st, j) = s.req(
        "POST",
        "/api/v1/alerts/rules",
        Some(API_TOKEN),
        Some(("application/json", b"{nope")),
    );
    assert_eq!(
        (st, j["error"].as_str().unwrap().starts_with("not a rule")),
        (400, true),
        "{j}"
    );
    assert_eq!(
        status(s, "PUT", "/api/v1/alerts/rules/other", Some(rule)),
        400,
        "name differs"
    );
    let mut bad = rule.clone();
    bad["handlers"] = json!(["no such/name"]);
    assert_eq!(s.post_json("/api/v1/alerts/rules", &bad).0, 400);
}

/// Acknowledges h1's alert; a silence is listed, then removed.
fn ack_and_silence(s: &Server) {
    // acknowledge; a silence (listed, then removed)
    let (st, a) = s.post_json(
        "/api/v1/alerts/ack",
        &json!({"rule": "hot-cpu", "group": {"host": "h1"}, "by": "alice"}),
    );
    assert_eq!(
        (st, a["acknowledged_by"].as_str()),
        (200, Some("alice")),
        "{a}"
    );
    assert_eq!(
        s.post_json(
            "/api/v1/alerts/ack",
            &json!({"rule": "hot-cpu", "group": {"host": "h9"}})
        )
        .0,
        404
    );
    let until = (now_s() + 600) * 1000;
    let (st, sil) = s.post_json(
        "/api/v1/alerts/silences",
        &json!({"rule": "hot-cpu", "until_ms": until}),
    );
    assert_eq!(st, 201, "{sil}");
    assert_eq!(
        s.get("/api/v1/alerts/silences").1["silences"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let id = sil["id"].as_str().unwrap();
    assert_eq!(
        status(s, "DELETE", &format!("/api/v1/alerts/silences/{id}"), None),
        204
    );
    assert_eq!(
        s.post_json("/api/v1/alerts/silences", &json!({"until_ms": until}))
            .0,
        400
    );
}

#[test]
fn a_rule_made_over_rest_fires_and_calls_its_webhook() {
    let dir = tmpdir("alerts");
    let pki = pki(&dir);
    let (url, hooks) = webhook_listener();
    let config = dir.join("alerts.json");
    let cfg = json!({"interval_s": 1, "delay_ms": 0, "handlers": [
        {"name": "hook", "type": "webhook", "url": format!("{url}/hook?token=s3cret"),
         "filters": {"kinds": ["alert"]}}]});
    std::fs::write(&config, cfg.to_string()).unwrap();
    let port = free_port();
    let mut s = start(&pki, port, &dir, &config);

    let rule = json!({"name": "hot-cpu", "for_ms": 2000, "handlers": ["hook"],
        "condition": {"metric": {"metric": "cpu.used.percent", "group_by": ["host"],
            "time_agg": "avg", "group_agg": "max", "window_ms": 3000, "op": ">", "threshold": 90}}});
    refuses_bad_requests(&s, &rule);

    // create, conflict, list, get
    let (st, j) = s.post_json("/api/v1/alerts/rules", &rule);
    assert_eq!(st, 201, "{j}");
    assert_eq!(s.post_json("/api/v1/alerts/rules", &rule).0, 409);
    let (_, j) = s.get("/api/v1/alerts/rules");
    assert_eq!(j["rules"].as_array().unwrap().len(), 1);
    let (st, j) = s.get("/api/v1/alerts/rules/hot-cpu");
    assert_eq!(
        (st, &j["condition"]["metric"]["threshold"]),
        (200, &json!(90.0))
    );

    // hot data through the ingest path: pending, then firing after 2 s
    let mut seq = 0;
    let firing = |s: &Server| {
        active(s)
            .iter()
            .any(|a| a["group"]["host"] == "h1" && a["phase"] == "firing")
    };
    feed_until(&s, &mut seq, 97.0, "h1 firing", firing);
    assert!(
        active(&s).iter().all(|a| a["group"]["host"] == "h1"),
        "h2 stays quiet"
    );
    let (path, body) = hooks.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(path, "/hook?token=s3cret");
    let ev: J = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (ev["kind"].as_str(), ev["tags"]["state"].as_str()),
        (Some("alert"), Some("firing"))
    );
    assert_eq!(
        (ev["tags"]["rule"].as_str(), ev["tags"]["host"].as_str()),
        (Some("hot-cpu"), Some("h1"))
    );
    let (_, h) = s.get("/api/v1/alerts/history?rule=hot-cpu&state=pending");
    assert_eq!(h["events"].as_array().unwrap().len(), 1, "{h}");

    // the handler is shown without its token, with its counters
    let (_, hs) = s.get("/api/v1/alerts/handlers");
    assert!(!hs.to_string().contains("s3cret"), "{hs}");
    assert_eq!(hs["handlers"][0]["stats"]["delivered"], 1, "{hs}");

    ack_and_silence(&s);

    // cool data: resolved, and the webhook hears it
    feed_until(&s, &mut seq, 20.0, "resolved", |s| active(s).is_empty());
    let (_, body) = hooks.recv_timeout(Duration::from_secs(20)).unwrap();
    let ev: J = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["tags"]["state"], "resolved", "{ev}");

    // a handler over REST; everything survives a restart
    let tcp = json!({"name": "sock", "type": "tcp", "address": "127.0.0.1:9"});
    assert_eq!(s.post_json("/api/v1/alerts/handlers", &tcp).0, 201);
    assert_eq!(
        s.post_json(
            "/api/v1/alerts/handlers",
            &json!({"name": "x", "type": "tcp", "address": "x"})
        )
        .0,
        400
    );
    s.kill();
    let s = start(&pki, port, &dir, &config);
    let (st, j) = s.get("/api/v1/alerts/rules/hot-cpu");
    assert_eq!(st, 200, "{j}");
    assert_eq!(
        (&j["for_ms"], &j["handlers"]),
        (&json!(2000), &json!(["hook"]))
    );
    let (_, hs) = s.get("/api/v1/alerts/handlers");
    let names: Vec<&str> = hs["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hook", "sock"]);
    let (_, h) = s.get("/api/v1/alerts/history?rule=hot-cpu");
    let states: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tags"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["resolved", "firing", "pending"]);
    assert_eq!(
        status(&s, "DELETE", "/api/v1/alerts/rules/hot-cpu", None),
        204
    );
    assert_eq!(s.get("/api/v1/alerts/rules/hot-cpu").0, 404);
    assert_eq!(
        status(&s, "DELETE", "/api/v1/alerts/rules/hot-cpu", None),
        404
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! The web UI against the real `sonde-server` binary fed through the real
//! ingest path: the embedded files (content types, caching), users and
//! roles over the API (no session: 401; agent token: 401; viewer writes:
//! 403), then Playwright driving Debian's headless Chromium through login,
//! Explore (logical grouping, drill namespace > deployment > pod >
//! container), a dashboard with data drawn, Events, Hosts and the
//! topology map (hosts, every pod, namespaces, a namespace drilled into,
//! a deployment's pods: no two labels overlap), and a saved
//! dashboard (an editor makes one with two panels, a viewer opens its
//! link: the same panels, no save), saving a screenshot of each page
//! under target/ui-screenshots/; the dashboards API's rules.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::workload::Fleet;
use common::*;
use serde_json::json;

const ADMIN_PW: &str = "admin-pa55word";
const VIEWER_PW: &str = "viewer-pa55word";
const EDITOR_PW: &str = "editor-pa55word";

fn start(tag: &str) -> (Server, PathBuf) {
    let dir = tmpdir(tag);
    let pki = pki(&dir);
    let data = dir.join("data");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.env("SONDE_ADMIN_PASSWORD", ADMIN_PW);
    let s = Server::start_with(cmd, &pki, free_port(), &data);
    (s, dir)
}

fn raw(
    s: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    https_raw(
        &s.tls,
        s.port,
        method,
        path,
        headers,
        body.map(|b| ("application/json", b.as_bytes())),
    )
    .unwrap()
}

/// Logs in: the session cookie's `name=value`.
fn login(s: &Server, user: &str, pw: &str) -> String {
    let body = json!({"user": user, "password": pw}).to_string();
    let (st, head, b) = raw(s, "POST", "/api/v1/login", &[], Some(&body));
    assert_eq!(st, 200, "{b}");
    let set = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie in {head}"));
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    set.split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn ingest(s: &Server, f: &Fleet) {
    for (agent, b) in f.batches(10) {
        let (st, r) = s.ingest(&b);
        assert_eq!(st, 200, "{agent}: {r}");
    }
}

#[test]
fn assets_auth_and_roles() {
    let (s, dir) = start("webauth");
    // the embedded UI: index at /, hashed assets immutable, types right
    let (st, head, body) = raw(&s, "GET", "/", &[], None);
    assert_eq!(st, 200);
    let h = head.to_ascii_lowercase();
    assert!(h.contains("content-type: text/html"), "{head}");
    assert!(h.contains("cache-control: no-cache"), "{head}");
    let js = body
        .split('"')
        .find(|p| p.starts_with("/assets/") && p.ends_with(".js"))
        .unwrap_or_else(|| panic!("no script in {body}"))
        .to_string();
    let (st, head, js_body) = raw(&s, "GET", &js, &[], None);
    assert_eq!(st, 200);
    let h = head.to_ascii_lowercase();
    assert!(h.contains("content-type: text/javascript"), "{head}");
    assert!(h.contains("immutable"), "{head}");
    assert!(js_body.len() > 10_000);
    assert_eq!(raw(&s, "GET", "/assets/nope.js", &[], None).0, 404);
    assert_eq!(s.req("GET", "/whatever", None, None).0, 404);

    // no session or token: 401; the agent's token cannot read
    assert_eq!(s.req("GET", "/api/v1/hosts", None, None).0, 401);
    assert_eq!(
        s.req("GET", "/api/v1/hosts", Some(AGENT_TOKEN), None).0,
        401
    );
    assert_eq!(s.req("GET", "/api/v1/me", Some("bogus"), None).0, 401);
    let bad = json!({"user": "admin", "password": "wrong-password"}).to_string();
    assert_eq!(raw(&s, "POST", "/api/v1/login", &[], Some(&bad)).0, 401);

    // the bootstrap admin logs in; the admin token makes a viewer
    let admin = login(&s, "admin", ADMIN_PW);
    let (st, _, me) = raw(&s, "GET", "/api/v1/me", &[("Cookie", &admin)], None);
    assert_eq!((st, me.contains("\"admin\"")), (200, true), "{me}");
    let (st, r) = s.post_json(
        "/api/v1/users",
        &json!({"name": "val", "password": VIEWER_PW, "role": "viewer"}),
    );
    assert_eq!(st, 201, "{r}");

    // a viewer reads (queries are POSTs that read) but cannot write
    let viewer = login(&s, "val", VIEWER_PW);
    let ck = [("Cookie", viewer.as_str())];
    assert_eq!(raw(&s, "GET", "/api/v1/hosts", &ck, None).0, 200);
    let q = json!({"metric": "nope", "start_ms": 0, "end_ms": 1, "step_ms": 0, "time_agg": "avg", "group_agg": "sum"}).to_string();
    assert_eq!(
        raw(&s, "POST", "/api/v1/metrics/query", &ck, Some(&q)).0,
        404,
        "a read, unknown metric"
    );
    let u = json!({"name": "eve", "password": "whatever-123", "role": "admin"}).to_string();
    assert_eq!(raw(&s, "POST", "/api/v1/users", &ck, Some(&u)).0, 403);
    assert_eq!(raw(&s, "POST", "/api/v1/tokens", &ck, Some("{}")).0, 403);
    // an editor makes itself a viewer token (not more than it has)
    let (st, _) = s.post_json(
        "/api/v1/users",
        &json!({"name": "ed", "password": "editor-pa55", "role": "editor"}),
    );
    assert_eq!(st, 201);
    let ed = login(&s, "ed", "editor-pa55");
    let ek = [("Cookie", ed.as_str())];
    assert_eq!(
        raw(
            &s,
            "POST",
            "/api/v1/tokens",
            &ek,
            Some(r#"{"role":"admin"}"#)
        )
        .0,
        400
    );
    let (st, _, t) = raw(
        &s,
        "POST",
        "/api/v1/tokens",
        &ek,
        Some(r#"{"role":"viewer"}"#),
    );
    assert_eq!(st, 201, "{t}");
    let t: serde_json::Value = serde_json::from_str(&t).unwrap();
    let tok = t["token"].as_str().unwrap();
    assert_eq!(s.req("GET", "/api/v1/hosts", Some(tok), None).0, 200);
    assert_eq!(s.req("POST", "/api/v1/tokens", Some(tok), None).0, 403);
    // logout ends the session
    assert_eq!(raw(&s, "POST", "/api/v1/logout", &ck, None).0, 200);
    assert_eq!(raw(&s, "GET", "/api/v1/hosts", &ck, None).0, 401);
    // users persist (hashed) across a restart
    let users = std::fs::read_to_string(s.data.join("users.json")).unwrap();
    assert!(users.contains("$argon2id$") && !users.contains(VIEWER_PW));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn browser_pages() {
    need_chromium();
    let (s, dir) = start("webui");
    let f = Fleet {
        hosts: 3,
        containers: 8,
        seconds: 120,
        end_s: now_s(),
        http_edges: false,
    };
    ingest(&s, &f);
    let (st, r) = s.post_json(
        "/api/v1/users",
        &json!({"name": "val", "password": VIEWER_PW, "role": "viewer"}),
    );
    assert_eq!(st, 201, "{r}");
    let (st, r) = s.post_json(
        "/api/v1/users",
        &json!({"name": "edna", "password": EDITOR_PW, "role": "editor"}),
    );
    assert_eq!(st, 201, "{r}");
    let env = [
        ("SONDE_ADMIN_PASSWORD", ADMIN_PW.to_string()),
        ("SONDE_VIEWER", format!("val:{VIEWER_PW}")),
        ("SONDE_EDITOR", format!("edna:{EDITOR_PW}")),
    ];
    finish(playwright("ui.spec.ts", s.port, &env));
    finish(playwright("dashboards.spec.ts", s.port, &env));
    // what the editor saved is on disk, with its two panels minus one
    let saved = std::fs::read_to_string(s.data.join("dashboards.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let d = saved.as_object().unwrap().values().next().unwrap();
    assert_eq!(d["name"], "Shop web");
    assert_eq!(d["owner"], "edna");
    assert_eq!(d["panels"][0]["group_by"], json!(["k8s.pod.name"]));
    assert_eq!(d["panels"].as_array().unwrap().len(), 1);
    assert_shots(&[
        "dashboard-edit",
        "dashboard-saved",
        "dashboard-shared-viewer",
        "login",
        "explore-namespaces",
        "explore-containers",
        "dashboard",
        "events",
        "hosts",
        "topology",
        "topology-hosts",
        "topology-all-pods",
        "topology-namespaces",
        "topology-pods",
    ]);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dashboards_api() {
    let (s, dir) = start("webdash");
    for (name, pw, role) in [("val", VIEWER_PW, "viewer"), ("edna", EDITOR_PW, "editor")] {
        let (st, r) = s.post_json(
            "/api/v1/users",
            &json!({"name": name, "password": pw, "role": role}),
        );
        assert_eq!(st, 201, "{r}");
    }
    let ed = login(&s, "edna", EDITOR_PW);
    let ek = [("Cookie", ed.as_str())];
    let vw = login(&s, "val", VIEWER_PW);
    let vk = [("Cookie", vw.as_str())];
    let spec = json!({"name": "web", "panels": [
        {"title": "CPU", "kind": "series", "metric": "cpu.user",
         "filters": ["scope=container"], "group_by": ["k8s.pod.name"], "agg": "avg"},
        {"title": "Top", "kind": "top", "metric": "http.requests",
         "filters": [], "group_by": ["container.name"], "agg": "rate", "top": 5},
    ]})
    .to_string();
    // bad input: 400 with the reason; a viewer cannot create
    let bad = spec.replace("\"avg\"", "\"median\"");
    let (st, _, b) = raw(&s, "POST", "/api/v1/dashboards", &ek, Some(&bad));
    assert_eq!(st, 400, "{b}");
    assert!(b.contains("median"), "{b}");
    let (st, _, b) = raw(&s, "POST", "/api/v1/dashboards", &ek, Some("{\"name\": 1}"));
    assert_eq!(st, 400, "{b}");
    assert_eq!(
        raw(&s, "POST", "/api/v1/dashboards", &vk, Some(&spec)).0,
        403
    );
    let (st, _, b) = raw(&s, "POST", "/api/v1/dashboards", &ek, Some(&spec));
    assert_eq!(st, 201, "{b}");
    let made: serde_json::Value = serde_json::from_str(&b).unwrap();
    let id = made["id"].as_str().unwrap();
    let path = format!("/api/v1/dashboards/{id}");
    // the viewer lists and reads it, the same panels; cannot change it
    let (st, _, b) = raw(&s, "GET", "/api/v1/dashboards", &vk, None);
    assert_eq!(st, 200);
    let list: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(list["dashboards"][0]["id"], made["id"]);
    let (st, _, b) = raw(&s, "GET", &path, &vk, None);
    assert_eq!(st, 200);
    let got: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(got["panels"], made["panels"]);
    assert_eq!(got["panels"][1]["top"], 5);
    assert_eq!(raw(&s, "PUT", &path, &vk, Some(&spec)).0, 403);
    assert_eq!(raw(&s, "DELETE", &path, &vk, None).0, 403);
    // no session: 401
    assert_eq!(raw(&s, "GET", &path, &[], None).0, 401);
    // the editor renames it and deletes it
    let renamed = spec.replace("\"web\"", "\"web 2\"");
    let (st, _, b) = raw(&s, "PUT", &path, &ek, Some(&renamed));
    assert_eq!(st, 200, "{b}");
    assert!(b.contains("web 2"), "{b}");
    assert_eq!(
        raw(&s, "PUT", "/api/v1/dashboards/nope", &ek, Some(&spec)).0,
        404
    );
    assert_eq!(raw(&s, "DELETE", &path, &ek, None).0, 200);
    assert_eq!(raw(&s, "GET", &path, &vk, None).0, 404);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

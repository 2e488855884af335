//! Team scoping against the real `sonde-server` fed a synthetic fleet
//! (namespaces shop, billing, search, ops) through the real ingest path:
//! a user of team `shop` (given namespace shop) gets only shop's series
//! from metric queries (Explore, dashboards), nothing for another
//! namespace's pod, no host-level series or events, a topology of shop's
//! nodes only, 403 from the Prometheus API, captures and alerts, and
//! only its team's saved dashboards; a user of no team sees everything.
//! User and token management (admin): change a user's role, team or
//! password, list tokens without their secrets, revoke them; viewers get
//! 403, no session 401, and no secret reaches the server's log. The
//! Admin page in the browser: an admin makes a team and a user in it, who
//! then sees only that namespace in Explore.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use common::browser::{assert_shots, finish, need_chromium, playwright};
use common::workload::Fleet;
use common::*;
use serde_json::{json, Value as J};

const ADMIN_PW: &str = "admin-pa55word";

struct Client<'a> {
    s: &'a Server,
    cookie: String,
}

impl Client<'_> {
    fn call(&self, method: &str, path: &str, body: Option<&J>) -> (u16, J) {
        let b = body.map(|b| b.to_string());
        let (st, _, text) = https_raw(
            &self.s.tls,
            self.s.port,
            method,
            path,
            &[("Cookie", &self.cookie)],
            b.as_deref().map(|b| ("application/json", b.as_bytes())),
        )
        .unwrap();
        (st, serde_json::from_str(&text).unwrap_or(J::Null))
    }

    /// The values of `tag` in the groups of `metric`'s query grouped by it.
    fn groups(&self, metric: &str, filters: J, tag: &str) -> BTreeSet<String> {
        let end = now_s() * 1000;
        let q = json!({"metric": metric, "start_ms": end - 600_000, "end_ms": end,
            "step_ms": 0, "filters": filters, "group_by": [tag],
            "time_agg": "avg", "group_agg": "sum"});
        let (st, a) = self.call("POST", "/api/v1/metrics/query", Some(&q));
        assert_eq!(st, 200, "{a}");
        a["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["tags"][tag].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn login<'a>(s: &'a Server, user: &str, pw: &str) -> Client<'a> {
    Client {
        s,
        cookie: common::login(s, user, pw),
    }
}

/// Feeds `s` a minute of a fleet of 3 hosts with 8 containers each; the
/// fleet.
fn feed_fleet(s: &Server) -> Fleet {
    let f = Fleet {
        hosts: 3,
        containers: 8,
        seconds: 60,
        end_s: now_s(),
        http_edges: false,
    };
    for (agent, b) in f.batches(10) {
        let (st, r) = s.ingest(&b);
        assert_eq!(st, 200, "{agent}: {r}");
    }
    f
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_team_sees_only_its_namespaces() {
    let dir = tmpdir("webteams");
    let pki = pki(&dir);
    let s = admin_server(&pki, &dir, ADMIN_PW);
    let f = feed_fleet(&s);
    let admin = login(&s, "admin", ADMIN_PW);
    // teams are an admin's: a user in a team that does not exist is refused
    let tina =
        json!({"name": "tina", "password": "tina-pa55word", "role": "editor", "team": "shop"});
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&tina)).0, 400);
    let shop = json!({"namespaces": ["shop"]});
    assert_eq!(admin.call("PUT", "/api/v1/teams/shop", Some(&shop)).0, 200);
    let ops = json!({"namespaces": ["ops"]});
    assert_eq!(admin.call("PUT", "/api/v1/teams/ops", Some(&ops)).0, 200);
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&tina)).0, 201);
    let oscar =
        json!({"name": "oscar", "password": "oscar-pa55word", "role": "editor", "team": "ops"});
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&oscar)).0, 201);
    let t = login(&s, "tina", "tina-pa55word");
    assert_eq!(t.call("PUT", "/api/v1/teams/shop", Some(&ops)).0, 403);
    let (st, me) = t.call("GET", "/api/v1/me", None);
    assert_eq!(
        (st, &me["team"], &me["namespaces"]),
        (200, &json!("shop"), &json!(["shop"]))
    );

    // Explore's query by namespace: all four for the admin, shop for tina
    let ctr = json!([{"eq": ["scope", "container"]}]);
    let all = admin.groups("cpu.user", ctr.clone(), "k8s.ns.name");
    assert_eq!(all, set(&["billing", "ops", "search", "shop"]));
    assert_eq!(
        t.groups("cpu.user", ctr.clone(), "k8s.ns.name"),
        set(&["shop"])
    );
    let pods = t.groups("memory.rss", ctr, "k8s.pod.name");
    assert!(
        !pods.is_empty() && pods.iter().all(|p| p.starts_with("shop-")),
        "{pods:?}"
    );
    // another namespace's pod, asked by name: nothing
    let other = f.ctr_tags(1, 2); // pod 1: billing
    assert_eq!(other[2].1, "billing");
    let pod = json!([{"eq": ["k8s.pod.name", other[4].1]}]);
    assert_eq!(
        admin.groups("cpu.user", pod.clone(), "k8s.pod.name").len(),
        1
    );
    assert!(t.groups("cpu.user", pod, "k8s.pod.name").is_empty());
    // host-level series belong to no namespace
    let host = json!([{"eq": ["scope", "host"]}]);
    assert_eq!(
        admin
            .groups("cpu.user", host.clone(), "host.hostname")
            .len(),
        3
    );
    assert!(t.groups("cpu.user", host, "host.hostname").is_empty());

    // events: the hosts' check results are no namespace's
    let (st, ev) = admin.call("GET", "/api/v1/events?kind=check", None);
    assert_eq!(st, 200);
    assert_eq!(ev["events"].as_array().unwrap().len(), 3, "{ev}");
    let (st, ev) = t.call("GET", "/api/v1/events?kind=check", None);
    assert_eq!(
        (st, ev["events"].as_array().unwrap().len()),
        (200, 0),
        "{ev}"
    );

    // the topology by namespace: shop only (its pods call the next pod,
    // in another namespace, which shows as an address, not a namespace)
    let path = "/api/v1/topology?level=k8s.ns.name&range_ms=600000";
    let names = |g: &J| -> BTreeSet<String> {
        g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "group")
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (st, g) = admin.call("GET", path, None);
    assert_eq!(st, 200, "{g}");
    assert_eq!(names(&g), set(&["billing", "ops", "search", "shop"]), "{g}");
    let (st, g) = t.call("GET", path, None);
    assert_eq!(st, 200, "{g}");
    assert_eq!(names(&g), set(&["shop"]), "{g}");

    // what cannot be scoped by namespace: 403
    for p in [
        "/api/v1/query?query=cpu_user",
        "/api/v1/captures",
        "/api/v1/alerts/status",
        "/api/v1/users",
    ] {
        assert_eq!(t.call("GET", p, None).0, 403, "{p}");
        assert_ne!(admin.call("GET", p, None).0, 403, "{p}");
    }

    // dashboards: the team's own; another team's is not found
    let spec = json!({"name": "shop", "panels": [{"title": "CPU", "kind": "series",
        "metric": "cpu.user", "filters": [], "group_by": ["k8s.pod.name"], "agg": "avg"}]});
    let (st, d) = t.call("POST", "/api/v1/dashboards", Some(&spec));
    assert_eq!(st, 201, "{d}");
    assert_eq!(d["team"], "shop");
    let id = d["id"].as_str().unwrap();
    let o = login(&s, "oscar", "oscar-pa55word");
    let dpath = format!("/api/v1/dashboards/{id}");
    assert_eq!(o.call("GET", &dpath, None).0, 404);
    assert_eq!(o.call("PUT", &dpath, Some(&spec)).0, 404);
    assert_eq!(o.call("DELETE", &dpath, None).0, 404);
    let (_, l) = o.call("GET", "/api/v1/dashboards", None);
    assert_eq!(l["dashboards"], json!([]));
    assert_eq!(admin.call("GET", &dpath, None).0, 200);
    // a second user of the team opens the same dashboard
    let tom = json!({"name": "tom", "password": "tom-pa55word", "role": "viewer", "team": "shop"});
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&tom)).0, 201);
    let (st, same) = login(&s, "tom", "tom-pa55word").call("GET", &dpath, None);
    assert_eq!((st, &same["panels"]), (200, &d["panels"]));
    // the team's namespaces widened: the next query follows
    let wider = json!({"namespaces": ["shop", "billing"]});
    assert_eq!(admin.call("PUT", "/api/v1/teams/shop", Some(&wider)).0, 200);
    let ctr = json!([{"eq": ["scope", "container"]}]);
    assert_eq!(
        t.groups("cpu.user", ctr, "k8s.ns.name"),
        set(&["billing", "shop"])
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server with its log (stderr) in `dir/server.log`.
fn start_logged(dir: &std::path::Path) -> Server {
    let pki = pki(dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.env("SONDE_ADMIN_PASSWORD", ADMIN_PW)
        .env("RUST_LOG", "debug")
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("server.log")).unwrap(),
        ));
    Server::start_with(cmd, &pki, free_port(), &dir.join("data"))
}

#[test]
fn users_and_tokens_are_managed_by_admins() {
    let dir = tmpdir("webadmin");
    let s = start_logged(&dir);
    let admin = login(&s, "admin", ADMIN_PW);
    let val = json!({"name": "val", "password": "val-pa55word", "role": "viewer"});
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&val)).0, 201);
    let ed = json!({"name": "ed", "password": "ed-pa55word", "role": "viewer"});
    assert_eq!(admin.call("POST", "/api/v1/users", Some(&ed)).0, 201);
    let shop = json!({"namespaces": ["shop"]});
    assert_eq!(admin.call("PUT", "/api/v1/teams/shop", Some(&shop)).0, 200);

    // a role changes without the password; a team is joined and left
    let (st, r) = admin.call("PUT", "/api/v1/users/ed", Some(&json!({"role": "editor"})));
    assert_eq!(st, 200, "{r}");
    let e = login(&s, "ed", "ed-pa55word");
    assert_eq!(e.call("GET", "/api/v1/me", None).1["role"], "editor");
    let join = json!({"team": "shop"});
    assert_eq!(admin.call("PUT", "/api/v1/users/ed", Some(&join)).0, 200);
    assert_eq!(
        e.call("GET", "/api/v1/me", None).0,
        401,
        "its session ended"
    );
    let e = login(&s, "ed", "ed-pa55word");
    let (_, me) = e.call("GET", "/api/v1/me", None);
    assert_eq!(
        (&me["role"], &me["team"]),
        (&json!("editor"), &json!("shop"))
    );
    let (_, users) = admin.call("GET", "/api/v1/users", None);
    let row = |u: &J, name: &str| {
        u["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .cloned()
    };
    assert_eq!(row(&users, "ed").unwrap()["team"], "shop");
    assert_eq!(
        admin.call("DELETE", "/api/v1/teams/shop", None).0,
        400,
        "a member is in it"
    );
    let leave = json!({"team": null});
    assert_eq!(admin.call("PUT", "/api/v1/users/ed", Some(&leave)).0, 200);
    let (_, users) = admin.call("GET", "/api/v1/users", None);
    assert_eq!(row(&users, "ed").unwrap()["team"], J::Null);
    // bad input: 400 with the reason; an unknown user 404
    for (body, why) in [
        (json!({"role": "root"}), "root"),
        (json!({"team": "nope"}), "nope"),
        (json!({"password": "short"}), "8 characters"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (st, r) = admin.call("PUT", "/api/v1/users/ed", Some(&body));
        assert_eq!(st, 400, "{body}: {r}");
        assert!(r["error"].as_str().unwrap().contains(why), "{r}");
    }
    let to_viewer = json!({"role": "viewer"});
    assert_eq!(
        admin.call("PUT", "/api/v1/users/ghost", Some(&to_viewer)).0,
        404
    );
    // the last admin stays one
    let (st, r) = admin.call("PUT", "/api/v1/users/admin", Some(&to_viewer));
    assert_eq!(st, 400, "{r}");
    assert_eq!(admin.call("DELETE", "/api/v1/users/admin", None).0, 400);
    let new_pw = json!({"password": "ed-new-pa55word"});
    assert_eq!(admin.call("PUT", "/api/v1/users/ed", Some(&new_pw)).0, 200);
    let e = login(&s, "ed", "ed-new-pa55word");

    // tokens: made, listed without secrets, revoked
    let (st, t1) = e.call("POST", "/api/v1/tokens", Some(&json!({"role": "viewer"})));
    assert_eq!(st, 201, "{t1}");
    let (st, t2) = admin.call("POST", "/api/v1/tokens", Some(&json!({"role": "admin"})));
    assert_eq!(st, 201, "{t2}");
    let secret1 = t1["token"].as_str().unwrap();
    let (st, all) = admin.call("GET", "/api/v1/tokens", None);
    assert_eq!(st, 200);
    let ids = |l: &J| -> Vec<String> {
        l["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&all),
        [&t1["id"], &t2["id"]].map(|i| i.as_str().unwrap().to_string())
    );
    assert_eq!(all["tokens"][0]["user"], "ed");
    let text = all.to_string();
    assert!(
        !text.contains(secret1) && !text.contains("sha256"),
        "{text}"
    );
    let (_, mine) = e.call("GET", "/api/v1/tokens", None);
    assert_eq!(ids(&mine), [t1["id"].as_str().unwrap()]);
    assert_eq!(s.req("GET", "/api/v1/hosts", Some(secret1), None).0, 200);
    // an editor cannot revoke another's token; an admin can revoke any
    let t2path = format!("/api/v1/tokens/{}", t2["id"].as_str().unwrap());
    assert_eq!(e.call("DELETE", &t2path, None).0, 404);
    let t1path = format!("/api/v1/tokens/{}", t1["id"].as_str().unwrap());
    assert_eq!(admin.call("DELETE", &t1path, None).0, 200);
    assert_eq!(s.req("GET", "/api/v1/hosts", Some(secret1), None).0, 401);
    assert_eq!(admin.call("DELETE", &t1path, None).0, 404);

    // a viewer: 403 on every user, team and others' token call; no session: 401
    let v = login(&s, "val", "val-pa55word");
    let nobody = Client {
        s: &s,
        cookie: "sonde_session=0".into(),
    };
    let calls: [(&str, &str, Option<J>); 7] = [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", Some(val.clone())),
        ("PUT", "/api/v1/users/ed", Some(to_viewer.clone())),
        ("DELETE", "/api/v1/users/ed", None),
        ("GET", "/api/v1/teams", None),
        ("PUT", "/api/v1/teams/shop", Some(shop.clone())),
        ("DELETE", &t2path, None),
    ];
    for (m, p, b) in &calls {
        assert_eq!(v.call(m, p, b.as_ref()).0, 403, "{m} {p}");
        assert_eq!(nobody.call(m, p, b.as_ref()).0, 401, "{m} {p}");
    }
    assert_eq!(nobody.call("GET", "/api/v1/tokens", None).0, 401);
    let (st, vt) = v.call("GET", "/api/v1/tokens", None);
    assert_eq!((st, vt["tokens"].as_array().unwrap().len()), (200, 0));
    assert_eq!(admin.call("DELETE", "/api/v1/users/ed", None).0, 200);
    assert_eq!(admin.call("DELETE", "/api/v1/teams/shop", None).0, 200);

    // no password or token secret in the log or the users file
    drop(s);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let users = std::fs::read_to_string(dir.join("data/users.json")).unwrap();
    for secret in [ADMIN_PW, "val-pa55word", "ed-new-pa55word", secret1] {
        assert!(!log.contains(secret), "the log holds a secret");
        assert!(!users.contains(secret), "users.json holds a secret");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_page_in_the_browser() {
    need_chromium();
    let dir = tmpdir("webadminui");
    let s = start_logged(&dir);
    feed_fleet(&s);
    let admin = login(&s, "admin", ADMIN_PW);
    for (name, role) in [("val", "viewer"), ("edna", "editor"), ("rita", "viewer")] {
        let u = json!({"name": name, "password": format!("{name}-pa55word"), "role": role});
        assert_eq!(admin.call("POST", "/api/v1/users", Some(&u)).0, 201);
    }
    let env = [
        ("SONDE_ADMIN_PASSWORD", ADMIN_PW.to_string()),
        ("SONDE_VIEWER", "val:val-pa55word".to_string()),
        ("SONDE_EDITOR", "edna:edna-pa55word".to_string()),
    ];
    finish(playwright("admin.spec.ts", s.port, &env));
    // what the page did is on the server: sam in team shop-team (shop),
    // rita deleted, the token made in the page revoked
    let (_, users) = admin.call("GET", "/api/v1/users", None);
    let names: BTreeSet<String> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, set(&["admin", "edna", "sam", "val"]));
    let sam = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "sam")
        .unwrap();
    assert_eq!(
        (&sam["role"], &sam["team"]),
        (&json!("editor"), &json!("shop-team"))
    );
    let (_, teams) = admin.call("GET", "/api/v1/teams", None);
    assert_eq!(teams["teams"], json!({"shop-team": ["shop"]}));
    let (_, tokens) = admin.call("GET", "/api/v1/tokens", None);
    assert_eq!(tokens["tokens"], json!([]));
    drop(s);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(!log.contains("sam-pa55word"), "the log holds a password");
    assert_shots(&["admin", "admin-team-explore"]);
    let _ = std::fs::remove_dir_all(&dir);
}

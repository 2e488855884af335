//! The watches against a misbehaving endpoint: bookmarks let a dropped
//! watch resume without a relist, 410 Gone relists (and forgets what was
//! deleted meanwhile), 403 and 401 are reported naming the resource, a
//! hanging server never stalls the readers, and memory stays bounded
//! over 10,000 pod add/delete cycles.

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::Pod;
use sonde_k8s::testserver::{Server, ServerOptions};
use sonde_k8s::{Options, Watch};

const NODE: &str = "node-1";
const C1: &str = "aaaaaaaaaaaa0001";
const C2: &str = "bbbbbbbbbbbb0002";

fn lists(sh: &sonde_k8s::Shared, t: &str) -> u64 {
    sh.statuses().get(t).map_or(0, |s| s.lists)
}

#[test]
fn bookmarks_and_dropped_connections() {
    let srv = Server::start(ServerOptions {
        history: 5,
        bookmark_every: Duration::from_millis(100),
        ..ServerOptions::default()
    });
    srv.put(&pod("default", "p1", NODE, C1, &[], None));
    let w = Watch::start(&opts(&srv, NODE)).unwrap();
    let sh = w.shared();
    wait("synced", || {
        sh.all_watching() && label(&sh, C1, "pod.name").is_some()
    });
    // 20 changes elsewhere: the pods watch's own version falls out of
    // the 5-change history, but bookmarks move it forward
    for i in 0..20 {
        srv.put(&namespace(&format!("ns{i}"), &format!("u{i}"), &[]));
    }
    // several bookmarks reach the pods watch (one every 100 ms)
    std::thread::sleep(Duration::from_millis(1500));
    let watches = srv.requests().1;
    srv.drop_watches();
    wait("watches resumed", || srv.requests().1 >= watches + 10);
    srv.put(&pod("default", "p2", NODE, C2, &[], None));
    wait("p2 seen after the drop", || {
        label(&sh, C2, "pod.name").is_some()
    });
    assert_eq!(
        lists(&sh, "pods"),
        1,
        "resumed from the bookmark, no relist: {:?}",
        sh.notes()
    );
    assert_eq!(sh.statuses()["pods"].state, "watching");
}

#[test]
fn gone_relists_and_forgets_deleted() {
    let srv = Server::start(ServerOptions::default());
    srv.put(&pod("default", "p1", NODE, C1, &[], None));
    srv.put(&pod("default", "p2", NODE, C2, &[], None));
    let w = Watch::start(&opts(&srv, NODE)).unwrap();
    let sh = w.shared();
    wait("synced", || {
        sh.all_watching() && label(&sh, C2, "pod.name").is_some()
    });
    // the link goes down; meanwhile p2 is deleted and the history compacted
    srv.hang(true);
    srv.drop_watches();
    std::thread::sleep(Duration::from_millis(200));
    srv.delete::<Pod>("default", "p2");
    srv.expire();
    srv.hang(false);
    // the watch resumes from a version the server no longer has: 410,
    // then a relist that no longer holds p2
    wait("relisted", || lists(&sh, "pods") >= 2);
    wait("p2 forgotten", || label(&sh, C2, "pod.name").is_none());
    assert!(label(&sh, C1, "pod.name").is_some());
    wait("watching again", || {
        sh.statuses()["pods"].state == "watching"
    });
}

#[test]
fn forbidden_and_bad_credentials_name_the_resource() {
    let srv = Server::start(ServerOptions {
        token: Some("right".into()),
        ..ServerOptions::default()
    });
    srv.forbid("services", true);
    srv.put(&pod("default", "p1", NODE, C1, &[], None));
    let w = Watch::start(&opts(&srv, NODE)).unwrap();
    let sh = w.shared();
    wait("services refused", || {
        sh.statuses()
            .get("services")
            .is_some_and(|s| s.state == "error")
    });
    let e = sh.statuses()["services"].last_error.clone();
    assert!(e.starts_with("services: list forbidden (403, RBAC)"), "{e}");
    assert!(e.contains("cannot list resource \"services\""), "{e}");
    wait("pods still watched", || {
        label(&sh, C1, "pod.name").is_some()
    });
    // allowed again: the backoff retries and the watch recovers
    srv.forbid("services", false);
    wait("services watched", || {
        sh.statuses()["services"].state == "watching"
    });
    drop(w);

    // a wrong token
    let bad = srv.dir.join("bad-token");
    std::fs::write(&bad, "wrong").unwrap();
    let kc = std::fs::read_to_string(srv.kubeconfig()).unwrap().replace(
        srv.dir.join("token").to_str().unwrap(),
        bad.to_str().unwrap(),
    );
    let kcp = srv.dir.join("bad-kubeconfig");
    std::fs::write(&kcp, kc).unwrap();
    let w = Watch::start(&Options {
        kubeconfig: Some(kcp),
        ..opts(&srv, NODE)
    })
    .unwrap();
    let sh = w.shared();
    wait("401", || {
        sh.statuses()
            .get("pods")
            .is_some_and(|s| s.state == "error")
    });
    let e = sh.statuses()["pods"].last_error.clone();
    assert!(
        e.starts_with("pods: list refused: bad credentials (401 Unauthorized)"),
        "{e}"
    );
    drop(w);

    // client certificate auth with sysdig's -K cert:key:ca
    let d = |f: &str| srv.dir.join(f).to_string_lossy().into_owned();
    let o = Options {
        url: Some(srv.url.clone()),
        auth: Some(format!(
            "{}:{}:{}",
            d("client.crt"),
            d("client.key"),
            d("ca.crt")
        )),
        ..opts(&srv, NODE)
    };
    let o = Options {
        kubeconfig: None,
        ..o
    };
    let w = Watch::start(&o).unwrap();
    let sh = w.shared();
    wait("cert auth", || label(&sh, C1, "pod.name").is_some());
    drop(w);

    // nothing listening
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = Options {
        url: Some(format!("https://127.0.0.1:{port}")),
        auth: None,
        kubeconfig: None,
        ..opts(&srv, NODE)
    };
    let w = Watch::start(&o).unwrap();
    let sh = w.shared();
    wait("unreachable", || {
        sh.statuses()
            .get("pods")
            .is_some_and(|s| s.state == "error")
    });
    let e = sh.statuses()["pods"].last_error.clone();
    assert!(
        e.starts_with(&format!(
            "pods: list failed: cannot reach the API server at https://127.0.0.1:{port}"
        )),
        "{e}"
    );
    // a bad URL is refused at once
    let o = Options {
        url: Some("127.0.0.1:6443".into()),
        ..o
    };
    let err = Watch::start(&o).err().expect("bad URL").to_string();
    assert!(err.contains("bad API server URL"), "{err}");
}

#[test]
fn readers_never_wait_while_the_server_hangs() {
    let srv = Server::start(ServerOptions::default());
    srv.put(&pod("default", "p1", NODE, C1, &[], None));
    srv.hang(true);
    let w = Watch::start(&opts(&srv, NODE)).unwrap();
    let sh = w.shared();
    std::thread::sleep(Duration::from_millis(300));
    assert!(srv.requests().0 > 0, "the watches asked");
    // what the engine does per event: a generation check, and a lookup
    // that never waits for the lock
    let t = Instant::now();
    let mut found = 0u64;
    let mut worst = Duration::ZERO;
    for i in 0..1_000_000u64 {
        let s = Instant::now();
        let _ = sh.generation();
        if i % 64 == 0 {
            if let Some(c) = sh.try_cache() {
                found += u64::from(c.pod_of(C1).is_some());
            }
        }
        worst = worst.max(s.elapsed());
    }
    let took = t.elapsed();
    println!("1,000,000 lookups while the API server hangs: {took:?}, worst {worst:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(worst < Duration::from_millis(50), "{worst:?}");
    assert_eq!(found, 0, "nothing listed yet");
    srv.hang(false);
    wait("listed once the server answers", || {
        label(&sh, C1, "pod.name").is_some()
    });
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn memory_bounded_over_10000_pod_cycles() {
    let srv = Server::start(ServerOptions {
        history: 2_000,
        ..ServerOptions::default()
    });
    let w = Watch::start(&opts(&srv, NODE)).unwrap();
    let sh = w.shared();
    wait("synced", || sh.all_watching());
    let cycle = |i: u32| {
        let cid = format!("{i:012x}ffff");
        let mut p = pod(
            "churn",
            &format!("p{i}"),
            NODE,
            &cid,
            &[("app", "churn"), ("i", &i.to_string())],
            None,
        );
        p.metadata.uid = Some(format!("uid-{i}"));
        srv.put(&p);
        srv.delete::<Pod>("churn", &format!("p{i}"));
    };
    for i in 0..1_000 {
        cycle(i);
    }
    wait("first 1,000 cycles applied", || {
        sh.statuses()["pods"].events >= 2_000
    });
    let base = rss_kib();
    let t = Instant::now();
    for i in 1_000..11_000 {
        cycle(i);
        if i % 500 == 0 {
            // the cache never holds more than the live pods; the watch
            // keeps up (all changes so far applied, so the next 500
            // cycles stay within the server's history of 2,000)
            assert!(sh.cache().counts()[0] <= 500);
            let want = 2 * u64::from(i);
            wait("the watch keeps up", || {
                sh.statuses()["pods"].events >= want
            });
        }
    }
    wait("10,000 cycles applied", || {
        sh.statuses()["pods"].events >= 22_000
    });
    let grew = rss_kib().saturating_sub(base);
    println!(
        "10,000 pod add/delete cycles in {:?}; RSS grew {grew} KiB",
        t.elapsed()
    );
    assert_eq!(sh.cache().counts(), [0; 7]);
    assert_eq!(sh.statuses()["pods"].lists, 1);
    assert!(grew < 8 * 1024, "RSS grew {grew} KiB");
}

//! The sender against a real TLS receiver on 127.0.0.1: credentials,
//! hostile answers, a lost answer, a restart of the agent.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sonde_transport::receiver::Receiver;
use sonde_transport::{client_config, server_config, Sender, SenderConfig, Token};

fn sender_cfg(
    port: u16,
    pki: &common::Pki,
    token: Option<&str>,
    client_cert: bool,
    dir: &std::path::Path,
) -> SenderConfig {
    let client = client_cert.then(|| (pki.client.0.clone(), pki.client.1.clone_key()));
    SenderConfig {
        url: format!("https://127.0.0.1:{port}"),
        token: token.map(Token::new),
        agent: "agent-1".into(),
        spool_dir: dir.to_path_buf(),
        spool_max_bytes: 1 << 20,
        interval: Duration::from_millis(200),
        tls: client_config(std::slice::from_ref(&pki.ca), client).unwrap(),
        server_name: None,
        timeout: Duration::from_secs(2),
        send_empty: true,
    }
}

#[test]
fn wrong_token_is_reported_and_batches_stay_spooled() {
    let pki = common::pki();
    let (ing, got) = common::ingest(&["right-token"]);
    let tls = server_config(pki.server.0.clone(), pki.server.1.clone_key(), None).unwrap();
    let rx = Receiver::start("127.0.0.1:0", tls, ing).unwrap();
    let dir = common::tmpdir("token");
    let secret = "wrong-secret-token-8b1f";
    let cfg = sender_cfg(rx.local_addr().port(), &pki, Some(secret), false, &dir);
    assert!(
        !format!("{cfg:?}").contains(secret),
        "the token shows in Debug"
    );
    let h = Sender::start(cfg).unwrap();
    assert!(common::wait_for(10, || h.status().spooled >= 4 && h.status().auth_failed));
    let st = h.status();
    assert!(
        st.last_error.as_deref().unwrap_or("").contains("401"),
        "{st:?}"
    );
    assert!(!st.connected);
    assert_eq!(st.acked, 0);
    assert!(!format!("{st:?}").contains(secret));
    assert!(got.lock().unwrap().is_empty());
    // it keeps spooling
    let before = h.status().spooled;
    assert!(common::wait_for(5, || h.status().spooled > before));
    let st = h.shutdown(Duration::from_millis(200));
    assert!(st.spooled > before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_certificate_without_token() {
    let pki = common::pki();
    let (ing, got) = common::ingest(&[]);
    let tls = server_config(
        pki.server.0.clone(),
        pki.server.1.clone_key(),
        Some(std::slice::from_ref(&pki.ca)),
    )
    .unwrap();
    let rx = Receiver::start("127.0.0.1:0", tls, ing).unwrap();
    let port = rx.local_addr().port();
    let dir = common::tmpdir("mtls");
    let h = Sender::start(sender_cfg(port, &pki, None, true, &dir)).unwrap();
    assert!(
        common::wait_for(10, || h.status().acked >= 3),
        "{:?}",
        h.status()
    );
    h.shutdown(Duration::from_secs(2));
    assert!(got.lock().unwrap().len() >= 3);
    // no certificate, no token: refused
    let dir2 = common::tmpdir("mtls-none");
    let h = Sender::start(sender_cfg(port, &pki, None, false, &dir2)).unwrap();
    assert!(
        common::wait_for(10, || h.status().auth_failed),
        "{:?}",
        h.status()
    );
    h.shutdown(Duration::ZERO);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

/// A TLS server answering every request with `answer`.
fn hostile(pki: &common::Pki, answer: &'static [u8], tls_on: bool) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let cfg = server_config(pki.server.0.clone(), pki.server.1.clone_key(), None).unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                if !tls_on {
                    let _ = tcp.write_all(answer);
                    return;
                }
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(answer).and_then(|_| s.flush()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn hostile_receivers_never_panic_the_sender() {
    let pki = common::pki();
    let cases: [(&'static [u8], bool); 6] = [
        (b"\x16\x03\x01garbage that is no TLS\r\n\r\n", false),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{{{{{", true),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"acked\":\"x\"}",
            true,
        ),
        (b"\x00\xff\xfe not http at all \r\n\r\n", true),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\noops", true),
    ];
    // all at once: each sender against its own hostile server
    let running: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (answer, tls_on))| {
            let port = hostile(&pki, answer, tls_on);
            let dir = common::tmpdir(&format!("hostile{i}"));
            let h = Sender::start(sender_cfg(port, &pki, Some("t"), false, &dir)).unwrap();
            (i, h, dir)
        })
        .collect();
    for (i, h, dir) in running {
        // the sender goes on sealing batches and reports the failure
        assert!(
            common::wait_for(10, || h.status().next_seq >= 5
                && h.status().last_error.is_some()),
            "case {i}: {:?}",
            h.status()
        );
        let st = h.shutdown(Duration::from_millis(300));
        assert_eq!(st.acked, 0, "case {i}: {st:?}");
        assert!(st.spooled >= 4, "case {i}: {st:?}");
        eprintln!("case {i}: {}", st.last_error.unwrap_or_default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn lost_answer_and_agent_restart_never_count_twice() {
    let pki = common::pki();
    let (ing, got) = common::ingest(&["tok"]);
    let tls = server_config(pki.server.0.clone(), pki.server.1.clone_key(), None).unwrap();
    let rx = Receiver::start("127.0.0.1:0", tls, ing.clone()).unwrap();
    let port = rx.local_addr().port();
    let dir = common::tmpdir("restart");
    // the first two answers are lost after the batches were stored
    rx.faults.lose_answers.store(2, Ordering::Release);
    let h = Sender::start(sender_cfg(port, &pki, Some("tok"), false, &dir)).unwrap();
    for i in 0..5 {
        h.push(serde_json::json!({"first": i}));
    }
    assert!(
        common::wait_for(10, || h.status().acked >= 4),
        "{:?}",
        h.status()
    );
    let st = h.shutdown(Duration::from_secs(2));
    assert!(ing.duplicates() >= 2, "the lost answers caused no resend");
    // the agent restarts on the same spool: numbers go on
    let h = Sender::start(sender_cfg(port, &pki, Some("tok"), false, &dir)).unwrap();
    h.push(serde_json::json!({"second": 1}));
    assert!(common::wait_for(10, || h.status().acked >= st.acked + 3));
    let st2 = h.shutdown(Duration::from_secs(2));
    assert_eq!(st2.spooled, 0, "{st2:?}");
    let got = got.lock().unwrap();
    let seqs: Vec<u64> = got.iter().map(|(_, s, _)| *s).collect();
    let want: Vec<u64> = (1..=st2.acked).collect();
    assert_eq!(seqs, want, "every number once, in order");
    let recs: Vec<&serde_json::Value> = got.iter().flat_map(|(_, _, r)| r).collect();
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[0]["first"], 0);
    assert_eq!(recs[5]["second"], 1);
    drop(rx);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = Arc::strong_count(&ing);
}

/// A server that accepts and then says nothing: posting stalls on its
/// timeout, sealing goes on one batch per interval.
#[test]
fn a_stalled_server_does_not_stop_sealing() {
    let pki = common::pki();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for tcp in l.incoming() {
            held.push(tcp);
        }
    });
    let dir = common::tmpdir("stalled");
    let mut cfg = sender_cfg(port, &pki, Some("t"), false, &dir);
    cfg.timeout = Duration::from_secs(5);
    let h = Sender::start(cfg).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let st = h.status();
    // 200 ms interval: ten batches in two seconds, whatever the network does
    assert!(st.next_seq >= 9, "{st:?}");
    assert_eq!(st.acked, 0);
    let t = std::time::Instant::now();
    drop(h);
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "drop waited {:?}",
        t.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server's requests ride on the acknowledgements: each one handed
/// out once reaches the agent's queue once, in order, and only its own.
#[test]
fn commands_come_back_with_acknowledgements() {
    let pki = common::pki();
    let pending = Arc::new(std::sync::Mutex::new(vec![
        ("agent-1", serde_json::json!({"id": "a"})),
        ("other", serde_json::json!({"id": "x"})),
        ("agent-1", serde_json::json!({"id": "b"})),
    ]));
    let p = pending.clone();
    let ing = sonde_transport::Ingest::new(vec![Token::new("tok")], |_b| Ok(())).with_commands(
        move |agent| {
            let mut p = p.lock().unwrap();
            let (mine, rest): (Vec<_>, Vec<_>) = p.drain(..).partition(|(a, _)| *a == agent);
            *p = rest;
            mine.into_iter().map(|(_, c)| c).collect()
        },
    );
    let tls = server_config(pki.server.0.clone(), pki.server.1.clone_key(), None).unwrap();
    let rx = Receiver::start("127.0.0.1:0", tls, Arc::new(ing)).unwrap();
    let dir = common::tmpdir("commands");
    let h = Sender::start(sender_cfg(
        rx.local_addr().port(),
        &pki,
        Some("tok"),
        false,
        &dir,
    ))
    .unwrap();
    let q = h.commands();
    let a = q.next(Duration::from_secs(10)).expect("a command arrives");
    let b = q.next(Duration::from_secs(10)).expect("the second arrives");
    assert_eq!((a["id"].as_str(), b["id"].as_str()), (Some("a"), Some("b")));
    assert!(
        q.next(Duration::from_millis(600)).is_none(),
        "nothing twice"
    );
    assert_eq!(pending.lock().unwrap().len(), 1, "another agent's stays");
    h.shutdown(Duration::from_millis(200));
    let _ = std::fs::remove_dir_all(&dir);
}

//! The acceptance test of the transport: one batch per second for about
//! 70 s, the receiver down for 60 s in the middle (`SONDE_OUTAGE_SECS`
//! changes it); afterwards every sequence number has arrived exactly once
//! and in order, with every record pushed.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_transport::receiver::Receiver;
use sonde_transport::{client_config, server_config, Sender, SenderConfig, Token};

#[test]
fn receiver_down_for_a_minute_then_everything_once_in_order() {
    let down: u64 = std::env::var("SONDE_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let pki = common::pki();
    let (ing, got) = common::ingest(&["tok"]);
    let tls = server_config(pki.server.0.clone(), pki.server.1.clone_key(), None).unwrap();
    let rx = Receiver::start("127.0.0.1:0", tls.clone(), ing.clone()).unwrap();
    let addr = rx.local_addr();
    let dir = common::tmpdir("outage");
    let h = Arc::new(
        Sender::start(SenderConfig {
            url: format!("https://127.0.0.1:{}", addr.port()),
            token: Some(Token::new("tok")),
            agent: "host-a".into(),
            spool_dir: dir.clone(),
            spool_max_bytes: 64 << 20,
            interval: Duration::from_secs(1),
            tls: client_config(std::slice::from_ref(&pki.ca), None).unwrap(),
            server_name: None,
            timeout: Duration::from_secs(2),
            send_empty: true,
        })
        .unwrap(),
    );
    // records: ten a second, numbered
    let pushing = Arc::new(AtomicBool::new(true));
    let (p, hh) = (pushing.clone(), h.clone());
    let pusher = std::thread::spawn(move || {
        let mut n = 0u64;
        while p.load(Ordering::Acquire) {
            hh.push(serde_json::json!({ "n": n }));
            n += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        n
    });
    let t0 = Instant::now();
    // a few seconds delivered as they come (a loaded machine may take longer)
    assert!(
        common::wait_for(15, || h.status().acked >= 4),
        "{:?}",
        h.status()
    );
    assert!(h.status().connected);
    drop(rx);
    std::thread::sleep(Duration::from_secs(down));
    let during = h.status();
    eprintln!("after {down}s down: {during:?}");
    assert!(!during.connected);
    assert!(during.spooled + 2 >= down, "{during:?}");
    let rx = Receiver::start(addr, tls, ing.clone()).unwrap();
    // the replay: all spooled seconds within a few seconds
    let caught_up = Instant::now();
    assert!(
        common::wait_for(20, || {
            let s = h.status();
            s.spooled <= 1 && s.acked + 2 >= s.next_seq
        }),
        "{:?}",
        h.status()
    );
    eprintln!("replayed in {:?}", caught_up.elapsed());
    std::thread::sleep(Duration::from_secs(3));
    pushing.store(false, Ordering::Release);
    let pushed = pusher.join().unwrap();
    let h = Arc::try_unwrap(h).ok().unwrap();
    let last = h.shutdown(Duration::from_secs(5));
    eprintln!("total {:?}; final {last:?}", t0.elapsed());
    assert_eq!(last.spooled, 0, "{last:?}");
    assert_eq!(last.dropped, 0);
    let got = got.lock().unwrap();
    let seqs: Vec<u64> = got.iter().map(|(_, s, _)| *s).collect();
    let want: Vec<u64> = (1..last.next_seq).collect();
    assert_eq!(seqs, want, "every sequence number exactly once, in order");
    assert!(seqs.len() as u64 >= down + 7, "{} batches", seqs.len());
    let ns: Vec<u64> = got
        .iter()
        .flat_map(|(_, _, r)| r.iter().map(|v| v["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ns,
        (0..pushed).collect::<Vec<_>>(),
        "every record once, in order"
    );
    assert_eq!(ing.last_seq("host-a"), Some(last.next_seq - 1));
    drop(rx);
    let _ = std::fs::remove_dir_all(&dir);
}

//! kill -9 of the server mid-ingest, with the agent's sender
//! (`sonde_transport::Sender`: the agent's real spool and poster)
//! spooling while it is away: after a restart on the same database, every
//! second the sender was given is stored exactly once (its per-second
//! counter sum equals what was sent, one sample each), nothing the server
//! acknowledged is lost, and resends are deduplicated from the store's
//! sequence numbers.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sonde_transport::{Sender, SenderConfig, Token};

fn wait_for(secs: u64, f: impl FnMut() -> bool) -> bool {
    let (within, every) = (Duration::from_secs(secs), Duration::from_millis(100));
    sonde_livetest::eventually(within, every, f)
}

#[test]
fn kill_9_mid_ingest_loses_nothing_acknowledged_and_counts_nothing_twice() {
    let dir = tmpdir("restart");
    let pki = pki(&dir);
    let port = free_port();
    let data = dir.join("data");
    let mut s = Server::start(&pki, port, &data);
    let sender = Sender::start(SenderConfig {
        url: format!("https://127.0.0.1:{port}"),
        token: Some(Token::new(AGENT_TOKEN)),
        agent: "spooler".into(),
        spool_dir: dir.join("spool"),
        spool_max_bytes: 64 << 20,
        interval: Duration::from_millis(200),
        tls: client_tls(&pki),
        server_name: Some("localhost".into()),
        timeout: Duration::from_secs(2),
        send_empty: true,
    })
    .unwrap();
    let base = (now_s() - 3600) / 60 * 60;
    let n = 60;
    let push = |i: i64| {
        sender.push(counter(
            "restart.ticks",
            base + i,
            &[("host", "spooler")],
            i as f64,
        ));
        std::thread::sleep(Duration::from_millis(70));
    };
    for i in 1..=20 {
        push(i);
    }
    assert!(
        wait_for(10, || sender.status().acked >= 3),
        "nothing acknowledged before the kill: {:?}",
        sender.status()
    );
    s.kill(); // mid-ingest: batches are being sealed and posted
    let acked_before = sender.status().acked;
    for i in 21..=40 {
        push(i);
    }
    std::thread::sleep(Duration::from_millis(500));
    let st = sender.status();
    assert!(
        st.spooled > 0 && !st.connected,
        "the sender spools while the server is away: {st:?}"
    );
    s = Server::start(&pki, port, &data);
    for i in 41..=n {
        push(i);
    }
    let done = wait_for(30, || {
        let st = sender.status();
        st.spooled == 0 && st.acked + 1 >= st.next_seq
    });
    let st = sender.shutdown(Duration::from_secs(5));
    assert!(done, "the spool never drained: {st:?}");
    assert_eq!(st.dropped, 0);
    assert!(st.acked >= acked_before);

    let q = |agg: &str| {
        let (code, a) = s.post_json(
            "/api/v1/metrics/query",
            &json!({"metric": "restart.ticks", "start_ms": base * 1000, "end_ms": (base + n + 1) * 1000,
                "step_ms": 1000, "time_agg": agg, "group_agg": "sum"}),
        );
        assert_eq!(code, 200, "{a}");
        a["groups"][0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap() / 1000 - base, p[1].as_f64().unwrap()))
            .collect::<Vec<_>>()
    };
    let sums = q("sum");
    let want: Vec<(i64, f64)> = (1..=n).map(|i| (i, i as f64)).collect();
    assert_eq!(
        sums, want,
        "per-second sums: one of each second sent, none twice"
    );
    let counts = q("count");
    assert!(counts.iter().all(|(_, c)| *c == 1.0), "{counts:?}");
    let (_, hosts) = s.get("/api/v1/hosts");
    assert!(
        hosts["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["agent"] == "spooler"),
        "{hosts}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

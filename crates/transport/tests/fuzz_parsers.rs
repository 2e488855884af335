//! A stable-Rust stand-in for the cargo-fuzz targets in
//! `crates/transport/fuzz`: what a hostile server can answer the sender,
//! what a hostile agent can send the receiver (the HTTP/1.1 framing, then
//! the batch JSON and the `Authorization` header `Ingest` reads) gets a
//! few thousand deterministic inputs: realistic seeds, then bit flips,
//! truncations, splices and interesting bytes. Nothing may panic, sizes
//! stay under their limits, and valid input is still accepted.
//! SONDE_FUZZ_ITERS (per parser, default 5000) and SONDE_FUZZ_SEED run it
//! longer or elsewhere.

use sonde_fuzzkit::{bytes, iters, Fuzzer};
use sonde_transport::fuzzing::{read_answer, read_requests};
use sonde_transport::{Ack, Batch, Delivered, Ingest, Token};

/// Bytes that break HTTP and JSON readers.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b":",
    b";",
    b" ",
    b"{",
    b"}",
    b"[",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"0",
    b"-1",
    b"ffffffffffffffff",
    b"10000000000000000",
    b"99999999999999999999999",
    b"18446744073709551615",
    b"1e400",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n",
    b"HTTP/1.0",
    b"\xc3\xa9",
    b"\xe2\x82",
];

/// This file's runs: their seed unless SONDE_FUZZ_SEED is set, and
/// [`INTERESTING`].
const FUZZ: Fuzzer = Fuzzer {
    seed: 0x5eed_7a45_0000_0001,
    interesting: INTERESTING,
};

/// Largest body read in these tests.
const MAX: usize = 4096;

const ANSWERS: &[&str] = &[
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"acked\":4}",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n5\r\ncked\"\r\n4;ext=1\r\n:4}\n\r\n0\r\nX-Trailer: y\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 55\r\n\r\n{\"acked\":9,\"commands\":[{\"capture\":{\"id\":\"c1\",\"s\":10}}]}",
    "HTTP/1.0 401 Unauthorized\r\n\r\n{\"error\":\"unauthorized\"}",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
];

#[test]
fn answers_from_a_server() {
    for (s, want) in ANSWERS.iter().zip([200, 200, 200, 401, 503]) {
        let (status, body, _) =
            read_answer(s.as_bytes(), MAX).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(status, want);
        if status == 200 {
            serde_json::from_slice::<Ack>(&body).unwrap();
        }
    }
    FUZZ.run("answer", 1, iters(), &bytes(ANSWERS), |b| {
        let Ok((status, body, _keep)) = read_answer(b, MAX) else {
            return;
        };
        assert!((100..600).contains(&status));
        assert!(body.len() <= MAX, "a body of {} bytes", body.len());
        if let Ok(a) = serde_json::from_slice::<Ack>(&body) {
            let again = serde_json::to_vec(&a).unwrap();
            assert_eq!(serde_json::from_slice::<Ack>(&again).unwrap(), a);
        }
    });
}

const REQUESTS: &[&str] = &[
    "POST /api/v1/ingest HTTP/1.1\r\nHost: s:7443\r\nAuthorization: Bearer t0k\r\nContent-Type: application/json\r\nContent-Length: 57\r\n\r\n{\"agent\":\"h1\",\"seq\":1,\"ts_ms\":1700000000000,\"records\":[]}",
    "POST /api/v1/ingest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: s\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
];

#[test]
fn requests_from_an_agent() {
    for (s, n) in REQUESTS.iter().zip([1, 2, 1]) {
        let got = read_requests(s.as_bytes(), MAX).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(got.len(), n, "{s}");
    }
    FUZZ.run("request", 2, iters(), &bytes(REQUESTS), |b| {
        if let Ok(reqs) = read_requests(b, MAX) {
            for (first, body) in reqs {
                assert!(!first.contains("\r\n"));
                assert!(body.len() <= MAX);
            }
        }
    });
}

fn batch_json(agent: &str, seq: u64) -> Vec<u8> {
    serde_json::to_vec(&Batch {
        agent: agent.into(),
        seq,
        ts_ms: 1_700_000_000_000,
        dropped: 0,
        records: vec![
            serde_json::json!({"name": "cpu.used", "type": "gauge", "value": 0.5, "ts": 1700000000, "tags": {"host": agent}}),
            serde_json::json!({"kind": "event", "event": {"kind": "keepalive", "ts_ms": 1, "interval_ms": 5000}}),
        ],
    })
    .unwrap()
}

#[test]
fn batches_and_credentials_from_an_agent() {
    let ing = Ingest::new(vec![Token::new("t0k")], |_: &Batch| Ok(()));
    let r = ing.handle(Some("Bearer t0k"), false, &batch_json("h1", 1));
    assert_eq!((r.status, r.delivered), (200, Delivered::New));
    let seeds = vec![
        batch_json("h1", 5),
        batch_json("h2", u64::MAX),
        br#"{"agent":"a","seq":1,"ts_ms":0,"records":[null,1,"x",[],{}]}"#.to_vec(),
    ];
    FUZZ.run("batch", 3, iters(), &seeds, |b| {
        let r = ing.handle(Some("Bearer t0k"), false, b);
        assert!(matches!(r.status, 200 | 400), "{r:?}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        if r.status == 200 {
            let ack: Ack = serde_json::from_value(body).unwrap();
            let batch: Batch = serde_json::from_slice(b).unwrap();
            assert!(ack.acked >= batch.seq);
            assert_eq!(ing.last_seq(&batch.agent), Some(ack.acked));
        } else {
            assert!(body["error"].is_string());
        }
    });
    let headers = bytes(&[
        "Bearer t0k",
        " Bearer  t0k ",
        "Basic dDBrOg==",
        "bearer t0k",
    ]);
    FUZZ.run("authorization", 4, iters(), &headers, |b| {
        let h = String::from_utf8_lossy(b);
        if ing.authorized(Some(&h), false) {
            assert_eq!(h.trim().strip_prefix("Bearer ").map(str::trim), Some("t0k"));
        }
    });
}

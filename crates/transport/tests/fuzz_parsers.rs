//! A stable-Rust stand-in for the cargo-fuzz targets in
//! `crates/transport/fuzz`: what a hostile server can answer the sender,
//! what a hostile agent can send the receiver (the HTTP/1.1 framing, then
//! the batch JSON and the `Authorization` header `Ingest` reads) gets a
//! few thousand deterministic inputs: realistic seeds, then bit flips,
//! truncations, splices and interesting bytes. Nothing may panic, sizes
//! stay under their limits, and valid input is still accepted.
//! SONDE_FUZZ_ITERS (per parser, default 5000) and SONDE_FUZZ_SEED run it
//! longer or elsewhere.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sonde_transport::fuzzing::{read_answer, read_requests};
use sonde_transport::{Ack, Batch, Delivered, Ingest, Token};

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number")),
        Err(_) => default,
    }
}

fn iters() -> usize {
    env_num("SONDE_FUZZ_ITERS", 5000) as usize
}

fn rng(salt: u64) -> Rng {
    Rng((env_num("SONDE_FUZZ_SEED", 0x5eed_7a45_0000_0001) ^ salt) | 1)
}

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

/// One to four mutations of `b`; `seeds` are spliced from.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        let i = rng.below(len + 1);
        match rng.below(7) {
            0 if len > 0 => {
                let j = rng.below(len);
                b[j] ^= 1 << rng.below(8);
            }
            1 => b.truncate(i),
            2 | 3 => {
                let t = INTERESTING[rng.below(INTERESTING.len())];
                b.splice(i..i, t.iter().copied());
            }
            4 => {
                let o = &seeds[rng.below(seeds.len())];
                let a = rng.below(o.len() + 1);
                let e = a + rng.below(o.len() - a + 1);
                b.splice(i..i, o[a..e].iter().copied());
            }
            5 if i < len => {
                let n = 1 + rng.below(len - i);
                b.drain(i..i + n);
            }
            _ => b.insert(i, rng.next() as u8),
        }
    }
}

/// `iters()` inputs (every 16th a seed as is, the rest mutated) through
/// `check`; a failure names the input so it can be replayed.
fn fuzz(name: &str, salt: u64, seeds: &[Vec<u8>], mut check: impl FnMut(&[u8])) {
    let mut rng = rng(salt);
    for i in 0..iters() {
        let mut b = seeds[rng.below(seeds.len())].clone();
        if i % 16 != 0 {
            mutate(&mut rng, &mut b, seeds);
        }
        if catch_unwind(AssertUnwindSafe(|| check(&b))).is_err() {
            panic!("{name}: case {i} failed on b\"{}\"", b.escape_ascii());
        }
    }
}

fn bytes(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

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
    fuzz("answer", 1, &bytes(ANSWERS), |b| {
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
    fuzz("request", 2, &bytes(REQUESTS), |b| {
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
    fuzz("batch", 3, &seeds, |b| {
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
    fuzz("authorization", 4, &headers, |b| {
        let h = String::from_utf8_lossy(b);
        if ing.authorized(Some(&h), false) {
            assert_eq!(h.trim().strip_prefix("Bearer ").map(str::trim), Some("t0k"));
        }
    });
}

//! A stable-Rust stand-in for the cargo-fuzz targets in `crates/server/fuzz`:
//! what a client or an agent can send the server (a PromQL query and its
//! time parameters, an agent batch's records, a remote-write body) gets a
//! few thousand deterministic inputs: realistic seeds, then bit flips,
//! truncations, splices and interesting bytes. Nothing may panic, and what
//! is accepted must make sense (round trips, timestamps on the second that
//! holds them). SONDE_FUZZ_ITERS (per parser, default 5000) and
//! SONDE_FUZZ_SEED run it longer or elsewhere.

use sonde_fuzzkit::{bytes, iters, Fuzzer};
use sonde_server::decode::decode;
use sonde_server::prom::translate::{plan, Plan, VecPlan, MAX_NESTING};
use sonde_server::prom::{parse_duration, parse_time};
use sonde_server::remote::{self, Label, TimeSeries, WriteRequest};
use sonde_store::Agg;

/// Bytes that break query, JSON and protobuf readers.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\n",
    b"(",
    b")",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b"`",
    b"\\",
    b",",
    b":",
    b"=~",
    b"!~",
    b" by (",
    b" offset 5m",
    b" @ 1",
    b"[5m:1m]",
    b"0",
    b"-1",
    b"1e400",
    b"0x7fffffffffffffff",
    b"99999999999999999999999",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"999999999y",
    b"NaN",
    b"Inf",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
];

/// This file's runs: their seed unless SONDE_FUZZ_SEED is set, and
/// [`INTERESTING`].
const FUZZ: Fuzzer = Fuzzer {
    seed: 0x5eed_5e2f_0000_0001,
    interesting: INTERESTING,
};

// ---- PromQL ----------------------------------------------------------

const QUERIES: &[&str] = &[
    "rate(http_requests_total{job=\"api\",code!~\"5..\"}[5m])",
    "sum by (container_name) (rate(sonde_syscall_count[1m]))",
    "histogram_quantile(0.99, sum by (le, host) (rate(http_latency_bucket[5m])))",
    "topk(5, avg_over_time(cpu_used[10m]))",
    "bottomk(3, sonde_memory_rss)",
    "quantile_over_time(0.5, net_bytes{dir=\"in\"}[2m])",
    "count without (pid) (proc_cpu)",
    "a / on(host) group_left(pod) b",
    "100 * (1 - avg by (host) (cpu_idle)) >= bool 90",
    "(m{a=~\"x.*\", b!=\"y\"} > 0.5) and ignoring(c) n unless o",
    "-(2 ^ 3 % 5) + 1 / 4",
    "{__name__=\"up\", job=\"node\"}",
];

/// The properties every translated plan keeps.
fn check_plan(p: &Plan) {
    match p {
        Plan::Scalar(_) => {}
        Plan::Vector(v) => check_vec(v),
        Plan::Binary(b) => {
            assert!(
                !matches!((&b.lhs, &b.rhs), (Plan::Scalar(_), Plan::Scalar(_))),
                "two numbers are folded"
            );
            check_plan(&b.lhs);
            check_plan(&b.rhs);
        }
    }
}

fn check_vec(v: &VecPlan) {
    assert!(!v.metric.is_empty(), "{v:?}");
    assert!(v.range_ms.map_or(true, |r| r >= 1000), "{v:?}");
    assert!(v.top.map_or(true, |(k, _)| k >= 1), "{v:?}");
    for a in [v.time_agg, v.group_agg] {
        if let Agg::Quantile(q) = a {
            assert!((0.0..=1.0).contains(&q), "{v:?}");
        }
    }
}

#[test]
fn promql_queries() {
    for q in QUERIES {
        check_plan(&plan(q).unwrap_or_else(|e| panic!("{q}: {e}")));
    }
    FUZZ.run("promql", 1, iters(), &bytes(QUERIES), |b| {
        match plan(&String::from_utf8_lossy(b)) {
            Ok(p) => check_plan(&p),
            Err(e) => assert!(!e.0.is_empty()),
        }
    });
}

/// Deep queries on a server thread's stack (2 MiB): a plan or an error
/// up to the limit, an error past it, never a stack overflow.
#[test]
fn promql_deep_nesting_is_an_error_or_a_plan() {
    let shapes = [
        ("(", ")"),
        ("-", ""),
        ("-(", ")"),
        ("sum(", ")"),
        ("rate(", "[1m])"),
        ("1 + ", ""),
        ("m and ", ""),
    ];
    for depth in [10, MAX_NESTING / 2 - 1, MAX_NESTING - 1, 5_000, 100_000] {
        for (open, close) in shapes {
            let q = format!("{}m{}", open.repeat(depth), close.repeat(depth));
            let r = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || plan(&q).map(|_| ()))
                .unwrap()
                .join();
            let Ok(r) = r else {
                panic!("{open}m{close} nested {depth} deep panicked");
            };
            if depth > MAX_NESTING {
                assert!(r.unwrap_err().0.contains("too deep"), "{open}m{close}");
            }
        }
    }
}

const TIMES: &[&str] = &[
    "1700000000",
    "1700000000.123",
    "2023-11-14T22:13:20Z",
    "2023-11-14T22:13:20.5+01:00",
    "15s",
    "1m30s",
    "2h",
    "0.5",
    "-3",
];

#[test]
fn time_and_duration_parameters() {
    assert_eq!(parse_time("1700000000.5"), Ok(1_700_000_000_500));
    assert_eq!(parse_duration("1m30s"), Ok(90_000));
    let mut rng = FUZZ.rng(2);
    for _ in 0..iters() {
        let s = (rng.next() % 10_000_000_000) as i64 - 5_000_000_000;
        assert_eq!(parse_time(&s.to_string()), Ok(s * 1000));
    }
    FUZZ.run("time", 3, iters(), &bytes(TIMES), |b| {
        let s = String::from_utf8_lossy(b);
        if let Ok(t) = parse_time(&s) {
            assert!(t.unsigned_abs() < 1 << 62, "{s}: {t}");
        }
        if let Ok(d) = parse_duration(&s) {
            assert!(d > 0, "{s}: {d}");
        }
    });
}

// ---- agent batches ---------------------------------------------------

const RECORDS: &[&str] = &[
    r#"[{"name":"cpu.used","type":"gauge","value":0.5,"ts":1700000000,"tags":{"host":"h1","n":3,"x":null}}]"#,
    r#"[{"kind":"metric","name":"http.requests","type":"counter","value":7,"ts_ns":1700000000123456789}]"#,
    r#"[{"name":"http.latency","type":"histogram","count":2,"sum":3.5,"min":1,"max":2.5,"buckets":[[10,1],[20,1]],"ts":1700000001}]"#,
    r#"[{"kind":"event","event":{"kind":"keepalive","ts_ms":1700000000000,"interval_ms":5000,"subscriptions":["linux"],"leaving":false}}]"#,
    r#"[{"kind":"event","event":{"kind":"check","check":"disk","status":"OK","started_ms":1700000000500,"duration_ms":20,"perfdata":[{"label":"free space","value":5.5,"uom":"GB"},{"label":"x","value":null}]}}]"#,
    r#"[{"kind":"event","event":{"kind":"check","check":"old","status":"warning","started_ms":-9223372036854775808,"perfdata":[{"label":"l","value":1}]}}]"#,
    r#"[{"kind":"capture_done","ts_ms":5,"id":"c1"},{"kind":"event","event":{"kind":"agent_started"}}]"#,
];

#[test]
fn agent_batch_records() {
    for s in RECORDS {
        let records: Vec<serde_json::Value> = serde_json::from_str(s).unwrap();
        decode("h1", 1_700_000_000_000, &records).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    FUZZ.run("records", 4, iters(), &bytes(RECORDS), |b| {
        let Ok(records) = serde_json::from_slice::<Vec<serde_json::Value>>(b) else {
            return;
        };
        let Ok(d) = decode("h1", 1_700_000_000_000, &records) else {
            return;
        };
        let out = d.samples.len() + d.events.len() + d.keepalives.len();
        assert!(out >= records.len() && d.unknown as usize <= records.len());
        // a check's perfdata sits on the second that holds the check's end
        for s in d
            .samples
            .iter()
            .filter(|s| s.metric.starts_with("check.perf."))
        {
            let on_its_second = d.events.iter().any(|e| {
                let (at, end) = (i128::from(s.ts_ms), i128::from(e.ts_ms));
                e.kind == "check"
                    && e.tags.get("check") == s.tags.get("check")
                    && at <= end
                    && end - at < 1000
            });
            assert!(on_its_second, "{s:?} for the checks {:?}", d.events);
        }
    });
}

// ---- Prometheus remote write -----------------------------------------

/// A series: its labels and its (value, timestamp) samples.
type SeriesSpec<'a> = (&'a [(&'a str, &'a str)], &'a [(f64, i64)]);

fn write_request(series: &[SeriesSpec<'_>]) -> WriteRequest {
    WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| Label {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|&(value, timestamp)| remote::Sample { value, timestamp })
                    .collect(),
            })
            .collect(),
    }
}

fn check_remote(req: &WriteRequest) {
    let Ok(samples) = remote::to_samples(req) else {
        return;
    };
    let stamps: Vec<i64> = req
        .timeseries
        .iter()
        .flat_map(|t| &t.samples)
        .filter(|s| s.value.to_bits() != 0x7ff0_0000_0000_0002)
        .map(|s| s.timestamp)
        .collect();
    assert_eq!(samples.len(), stamps.len());
    for (s, t) in samples.iter().zip(stamps) {
        // the end of the second holding the sample, or refused
        let (at, t) = (i128::from(s.ts_ms), i128::from(t));
        assert!(
            at >= t && at - t < 1000 && at % 1000 == 0,
            "{t} stored at {at}"
        );
    }
}

#[test]
fn remote_write_bodies() {
    let reqs = [
        write_request(&[(
            &[("__name__", "up"), ("job", "node"), ("empty", "")],
            &[(1.0, 1_700_000_000_000), (2.5, 1_700_000_001_500)],
        )]),
        write_request(&[
            (&[("__name__", "a")], &[(f64::NAN, 1), (-0.0, 999)]),
            (&[("__name__", "b"), ("x", "é")], &[(1e308, i64::MAX / 2)]),
            (
                &[("__name__", "late")],
                &[(1.0, i64::MAX), (2.0, i64::MAX - 999)],
            ),
        ]),
    ];
    for r in &reqs {
        let body = remote::encode(r);
        assert_eq!(remote::encode(&remote::decode(&body).unwrap()), body);
    }
    // the snappy body as sent, and the protobuf inside it
    let bodies: Vec<Vec<u8>> = reqs.iter().map(remote::encode).collect();
    FUZZ.run("remote write body", 5, iters() / 2, &bodies, |b| {
        if let Ok(req) = remote::decode(b) {
            check_remote(&req);
        }
    });
    let raw: Vec<Vec<u8>> = reqs.iter().map(prost::Message::encode_to_vec).collect();
    FUZZ.run("remote write protobuf", 6, iters() / 2, &raw, |b| {
        let body = snap::raw::Encoder::new().compress_vec(b).unwrap();
        if let Ok(req) = remote::decode(&body) {
            check_remote(&req);
            // (compared as bytes: a NaN is not equal to itself)
            let again = remote::encode(&req);
            assert_eq!(
                remote::decode(&again).map(|r| remote::encode(&r)),
                Ok(again)
            );
        }
    });
}

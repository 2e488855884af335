//! A stable-Rust stand-in for the cargo-fuzz targets in `crates/agent/fuzz`:
//! every parser of bytes the agent does not control (statsd datagrams,
//! HTTP/1.x and DNS payloads, a Prometheus endpoint's answer, the config
//! file) gets a few thousand deterministic inputs: realistic seeds, then
//! bit flips, truncations, splices and interesting bytes. Nothing may
//! panic, and what parses must make sense (round trips, bounds).
//! SONDE_FUZZ_ITERS (per parser, default 5000) and SONDE_FUZZ_SEED run it
//! longer or elsewhere.

use sonde_agent::dns::{self, Dns};
use sonde_agent::http::{self, Dir, Http, Protocol, Transaction};
use sonde_agent::prom::Registry;
use sonde_agent::scrape;
use sonde_agent::statsd::{self, Kind, Sample};
use sonde_agent::{Batch, Config, Series, Value};
use sonde_fuzzkit::{bytes, iters, Fuzzer};

/// Bytes that break parsers: separators, NUL, 0xff, a cut UTF-8 sequence,
/// numbers too large for any integer or float.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\n",
    b"\r\n",
    b":",
    b"|",
    b"{",
    b"}",
    b"#",
    b"@",
    b",",
    b"=",
    b"\"",
    b"\\",
    b" ",
    b"-",
    b"+",
    b".",
    b"/",
    b"?",
    b"%",
    b"HTTP/",
    b"Host: ",
    b"99999999999999999999999",
    b"18446744073709551615",
    b"-9223372036854775808",
    b"1e308",
    b"1e-308",
    b"NaN",
    b"inf",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\x3f",
    b"\xc0",
];

/// This file's runs: their seed unless SONDE_FUZZ_SEED is set, and
/// [`INTERESTING`].
const FUZZ: Fuzzer = Fuzzer {
    seed: 0x5eed_a9e7_0000_0001,
    interesting: INTERESTING,
};

// ---- statsd ----------------------------------------------------------

const STATSD: &[&str] = &[
    "page.views:3|c|@0.5|#env:prod,beta",
    "q:-2|g",
    "q:+4.5|g",
    "temp:21|g|#room:kitchen",
    "t:12.5|ms",
    "api.latency:250|ms|@0.1|#route:/a,code:200",
    "h:1|h",
    "d:7|d",
    "u:alice|s",
    "cpu:0.75|g|#host:x|c:abcdef|T1700000000",
    "a.b-c_d:1e3|c",
];

/// A sample written back as a line (rate 1: counters are already divided).
fn statsd_line(s: &Sample) -> String {
    let ty = match s.kind {
        Kind::Counter => "c",
        Kind::Gauge => "g",
        Kind::Timer => "ms",
        Kind::Histogram => "h",
        Kind::Set => "s",
    };
    let v = if s.kind == Kind::Set {
        s.member.clone()
    } else if s.relative && !s.value.is_sign_negative() {
        format!("+{}", s.value)
    } else {
        s.value.to_string()
    };
    let mut line = format!("{}:{v}|{ty}", s.name);
    if !s.tags.is_empty() {
        let tags: Vec<String> = s.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        line.push_str("|#");
        line.push_str(&tags.join(","));
    }
    line
}

fn check_statsd_line(line: &str) {
    let Ok(s) = statsd::parse_line(line) else {
        return;
    };
    assert!(!s.name.is_empty(), "{s:?}");
    assert!(s.value.is_finite(), "a non-finite value: {s:?}");
    assert!(s.kind != Kind::Set || !s.member.is_empty(), "{s:?}");
    if matches!(s.kind, Kind::Timer | Kind::Histogram) {
        assert!(s.value >= 0.0, "{s:?}");
    }
    let again = statsd_line(&s);
    assert_eq!(statsd::parse_line(&again).as_ref(), Ok(&s), "via {again:?}");
}

#[test]
fn statsd_lines_and_datagrams() {
    for s in STATSD {
        let p = statsd::parse_line(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(statsd::parse_line(&statsd_line(&p)), Ok(p));
    }
    let mut seeds = bytes(STATSD);
    seeds.push(STATSD.join("\n").into_bytes());
    seeds.push(b"a:1|c\r\nb:2|g\n\nc:x|ms\n".to_vec());
    FUZZ.run("statsd", 1, iters(), &seeds, |b| {
        let (ok, bad) = statsd::parse_datagram(b);
        let lines: Vec<&[u8]> = b
            .split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(ok.len() as u64 + bad, lines.len() as u64);
        let good = lines
            .iter()
            .filter_map(|l| std::str::from_utf8(l).ok())
            .filter(|l| statsd::parse_line(l).is_ok())
            .count();
        assert_eq!(ok.len(), good);
        for l in lines {
            check_statsd_line(&String::from_utf8_lossy(l));
        }
    });
}

// ---- HTTP/1.x --------------------------------------------------------

const HTTP: &[&str] = &[
    "GET /a/b?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.58.0\r\n\r\n",
    "POST /api/v1/users/123/orders HTTP/1.1\r\nHost: api.local:8080\r\nContent-Length: 2\r\n\r\n{}",
    "DELETE /o/550e8400-e29b-41d4-a716-446655440000 HTTP/1.0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 404 Not Found\r\nServer: nginx\r\n\r\n",
    "HTTP/1.0 503 Service Unavailable\r\n\r\n",
];

fn shown(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

fn check_transaction(t: &Transaction, buffers: u64) {
    assert_eq!(t.proto, "http");
    assert!(t.side == "server" || t.side == "client");
    assert_eq!(t.labels.len(), 5, "{t:?}");
    assert!(t.labels.windows(2).all(|w| w[0].0 < w[1].0), "{t:?}");
    let status: u64 = t.labels[3].1.parse().unwrap();
    assert!((100..600).contains(&status), "{t:?}");
    assert_eq!(t.labels[4].1, format!("{}xx", status / 100));
    assert!(t.latency_ns <= buffers);
}

#[test]
fn http_payloads() {
    let mut h = Http::new(8);
    let mut out = Vec::new();
    h.on_buffer((1, 1), Dir::In, 5, HTTP[1].as_bytes(), &mut out);
    h.on_buffer((1, 1), Dir::Out, 9, HTTP[5].as_bytes(), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].labels[2].1, "/api/v1/users/{n}/orders");
    for code in [100u64, 200, 599, 1000, u64::MAX] {
        assert_eq!(
            http::parse_status(format!("HTTP/1.1 {code} X\r\n").as_bytes()),
            Some(code)
        );
    }
    let mut n = 0u64;
    let mut paths = std::collections::BTreeSet::new();
    FUZZ.run("http", 2, iters(), &bytes(HTTP), |b| {
        if let Some((m, u)) = http::parse_request(b) {
            assert!(!m.is_empty() && m.bytes().all(|c| c.is_ascii_uppercase()));
            assert!(b.starts_with(m.as_bytes()));
            assert!(!u.is_empty() && u.bytes().all(|c| shown(c) && c != b' '));
        }
        if let Some(host) = http::parse_host(b) {
            assert!(!host.is_empty() && host.bytes().all(|c| shown(c) && c != b' '));
        }
        let _ = http::parse_status(b);
        let p = http::normalize_path(&String::from_utf8_lossy(b));
        assert!(!p.is_empty() && !p.contains(['?', '#']));
        assert_eq!(http::normalize_path(&p), p, "not idempotent");
        // the decoder as the sink drives it: a few connections, both ways
        n += 1;
        let key = (1, i64::from(b.len() as u8 % 3));
        let dir = if n % 3 == 0 { Dir::Out } else { Dir::In };
        let before = out.len();
        h.on_buffer(key, dir, n, b, &mut out);
        assert!(out.len() <= before + 1);
        for t in &out[before..] {
            check_transaction(t, n);
            paths.insert(t.labels[2].1.clone());
        }
        if n % 97 == 0 {
            h.on_close(key);
        }
    });
    assert!(paths.len() <= 8 + 1, "the path cap leaked: {paths:?}");
    let _ = (h.take_malformed(), h.take_capped());
}

// ---- DNS -------------------------------------------------------------

/// A message: id, flags, one question for `name` of type `qtype`.
fn dns_msg(id: u16, flags: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(id.to_be_bytes());
    b.extend(flags.to_be_bytes());
    b.extend([0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.').filter(|l| !l.is_empty()) {
        b.push(l.len() as u8);
        b.extend(l.bytes());
    }
    b.push(0);
    b.extend(qtype.to_be_bytes());
    b.extend(1u16.to_be_bytes());
    b
}

#[test]
fn dns_messages() {
    let seeds = vec![
        dns_msg(0x1234, 0x0100, "example.com", 1),
        dns_msg(0x1234, 0x8180, "example.com", 1),
        dns_msg(7, 0x0100, "Www.Sub-Domain_1.example.org", 28),
        dns_msg(7, 0x8183, "nx.test", 28),
        dns_msg(9, 0x0120, "_sip._tcp.example.net", 33),
        dns_msg(0xffff, 0x8185, "", 255),
    ];
    for s in &seeds {
        assert!(dns::parse(s).is_some());
    }
    let mut d = Dns::new(8);
    let mut out = Vec::new();
    let mut n = 0u64;
    FUZZ.run("dns", 3, iters(), &seeds, |b| {
        if let Some(m) = dns::parse(b) {
            assert!(m.name.len() <= 255, "{m:?}");
            assert!(
                m.name.bytes().all(|c| !c.is_ascii_uppercase()
                    && (c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))),
                "{m:?}"
            );
            let flags = (u16::from(m.answer) << 15) | u16::from(m.rcode);
            assert_eq!(dns::parse(&dns_msg(m.id, flags, &m.name, m.qtype)), Some(m));
        }
        n += 1;
        let dir = if n % 2 == 0 { Dir::Out } else { Dir::In };
        let before = out.len();
        d.on_buffer((2, i64::from(b.len() as u8 % 2)), dir, n, b, &mut out);
        assert!(out.len() <= before + 1);
        for t in &out[before..] {
            assert_eq!(t.labels.len(), 3);
            assert!(t.latency_ns <= n);
        }
    });
    let _ = (d.take_malformed(), d.take_capped());
}

// ---- Prometheus text exposition --------------------------------------

const PROM: &[&str] = &[
    "# HELP reqs Requests.\n# TYPE reqs counter\nreqs_total{code=\"200\",path=\"/a \\\"b\\\"\"} 42\n",
    "temp 21.5 1700000000000\nup{} 1\ninf +Inf\nnan NaN\nneg -Inf\n",
    "http_request_duration_seconds_bucket{le=\"0.05\",method=\"GET\"} 24054\n\
     http_request_duration_seconds_bucket{le=\"+Inf\",method=\"GET\"} 144320\n\
     http_request_duration_seconds_sum{method=\"GET\"} 53423\n",
    "process_start_time_seconds 1.7e9\nmetric_without_timestamp_and_labels 12.47\n\
     msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n",
];

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

#[test]
fn prometheus_text() {
    for s in PROM {
        let (samples, bad) = scrape::parse_text(s);
        assert!(!samples.is_empty() && bad == 0, "{s}");
    }
    FUZZ.run("prometheus text", 4, iters(), &bytes(PROM), |b| {
        let text = String::from_utf8_lossy(b);
        let (samples, bad) = scrape::parse_text(&text);
        assert!(samples.len() <= 2_000);
        assert!(samples.len() as u64 + bad <= text.lines().count() as u64);
        for s in &samples {
            assert!(valid_name(&s.name), "{s:?}");
            assert!(s.labels.iter().all(|(k, _)| valid_name(k)), "{s:?}");
        }
    });
}

/// The agent's own `/metrics` text, read back by the scraper's parser:
/// every line is a sample, with the tag values and the value it was given.
#[test]
fn prometheus_render_round_trips() {
    const CHARS: &[char] = &[
        'a', 'Z', '0', ' ', '"', '\\', '\n', '\r', '{', '}', ',', '=', '#', '\t', 'é', '\u{a0}',
    ];
    let mut rng = FUZZ.rng(5);
    for case in 0..iters() / 4 {
        let mut r = Registry::new(100);
        let mut given = Vec::new();
        for k in 0..1 + rng.below(3) {
            let tags: Vec<(String, String)> = (0..rng.below(3))
                .map(|t| {
                    let v: String = (0..rng.below(8))
                        .map(|_| CHARS[rng.below(CHARS.len())])
                        .collect();
                    (format!("tag{t}.k"), v)
                })
                .collect();
            let value = (rng.next() as i64) as f64 / 1000.0;
            given.push((tags.clone(), value));
            r.add(&Batch {
                ts: 1,
                series: vec![Series {
                    name: format!("m{case}.s{k}"),
                    tags,
                    value: Value::Gauge(value),
                }],
            });
        }
        let text = r.render();
        let (samples, bad) = scrape::parse_text(&text);
        assert_eq!((samples.len(), bad), (given.len(), 0), "{text}");
        for (tags, value) in &given {
            let want: Vec<&str> = tags.iter().map(|(_, v)| v.as_str()).collect();
            assert!(
                samples.iter().any(|s| s.value == *value
                    && s.labels
                        .iter()
                        .map(|(_, v)| v.as_str())
                        .eq(want.iter().copied())),
                "{tags:?} = {value} not read back from {text}"
            );
        }
    }
}

// ---- the config file -------------------------------------------------

const CONFIGS: &[&str] = &[
    "tags:\n  env: prod\n  team: core\nlimits:\n  max_series: 50\n  max_http_paths: 10\nstatsd:\n  listen: 127.0.0.1:9125\n",
    "snaplen: 256\nhttp: false\ndns: true\n",
    "scrape:\n  enabled: true\n  path: /metrics\n  interval_s: 15\n  timeout_ms: 500\n",
    "kubernetes:\n  cluster_state: false\n  cluster_name: prod\n  lease: kube-system/sonde\n  lease_duration_s: 30\n",
    "{\"tags\": {\"dc\": \"eu-1\"}, \"limits\": {\"max_files\": 5}, \"snaplen\": 65536}",
    "",
];

#[test]
fn config_files() {
    for s in CONFIGS {
        Config::parse(s, "agent.yaml").unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    FUZZ.run(
        "config",
        6,
        iters(),
        &bytes(CONFIGS),
        |b| match Config::parse(&String::from_utf8_lossy(b), "agent.yaml") {
            Ok(c) => {
                assert!(c.limits.max_series >= 1);
                assert!((64..=65_536).contains(&c.snaplen));
                assert!(c.kubernetes.lease_duration_s >= 2);
                assert!(c.kubernetes.lease.split('/').count() == 2);
                assert!(c.tags.keys().all(|k| !k.is_empty() && !k.contains('=')));
            }
            Err(e) => assert!(e.to_string().contains("agent.yaml"), "{e}"),
        },
    );
}

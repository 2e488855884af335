//! Resolver tests: never blocking on slow or hostile sources, dropping when
//! full, reasons once, bounded cache, forget.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use super::*;
use crate::identity::Runtime;

fn ident(id: &str) -> Identity {
    Identity {
        id: id.to_string(),
        runtime: Runtime::Podman,
        pod_uid: None,
    }
}

/// A source that knows every container and names it after its id.
struct Echo;

impl Source for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn handles(&self, _: Runtime) -> bool {
        true
    }
    fn lookup(
        &self,
        id: &str,
        rt: Runtime,
        _: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError> {
        let mut i = ContainerInfo::new(id, rt, "echo");
        i.name = format!("name-{id}");
        Ok(Some(i))
    }
}

/// A source that panics.
struct Boom;

impl Source for Boom {
    fn name(&self) -> &'static str {
        "boom"
    }
    fn handles(&self, _: Runtime) -> bool {
        true
    }
    fn lookup(
        &self,
        _: &str,
        _: Runtime,
        _: Instant,
    ) -> Result<Option<ContainerInfo>, SourceError> {
        panic!("boom")
    }
}

/// A unix socket serving each connection with `answer` (after `delay`),
/// for `conns` connections.
fn fake_socket(tag: &str, delay: Duration, answer: Vec<u8>, conns: usize) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sonde-ctr-{tag}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let l = UnixListener::bind(&p).unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(conns) {
            let Ok(mut s) = s else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(&answer);
            });
        }
    });
    p
}

fn cfg() -> ResolverConfig {
    ResolverConfig {
        deadline: Duration::from_millis(500),
        ..ResolverConfig::default()
    }
}

#[test]
fn slow_socket_never_blocks() {
    let body = br#"{"Id":"x","Name":"/late"}"#;
    let mut answer =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    answer.extend_from_slice(body);
    let sock = fake_socket("slow", Duration::from_secs(5), answer, 16);
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(DockerApi::new(&sock)), Arc::new(Echo)];
    let mut r = Resolver::new(sources, &cfg());
    let t = Instant::now();
    for i in 0..20 {
        assert!(r.request(&ident(&format!("c{i}"))));
    }
    assert!(t.elapsed() < Duration::from_millis(50), "request blocked");
    assert!(
        !r.request(&ident("c0")),
        "pending requests are not queued twice"
    );
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(4);
    while got.len() < 20 && Instant::now() < end {
        got.extend(r.wait(Duration::from_millis(100)));
    }
    // the slow socket cost one deadline, then was skipped
    assert_eq!(got.len(), 20, "lookups completed despite the slow socket");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(got
        .iter()
        .all(|g| g.info.as_ref().unwrap().source == "echo"));
    let reasons = r.reasons();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("timed out"), "{reasons:?}");
    assert_eq!(r.get("c3").unwrap().info.as_ref().unwrap().name, "name-c3");
    let _ = std::fs::remove_file(&sock);
}

#[test]
fn hostile_answers_cost_only_names() {
    let huge = format!(
        "{{\"Id\":\"x\",\"Name\":\"/h\",\"Config\":{{\"Labels\":{{\"big\":\"{}\"}}}}}}",
        "a".repeat(2 << 20)
    );
    let answers: Vec<(&str, Vec<u8>)> = vec![
        (
            "mid",
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"Id\":".to_vec(),
        ),
        (
            "utf",
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"Id\":\"\xff\xfe\"}".to_vec(),
        ),
        ("junk", b"\x00\x01\x02 not http at all\r\n\r\n".to_vec()),
        (
            "big",
            format!("HTTP/1.1 200 OK\r\n\r\n{}", "x".repeat(9 << 20)).into_bytes(),
        ),
        ("huge", {
            let mut a =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", huge.len()).into_bytes();
            a.extend_from_slice(huge.as_bytes());
            a
        }),
    ];
    for (tag, answer) in answers {
        let sock = fake_socket(tag, Duration::ZERO, answer, 4);
        let mut r = Resolver::new(
            vec![Arc::new(DockerApi::new(&sock)), Arc::new(Boom)],
            &cfg(),
        );
        assert!(r.request(&ident("c1")));
        let got = r.wait(Duration::from_secs(3));
        assert_eq!(got.len(), 1, "{tag}");
        match &got[0].info {
            None => assert!(!r.reasons().is_empty(), "{tag}"),
            Some(i) => {
                // a huge label is dropped, the rest kept
                assert_eq!(tag, "huge");
                assert_eq!(i.name, "h");
                assert!(i.labels.is_empty());
            }
        }
        let _ = std::fs::remove_file(&sock);
    }
}

#[test]
fn missing_socket_reason_once() {
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(DockerApi::new("/nonexistent/sonde.sock"))];
    let mut r = Resolver::new(sources, &cfg());
    for i in 0..5 {
        r.request(&ident(&format!("m{i}")));
    }
    let mut n = 0;
    let end = Instant::now() + Duration::from_secs(3);
    while n < 5 && Instant::now() < end {
        n += r.wait(Duration::from_millis(100)).len();
    }
    assert_eq!(n, 5);
    assert_eq!(r.reasons().len(), 1, "{:?}", r.reasons());
    assert!(r.get("m0").unwrap().info.is_none());
}

#[test]
fn full_queue_drops_and_counts() {
    let sock = fake_socket("full", Duration::from_secs(5), Vec::new(), 64);
    let c = ResolverConfig {
        queue: 2,
        workers: 1,
        deadline: Duration::from_secs(2),
        backoff: Duration::ZERO,
        cache: 16,
    };
    let mut r = Resolver::new(vec![Arc::new(DockerApi::new(&sock))], &c);
    let t = Instant::now();
    let queued = (0..50)
        .filter(|i| r.request(&ident(&format!("q{i}"))))
        .count();
    assert!(t.elapsed() < Duration::from_millis(50));
    assert!(queued <= 3, "{queued}");
    assert_eq!(r.dropped(), 50 - queued as u64);
    let _ = std::fs::remove_file(&sock);
}

#[test]
fn cache_is_bounded_and_forgets() {
    let c = ResolverConfig { cache: 10, ..cfg() };
    let mut r = Resolver::new(vec![Arc::new(Echo)], &c);
    let mut n = 0;
    for i in 0..30 {
        assert!(r.request(&ident(&format!("k{i}"))));
        if i % 10 == 9 {
            let end = Instant::now() + Duration::from_secs(2);
            while r.pending() > 0 && Instant::now() < end {
                n += r.wait(Duration::from_millis(50)).len();
            }
        }
    }
    assert_eq!(n, 30);
    assert_eq!(r.cached(), 10);
    assert!(r.get("k0").is_none() && r.get("k29").is_some());
    r.forget("k29");
    assert!(r.get("k29").is_none());
    assert_eq!(r.cached(), 9);
    // forgotten while in flight: the result is discarded
    r.request(&ident("late"));
    r.forget("late");
    std::thread::sleep(Duration::from_millis(100));
    assert!(r.poll().is_empty());
    assert_eq!(r.sources(), vec!["echo"]);
}

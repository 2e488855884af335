//! The application, log and security chisels on a live capture: sonde
//! records a workload it drives itself (HTTP requests, memcached
//! commands, syslog messages on a `.../dev/log` socket, log-file writes,
//! a shellshock-style environment) to a file; on that file sonde's
//! bundled httplog, httptop, memcachelog, spy_logs and spy_syslog must
//! print what sysdig 0.29.3's print (and find the workload), and
//! shellshock_detect (whose own filter sysdig rejects) the two shells.
#![cfg(feature = "live")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

/// Serves `n` connections: each request gets `reply` (HTTP) or, for
/// memcached, one reply per command read.
fn serve(listener: TcpListener, n: usize, reply: &'static [u8]) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut c, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 2048];
            while let Ok(k) = c.read(&mut buf) {
                if k == 0 || c.write_all(reply).is_err() {
                    break;
                }
            }
        }
    })
}

fn http_get(port: u16, path: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // one write: the chisels parse a request from one buffer
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let _ = s.read(&mut buf);
}

/// The workload, from this process and a few children, in `dir`.
fn workload(dir: &Path) {
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let hport = http.local_addr().unwrap().port();
    let h = serve(
        http,
        2,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    http_get(hport, "/sonde/a");
    http_get(hport, "/sonde/b");
    let _ = h.join();
    // memcached's port: sysdig's chisel watches server port 11211
    if let Ok(mc) = TcpListener::bind("127.0.0.1:11211") {
        let m = serve(mc, 1, b"STORED\r\n");
        let mut s = TcpStream::connect("127.0.0.1:11211").unwrap();
        for cmd in [&b"set sondekey 0 0 5\r\nhello\r\n"[..], b"get sondekey\r\n"] {
            s.write_all(cmd).unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            thread::sleep(Duration::from_millis(20));
        }
        drop(s);
        let _ = m.join();
    }
    std::fs::create_dir_all(dir.join("dev")).unwrap();
    let sock = dir.join("dev/log");
    let _ = std::fs::remove_file(&sock);
    let srv = UnixDatagram::bind(&sock).unwrap();
    let cl = UnixDatagram::unbound().unwrap();
    for (pri, msg) in [
        (12, "sonde-live warning"),
        (11, "sonde-live error"),
        (38, "sonde-live auth"),
    ] {
        cl.send_to(
            format!("<{pri}>Dec  3 16:00:00 app: {msg}").as_bytes(),
            &sock,
        )
        .unwrap();
        let mut buf = [0u8; 256];
        let _ = srv.recv(&mut buf);
    }
    let mut f = std::fs::File::create(dir.join("sonde_app.log")).unwrap();
    f.write_all(b"sonde-live line 1 warn\nsonde-live line 2\n")
        .unwrap();
    drop(f);
    for sh in ["bash", "sh"] {
        let _ = Command::new(sh)
            .args(["-c", "true"])
            .env("SONDE_SHOCK", "() { :;}; echo sonde-shellshock")
            .status();
    }
}

fn run(prog: &str, trace: &Path, chisel: &str, args: Option<&str>) -> String {
    let mut cmd = Command::new(prog);
    cmd.env("TZ", "UTC")
        .arg("-r")
        .arg(trace)
        .args(["-c", chisel]);
    if let Some(a) = args {
        cmd.arg(a);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{prog} -c {chisel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn app_log_and_security_chisels_on_a_live_capture() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if let Err(e) = sonde_probe::check_support() {
        assert!(!ci, "CI=true: live capture is required: {e}");
        eprintln!("skipped: {e}");
        return;
    }
    let sysdig = Command::new("sysdig").arg("--version").output().is_ok();
    assert!(sysdig || !ci, "CI=true: sysdig is required");
    if !sysdig {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-live-apps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("live.scap");
    let cap = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("-w")
        .arg(&trace)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the probe is attached once events reach the file (the capture runs
    // until the workload is done, however long the start took)
    for _ in 0..300 {
        thread::sleep(Duration::from_millis(100));
        if std::fs::metadata(&trace).is_ok_and(|m| m.len() > 256 << 10) {
            break;
        }
    }
    thread::sleep(Duration::from_millis(300));
    workload(&dir);
    thread::sleep(Duration::from_millis(500));
    // SAFETY: signals our own child process
    unsafe { libc::kill(cap.id() as i32, libc::SIGINT) };
    let out = cap.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "capture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sonde = env!("CARGO_BIN_EXE_sonde");
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("httplog", None, "url=127.0.0.1:"),
        ("httptop", None, "/sonde/a"),
        ("httptop", Some("bytes"), "/sonde/b"),
        ("memcachelog", None, "key=sondekey"),
        ("spy_syslog", None, "user.warn"),
        ("spy_logs", None, "sonde-live line 2"),
    ];
    // the machine's other activity is in the capture too: only the lines
    // of this workload are compared
    let ours = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.contains("sonde") && !l.contains("tests-sonde"))
            .filter(|l| {
                ["/sonde/", "sondekey", "sonde-live"]
                    .iter()
                    .any(|m| l.contains(m))
            })
            .map(str::to_string)
            .collect();
        // httptop's rows tie (one call each): compared as sets
        v.sort();
        v
    };
    for (chisel, args, marker) in cases {
        let expected = run("sysdig", &trace, chisel, *args);
        let got = run(sonde, &trace, chisel, *args);
        assert!(
            expected.contains(marker),
            "sysdig's {chisel} misses {marker}:\n{expected}"
        );
        assert_eq!(ours(&got), ours(&expected), "{chisel} {args:?}");
        if *chisel == "httptop" {
            // the header
            assert_eq!(got.lines().next(), expected.lines().next());
        }
    }
    let shock = run(sonde, &trace, "shellshock_detect", None);
    assert_eq!(
        shock.matches("() { :;}; echo sonde-shellshock").count(),
        2,
        "{shock}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

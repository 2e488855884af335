//! The control socket's edges: permissions, a second agent on the same
//! socket, a stale socket, malformed and refused requests, a recorder
//! that is gone.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use sonde_recorder::control::{request_capture, ControlServer};
use sonde_recorder::{Recorder, RecorderConfig, RecorderError};

fn raw(sock: &std::path::Path, line: &str) -> String {
    let mut c = UnixStream::connect(sock).unwrap();
    c.write_all(line.as_bytes()).unwrap();
    let mut back = String::new();
    BufReader::new(&c).read_line(&mut back).unwrap();
    back
}

#[test]
fn control_socket_edges() {
    let dir = common::tmpdir("control");
    let sock = dir.join("run/sonde/agent.sock");
    // a stale socket from a dead agent is replaced
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    drop(UnixListener::bind(&sock).unwrap());
    let (rec, handle) = Recorder::new(RecorderConfig::default());
    let server = ControlServer::start(&sock, handle.clone()).unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // a second agent on the same socket is refused
    let (_r2, h2) = Recorder::new(RecorderConfig::default());
    match ControlServer::start(&sock, h2) {
        Err(RecorderError::Socket { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse)
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two servers on one socket"),
    }
    assert!(raw(&sock, "not json\n").contains("\"error\":\"bad request"));
    let rel = raw(
        &sock,
        "{\"before_ms\":1,\"after_ms\":1,\"path\":\"rel.scap\"}\n",
    );
    assert!(rel.contains("must be absolute"), "{rel}");
    // the recorder is gone (its engine ended): a clear answer, no hang
    drop(rec);
    let r = request_capture(
        &sock,
        Duration::from_secs(1),
        Duration::ZERO,
        &dir.join("x.scap"),
    );
    match r {
        Err(RecorderError::Protocol(m)) => assert!(m.contains("not running"), "{m}"),
        other => panic!("{other:?}"),
    }
    drop(server);
    assert!(!sock.exists());
    // nobody listening: the client says which socket
    let e = request_capture(&sock, Duration::ZERO, Duration::ZERO, &dir.join("y.scap"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent.sock"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! What the server tests share: a CA and server certificate (sonde-livetest), a
//! running `sonde-server` (the real binary, its own data directory), and
//! a small HTTPS client (rustls) for its APIs.
#![allow(dead_code, unused_imports)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as J;
use sonde_transport::rustls;

pub mod browser;
pub mod live;
pub mod podman;
pub mod workload;

pub const AGENT_TOKEN: &str = "agent-t0ken";
pub const API_TOKEN: &str = "api-t0ken";

pub fn tmpdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-server-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub use sonde_livetest::free_port;

/// Certificates and token files in `dir`.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub agent_tokens: PathBuf,
    pub api_tokens: PathBuf,
}

pub fn pki(dir: &Path) -> Pki {
    let t = sonde_livetest::test_pki("agent");
    let w = |n: &str, s: &str| {
        let f = dir.join(n);
        std::fs::write(&f, s).unwrap();
        f
    };
    Pki {
        dir: dir.to_path_buf(),
        ca: w("ca.pem", &t.ca_pem),
        cert: w("server.pem", &t.server_pem),
        key: w("server.key", &t.server_key_pem),
        agent_tokens: w("agent.tokens", &format!("# agents\n{AGENT_TOKEN}\n")),
        api_tokens: w("api.tokens", &format!("{API_TOKEN}\n")),
    }
}

pub fn client_tls(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let ca = sonde_transport::load_certs(&pki.ca).unwrap();
    sonde_transport::client_config(&ca, None).unwrap()
}

/// A running `sonde-server`.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub tls: Arc<rustls::ClientConfig>,
    pub data: PathBuf,
}

impl Server {
    pub fn start(pki: &Pki, port: u16, data: &Path) -> Server {
        Server::start_with(
            Command::new(env!("CARGO_BIN_EXE_sonde-server")),
            pki,
            port,
            data,
        )
    }

    /// Runs `cmd` (sonde-server, or `sonde server`) with the test's flags.
    pub fn start_with(mut cmd: Command, pki: &Pki, port: u16, data: &Path) -> Server {
        let child = cmd
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--cert")
            .arg(&pki.cert)
            .arg("--key")
            .arg(&pki.key)
            .arg("--agent-token-file")
            .arg(&pki.agent_tokens)
            .arg("--api-token-file")
            .arg(&pki.api_tokens)
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server {
            child,
            port,
            tls: client_tls(pki),
            data: data.to_path_buf(),
        };
        let t0 = Instant::now();
        loop {
            if let Ok((200, _)) = s.try_req("GET", "/healthz", None, None) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "sonde-server never answered on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn try_req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<(u16, String)> {
        https(&self.tls, self.port, method, path, token, body)
    }

    /// A request; the status and the body as JSON.
    pub fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> (u16, J) {
        let (st, b) = self.try_req(method, path, token, body).unwrap();
        let j = serde_json::from_str(&b)
            .unwrap_or_else(|e| panic!("{method} {path}: {st} not JSON ({e}): {b}"));
        (st, j)
    }

    /// An API GET with the API token.
    pub fn get(&self, path: &str) -> (u16, J) {
        self.req("GET", path, Some(API_TOKEN), None)
    }

    /// An API POST of JSON with the API token.
    pub fn post_json(&self, path: &str, body: &J) -> (u16, J) {
        let b = body.to_string();
        self.req(
            "POST",
            path,
            Some(API_TOKEN),
            Some(("application/json", b.as_bytes())),
        )
    }

    /// An ingest post with the agent token.
    pub fn ingest(&self, batch: &J) -> (u16, J) {
        let b = batch.to_string();
        self.req(
            "POST",
            "/api/v1/ingest",
            Some(AGENT_TOKEN),
            Some(("application/json", b.as_bytes())),
        )
    }
}

/// The session cookie of `user` logged in with `pw`.
pub fn login(s: &Server, user: &str, pw: &str) -> String {
    let body = serde_json::json!({"user": user, "password": pw}).to_string();
    let (st, head, b) = https_raw(
        &s.tls,
        s.port,
        "POST",
        "/api/v1/login",
        &[],
        Some(("application/json", body.as_bytes())),
    )
    .unwrap();
    assert_eq!(st, 200, "{b}");
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    let c = line.split_once(':').unwrap().1.trim();
    c.split(';').next().unwrap().to_string()
}

/// Makes user `who` (`name:password`) with `role` (and `team`, if any)
/// through the API.
pub fn make_user(s: &Server, who: &str, role: &str, team: Option<&str>) {
    let (name, pw) = who.split_once(':').unwrap();
    let mut u = serde_json::json!({"name": name, "password": pw, "role": role});
    if let Some(t) = team {
        u["team"] = J::from(t);
    }
    let (st, r) = s.post_json("/api/v1/users", &u);
    assert_eq!(st, 201, "{r}");
}

/// A `sonde-server` that evaluates its alerts every second (its
/// configuration in `dir`/alerts.json), its data in `dir`/data.
pub fn alerting_server(pki: &Pki, dir: &Path) -> Server {
    std::fs::write(
        dir.join("alerts.json"),
        r#"{"interval_s": 1, "delay_ms": 500}"#,
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.arg("--alerts-config").arg(dir.join("alerts.json"));
    Server::start_with(cmd, pki, free_port(), &dir.join("data"))
}

/// A `sonde-server` with an `admin` whose password is `pw`.
pub fn admin_server(pki: &Pki, dir: &Path, pw: &str) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde-server"));
    cmd.env("SONDE_ADMIN_PASSWORD", pw);
    Server::start_with(cmd, pki, free_port(), &dir.join("data"))
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTPS/1.1 request (Connection: close).
pub fn https(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> std::io::Result<(u16, String)> {
    let (status, body) = https_bytes(tls, port, method, path, token, body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One HTTPS/1.1 request (Connection: close); the body as bytes.
pub fn https_bytes(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    request(tls, port, method, path, &headers, body).map(|(st, _, b)| (st, b))
}

/// One HTTPS/1.1 request with extra headers: the status, the response's
/// head (status line and headers) and its body.
pub fn https_raw(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> std::io::Result<(u16, String, String)> {
    let (st, head, b) = request(tls, port, method, path, headers, body)?;
    Ok((st, head, String::from_utf8_lossy(&b).into_owned()))
}

fn request(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls.clone(), name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut s = rustls::StreamOwned::new(conn, sock);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let (ct, b) = body.unwrap_or(("application/json", b""));
    req.push_str(&format!(
        "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        b.len()
    ));
    s.write_all(req.as_bytes())?;
    s.write_all(b)?;
    s.flush()?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // a peer closing without close_notify after the full answer
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP head in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Ok((status, head, body))
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..i]);
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let rest = &s[i + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        s = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// A metric series record as the agent sends it.
pub fn counter(name: &str, ts_s: i64, tags: &[(&str, &str)], v: f64) -> J {
    series(
        name,
        ts_s,
        tags,
        serde_json::json!({"type": "counter", "value": v}),
    )
}

pub fn gauge(name: &str, ts_s: i64, tags: &[(&str, &str)], v: f64) -> J {
    series(
        name,
        ts_s,
        tags,
        serde_json::json!({"type": "gauge", "value": v}),
    )
}

pub fn series(name: &str, ts_s: i64, tags: &[(&str, &str)], value: J) -> J {
    let t: serde_json::Map<String, J> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), J::from(*v)))
        .collect();
    let mut o =
        serde_json::json!({"ts": ts_s, "ts_ns": ts_s * 1_000_000_000, "name": name, "tags": t});
    for (k, v) in value.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

pub fn batch(agent: &str, seq: u64, ts_s: i64, records: Vec<J>) -> J {
    serde_json::json!({"agent": agent, "seq": seq, "ts_ms": ts_s * 1000, "dropped": 0, "records": records})
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

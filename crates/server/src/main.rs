//! `sonde-server` (also run as `sonde server`): flags, the store, the
//! TLS listener. Bad flags or files exit 2 with a message naming them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use sonde_server::serve::{self, AppState};
use sonde_server::ServerError;
use sonde_transport::Token;

/// `sonde server` flags.
#[derive(Parser, Debug)]
#[command(
    name = "sonde server",
    about = "Receive agents' batches over TLS, keep them (DuckDB, or a ClickHouse cluster), serve the REST and Prometheus query APIs on the same port"
)]
struct Args {
    /// Address and port to listen on (agents' ingest and every API).
    #[arg(
        long = "listen",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:9443"
    )]
    listen: String,
    /// The server's certificate chain (PEM).
    #[arg(long = "cert", value_name = "FILE")]
    cert: PathBuf,
    /// The server's private key (PEM).
    #[arg(long = "key", value_name = "FILE")]
    key: PathBuf,
    /// Accept agents presenting a client certificate signed by this CA (PEM; mTLS).
    #[arg(long = "client-ca", value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Agents' bearer tokens, one a line (`#` comments).
    #[arg(long = "agent-token-file", value_name = "FILE")]
    agent_token_file: Option<PathBuf>,
    /// API users' bearer tokens, one a line (`#` comments).
    #[arg(long = "api-token-file", value_name = "FILE")]
    api_token_file: PathBuf,
    /// The store: `duckdb:PATH` (a database file; default: sonde.duckdb in
    /// --data-dir) or `clickhouse:URL[,URL]...` (each shard's HTTP URL; the
    /// password comes from the SONDE_CLICKHOUSE_PASSWORD environment variable).
    #[arg(long = "store", value_name = "ENGINE:WHERE")]
    store: Option<String>,
    /// ClickHouse: the remote_servers cluster the shards form.
    #[arg(
        long = "clickhouse-cluster",
        value_name = "NAME",
        default_value = "sonde"
    )]
    clickhouse_cluster: String,
    /// ClickHouse: the database (created if missing).
    #[arg(
        long = "clickhouse-database",
        value_name = "NAME",
        default_value = "sonde"
    )]
    clickhouse_database: String,
    /// ClickHouse: the user.
    #[arg(
        long = "clickhouse-user",
        value_name = "NAME",
        default_value = "default"
    )]
    clickhouse_user: String,
    /// Where the database lives (the file sonde.duckdb in it).
    #[arg(
        long = "data-dir",
        value_name = "DIR",
        default_value = "/var/lib/sonde"
    )]
    data_dir: PathBuf,
    /// On first start (no user yet), create the user `admin` with the
    /// password in this file (or in $SONDE_ADMIN_PASSWORD).
    #[arg(long = "admin-password-file", value_name = "FILE")]
    admin_password_file: Option<PathBuf>,
    /// How long samples stay at full (1 s) resolution before roll-ups (e.g. 6h, 90m).
    #[arg(long = "retention", value_name = "DURATION", default_value = "6h")]
    retention: String,
    /// Alerting: evaluation interval and delay, handlers (JSON; see the README).
    #[arg(long = "alerts-config", value_name = "FILE")]
    alerts_config: Option<PathBuf>,
    /// Forward every stored agent second to this Prometheus remote-write
    /// URL (http:// or https://).
    #[arg(long = "remote-write-url", value_name = "URL")]
    remote_write_url: Option<String>,
    /// The bearer token for --remote-write-url (its first line).
    #[arg(long = "remote-write-token-file", value_name = "FILE")]
    remote_write_token_file: Option<PathBuf>,
    /// The CA (PEM) an https:// --remote-write-url is checked against.
    #[arg(long = "remote-write-ca", value_name = "FILE")]
    remote_write_ca: Option<PathBuf>,
    /// The most samples waiting to be forwarded; beyond, they are dropped
    /// and counted.
    #[arg(
        long = "remote-write-queue",
        value_name = "SAMPLES",
        default_value_t = 1_000_000
    )]
    remote_write_queue: usize,
    /// The most samples per remote-write request.
    #[arg(
        long = "remote-write-batch",
        value_name = "SAMPLES",
        default_value_t = 5_000
    )]
    remote_write_batch: usize,
}

/// Tokens of a file, one a line.
fn tokens(path: &Path, what: &str) -> Result<Vec<Token>, ServerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Config(format!("{what} '{}': {e}", path.display())))?;
    let t: Vec<Token> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(Token::new)
        .collect();
    if t.is_empty() {
        return Err(ServerError::Config(format!(
            "{what} '{}': no token in it",
            path.display()
        )));
    }
    Ok(t)
}

/// A duration such as `6h`, `90m`, `3600s`, in ms.
fn duration_ms(s: &str) -> Result<i64, ServerError> {
    let bad = || {
        ServerError::Config(format!(
            "--retention '{s}': expected a duration such as 6h, 90m or 3600s"
        ))
    };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mul = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mul).filter(|v| *v > 0).ok_or_else(bad)
}

/// Everything checked before the store opens (so a bad flag costs nothing).
struct Setup {
    tls: Arc<sonde_transport::rustls::ServerConfig>,
    agent_tokens: Vec<Token>,
    api_tokens: Vec<Token>,
    addr: std::net::SocketAddr,
    retention_ms: i64,
    admin_password: Option<String>,
    alerts: sonde_server::alerts_api::Config,
    engine: Engine,
    /// Users, captures (and the DuckDB file by default).
    data_dir: PathBuf,
    /// Remote write out.
    forward: Option<sonde_server::remote::forward::Config>,
}

/// The engine chosen by --store.
enum Engine {
    /// DuckDB over this file.
    Duck(PathBuf),
    /// ClickHouse over these options.
    Click(Box<sonde_store_clickhouse::Options>),
}

impl Engine {
    fn describe(&self) -> String {
        match self {
            Engine::Duck(p) => format!("DuckDB {}", p.display()),
            Engine::Click(o) => format!(
                "ClickHouse {} (cluster {}, database {})",
                o.shards.join(","),
                o.cluster,
                o.database
            ),
        }
    }
}

fn engine(a: &Args, retention_ms: i64) -> Result<Engine, ServerError> {
    let spec = match &a.store {
        None => return Ok(Engine::Duck(a.data_dir.join("sonde.duckdb"))),
        Some(s) => s,
    };
    let bad = |why: &str| ServerError::Config(format!("--store '{spec}': {why}"));
    match spec.split_once(':') {
        Some(("duckdb", p)) if !p.is_empty() => Ok(Engine::Duck(PathBuf::from(p))),
        Some(("clickhouse", urls)) => {
            let shards: Vec<String> = urls.split(',').map(|u| u.trim().to_string()).collect();
            if shards
                .iter()
                .any(|u| !u.starts_with("http://") || u.len() <= 7)
            {
                return Err(bad("each shard is an http:// URL, separated by commas"));
            }
            let password = std::env::var("SONDE_CLICKHOUSE_PASSWORD").unwrap_or_default();
            Ok(Engine::Click(Box::new(sonde_store_clickhouse::Options {
                shards,
                cluster: a.clickhouse_cluster.clone(),
                database: a.clickhouse_database.clone(),
                user: a.clickhouse_user.clone(),
                password,
                retention_ms,
                ..Default::default()
            })))
        }
        _ => Err(bad("expected duckdb:PATH or clickhouse:URL[,URL]...")),
    }
}

fn setup(a: &Args) -> Result<Setup, ServerError> {
    let addr = a
        .listen
        .parse()
        .map_err(|e| ServerError::Config(format!("--listen '{}': {e}", a.listen)))?;
    let chain = sonde_transport::load_certs(&a.cert)?;
    let key = sonde_transport::load_key(&a.key)?;
    let ca = a
        .client_ca
        .as_deref()
        .map(sonde_transport::load_certs)
        .transpose()?;
    let tls = sonde_transport::server_config(chain, key, ca.as_deref())?;
    let agent_tokens = match &a.agent_token_file {
        Some(p) => tokens(p, "--agent-token-file")?,
        None if a.client_ca.is_some() => Vec::new(),
        None => {
            return Err(ServerError::Config(
                "agents need a way in: give --agent-token-file, --client-ca, or both".into(),
            ))
        }
    };
    let retention_ms = duration_ms(&a.retention)?;
    Ok(Setup {
        tls,
        agent_tokens,
        api_tokens: tokens(&a.api_token_file, "--api-token-file")?,
        addr,
        retention_ms,
        engine: engine(a, retention_ms)?,
        data_dir: a.data_dir.clone(),
        admin_password: admin_password(a.admin_password_file.as_deref())?,
        alerts: match &a.alerts_config {
            Some(p) => sonde_server::alerts_api::Config::load(p)?,
            None => sonde_server::alerts_api::Config::default(),
        },
        forward: forward(a)?,
    })
}

/// The remote-write-out flags.
fn forward(a: &Args) -> Result<Option<sonde_server::remote::forward::Config>, ServerError> {
    let Some(url) = &a.remote_write_url else {
        if a.remote_write_token_file.is_some() || a.remote_write_ca.is_some() {
            return Err(ServerError::Config(
                "--remote-write-token-file and --remote-write-ca need --remote-write-url".into(),
            ));
        }
        return Ok(None);
    };
    let token = match &a.remote_write_token_file {
        Some(p) => Some(tokens(p, "--remote-write-token-file")?.remove(0)),
        None => None,
    };
    let ca = match &a.remote_write_ca {
        Some(p) => sonde_transport::load_certs(p)?,
        None => Vec::new(),
    };
    Ok(Some(sonde_server::remote::forward::Config {
        url: url.clone(),
        token,
        ca,
        queue_samples: a.remote_write_queue,
        batch_samples: a.remote_write_batch,
        flush_ms: 1000,
    }))
}

/// The bootstrap admin's password: the file's first line, else the
/// environment's. Never logged.
fn admin_password(file: Option<&Path>) -> Result<Option<String>, ServerError> {
    let pw = match file {
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| {
                ServerError::Config(format!("--admin-password-file '{}': {e}", p.display()))
            })?;
            Some(t.lines().next().unwrap_or("").to_string())
        }
        None => std::env::var("SONDE_ADMIN_PASSWORD").ok(),
    };
    match pw {
        Some(p) if p.len() < 8 => Err(ServerError::Config(
            "the bootstrap admin password needs at least 8 characters".into(),
        )),
        other => Ok(other),
    }
}

fn open_store(
    engine: &Engine,
    retention_ms: i64,
) -> Result<Arc<dyn sonde_store::Store>, ServerError> {
    match engine {
        Engine::Duck(file) => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ServerError::Config(format!("data directory '{}': {e}", dir.display()))
                })?;
            }
            let opts = sonde_store_duckdb::Options {
                retention_ms,
                ..Default::default()
            };
            Ok(Arc::new(sonde_store_duckdb::DuckStore::open(file, opts)?))
        }
        Engine::Click(o) => Ok(Arc::new(sonde_store_clickhouse::ClickStore::open(
            (**o).clone(),
        )?)),
    }
}

async fn run(s: Setup) -> Result<()> {
    let what = s.engine.describe();
    let store = tokio::task::block_in_place(|| open_store(&s.engine, s.retention_ms))?;
    let st = AppState::new(store, s.agent_tokens, s.api_tokens)?;
    let data_dir = &s.data_dir;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| ServerError::Config(format!("--data-dir '{}': {e}", data_dir.display())))?;
    let cdir = data_dir.join("captures");
    st.captures
        .set_dir(cdir.clone())
        .map_err(|e| ServerError::Config(format!("--data-dir: '{}': {e}", cdir.display())))?;
    let created = st
        .auth
        .open(data_dir, s.admin_password.as_deref())
        .map_err(|e| ServerError::Config(e.to_string()))?;
    if created {
        eprintln!("sonde-server: created the bootstrap admin user 'admin'");
    }
    st.dashboards
        .open(data_dir)
        .map_err(|e| ServerError::Config(e.to_string()))?;
    sonde_server::alerts_api::start(&st, s.alerts)?;
    if let Some(cfg) = s.forward {
        let url = cfg.url.clone();
        let f = sonde_server::remote::forward::Forwarder::start(cfg)?;
        let _ = st.forward.set(f);
        eprintln!("sonde-server: forwarding stored seconds to {url} (remote write)");
    }
    let listener = tokio::net::TcpListener::bind(s.addr)
        .await
        .map_err(|e| ServerError::Config(format!("--listen {}: {e}", s.addr)))?;
    eprintln!(
        "sonde-server: listening on https://{} (store: {what})",
        listener.local_addr().context("local address")?,
    );
    tokio::spawn(serve::background(st.clone()));
    let app = serve::router(st);
    tokio::select! {
        r = serve::serve(listener, s.tls, app) => r?,
        _ = tokio::signal::ctrl_c() => eprintln!("sonde-server: stopping"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let s = match setup(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sonde server: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sonde server: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(s)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde server: {e:#}");
            let config = e
                .downcast_ref::<ServerError>()
                .is_some_and(|e| matches!(e, ServerError::Config(_)));
            ExitCode::from(if config { 2 } else { 1 })
        }
    }
}

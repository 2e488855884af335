//! `sonde agent`'s operations side, wired from three libraries: the flight
//! recorder and its local control socket (`sonde-recorder`), Sensu-style
//! checks and keepalives (`sonde-checks`), the TLS link that sends
//! every second's batch out to the server (`sonde-transport`), and the
//! server's requests coming back on it (captures, live tables); plus
//! `sonde agent capture`, the client of the control socket.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use sonde_checks::{AgentEvent, CheckConfig, Scheduler, SchedulerConfig};
use sonde_engine::Engine;
use sonde_recorder::{control, Recorder, RecorderConfig, RecorderHandle};
use sonde_transport::{Sender, SenderConfig, SenderHandle, Token};

use crate::UsageError;

/// The operations flags of `sonde agent`.
#[derive(clap::Args, Debug, Default)]
pub struct OpsArgs {
    /// Send every second's batch to this server (https://HOST:PORT) over TLS.
    #[arg(long = "server", value_name = "URL")]
    server: Option<String>,
    /// The bearer token for the server, read from this file.
    #[arg(long = "token-file", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The CA (or self-signed certificate) the server's certificate is checked against (PEM).
    #[arg(long = "ca", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// A client certificate chain to present to the server (PEM; with --key).
    #[arg(long = "cert", value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Where batches wait while the server is away.
    #[arg(
        long = "spool-dir",
        value_name = "DIR",
        default_value = "/var/lib/sonde/spool"
    )]
    spool_dir: PathBuf,
    /// The spool's cap in MiB (the oldest batches are dropped and counted).
    #[arg(long = "spool-max-mb", value_name = "MIB", default_value_t = 256)]
    spool_max_mb: u64,
    /// This agent's id (default: the host name).
    #[arg(long = "agent-id", value_name = "ID")]
    agent_id: Option<String>,
    /// Checks to run (YAML list of name, command, interval, timeout, subscriptions).
    #[arg(long = "checks", value_name = "FILE")]
    checks: Option<PathBuf>,
    /// A subscription this agent declares (repeatable); checks without one run everywhere.
    #[arg(long = "subscription", value_name = "NAME")]
    subscriptions: Vec<String>,
    /// Seconds between keepalives.
    #[arg(long = "keepalive", value_name = "SECS", default_value_t = 5)]
    keepalive: u64,
    /// Seconds of raw events the flight recorder keeps (live; 0: off).
    #[arg(long = "recorder-window", value_name = "SECS", default_value_t = 10)]
    recorder_window: u64,
    /// The flight recorder's cap in MiB. Under load the ring fills to
    /// it, so it is that much of the agent's memory.
    #[arg(long = "recorder-max-mb", value_name = "MIB", default_value_t = 64)]
    recorder_max_mb: usize,
    /// The local control socket `sonde agent capture` talks to.
    #[arg(long = "control-socket", value_name = "PATH")]
    control_socket: Option<PathBuf>,
    /// Have the kernel send every syscall's event, the waits too (epoll,
    /// poll, select, futex, sleeps), which it otherwise only counts: the
    /// flight recorder and live tables then hold them, at a higher cost
    /// to the traced programs.
    #[arg(long = "all-events")]
    pub all_events: bool,
}

impl OpsArgs {
    /// The syscalls the kernel counts instead of sending (live).
    pub fn kernel_counted(&self) -> &'static [&'static str] {
        if self.all_events {
            &[]
        } else {
            sonde_agent::KERNEL_COUNTED
        }
    }
}

/// What runs beside the engine; [`Ops::finish`] stops it in order.
pub struct Ops {
    sender: Option<Arc<SenderHandle>>,
    scheduler: Option<Scheduler>,
    forward: Option<std::thread::JoinHandle<()>>,
    _control: Option<control::ControlServer>,
    remote: Option<crate::agent_remote::Remote>,
    /// The thread sending live tables' samples (ends with the engine's sink).
    live_up: Option<std::thread::JoinHandle<()>>,
}

impl Ops {
    /// Starts the sender, the checks and (live) the recorder, whose sink
    /// joins `engine`. `to_stdout`: check events are printed as JSON lines too.
    pub fn start(
        args: &OpsArgs,
        live: bool,
        engine: &mut Engine<'_>,
        hostname: Option<String>,
        to_stdout: bool,
    ) -> Result<Ops> {
        let agent = args
            .agent_id
            .clone()
            .or(hostname)
            .unwrap_or_else(|| "sonde-agent".into());
        let sender = sender(args, &agent)?.map(Arc::new);
        let (scheduler, forward) = checks(args, &agent, sender.clone(), to_stdout)?;
        let (control, handle) = if live && args.recorder_window > 0 {
            let (control, handle) = recorder(args, engine)?;
            (control, Some(handle))
        } else {
            (None, None)
        };
        // the server asks for captures and live tables through the link
        let mut live_up = None;
        let remote = sender.as_ref().map(|s| {
            let requests = live.then(|| {
                let (mut sink, tx, rx) = crate::agent_live::LiveViews::new();
                sink.leave_out(args.kernel_counted());
                engine.add_sink(Box::new(sink));
                live_up = crate::agent_live::start_uploads(rx, s.uploader());
                tx
            });
            crate::agent_remote::Remote::start(
                s.commands(),
                s.uploader(),
                handle,
                requests,
                args.spool_dir.clone(),
            )
        });
        Ok(Ops {
            sender,
            scheduler,
            forward,
            _control: control,
            remote,
            live_up,
        })
    }

    /// The sender, for the metrics batches.
    pub fn sender(&self) -> Option<Arc<SenderHandle>> {
        self.sender.clone()
    }

    /// Stops the checks (a last keepalive says the agent is leaving), then
    /// gives the sender a few seconds to deliver what is left.
    pub fn finish(mut self) {
        drop(self.remote.take());
        if let Some(t) = self.live_up.take() {
            let _ = t.join();
        }
        if let Some(s) = self.scheduler.take() {
            s.shutdown();
        }
        if let Some(f) = self.forward.take() {
            let _ = f.join();
        }
        if let Some(s) = self.sender.take() {
            // (every other holder is gone by now; if not, the spool keeps
            // what was not sent for the next run)
            if let Ok(s) = Arc::try_unwrap(s) {
                let st = s.shutdown(Duration::from_secs(5));
                if st.spooled > 0 {
                    eprintln!(
                        "sonde agent: {} batches left in the spool for the next run",
                        st.spooled
                    );
                }
            }
        }
    }
}

fn sender(args: &OpsArgs, agent: &str) -> Result<Option<SenderHandle>> {
    let Some(url) = &args.server else {
        return Ok(None);
    };
    if !url.starts_with("https://") {
        return Err(UsageError(format!(
            "--server {url}: expected https://HOST:PORT (the agent speaks TLS only)"
        ))
        .into());
    }
    let usage = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
        UsageError(format!("{what} '{}': {e}", p.display()))
    };
    let ca = match &args.ca {
        Some(p) => sonde_transport::load_certs(p).map_err(|e| usage("--ca", p, &e))?,
        None => {
            return Err(
                UsageError("--server needs --ca (the server's CA certificate)".into()).into(),
            )
        }
    };
    let client = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => Some((
            sonde_transport::load_certs(c).map_err(|e| usage("--cert", c, &e))?,
            sonde_transport::load_key(k).map_err(|e| usage("--key", k, &e))?,
        )),
        _ => None,
    };
    let token = match &args.token_file {
        Some(p) => Some(Token::from_file(p).map_err(|e| usage("--token-file", p, &e))?),
        None => None,
    };
    if token.is_none() && client.is_none() {
        return Err(UsageError("--server needs --token-file or --cert/--key".into()).into());
    }
    let tls = sonde_transport::client_config(&ca, client).context("TLS setup")?;
    let cfg = SenderConfig {
        url: url.clone(),
        token,
        agent: agent.to_string(),
        spool_dir: args.spool_dir.clone(),
        spool_max_bytes: args.spool_max_mb << 20,
        interval: Duration::from_secs(1),
        tls,
        server_name: None,
        timeout: Duration::from_secs(5),
        send_empty: true,
    };
    Ok(Some(
        Sender::start(cfg).context("starting the link to the server")?,
    ))
}

/// The checks' scheduler and the thread that forwards its events.
type Checks = (Option<Scheduler>, Option<std::thread::JoinHandle<()>>);

fn checks(
    args: &OpsArgs,
    agent: &str,
    sender: Option<Arc<SenderHandle>>,
    to_stdout: bool,
) -> Result<Checks> {
    let list: Vec<CheckConfig> = match &args.checks {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("--checks '{}': {e}", p.display())))?;
            serde_yaml::from_str(&text)
                .map_err(|e| UsageError(format!("--checks '{}': {e}", p.display())))?
        }
        None => Vec::new(),
    };
    // keepalives only mean something to a server; checks print anyway
    if list.is_empty() && sender.is_none() {
        return Ok((None, None));
    }
    let (tx, rx) = std::sync::mpsc::channel::<AgentEvent>();
    let sched = Scheduler::start(
        SchedulerConfig {
            agent: agent.to_string(),
            subscriptions: args.subscriptions.clone(),
            checks: list,
            keepalive: Duration::from_secs(args.keepalive.max(1)),
        },
        tx,
    );
    let forward = std::thread::spawn(move || {
        for ev in rx {
            let Ok(v) = serde_json::to_value(&ev) else {
                continue;
            };
            if to_stdout && matches!(ev, AgentEvent::Check(_)) {
                let mut out = std::io::stdout().lock();
                let _ = serde_json::to_writer(&mut out, &serde_json::json!({"event": v}));
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            if let Some(s) = &sender {
                s.push(serde_json::json!({"kind": "event", "event": v}));
            }
        }
    });
    Ok((Some(sched), Some(forward)))
}

/// Adds the flight recorder to `engine` and opens its control socket (a
/// socket another agent holds costs the socket, not the run, unless it
/// was asked for by name).
fn recorder(
    args: &OpsArgs,
    engine: &mut Engine<'_>,
) -> Result<(Option<control::ControlServer>, RecorderHandle)> {
    let (rec, handle) = Recorder::new(RecorderConfig {
        window: Duration::from_secs(args.recorder_window),
        max_bytes: args.recorder_max_mb << 20,
        segment: Duration::from_secs(1),
    });
    let mut rec = rec;
    rec.leave_out(args.kernel_counted());
    engine.add_sink(Box::new(rec));
    let path = args
        .control_socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(control::DEFAULT_SOCKET));
    match control::ControlServer::start(&path, handle.clone()) {
        Ok(c) => Ok((Some(c), handle)),
        Err(e) if args.control_socket.is_none() => {
            eprintln!("sonde agent: no control socket ({e}); `sonde agent capture` cannot reach this agent");
            Ok((None, handle))
        }
        Err(e) => Err(UsageError(format!("--control-socket '{}': {e}", path.display())).into()),
    }
}

/// `sonde agent capture` flags.
#[derive(Parser, Debug)]
#[command(
    name = "sonde agent capture",
    about = "Write the running agent's flight recorder (seconds before now, and after) to a capture file"
)]
struct CaptureArgs {
    /// How far back the file starts (e.g. 10s, 500ms).
    #[arg(long = "before", value_name = "DURATION", default_value = "10s")]
    before: String,
    /// How long after now it goes on.
    #[arg(long = "after", value_name = "DURATION", default_value = "5s")]
    after: String,
    /// The capture file to write.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: PathBuf,
    /// The agent's control socket.
    #[arg(long = "control-socket", value_name = "PATH", default_value = control::DEFAULT_SOCKET)]
    control_socket: PathBuf,
}

/// Runs `sonde agent capture` with `argv` (after `agent`).
pub fn capture(argv: Vec<std::ffi::OsString>) -> Result<()> {
    let args = match CaptureArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return Err(UsageError("bad arguments".into()).into());
        }
    };
    let dur = |flag: &str, s: &str| {
        sonde_recorder::parse_duration(s).map_err(|e| UsageError(format!("--{flag} {s:?}: {e}")))
    };
    let before = dur("before", &args.before)?;
    let after = dur("after", &args.after)?;
    let r = control::request_capture(&args.control_socket, before, after, &args.write)
        .with_context(|| format!("capture through '{}'", args.control_socket.display()))?;
    eprintln!(
        "sonde agent: wrote {} events ({} bytes) to {}",
        r.events,
        r.bytes,
        r.path.display()
    );
    Ok(())
}

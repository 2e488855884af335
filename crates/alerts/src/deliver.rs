//! Delivery off the evaluation path: one worker thread per handler with
//! a bounded queue (a full queue drops and counts, never blocks the
//! caller), the three senders (pipe with a timeout and a kill, webhook,
//! tcp), and per-handler counters. A failure is logged once (when a
//! handler starts failing, and again when it recovers), never with the
//! webhook's URL or headers.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sonde_store::Event;

use crate::handler::{redact_url, summary, Handler, HandlerKind, Throttle, WebhookFormat};

/// Events waiting per handler before new ones are dropped.
pub const QUEUE: usize = 256;

/// A handler's counters since it was set up.
#[derive(Debug, Default)]
pub struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    failing: AtomicBool,
}

/// A snapshot of a handler's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Delivered.
    pub delivered: u64,
    /// Failed (error, timeout, non-2xx, non-zero exit).
    pub failed: u64,
    /// Dropped because its queue was full.
    pub dropped: u64,
    /// Whether its last delivery failed.
    pub failing: bool,
}

struct Worker {
    handler: Handler,
    tx: SyncSender<Event>,
    counters: Arc<Counters>,
    throttle: Throttle,
}

/// The handlers' workers.
#[derive(Default)]
pub struct Dispatcher {
    workers: Mutex<BTreeMap<String, Worker>>,
}

impl Dispatcher {
    /// Sets up (or replaces) a handler's worker.
    pub fn set(&self, h: Handler) {
        let (tx, rx) = sync_channel::<Event>(QUEUE);
        let counters = Arc::new(Counters::default());
        let (c, hh) = (counters.clone(), h.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("handler-{}", h.name))
            .spawn(move || {
                for e in rx {
                    let r = send(&hh, &e);
                    record(&hh.name, &c, r);
                }
            });
        if let Err(e) = spawned {
            eprintln!("sonde-server: handler '{}': no thread: {e}", h.name);
            return;
        }
        let w = Worker {
            handler: h,
            tx,
            counters,
            throttle: Throttle::default(),
        };
        if let Ok(mut ws) = self.workers.lock() {
            ws.insert(w.handler.name.clone(), w);
        }
    }

    /// Stops a handler's worker (after its queue drains).
    pub fn remove(&self, name: &str) {
        if let Ok(mut ws) = self.workers.lock() {
            ws.remove(name);
        }
    }

    /// Queues `e` to the handlers whose filters take it (`only`: those
    /// named, if not empty); returns how many took it.
    pub fn dispatch(&self, e: &Event, only: &[String]) -> usize {
        let Ok(mut ws) = self.workers.lock() else {
            return 0;
        };
        let mut n = 0;
        for w in ws.values_mut() {
            if !only.is_empty() && !only.contains(&w.handler.name) {
                continue;
            }
            if !w.handler.takes(e) || !w.throttle.pass(&w.handler.filters, e) {
                continue;
            }
            match w.tx.try_send(e.clone()) {
                Ok(()) => n += 1,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    w.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        n
    }

    /// Each handler (redacted) with its counters.
    pub fn list(&self) -> Vec<(Handler, Stats)> {
        let Ok(ws) = self.workers.lock() else {
            return Vec::new();
        };
        ws.values()
            .map(|w| (w.handler.redacted(), w.counters.stats()))
            .collect()
    }
}

impl Counters {
    fn stats(&self) -> Stats {
        Stats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failing: self.failing.load(Ordering::Relaxed),
        }
    }
}

fn record(name: &str, c: &Counters, r: Result<(), String>) {
    match r {
        Ok(()) => {
            c.delivered.fetch_add(1, Ordering::Relaxed);
            if c.failing.swap(false, Ordering::Relaxed) {
                eprintln!("sonde-server: handler '{name}' delivers again");
            }
        }
        Err(e) => {
            c.failed.fetch_add(1, Ordering::Relaxed);
            if !c.failing.swap(true, Ordering::Relaxed) {
                eprintln!("sonde-server: handler '{name}' failed: {e} (logged once until it recovers; see its counters)");
            }
        }
    }
}

/// Delivers one event through `h` (blocking, within its timeout).
pub fn send(h: &Handler, e: &Event) -> Result<(), String> {
    let timeout = Duration::from_millis(h.timeout_ms);
    let json = serde_json::to_vec(e).map_err(|e| e.to_string())?;
    match &h.kind {
        HandlerKind::Pipe { command } => pipe(command, &json, timeout),
        HandlerKind::Webhook {
            url,
            headers,
            format,
        } => {
            let body = match format {
                WebhookFormat::Json => json,
                WebhookFormat::Slack => {
                    serde_json::to_vec(&serde_json::json!({"text": summary(e)}))
                        .map_err(|e| e.to_string())?
                }
            };
            // the URL and header values may hold tokens: keep them out of the message
            webhook(url, headers, &body, timeout).map_err(|m| {
                let mut m = m.replace(url.as_str(), &redact_url(url));
                for v in headers.values() {
                    if !v.is_empty() {
                        m = m.replace(v.as_str(), "<hidden>");
                    }
                }
                m
            })
        }
        HandlerKind::Tcp { address } => tcp(address, &json, timeout),
    }
}

fn pipe(command: &[String], json: &[u8], timeout: Duration) -> Result<(), String> {
    let (prog, args) = command.split_first().ok_or("no command")?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run '{prog}': {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // a command that does not read its stdin is not a failure
        let _ = stdin.write_all(json).and_then(|()| stdin.write_all(b"\n"));
    }
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => return Err(format!("'{prog}' exited with {st}")),
            Ok(None) if t0.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("'{prog}' killed after {} ms", timeout.as_millis()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for '{prog}': {e}")),
        }
    }
}

fn webhook(
    url: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let cfg = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build();
    let agent = ureq::Agent::new_with_config(cfg);
    let mut req = agent.post(url).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send(body).map_err(|e| e.to_string())?;
    let st = resp.status();
    if st.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP status {}", st.as_u16()))
    }
}

fn tcp(address: &str, json: &[u8], timeout: Duration) -> Result<(), String> {
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .collect();
    let mut last = format!("{address}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(mut s) => {
                s.set_write_timeout(Some(timeout))
                    .map_err(|e| e.to_string())?;
                s.write_all(json)
                    .and_then(|()| s.write_all(b"\n"))
                    .and_then(|()| s.flush())
                    .map_err(|e| format!("{address}: {e}"))?;
                return Ok(());
            }
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(last)
}

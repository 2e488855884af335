//! One check run: the command through `/bin/sh -c` in a process group of
//! its own, its output read on helper threads (capped), the whole group
//! killed at the timeout; the exit code mapped to a [`Status`] by the
//! Nagios plugin convention.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::perfdata::{parse_output, PerfMetric};

/// Output kept per stream.
const MAX_OUTPUT: u64 = 64 << 10;

/// A check, as the agent's config (or the server) declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// The check's name, unique per agent.
    pub name: String,
    /// The command, run by `/bin/sh -c`.
    pub command: String,
    /// Seconds between runs.
    #[serde(rename = "interval")]
    pub interval_s: f64,
    /// Seconds a run may take before its process group is killed.
    #[serde(rename = "timeout", default = "default_timeout")]
    pub timeout_s: f64,
    /// The subscriptions the check is published to; empty: every agent runs it.
    #[serde(default)]
    pub subscriptions: Vec<String>,
}

fn default_timeout() -> f64 {
    10.0
}

impl CheckConfig {
    /// The interval (at least 10 ms; a bad number counts as 60 s).
    pub fn interval(&self) -> Duration {
        secs(self.interval_s, 60.0).max(Duration::from_millis(10))
    }

    /// The timeout (a bad number counts as 10 s).
    pub fn timeout(&self) -> Duration {
        secs(self.timeout_s, 10.0)
    }
}

fn secs(v: f64, fallback: f64) -> Duration {
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Duration::from_secs_f64(v)
    } else {
        Duration::from_secs_f64(fallback)
    }
}

/// A check's state by the Nagios plugin convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Warning,
    /// Exit 2; also a check killed at its timeout.
    Critical,
    /// Exit 3 or any other code, a signal, or a command that could not run.
    Unknown,
}

impl Status {
    /// The status for an exit code.
    pub fn from_code(code: i32) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::Warning,
            2 => Status::Critical,
            _ => Status::Unknown,
        }
    }

    /// The Nagios code (0-3).
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name.
    pub check: String,
    /// Its subscriptions.
    pub subscriptions: Vec<String>,
    /// The state.
    pub status: Status,
    /// The exit code (None: killed, or never ran).
    pub exit_code: Option<i32>,
    /// The first output line (without perfdata), or why the check failed.
    pub output: String,
    /// The lines after the first (without perfdata).
    pub long_output: String,
    /// The perfdata items: the check's metrics.
    pub perfdata: Vec<PerfMetric>,
    /// Killed at its timeout.
    pub timed_out: bool,
    /// When the run started, ms since the epoch.
    pub started_ms: u64,
    /// How long it ran, ms.
    pub duration_ms: u64,
}

/// Reads up to [`MAX_OUTPUT`] bytes of a stream on a thread of its own.
fn drain(r: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(r) = r {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut r = r.take(MAX_OUTPUT);
            let _ = r.read_to_end(&mut buf);
            // keep reading (and discarding) so the writer never blocks
            let _ = std::io::copy(&mut r.into_inner(), &mut std::io::sink());
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    rx
}

/// Runs a check once, blocking until it ends or is killed at its timeout.
pub fn run_check(cfg: &CheckConfig) -> CheckResult {
    let started_ms = crate::now_ms();
    let t0 = Instant::now();
    let mut res = CheckResult {
        check: cfg.name.clone(),
        subscriptions: cfg.subscriptions.clone(),
        status: Status::Unknown,
        exit_code: None,
        output: String::new(),
        long_output: String::new(),
        perfdata: Vec::new(),
        timed_out: false,
        started_ms,
        duration_ms: 0,
    };
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&cfg.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            res.output = format!("cannot run the check: {e}");
            return res;
        }
    };
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = t0 + cfg.timeout();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    if status.is_none() {
        // the whole group: the shell and whatever it started
        if let Ok(pgid) = i32::try_from(child.id()) {
            // SAFETY: kill has no memory preconditions.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        let _ = child.wait();
        res.timed_out = true;
    }
    // a descendant that left the group may hold the pipes: do not wait on it
    let grace = Duration::from_millis(500);
    let stdout = out.recv_timeout(grace).unwrap_or_default();
    let stderr = err.recv_timeout(grace).unwrap_or_default();
    res.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    if res.timed_out {
        res.status = Status::Critical;
        res.output = format!(
            "check timed out after {:.3}s and was killed",
            cfg.timeout().as_secs_f64()
        );
        return res;
    }
    let text = if stdout.trim().is_empty() {
        &stderr
    } else {
        &stdout
    };
    let (first, long, perf) = parse_output(text);
    res.output = first;
    res.long_output = long;
    res.perfdata = perf;
    match status.and_then(|s| s.code()) {
        Some(c) => {
            res.exit_code = Some(c);
            res.status = Status::from_code(c);
        }
        None => {
            res.status = Status::Unknown;
            if res.output.is_empty() {
                res.output = "the check was killed by a signal".into();
            }
        }
    }
    res
}

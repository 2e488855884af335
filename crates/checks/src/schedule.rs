//! The scheduler: one thread per check of the agent's subscriptions,
//! running it every interval (the first run at once), and one thread
//! sending keepalives; a clean [`Scheduler::shutdown`] sends a last
//! keepalive marked `leaving`, so the server can tell a host that left
//! from one that stopped answering.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::run::{run_check, CheckConfig, CheckResult};

/// The agent is alive (or, with `leaving`, shutting down cleanly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keepalive {
    /// The agent's id.
    pub agent: String,
    /// When, ms since the epoch.
    pub ts_ms: u64,
    /// Keepalives come this often (ms): a server may call the agent
    /// silent after a few missed.
    pub interval_ms: u64,
    /// The agent's subscriptions.
    pub subscriptions: Vec<String>,
    /// The last keepalive of a clean shutdown.
    pub leaving: bool,
}

/// What the scheduler sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentEvent {
    /// A check ran.
    Check(CheckResult),
    /// A keepalive.
    Keepalive(Keepalive),
}

/// What the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The agent's id, in keepalives.
    pub agent: String,
    /// The agent's subscriptions: it runs the checks published to any of
    /// them, and those with no subscriptions.
    pub subscriptions: Vec<String>,
    /// The checks declared (from config or the server).
    pub checks: Vec<CheckConfig>,
    /// Time between keepalives.
    pub keepalive: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            agent: String::new(),
            subscriptions: Vec::new(),
            checks: Vec::new(),
            keepalive: Duration::from_secs(5),
        }
    }
}

/// Whether an agent with `subs` runs `check`.
fn subscribed(check: &CheckConfig, subs: &[String]) -> bool {
    check.subscriptions.is_empty() || check.subscriptions.iter().any(|s| subs.contains(s))
}

/// A stop flag threads can sleep on.
type Stop = Arc<(Mutex<bool>, Condvar)>;

/// Sleeps until `until` or a stop; true when stopped.
fn sleep_until(stop: &Stop, until: Instant) -> bool {
    let (lock, cv) = &**stop;
    let Ok(mut stopped) = lock.lock() else {
        return true;
    };
    loop {
        if *stopped {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        match cv.wait_timeout(stopped, until - now) {
            Ok((g, _)) => stopped = g,
            Err(_) => return true,
        }
    }
}

/// Runs checks and keepalives until shut down. See the module doc.
pub struct Scheduler {
    cfg: SchedulerConfig,
    tx: Sender<AgentEvent>,
    stop: Stop,
    threads: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the check and keepalive threads; events go to `tx`.
    pub fn start(cfg: SchedulerConfig, tx: Sender<AgentEvent>) -> Scheduler {
        let stop: Stop = Arc::new((Mutex::new(false), Condvar::new()));
        let mut threads = Vec::new();
        for check in cfg
            .checks
            .iter()
            .filter(|c| subscribed(c, &cfg.subscriptions))
        {
            let (check, tx, stop) = (check.clone(), tx.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut next = Instant::now();
                loop {
                    if sleep_until(&stop, next) {
                        break;
                    }
                    next += check.interval();
                    let r = run_check(&check);
                    if tx.send(AgentEvent::Check(r)).is_err() {
                        break;
                    }
                    // a run longer than the interval: the next starts now
                    next = next.max(Instant::now());
                }
            }));
        }
        let (ka, tx2, stop2) = (keepalive(&cfg, false), tx.clone(), stop.clone());
        let every = cfg.keepalive.max(Duration::from_millis(10));
        threads.push(std::thread::spawn(move || {
            let mut next = Instant::now();
            while !sleep_until(&stop2, next) {
                let k = Keepalive {
                    ts_ms: crate::now_ms(),
                    ..ka.clone()
                };
                if tx2.send(AgentEvent::Keepalive(k)).is_err() {
                    break;
                }
                next += every;
            }
        }));
        Scheduler {
            cfg,
            tx,
            stop,
            threads,
        }
    }

    /// The names of the checks this agent runs.
    pub fn running(&self) -> Vec<String> {
        let subs = &self.cfg.subscriptions;
        self.cfg
            .checks
            .iter()
            .filter(|c| subscribed(c, subs))
            .map(|c| c.name.clone())
            .collect()
    }

    fn halt(&mut self) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stops the threads (a check running finishes or hits its timeout
    /// first), then sends the `leaving` keepalive.
    pub fn shutdown(mut self) {
        self.halt();
        let _ = self
            .tx
            .send(AgentEvent::Keepalive(keepalive(&self.cfg, true)));
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.halt();
    }
}

fn keepalive(cfg: &SchedulerConfig, leaving: bool) -> Keepalive {
    Keepalive {
        agent: cfg.agent.clone(),
        ts_ms: crate::now_ms(),
        interval_ms: u64::try_from(cfg.keepalive.as_millis()).unwrap_or(u64::MAX),
        subscriptions: cfg.subscriptions.clone(),
        leaving,
    }
}

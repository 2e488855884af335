//! Holds the probe attached until SIGINT/SIGTERM, for `scripts/bench-live.sh`
//! (a benchmark helper, not a test):
//!
//! ```text
//! probe_hold none|all [nolatency] [ready=PATH] [ring=BYTES] [snaplen=BYTES] [counted=SYSCALL,...]
//! ```
//!
//! `none`: the programs are attached but the kernel-side syscall filter is
//! empty, so only process-exit events reach user space (the cost of an
//! attached, idle probe). `all`: every syscall is traced and the events are
//! drained and counted, with no state or formatting (how fast the bare probe
//! delivers). Creates PATH once attached. At the end prints on stderr:
//! `probe_hold: events=N bytes=B secs=S drops=D (file=.. net=.. process=.. generic=..)`.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut cfg = sonde_probe::Config::default();
    match args.get(1).map(String::as_str) {
        Some("none") => cfg.syscalls = Some(Vec::new()),
        Some("all") => {}
        _ => {
            eprintln!(
                "usage: probe_hold none|all [nolatency] [ready=PATH] [ring=BYTES] [snaplen=BYTES] [counted=SYSCALL,...]"
            );
            std::process::exit(2);
        }
    }
    if args.iter().any(|a| a == "nolatency") {
        cfg.latency = false;
    }
    if let Some(r) = args.iter().find_map(|a| a.strip_prefix("ring=")) {
        cfg.ring_bytes = r.parse().expect("ring=BYTES");
    }
    if let Some(r) = args.iter().find_map(|a| a.strip_prefix("snaplen=")) {
        cfg.snaplen = r.parse().expect("snaplen=BYTES");
    }
    if let Some(names) = args.iter().find_map(|a| a.strip_prefix("counted=")) {
        // syscalls counted in the kernel, no events (the agent's waits)
        cfg.counted = names
            .split(',')
            .map(|n| sonde_probe::syscall_nr(n).expect("counted=SYSCALL,..."))
            .collect();
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    let mut probe = match sonde_probe::Probe::open(&cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("probe_hold: {e}");
            std::process::exit(1);
        }
    };
    if let Some(p) = args.iter().find_map(|a| a.strip_prefix("ready=")) {
        std::fs::write(p, b"").expect("ready file");
    }
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut count = |evs: Vec<sonde_probe::Event>| {
        n += evs.len() as u64;
        bytes += evs.iter().map(|e| e.bytes.len() as u64).sum::<u64>();
    };
    while !STOP.load(Ordering::Relaxed) {
        count(probe.poll(Duration::from_millis(1)).expect("poll"));
    }
    count(probe.flush().expect("flush"));
    let d = probe.drops();
    eprintln!(
        "probe_hold: events={n} bytes={bytes} secs={:.3} drops={} (file={} net={} process={} generic={})",
        start.elapsed().as_secs_f64(),
        d.total(),
        d.file,
        d.net,
        d.process,
        d.generic
    );
}

//! Counts live events for a few seconds: `livecount [SECS] [-v] [ring=BYTES] [none]`.
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let verbose = args.iter().any(|a| a == "-v");
    let mut cfg = sonde_probe::Config::default();
    if let Some(r) = args.iter().find_map(|a| a.strip_prefix("ring=")) {
        cfg.ring_bytes = r.parse().expect("ring=BYTES");
    }
    if args.iter().any(|a| a == "none") {
        cfg.syscalls = Some(Vec::new()); // attached, but no syscall is interesting
    }
    let mut probe = match sonde_probe::Probe::open(&cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("livecount: {e}");
            std::process::exit(1);
        }
    };
    let start = Instant::now();
    let mut n = 0u64;
    let mut bytes = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        let evs = probe.poll(Duration::from_millis(1)).unwrap();
        for e in &evs {
            bytes += e.bytes.len() as u64;
            if verbose {
                let r = e.raw();
                let name = r.info().map(|i| i.name).unwrap_or("?");
                println!(
                    "{} {} cpu{} {} {} lat={}",
                    r.ts, r.tid, r.cpu, r.code, name, e.latency_ns
                );
            }
        }
        n += evs.len() as u64;
    }
    let el = start.elapsed().as_secs_f64();
    eprintln!(
        "{n} events in {el:.2}s = {:.0} ev/s, {:.1} MB/s, drops {:?}",
        n as f64 / el,
        bytes as f64 / el / 1e6,
        probe.drops()
    );
}

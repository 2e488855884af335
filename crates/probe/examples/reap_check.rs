//! Whether the state engine reaps exited threads during live capture, for
//! `scripts/bench-live.sh` (a benchmark helper, not a test):
//!
//! ```text
//! reap_check [ready=PATH]
//! ```
//!
//! Loads the probe, fills a `sonde_state::State` from /proc as live capture
//! does, then applies every event until SIGINT/SIGTERM. It remembers the
//! threads whose last event was a procexit (a tid seen again later, e.g.
//! reused, is forgotten) and at the end counts how many of them the state
//! still holds: that is the thread table's leak (sonde itself has no way to
//! show its table size). Prints on stderr:
//! `reap_check: events=N exited=E still_in_table=K (named by a clone exit after their procexit: L) drops=D`.
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sonde_scap::Block;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn main() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    let mut probe = match sonde_probe::Probe::open(&sonde_probe::Config::default()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("reap_check: {e}");
            std::process::exit(1);
        }
    };
    let mut st = sonde_state::State::new();
    for p in sonde_probe::proc::scan(Path::new("/proc")) {
        let tid = p.threads[0].pid;
        st.apply_block(&Block::Threads(p.threads));
        st.apply_block(&Block::Fds { tid, fds: p.fds });
    }
    if let Some(p) = std::env::args().find_map(|a| a.strip_prefix("ready=").map(String::from)) {
        std::fs::write(p, b"").expect("ready file");
    }
    let mut exited: HashSet<i64> = HashSet::new();
    // exited threads a parent's clone/fork exit event named as its child
    // after their procexit (the parent's event can carry a later timestamp)
    let mut late_clone: HashSet<i64> = HashSet::new();
    let mut n = 0u64;
    let mut apply = |evs: Vec<sonde_probe::Event>, st: &mut sonde_state::State| {
        for e in &evs {
            let ev = e.raw();
            let is_clone = ev.code % 2 == 1
                && ev
                    .info()
                    .is_some_and(|i| matches!(i.name, "clone" | "clone3" | "fork" | "vfork"));
            if is_clone {
                if let Some(child) = ev.param_i64(0).filter(|&c| c > 0 && exited.contains(&c)) {
                    late_clone.insert(child);
                }
            }
            st.process(&ev);
            if ev.code == sonde_event::codes::PROCEXIT_1_E {
                exited.insert(ev.tid);
            } else {
                exited.remove(&ev.tid);
            }
        }
        n += evs.len() as u64;
    };
    while !STOP.load(Ordering::Relaxed) {
        apply(probe.poll(Duration::from_millis(1)).expect("poll"), &mut st);
    }
    apply(probe.flush().expect("flush"), &mut st);
    let kept: Vec<i64> = exited
        .iter()
        .copied()
        .filter(|&t| st.thread(t).is_some())
        .collect();
    let late = kept.iter().filter(|t| late_clone.contains(t)).count();
    eprintln!(
        "reap_check: events={n} exited={} still_in_table={} (named by a clone exit after their procexit: {late}) drops={}",
        exited.len(),
        kept.len(),
        probe.drops().total()
    );
}

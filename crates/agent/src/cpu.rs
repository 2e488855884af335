//! CPU time per process. Live, it is read from `/proc/PID/stat` (user and
//! system clock ticks) for the processes active during the second, and
//! for the host from `/proc/stat`; the difference between two seconds,
//! over the event time between them, is the share of one core. A replay
//! cannot read the dead processes' `/proc`: it reports what the capture's
//! `procinfo` events carry (sysdig writes them about once a second per
//! thread), and nothing for captures without them.

use rustc_hash::FxHashMap;

/// Where CPU time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// `/proc` of the running host.
    Proc,
    /// `procinfo` events of the capture.
    Events,
}

/// Per-process CPU shares between ticks.
#[derive(Debug)]
pub struct CpuTracker {
    src: CpuSource,
    hz: f64,
    last_ts: u64,
    /// (user, system) ticks per tid (events) or pid (/proc) at the last tick.
    prev: FxHashMap<i64, (u64, u64)>,
    /// Latest procinfo per tid: (pid, user, system).
    latest: FxHashMap<i64, (i64, u64, u64)>,
    host_prev: Option<(u64, u64)>,
}

/// User and system share of one core, in percent.
pub type Share = (f64, f64);

impl CpuTracker {
    /// A tracker reading `src`.
    pub fn new(src: CpuSource) -> CpuTracker {
        // SAFETY: sysconf has no preconditions
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        CpuTracker {
            src,
            hz: if hz > 0 { hz as f64 } else { 100.0 },
            last_ts: 0,
            prev: FxHashMap::default(),
            latest: FxHashMap::default(),
            host_prev: None,
        }
    }

    /// The first event's time.
    pub fn start(&mut self, ts: u64) {
        self.last_ts = ts;
    }

    /// A `procinfo` event of thread `tid` in process `pid`: cumulative ticks.
    pub fn procinfo_of(&mut self, tid: i64, pid: i64, user: u64, sys: u64) {
        self.latest.insert(tid, (pid, user, sys));
    }

    /// A `procinfo` event (thread = process when not told otherwise).
    pub fn procinfo(&mut self, pid: i64, user: u64, sys: u64) {
        self.procinfo_of(pid, pid, user, sys);
    }

    /// The shares since the last tick: per process (for `pids` live, for
    /// every process with procinfo events in replay), and the host's
    /// (live only).
    pub fn sample(&mut self, ts: u64, pids: &[i64]) -> (Vec<(i64, Share)>, Option<Share>) {
        let secs = (ts.saturating_sub(self.last_ts) as f64 / 1e9).max(1e-3);
        self.last_ts = ts;
        let scale = 100.0 / self.hz / secs;
        let mut out: FxHashMap<i64, Share> = FxHashMap::default();
        let mut host = None;
        match self.src {
            CpuSource::Events => {
                for (tid, (pid, u, s)) in self.latest.drain() {
                    if let Some((pu, ps)) = self.prev.insert(tid, (u, s)) {
                        let e = out.entry(pid).or_default();
                        e.0 += u.saturating_sub(pu) as f64 * scale;
                        e.1 += s.saturating_sub(ps) as f64 * scale;
                    }
                }
            }
            CpuSource::Proc => {
                let mut next = FxHashMap::default();
                for &pid in pids {
                    let Some((u, s)) = proc_ticks(&format!("/proc/{pid}/stat")) else {
                        continue;
                    };
                    next.insert(pid, (u, s));
                    if let Some((pu, ps)) = self.prev.get(&pid) {
                        out.insert(
                            pid,
                            (
                                u.saturating_sub(*pu) as f64 * scale,
                                s.saturating_sub(*ps) as f64 * scale,
                            ),
                        );
                    }
                }
                // keep the processes of the last second too, and no others
                self.prev.retain(|p, _| pids.contains(p));
                self.prev.extend(next);
                if let Some((u, s)) = host_ticks() {
                    if let Some((pu, ps)) = self.host_prev {
                        host = Some((
                            u.saturating_sub(pu) as f64 * scale,
                            s.saturating_sub(ps) as f64 * scale,
                        ));
                    }
                    self.host_prev = Some((u, s));
                }
            }
        }
        let mut v: Vec<(i64, Share)> = out.into_iter().collect();
        v.sort_by_key(|x| x.0);
        (v, host)
    }
}

/// utime and stime (fields 14 and 15) of a `/proc/PID/stat` file.
pub fn proc_ticks(path: &str) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(path).ok()?;
    // the command may hold spaces and parentheses: split after the last ')'
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state)
    Some((f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?))
}

/// The host's user (+nice) and system (+irq, softirq) ticks from /proc/stat.
fn host_ticks() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    Some((v.first()? + v.get(1)?, v.get(2)? + v.get(5)? + v.get(6)?))
}

/// The agent's own resident memory, in bytes.
pub fn self_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stat() {
        let (u, s) = proc_ticks("/proc/self/stat").expect("own stat");
        assert!(u + s < u64::MAX);
        assert!(self_rss().unwrap() > 0);
    }

    #[test]
    fn procinfo_deltas() {
        let mut t = CpuTracker::new(CpuSource::Events);
        t.hz = 100.0;
        t.start(0);
        t.procinfo_of(11, 10, 100, 50);
        t.procinfo_of(12, 10, 10, 0);
        assert!(t.sample(1_000_000_000, &[]).0.is_empty());
        t.procinfo_of(11, 10, 150, 60);
        t.procinfo_of(12, 10, 30, 0);
        let (v, host) = t.sample(2_000_000_000, &[]);
        assert_eq!(v, vec![(10, (70.0, 10.0))]);
        assert!(host.is_none());
    }
}

//! Live `procinfo` events. sysdig's kernel driver emits, for threads that
//! ran, their total user and system CPU time in clock ticks (`cpu_usr`,
//! `cpu_sys`); `thread.cpu` (topprocs_cpu, csysdig's CPU columns) is the
//! difference between two of them. sonde's live probe does not emit them:
//! a sink that reads them on a live capture (chisels, `sonde top`'s views)
//! gets them from `/proc` instead, once per second of event time, for
//! every thread known to the state whose CPU time changed since the
//! previous second.

use std::collections::HashMap;

use sonde_event::{codes, RawEvent};
use sonde_state::State;

const SECOND: u64 = 1_000_000_000;

/// The procinfo events due once per second of event time.
#[derive(Default)]
pub struct Procinfo {
    /// The next second boundary (0 before the first event).
    next: u64,
    /// Each thread's total ticks when last reported.
    last: HashMap<i64, u64>,
}

/// One thread's CPU time in clock ticks.
pub struct Sample {
    /// The thread.
    pub tid: i64,
    /// User time, in clock ticks since the thread started.
    pub user: u64,
    /// System time, in clock ticks since the thread started.
    pub system: u64,
}

impl Procinfo {
    /// The samples due at event time `ts`: none until `ts` reaches the
    /// next second boundary.
    pub fn due(&mut self, ts: u64, st: &State) -> Vec<Sample> {
        if self.next == 0 {
            self.next = (ts / SECOND + 1) * SECOND;
        }
        if ts < self.next {
            return Vec::new();
        }
        self.next = (ts / SECOND + 1) * SECOND;
        let mut out = Vec::new();
        for (tid, user, system) in scan() {
            if st.thread(tid).is_none() {
                continue;
            }
            let total = user.saturating_add(system);
            if self.last.insert(tid, total) != Some(total) {
                out.push(Sample { tid, user, system });
            }
        }
        out
    }
}

impl Sample {
    /// The event's parameter block: two 8-byte lengths, then the values.
    pub fn body(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[0..2].copy_from_slice(&8u16.to_le_bytes());
        b[2..4].copy_from_slice(&8u16.to_le_bytes());
        b[4..12].copy_from_slice(&self.user.to_le_bytes());
        b[12..20].copy_from_slice(&self.system.to_le_bytes());
        b
    }

    /// The procinfo event at `ts` over `body` (from [`Sample::body`]).
    pub fn event<'a>(&self, ts: u64, body: &'a [u8]) -> Option<RawEvent<'a>> {
        RawEvent::from_parts(ts, self.tid, codes::PROCINFO_E, 2, body, false).ok()
    }
}

/// (tid, user ticks, system ticks) of every thread in /proc.
fn scan() -> Vec<(i64, u64, u64)> {
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let name = p.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(p.path().join("task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                continue;
            };
            if let Some((u, s)) = std::fs::read_to_string(t.path().join("stat"))
                .ok()
                .and_then(|text| cpu_ticks(&text))
            {
                out.push((tid, u, s));
            }
        }
    }
    out
}

/// utime and stime (fields 14 and 15) of a `stat` file; the command name
/// in brackets may hold spaces and brackets, so fields count from the
/// last `)`.
fn cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_after_the_command_name() {
        let stat = "42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 1 0 9 0 0";
        assert_eq!(cpu_ticks(stat), Some((37, 5)));
        assert_eq!(cpu_ticks("42 (x"), None);
    }

    #[test]
    fn this_thread_is_in_the_scan() {
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as i64;
        let all = scan();
        assert!(all.iter().any(|(tid, _, _)| *tid == me));
        assert!(all
            .iter()
            .any(|(tid, _, _)| *tid == std::process::id() as i64));
    }

    #[test]
    fn event_carries_both_values() {
        let s = Sample {
            tid: 7,
            user: 3,
            system: 9,
        };
        let body = s.body();
        let ev = s.event(5, &body).unwrap();
        assert_eq!((ev.tid, ev.code), (7, codes::PROCINFO_E));
        assert_eq!((ev.param_u64(0), ev.param_u64(1)), (Some(3), Some(9)));
    }
}

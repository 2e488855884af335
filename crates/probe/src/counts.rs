//! Syscalls counted in the kernel instead of sent as events
//! ([`Config::counted`](crate::Config::counted)): map `counts` holds, per
//! CPU, the calls of each (process, syscall, result) since it was first
//! seen; this side sums the CPUs and hands out what changed.

use std::collections::HashMap;

use libbpf_rs::{MapCore, MapFlags};

/// Calls of one counted syscall by one process with one result, since the
/// previous [`Probe::take_counts`](crate::Probe::take_counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallCount {
    /// The calling process (thread group id).
    pub tgid: u32,
    /// Native syscall number.
    pub nr: u32,
    /// 0: the call succeeded; else the errno it failed with.
    pub errno: u16,
    /// Calls.
    pub calls: u64,
}

/// `struct count_key`: tgid, nr, errno.
const KEY_LEN: usize = 8;

fn key_bytes(k: (u32, u16, u16)) -> [u8; KEY_LEN] {
    let mut b = [0u8; KEY_LEN];
    b[..4].copy_from_slice(&k.0.to_ne_bytes());
    b[4..6].copy_from_slice(&k.1.to_ne_bytes());
    b[6..].copy_from_slice(&k.2.to_ne_bytes());
    b
}

fn parse_key(b: &[u8]) -> Option<(u32, u16, u16)> {
    Some((
        u32::from_ne_bytes(b.get(..4)?.try_into().ok()?),
        u16::from_ne_bytes(b.get(4..6)?.try_into().ok()?),
        u16::from_ne_bytes(b.get(6..8)?.try_into().ok()?),
    ))
}

/// The totals handed out so far, to hand out differences.
pub(crate) struct Counter {
    /// The syscalls counted (native numbers).
    pub(crate) counted: Vec<u32>,
    handed: HashMap<(u32, u16, u16), u64>,
}

impl Counter {
    pub(crate) fn new(counted: Vec<u32>) -> Counter {
        Counter {
            counted,
            handed: HashMap::new(),
        }
    }

    /// What changed in `map` since the last call. A key that did not
    /// change is removed from the map (its process stopped calling: the
    /// map stays the size of what is active); calls made between reading
    /// and removing it are lost, at most those of one moment.
    pub(crate) fn take(&mut self, map: &impl MapCore, ncpus: usize) -> Vec<SyscallCount> {
        if self.counted.is_empty() {
            return Vec::new();
        }
        let keys: Vec<Vec<u8>> = map.keys().collect();
        let mut out = Vec::new();
        for kb in keys {
            let Some(k) = parse_key(&kb) else { continue };
            let Ok(Some(vals)) = map.lookup_percpu(&kb, MapFlags::ANY) else {
                continue;
            };
            let total: u64 = vals.iter().take(ncpus).map(|v| crate::abi::le_u64(v)).sum();
            let before = self.handed.get(&k).copied().unwrap_or(0);
            if total == before {
                let _ = map.delete(&key_bytes(k));
                self.handed.remove(&k);
                continue;
            }
            self.handed.insert(k, total);
            out.push(SyscallCount {
                tgid: k.0,
                nr: u32::from(k.1),
                errno: k.2,
                calls: total.saturating_sub(before),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        let k = (4_000_123, 232, 9);
        assert_eq!(parse_key(&key_bytes(k)), Some(k));
        assert_eq!(parse_key(&[1, 2, 3]), None);
    }
}

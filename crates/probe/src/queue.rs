//! Events drained from the rings and not handed out yet: one queue per CPU,
//! merged into timestamp order on the way out.
//!
//! Each CPU's records arrive in the order that CPU produced them, which is
//! timestamp order (a record's timestamp is taken by the program that writes
//! it, and programs on one CPU do not interleave). So a queue per CPU needs no
//! sorting, and handing out is a merge: the queue whose first event is the
//! oldest goes first. An event is handed out only once it is older than the
//! ready limit (now minus a hold-back time), so that an older event of another
//! CPU still on its way cannot come after it.
//!
//! The event bytes of a CPU are stored back to back in one buffer (no
//! allocation per event); short generic records are written out in the v2
//! layout there. Memory is bounded: a CPU whose queue holds
//! [`MAX_QUEUED_BYTES`] is not drained further until it shrinks, so a slow
//! consumer makes the kernel drop (and count) events instead of sonde growing.

use std::collections::VecDeque;

use sonde_event::RawEvent;

use crate::abi::{GenericRec, Record};

/// Most event bytes queued per CPU.
pub const MAX_QUEUED_BYTES: usize = 16 << 20;

/// Where one queued event is, and what travels beside it.
#[derive(Debug, Clone, Copy)]
struct Rec {
    off: usize,
    len: u32,
    ts: u64,
    latency: u64,
}

#[derive(Default)]
struct CpuQueue {
    buf: Vec<u8>,
    recs: VecDeque<Rec>,
}

impl CpuQueue {
    /// Drops the bytes of events already handed out, when that is worth it.
    fn compact(&mut self) {
        let Some(first) = self.recs.front().map(|r| r.off) else {
            self.buf.clear();
            return;
        };
        if first >= 1 << 18 && first * 2 >= self.buf.len() {
            self.buf.drain(..first);
            self.recs.iter_mut().for_each(|r| r.off -= first);
        }
    }

    fn queued_bytes(&self) -> usize {
        self.recs.front().map_or(0, |r| self.buf.len() - r.off)
    }

    /// Appends an event whose v2 bytes were just written at `off..`.
    fn push(&mut self, off: usize, ts: u64, latency: u64) {
        let rec = Rec {
            off,
            len: (self.buf.len() - off) as u32,
            ts,
            latency,
        };
        // out of order on one CPU should not happen; keep the queue sorted
        // if it does
        if self.recs.back().is_some_and(|b| b.ts > ts) {
            let at = self.recs.partition_point(|r| r.ts <= ts);
            self.recs.insert(at, rec);
        } else {
            self.recs.push_back(rec);
        }
    }
}

/// The per-CPU queues.
pub struct Queues {
    cpus: Vec<CpuQueue>,
    /// Events older than this (epoch ns) may be handed out.
    limit: u64,
    /// Malformed events (a probe bug), dropped.
    pub bad: u64,
}

/// One event handed out: its v2 bytes, CPU and latency.
pub struct Out<'a> {
    pub bytes: &'a [u8],
    pub cpu: u16,
    pub latency: u64,
}

impl Queues {
    pub fn new(ncpus: usize) -> Queues {
        Queues {
            cpus: (0..ncpus).map(|_| CpuQueue::default()).collect(),
            limit: 0,
            bad: 0,
        }
    }

    /// Before draining: frees handed-out bytes; whether CPU `cpu` may take
    /// more records now.
    pub fn prepare(&mut self, cpu: usize) -> bool {
        let q = &mut self.cpus[cpu];
        q.compact();
        q.queued_bytes() < MAX_QUEUED_BYTES
    }

    /// Queues one record of CPU `cpu`, converting its timestamp to epoch ns
    /// with `clock_offset`. Returns whether the CPU may take more.
    pub fn push(&mut self, cpu: usize, rec: Record<'_>, clock_offset: u64) -> bool {
        let q = &mut self.cpus[cpu];
        let off = q.buf.len();
        let (ts, latency) = match rec {
            Record::Event { latency, event } => {
                if RawEvent::parse(event, false).is_err() {
                    self.bad += 1;
                    return q.queued_bytes() < MAX_QUEUED_BYTES;
                }
                let ts = u64::from_le_bytes(event[0..8].try_into().unwrap_or_default())
                    .wrapping_add(clock_offset);
                q.buf.extend_from_slice(event);
                q.buf[off..off + 8].copy_from_slice(&ts.to_le_bytes());
                (ts, latency)
            }
            Record::Generic(g) => {
                let ts = g.ts.wrapping_add(clock_offset);
                write_generic(&mut q.buf, ts, &g);
                (ts, g.latency)
            }
        };
        q.push(off, ts, latency);
        q.queued_bytes() < MAX_QUEUED_BYTES
    }

    /// Events with timestamps up to `limit` may be handed out.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The ready limit: events up to it may be handed out.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether an event is ready to be handed out.
    pub fn has_ready(&self) -> bool {
        self.cpus
            .iter()
            .any(|q| q.recs.front().is_some_and(|r| r.ts <= self.limit))
    }

    /// Whether nothing at all is queued.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.cpus.iter().all(|q| q.recs.is_empty())
    }

    /// The oldest ready event of all CPUs, taken off its queue. Its bytes
    /// stay valid until the queues are next changed.
    pub fn pop(&mut self) -> Option<Out<'_>> {
        let mut best: Option<(usize, u64)> = None;
        for (i, q) in self.cpus.iter().enumerate() {
            if let Some(r) = q.recs.front() {
                if r.ts <= self.limit && best.is_none_or(|(_, ts)| r.ts < ts) {
                    best = Some((i, r.ts));
                }
            }
        }
        let (cpu, _) = best?;
        let q = &mut self.cpus[cpu];
        let r = q.recs.pop_front()?;
        Some(Out {
            bytes: &q.buf[r.off..r.off + r.len as usize],
            cpu: cpu as u16,
            latency: r.latency,
        })
    }
}

/// PPME_GENERIC_X in the v2 layout: header, two u16 lengths, ID, nativeID.
fn write_generic(buf: &mut Vec<u8>, ts: u64, g: &GenericRec) {
    const LEN: u32 = (sonde_event::HEADER_LEN + 2 * 2 + 2 + 2) as u32;
    let mut e = [0u8; LEN as usize];
    e[0..8].copy_from_slice(&ts.to_le_bytes());
    e[8..16].copy_from_slice(&u64::from(g.tid).to_le_bytes());
    e[16..20].copy_from_slice(&LEN.to_le_bytes());
    e[20..22].copy_from_slice(&sonde_event::codes::GENERIC_X.to_le_bytes());
    e[22..26].copy_from_slice(&2u32.to_le_bytes());
    e[26..28].copy_from_slice(&2u16.to_le_bytes());
    e[28..30].copy_from_slice(&2u16.to_le_bytes());
    e[30..32].copy_from_slice(&g.ppm_sc.to_le_bytes());
    e[32..34].copy_from_slice(&g.nr.to_le_bytes());
    buf.extend_from_slice(&e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(ts: u64, tid: u32, nr: u16) -> GenericRec {
        GenericRec {
            latency: 7,
            ts,
            tid,
            ppm_sc: 3,
            nr,
        }
    }

    fn drain(q: &mut Queues) -> Vec<(u64, u16, u16)> {
        let mut v = Vec::new();
        while let Some(o) = q.pop() {
            let e = RawEvent::parse(o.bytes, false).unwrap();
            v.push((e.ts, o.cpu, e.param_u64(1).unwrap() as u16));
        }
        v
    }

    #[test]
    fn merges_cpus_in_timestamp_order_up_to_the_limit() {
        let mut q = Queues::new(3);
        for (cpu, ts) in [(0, 10), (1, 5), (0, 20), (2, 15), (1, 30), (2, 16)] {
            q.push(cpu, Record::Generic(generic(ts, 1, ts as u16)), 1000);
        }
        q.set_limit(1016);
        assert!(q.has_ready());
        assert_eq!(
            drain(&mut q),
            vec![(1005, 1, 5), (1010, 0, 10), (1015, 2, 15), (1016, 2, 16)]
        );
        assert!(!q.has_ready());
        assert!(!q.is_empty());
        q.set_limit(u64::MAX);
        assert_eq!(drain(&mut q), vec![(1020, 0, 20), (1030, 1, 30)]);
        assert!(q.is_empty());
    }

    #[test]
    fn generic_records_become_v2_events() {
        let mut q = Queues::new(1);
        q.push(0, Record::Generic(generic(5, 4242, 110)), 0);
        q.set_limit(u64::MAX);
        let o = q.pop().unwrap();
        assert_eq!(o.latency, 7);
        let e = RawEvent::parse(o.bytes, false).unwrap();
        assert_eq!(e.code, sonde_event::codes::GENERIC_X);
        assert_eq!((e.ts, e.tid, e.nparams()), (5, 4242, 2));
        assert_eq!(e.param_u64(0), Some(3));
        assert_eq!(e.param_u64(1), Some(110));
        assert_eq!(o.bytes.len(), e.encoded_len(false));
    }

    #[test]
    fn an_out_of_order_record_is_put_in_place() {
        let mut q = Queues::new(1);
        for ts in [1, 3, 2, 4] {
            q.push(0, Record::Generic(generic(ts, 1, ts as u16)), 0);
        }
        q.set_limit(u64::MAX);
        let ts: Vec<u64> = drain(&mut q).into_iter().map(|e| e.0).collect();
        assert_eq!(ts, vec![1, 2, 3, 4]);
    }

    #[test]
    fn handed_out_bytes_are_freed_and_the_queue_is_bounded() {
        let mut q = Queues::new(1);
        let mut ts = 0;
        // fill up to the bound
        while q.push(0, Record::Generic(generic(ts, 1, 1)), 0) {
            ts += 1;
        }
        assert!(!q.prepare(0), "full");
        q.set_limit(ts / 2);
        let mut n = 0;
        while q.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, ts / 2 + 1);
        assert!(q.prepare(0), "room again once half was handed out");
        assert!(q.cpus[0].buf.len() < MAX_QUEUED_BYTES, "bytes freed");
        q.set_limit(u64::MAX);
        let rest: Vec<u64> = drain(&mut q).into_iter().map(|e| e.0).collect();
        assert_eq!(rest.len() as u64, ts + 1 - n);
        assert!(rest.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(rest[0], ts / 2 + 1);
    }
}

//! The records the kernel side writes (see `bpf/sonde.h`).

/// Size of `struct rec_prefix` in front of each event.
pub const PREFIX_LEN: usize = 16;
/// Size of `struct aux` padded: where a CPU's ring positions start.
pub const AUX_STRUCT_SIZE: usize = (1 << 17) + 4096;
/// Offset of `head` in a CPU's `cpu_bufs` entry.
pub const RING_HDR_OFF: usize = AUX_STRUCT_SIZE;
/// Offset of `tail`.
pub const RING_TAIL_OFF: usize = RING_HDR_OFF + 64;
/// Offset of the ring.
pub const RING_DATA_OFF: usize = AUX_STRUCT_SIZE + 4096;
/// Bytes after the ring that a record starting near its end runs on into.
pub const RING_SLACK: usize = 1 << 17;
/// Entries of map `syscalls`.
pub const MAX_SYSCALLS: u32 = 512;
/// Entries of map `drops`.
pub const DROP_CATEGORIES: u32 = 4;

/// `struct syscall_conf`.
pub struct SyscallConf {
    pub ppm_sc: u16,
    /// `SC_*` bits: what the probe does for this syscall (0: nothing).
    pub trace: u8,
    /// 1: the syscall has no event of its own (no handler in the probe).
    pub generic: u8,
}

/// `SC_EXIT`: sys_exit emits the syscall's event.
pub const SC_EXIT: u8 = 1;
/// `SC_ENTER`: sys_enter has work for the syscall (an enter event, the enter
/// timestamp for latency, marking execveat).
pub const SC_ENTER: u8 = 2;

/// `SC_COUNT`: the syscall is counted in the kernel (map `counts`), with no
/// event.
pub const SC_COUNT: u8 = 4;

impl SyscallConf {
    pub fn to_bytes(&self) -> [u8; 4] {
        let p = self.ppm_sc.to_ne_bytes();
        [p[0], p[1], self.trace, self.generic]
    }
}

/// Events lost because the ring buffer was full, per category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Generic syscall events, memory (mmap, brk, ...), waits (poll, futex,
    /// nanosleep, ...), context switches and page faults.
    pub generic: u64,
    /// Files and I/O: open family, close, reads and writes, pipes, dup,
    /// rename, unlink, directories, links, permissions, fcntl, special fds.
    pub file: u64,
    /// Sockets.
    pub net: u64,
    /// Processes: execve, clone family, procexit, signals, ids, namespaces.
    pub process: u64,
}

impl Drops {
    pub(crate) fn set(&mut self, cat: u32, n: u64) {
        match cat {
            0 => self.generic = n,
            1 => self.file = n,
            2 => self.net = n,
            _ => self.process = n,
        }
    }

    /// All categories together.
    pub fn total(&self) -> u64 {
        self.generic + self.file + self.net + self.process
    }
}

pub fn le_u64(b: &[u8]) -> u64 {
    let mut v = [0u8; 8];
    let n = b.len().min(8);
    v[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(v)
}

/// `rec_prefix.kind`: an event in the v2 layout follows.
pub const REC_EVENT: u32 = 0;
/// `rec_prefix.kind`: a `struct rec_generic` follows.
pub const REC_GENERIC: u32 = 1;
/// Bytes of a generic record, prefix included.
pub const GENERIC_REC_LEN: usize = PREFIX_LEN + 16;

/// A short generic syscall event (`struct rec_generic` and its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenericRec {
    pub latency: u64,
    pub ts: u64,
    pub tid: u32,
    pub ppm_sc: u16,
    pub nr: u16,
}

/// One ring-buffer record.
#[derive(Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// An event in the v2 layout (timestamp still on the probe's clock).
    Event { latency: u64, event: &'a [u8] },
    /// A generic syscall event in short.
    Generic(GenericRec),
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The record at the start of `rec` and its size (unpadded), or None when
/// it is malformed (a probe bug) or longer than `rec`.
pub fn record(rec: &[u8]) -> Option<(Record<'_>, usize)> {
    let latency = le_u64(rec.get(0..8)?);
    let size = u32_at(rec, 8)? as usize;
    if size > rec.len() || size > RING_SLACK {
        return None;
    }
    match u32_at(rec, 12)? {
        REC_GENERIC if size == GENERIC_REC_LEN => {
            let w = le_u64(&rec[24..32]);
            Some((
                Record::Generic(GenericRec {
                    latency,
                    ts: le_u64(&rec[16..24]),
                    tid: w as u32,
                    ppm_sc: (w >> 32) as u16,
                    nr: (w >> 48) as u16,
                }),
                size,
            ))
        }
        REC_EVENT if size >= PREFIX_LEN + sonde_event::HEADER_LEN => {
            let event = &rec[PREFIX_LEN..size];
            (u32_at(event, 16)? as usize == event.len())
                .then_some((Record::Event { latency, event }, size))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(latency: u64, size: u32, kind: u32) -> Vec<u8> {
        let mut v = latency.to_le_bytes().to_vec();
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v
    }

    #[test]
    fn generic_records() {
        let mut r = prefix(9, 32, REC_GENERIC);
        r.extend_from_slice(&1234u64.to_le_bytes());
        r.extend_from_slice(&77u32.to_le_bytes());
        r.extend_from_slice(&300u16.to_le_bytes());
        r.extend_from_slice(&110u16.to_le_bytes());
        let want = GenericRec {
            latency: 9,
            ts: 1234,
            tid: 77,
            ppm_sc: 300,
            nr: 110,
        };
        assert_eq!(record(&r), Some((Record::Generic(want), 32)));
        assert_eq!(record(&r[..31]), None, "cut");
        r[8] = 40;
        assert_eq!(record(&r), None, "a generic record has one size");
    }

    /// Arbitrary bytes (and mutations of valid records) never make the
    /// record parser or the queues panic, and a parsed record never claims
    /// more bytes than it was given.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut queues = crate::queue::Queues::new(1);
        let mut valid = prefix(3, 32, REC_GENERIC);
        valid.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4, 0]);
        for round in 0..20_000 {
            let mut b: Vec<u8> = if round % 2 == 0 {
                (0..rnd() % 96).map(|_| rnd() as u8).collect()
            } else {
                valid.clone()
            };
            if !b.is_empty() {
                for _ in 0..1 + rnd() % 3 {
                    let i = rnd() as usize % b.len();
                    b[i] = rnd() as u8;
                }
                // sizes and kinds are what matter most
                if round % 3 == 0 && b.len() >= 16 {
                    b[8..12].copy_from_slice(&((rnd() % 128) as u32).to_le_bytes());
                    b[12..16].copy_from_slice(&((rnd() % 3) as u32).to_le_bytes());
                }
            }
            if let Some((rec, size)) = record(&b) {
                assert!(size <= b.len());
                queues.push(0, rec, rnd());
            }
        }
        queues.set_limit(u64::MAX);
        while let Some(o) = queues.pop() {
            assert!(sonde_event::RawEvent::parse(o.bytes, false).is_ok());
        }
    }

    #[test]
    fn event_records() {
        let ev = sonde_event::RawEvent::from_parts(5, 6, 3, 0, &[], false).unwrap();
        let mut body = Vec::new();
        ev.encode_v2(false, &mut body);
        let mut r = prefix(0, (PREFIX_LEN + body.len()) as u32, REC_EVENT);
        r.extend_from_slice(&body);
        r.extend_from_slice(&[0; 6]); // padding
        let (rec, size) = record(&r).unwrap();
        assert_eq!(size, PREFIX_LEN + body.len());
        assert_eq!(
            rec,
            Record::Event {
                latency: 0,
                event: &body
            }
        );
        r[8] += 1; // size and the event's own length disagree
        assert_eq!(record(&r), None);
        r[8] -= 1;
        r[12] = 7; // unknown kind
        assert_eq!(record(&r), None);
        r[12] = 0;
        r[8] = 200; // beyond what was published
        assert_eq!(record(&r), None);
    }
}

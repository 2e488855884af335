//! The records the kernel side writes (see `bpf/sonde.h`).

use crate::Event;

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
    pub interesting: u8,
    /// 1: the syscall has no event of its own (no handler in the probe).
    pub generic: u8,
}

impl SyscallConf {
    pub fn to_bytes(&self) -> [u8; 4] {
        let p = self.ppm_sc.to_ne_bytes();
        [p[0], p[1], self.interesting, self.generic]
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

/// Turns one ring-buffer record into an [`Event`], converting the monotonic
/// timestamp to epoch ns. `None` for a malformed record.
pub fn decode(rec: &[u8], clock_offset: u64) -> Option<Event> {
    if rec.len() < PREFIX_LEN + sonde_event::HEADER_LEN {
        return None;
    }
    let latency_ns = le_u64(&rec[0..8]);
    let cpu = u32::from_le_bytes(rec[8..12].try_into().ok()?) as u16;
    let body = &rec[PREFIX_LEN..];
    let len = u32::from_le_bytes(body[16..20].try_into().ok()?) as usize;
    if len > body.len() {
        return None;
    }
    let mut bytes = body[..len].to_vec();
    let ts = le_u64(&bytes[0..8]) + clock_offset;
    bytes[0..8].copy_from_slice(&ts.to_le_bytes());
    let ev = sonde_event::RawEvent::parse(&bytes, false).ok()?;
    debug_assert!(
        ev.info().is_some_and(|i| i.params.len() == ev.nparams()),
        "event {} has {} parameters, the event table says otherwise",
        ev.code,
        ev.nparams()
    );
    Some(Event {
        bytes,
        cpu,
        latency_ns,
    })
}

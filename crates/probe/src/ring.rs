//! The per-CPU event rings, read through a shared mapping of map `cpu_bufs`
//! (layout in `bpf/sonde.h`).
//!
//! Each CPU's entry holds the scratch space its events are built in, two
//! positions (`head`, moved by the probe after it wrote a record; `tail`,
//! moved by us after we read records) and the ring. Positions count bytes
//! since the start and only grow, so `head - tail` is what is waiting. A
//! record starts at `pos % size` and is contiguous (it may run on into the
//! slack after the ring).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::abi::{PREFIX_LEN, RING_DATA_OFF, RING_HDR_OFF, RING_SLACK, RING_TAIL_OFF};

/// Bytes of one CPU's entry in `cpu_bufs` for a ring of `ring` bytes.
pub fn entry_size(ring: usize) -> usize {
    RING_DATA_OFF + ring + RING_SLACK
}

/// The shared mapping of every CPU's buffer.
pub struct Rings {
    base: *mut u8,
    len: usize,
    ncpus: usize,
    stride: usize,
    mask: u64,
    /// Records that did not parse (a probe bug): the rest of that CPU's
    /// pending bytes are skipped.
    pub bad: u64,
}

impl Rings {
    /// Maps `ncpus` entries of `ring` bytes (a power of two) each, from the
    /// fd of map `cpu_bufs`.
    pub fn map(fd: BorrowedFd<'_>, ncpus: usize, ring: usize) -> std::io::Result<Rings> {
        let stride = entry_size(ring).next_multiple_of(8);
        let len = (stride * ncpus).next_multiple_of(4096);
        // SAFETY: a fresh shared mapping of an mmapable BPF array; the kernel
        // checks the length against the map.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Rings {
            base: base.cast(),
            len,
            ncpus,
            stride,
            mask: ring as u64 - 1,
            bad: 0,
        })
    }

    fn pos(&self, cpu: usize, off: usize) -> &AtomicU64 {
        // SAFETY: inside the mapping, 8-byte aligned (entries are 8-aligned,
        // offsets are multiples of 64); the kernel and we only access these
        // words as whole u64s.
        unsafe { &*(self.base.add(cpu * self.stride + off) as *const AtomicU64) }
    }

    /// Hands every published record of every CPU to `f` (record bytes:
    /// prefix, then the event), then frees their space.
    pub fn consume(&mut self, mut f: impl FnMut(&[u8])) {
        for cpu in 0..self.ncpus {
            let head = self.pos(cpu, RING_HDR_OFF).load(Ordering::Acquire);
            let mut tail = self.pos(cpu, RING_TAIL_OFF).load(Ordering::Relaxed);
            let data = RING_DATA_OFF + cpu * self.stride;
            while tail < head {
                let off = (tail & self.mask) as usize;
                let avail = (head - tail) as usize;
                // SAFETY: [off, off + avail) lies in this CPU's ring plus
                // slack (off < ring size, a record is at most the slack); the
                // probe does not write there until tail moves past it.
                let rec = unsafe {
                    std::slice::from_raw_parts(
                        self.base.add(data + off),
                        avail.min(RING_SLACK + self.mask as usize + 1 - off),
                    )
                };
                let Some(size) = record_len(rec) else {
                    self.bad += 1;
                    tail = head;
                    break;
                };
                f(&rec[..size]);
                tail += size.next_multiple_of(8) as u64;
            }
            self.pos(cpu, RING_TAIL_OFF).store(tail, Ordering::Release);
        }
    }
}

/// Length of the record at the start of `rec` (prefix + event), if sane.
fn record_len(rec: &[u8]) -> Option<usize> {
    let len_at = PREFIX_LEN + 16;
    let len = u32::from_le_bytes(rec.get(len_at..len_at + 4)?.try_into().ok()?) as usize;
    let size = PREFIX_LEN + len;
    (len >= sonde_event::HEADER_LEN && size <= rec.len() && size <= RING_SLACK).then_some(size)
}

impl Drop for Rings {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_len_checks_bounds() {
        let mut rec = vec![0u8; 64];
        rec[PREFIX_LEN + 16..PREFIX_LEN + 20].copy_from_slice(&30u32.to_le_bytes());
        assert_eq!(record_len(&rec), Some(46));
        rec[PREFIX_LEN + 16..PREFIX_LEN + 20].copy_from_slice(&60u32.to_le_bytes());
        assert_eq!(record_len(&rec), None, "longer than what was published");
        rec[PREFIX_LEN + 16..PREFIX_LEN + 20].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(record_len(&rec), None, "shorter than a header");
        assert_eq!(record_len(&rec[..10]), None);
    }
}

//! The per-CPU event rings, read through a shared mapping of map `cpu_bufs`
//! (layout in `bpf/sonde.h`).
//!
//! Each CPU's entry holds the scratch space its events are built in, two
//! positions (`head`, moved by the probe after it wrote a record; `tail`,
//! moved by us after we read records) and the ring. Positions count bytes
//! since the start and only grow, so `head - tail` is what is waiting. A
//! record starts at `pos % size` and is contiguous (it may run on into the
//! slack after the ring). Records are parsed by [`abi::record`].

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::queue::Queues;

use crate::abi::{self, RING_DATA_OFF, RING_HDR_OFF, RING_SLACK, RING_TAIL_OFF};

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

    /// Moves the published records of every CPU into `queues` (timestamps
    /// converted to epoch ns with `clock_offset`), then frees their space. A
    /// CPU whose queue is full keeps the rest of its records in its ring.
    pub fn consume(&mut self, queues: &mut Queues, clock_offset: u64) {
        for cpu in 0..self.ncpus {
            let head = self.pos(cpu, RING_HDR_OFF).load(Ordering::Acquire);
            let mut tail = self.pos(cpu, RING_TAIL_OFF).load(Ordering::Relaxed);
            if tail >= head || !queues.prepare(cpu) {
                continue;
            }
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
                let Some((rec, size)) = abi::record(rec) else {
                    self.bad += 1;
                    tail = head;
                    break;
                };
                tail += size.next_multiple_of(8) as u64;
                if !queues.push(cpu, rec, clock_offset) {
                    break;
                }
            }
            self.pos(cpu, RING_TAIL_OFF).store(tail, Ordering::Release);
        }
    }
}

impl Drop for Rings {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

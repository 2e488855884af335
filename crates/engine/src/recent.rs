//! The values of the few threads seen last, kept in front of a hash map.
//!
//! The per-thread bookkeeping of the capture filter ([`crate::rules`])
//! is asked about nearly every event. Events come in runs of a handful of
//! threads taking turns (a server's worker and its client), so two
//! slots answer most questions without hashing.

/// How many threads are kept (searched unrolled: more slots cost every
/// question more than the hashing they save, by callgrind on `net`).
const SLOTS: usize = 2;

/// The values of up to [`SLOTS`] threads; the oldest one put leaves first.
#[derive(Clone, Copy)]
pub(crate) struct Recent<V: Copy + Default> {
    slots: [(i64, V); SLOTS],
    /// How many slots hold a thread.
    len: usize,
    /// The slot the next new thread takes once all are taken.
    next: usize,
}

impl<V: Copy + Default> Default for Recent<V> {
    fn default() -> Self {
        Recent {
            slots: [(0, V::default()); SLOTS],
            len: 0,
            next: 0,
        }
    }
}

impl<V: Copy + Default> Recent<V> {
    /// `tid`'s value, when it is kept.
    #[inline(always)]
    pub(crate) fn get(&self, tid: i64) -> Option<V> {
        let [a, b] = &self.slots;
        if self.len > 0 && a.0 == tid {
            Some(a.1)
        } else if self.len > 1 && b.0 == tid {
            Some(b.1)
        } else {
            None
        }
    }

    /// `tid`'s value for changing it, when it is kept.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, tid: i64) -> Option<&mut V> {
        let len = self.len;
        let [a, b] = &mut self.slots;
        if len > 0 && a.0 == tid {
            Some(&mut a.1)
        } else if len > 1 && b.0 == tid {
            Some(&mut b.1)
        } else {
            None
        }
    }

    /// Keeps `v` for `tid`, which is not kept yet; returns the thread and
    /// value that left to make room.
    #[inline]
    pub(crate) fn put(&mut self, tid: i64, v: V) -> Option<(i64, V)> {
        if self.len < SLOTS {
            self.slots[self.len] = (tid, v);
            self.len += 1;
            return None;
        }
        let old = std::mem::replace(&mut self.slots[self.next], (tid, v));
        self.next = (self.next + 1) % SLOTS;
        Some(old)
    }

    /// Forgets every thread.
    #[inline]
    pub(crate) fn clear(&mut self) {
        *self = Recent::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_thread_put_leaves_first_and_changes_stay() {
        let mut r = Recent::<bool>::default();
        assert!([0, i64::MIN].iter().all(|&t| r.get(t).is_none()));
        for tid in 0..SLOTS as i64 {
            assert_eq!(r.put(tid, tid % 2 == 0), None);
        }
        *r.get_mut(1).unwrap() = true;
        assert_eq!(r.get(1), Some(true));
        assert_eq!(r.put(100, false), Some((0, true)));
        assert_eq!(r.get(0), None);
        assert_eq!(r.put(101, false), Some((1, true)));
        assert_eq!(r.get(100), Some(false));
        r.clear();
        assert!((0..SLOTS as i64)
            .chain([100, 101])
            .all(|t| r.get(t).is_none()));
    }
}

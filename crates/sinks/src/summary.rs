//! `-S`: the table of event counts printed after the events, as sysdig
//! 0.29.3 prints it.
//!
//! sysdig keeps one counter per event type (its 336 types) followed by one
//! per direction of each of its 329 syscall codes (for generic events),
//! sorts that whole table by decreasing count with C++'s `std::sort` (not
//! stable), and prints the first 100 non-zero rows. Rows with equal counts
//! therefore come out in the order that particular sort leaves them in,
//! which [`introsort`] reproduces.

use std::io::Write;

use sonde_engine::{Flow, Handed, Needs, Sink, SinkError, SinkResult};
use sonde_event::{codes, RawEvent};
use sonde_fields::Ctx;
use sonde_state::State;

/// Event types in sysdig 0.29.3's table.
const EVENT_MAX: usize = 336;
/// Syscall codes in sysdig 0.29.3's table.
const SC_MAX: usize = 329;
/// Rows printed at most.
const MAX_ROWS: usize = 100;

#[derive(Clone, Copy)]
struct Entry {
    calls: u64,
    /// Event code, or for syscalls `2 * code + exit`.
    id: u16,
    syscall: bool,
}

/// The event counters (the model; [`Summary`] is the sink that prints it).
pub struct EventCounts {
    table: Vec<Entry>,
}

impl Default for EventCounts {
    fn default() -> Self {
        Self::new()
    }
}

impl EventCounts {
    /// All counters at zero.
    pub fn new() -> EventCounts {
        let events = (0..EVENT_MAX).map(|j| Entry {
            calls: 0,
            id: j as u16,
            syscall: false,
        });
        let syscalls = (0..SC_MAX * 2).map(|j| Entry {
            calls: 0,
            id: j as u16,
            syscall: true,
        });
        EventCounts {
            table: events.chain(syscalls).collect(),
        }
    }

    /// Counts one event.
    pub fn count(&mut self, ev: &RawEvent<'_>) {
        let idx = if ev.code == codes::GENERIC_E || ev.code == codes::GENERIC_X {
            let id = ev.param_u64(0).unwrap_or(0) as usize;
            EVENT_MAX + id * 2 + usize::from(ev.code == codes::GENERIC_X)
        } else {
            ev.code as usize
        };
        if let Some(e) = self.table.get_mut(idx) {
            e.calls += 1;
        }
    }

    /// Sorts the table and prints it as sysdig does.
    pub fn print(mut self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(b"----------------------\nEvent           #Calls\n----------------------\n")?;
        introsort(&mut self.table, &|a: &Entry, b: &Entry| a.calls > b.calls);
        for e in self.table.iter().take(MAX_ROWS) {
            if e.calls == 0 {
                break;
            }
            let name = if e.syscall {
                sonde_event::syscall_name(u32::from(e.id / 2)).unwrap_or("")
            } else {
                sonde_event::event_info(e.id)
                    .map(|i| i.old_name)
                    .unwrap_or("")
            };
            let dir = if e.id & 1 == 0 { "> " } else { "< " };
            writeln!(out, "{dir}{name:<16}{}", e.calls)?;
        }
        Ok(())
    }
}

/// `-S`: counts the events handed out and prints the table at the end.
pub struct Summary<W: Write> {
    counts: Option<EventCounts>,
    out: W,
}

impl<W: Write> Summary<W> {
    /// A summary printed into `out` when the run finishes.
    pub fn new(out: W) -> Self {
        Summary {
            counts: Some(EventCounts::new()),
            out,
        }
    }
}

impl<W: Write> Sink for Summary<W> {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            ..Needs::default()
        }
    }

    #[inline]
    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        if let Some(c) = self.counts.as_mut() {
            c.count(ctx.ev);
        }
        Ok(Flow::Continue)
    }

    fn finish(&mut self, _st: &State) -> SinkResult {
        let Some(c) = self.counts.take() else {
            return Ok(());
        };
        match c.print(&mut self.out).and_then(|_| self.out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(SinkError::io("", e)),
            _ => Ok(()),
        }
    }
}

/// Sorts like libstdc++'s `std::sort`: introsort (median-of-three
/// quicksort down to runs of 16, heapsort past the depth limit) followed by
/// an insertion sort. The order of equal elements is the one that
/// implementation produces.
pub fn introsort<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    if v.len() < 2 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - v.len().leading_zeros()) as usize;
    introsort_loop(v, depth, less);
    final_insertion_sort(v, less);
}

const THRESHOLD: usize = 16;

fn introsort_loop<T: Copy>(mut v: &mut [T], mut depth: usize, less: &dyn Fn(&T, &T) -> bool) {
    while v.len() > THRESHOLD {
        if depth == 0 {
            heapsort(v, less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, less);
        let (lo, hi) = v.split_at_mut(cut);
        introsort_loop(hi, depth, less);
        v = lo;
    }
}

fn partition_pivot<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) -> usize {
    let n = v.len();
    let mid = n / 2;
    // move the median of v[1], v[mid], v[n-1] to v[0]
    let (a, b, c) = (1, mid, n - 1);
    let m = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(0, m);
    // unguarded partition of v[1..] around v[0]
    let (mut first, mut last) = (1, n);
    loop {
        while less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn final_insertion_sort<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    if v.len() > THRESHOLD {
        insertion_sort(&mut v[..THRESHOLD], less);
        for i in THRESHOLD..v.len() {
            unguarded_linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, less);
    }
}

fn insertion_sort<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            let x = v[i];
            v.copy_within(0..i, 1);
            v[0] = x;
        } else {
            unguarded_linear_insert(v, i, less);
        }
    }
}

fn unguarded_linear_insert<T: Copy>(v: &mut [T], mut i: usize, less: &dyn Fn(&T, &T) -> bool) {
    let x = v[i];
    while less(&x, &v[i - 1]) {
        v[i] = v[i - 1];
        i -= 1;
    }
    v[i] = x;
}

/// libstdc++'s heap sort (`make_heap` + `sort_heap`).
fn heapsort<T: Copy>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let mut parent = (n - 2) / 2;
    loop {
        let x = v[parent];
        adjust_heap(v, parent, n, x, less);
        if parent == 0 {
            break;
        }
        parent -= 1;
    }
    let mut end = n;
    while end > 1 {
        end -= 1;
        let x = v[end];
        v[end] = v[0];
        adjust_heap(v, 0, end, x, less);
    }
}

fn adjust_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    x: T,
    less: &dyn Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len & 1 == 0 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    // push x up from hole, not above top
    let mut parent = hole.wrapping_sub(1) / 2;
    while hole > top && less(&v[parent], &x) {
        v[hole] = v[parent];
        hole = parent;
        parent = hole.wrapping_sub(1) / 2;
    }
    v[hole] = x;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_descending() {
        let mut v: Vec<(u64, usize)> = (0..1000).map(|i| ((i * 7919 % 13) as u64, i)).collect();
        introsort(&mut v, &|a, b| a.0 > b.0);
        assert!(v.windows(2).all(|w| w[0].0 >= w[1].0));
        let mut ids: Vec<usize> = v.iter().map(|e| e.1).collect();
        ids.sort();
        assert_eq!(ids, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn heapsort_sorts() {
        let mut v: Vec<u32> = (0..100).map(|i| (i * 37 + 11) % 101).collect();
        heapsort(&mut v, &|a, b| a < b);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn small_inputs() {
        let mut v = [3, 1, 2];
        introsort(&mut v, &|a, b| a < b);
        assert_eq!(v, [1, 2, 3]);
        let mut e: [u8; 0] = [];
        introsort(&mut e, &|a, b| a < b);
    }
}

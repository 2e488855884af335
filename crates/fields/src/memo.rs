//! Per-field state. A few sysdig fields remember values between the events
//! they are evaluated on (each use of the field in a format or filter has
//! its own memory): the CPU time fields measure from the previous switch
//! or procinfo event, `evt.latency.human` repeats its last text when the
//! event has no thread.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

/// What one field remembers.
#[derive(Debug, Default)]
pub struct MemoData {
    /// Last timestamp per CPU (`thread.exectime`).
    pub per_cpu: Vec<u64>,
    /// A running value per thread (`thread.totexectime`, `thread.cpu*`).
    pub per_thread: FxHashMap<i64, u64>,
    /// The last text produced.
    pub text: Vec<u8>,
}

/// A field's memory. Copies of a field start afresh; any two memories
/// compare equal (they do not make fields different).
#[derive(Debug, Default)]
pub struct Memo(pub RefCell<MemoData>);

impl Clone for Memo {
    fn clone(&self) -> Memo {
        Memo::default()
    }
}

impl PartialEq for Memo {
    fn eq(&self, _: &Memo) -> bool {
        true
    }
}

impl Eq for Memo {}

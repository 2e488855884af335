//! A stop handle: asks a running engine (and its live source) to end
//! cleanly, from another thread or a signal handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared flag that ends the event loop after the current event; files
/// being written are completed. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A handle that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the engine to stop. Only an atomic store: async-signal-safe.
    #[inline]
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    #[inline]
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::StopHandle;

    #[test]
    fn clones_share_the_flag() {
        let a = StopHandle::new();
        let b = a.clone();
        assert!(!b.is_stopped());
        a.stop();
        assert!(b.is_stopped());
    }
}

//! Retention and roll-ups (to be written).

use sonde_store::Result;

use crate::Inner;

pub use sonde_store::eval::SKETCH_ERROR;

/// Folds expired full-resolution samples into roll-ups.
pub fn maintain(_inner: &mut Inner, _now_ms: i64) -> Result<()> {
    Ok(())
}

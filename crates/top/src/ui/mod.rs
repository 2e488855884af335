//! The terminal UI (in progress).

use sonde_engine::StopHandle;

use crate::run::{Options, TopError};
use crate::view::View;

/// Runs the interactive UI.
pub fn run(_opts: &Options, _views: Vec<View>, _stop: StopHandle) -> Result<(), TopError> {
    Err(TopError::Usage(
        "the interactive UI is not built yet: use --raw".into(),
    ))
}

//! A sink the unit tests of the background writers read back.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// A `Write` into a shared buffer: a clone reads what the writer wrote.
#[derive(Clone, Default)]
pub(crate) struct Shared(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

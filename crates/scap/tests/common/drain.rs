//! Reads a capture to its end or its first error, touching every decoded
//! field on the way. Shared by the damage tests, the stable fuzz smoke test
//! and the cargo-fuzz target (`crates/scap/fuzz`), which includes this file
//! by path.

use sonde_scap::{Block, Error, FileReader};

/// Drains `bytes` (plain or gzip) through [`FileReader`], calling `seen`
/// on each block. Returns, for each block, the stream offset after it and
/// what `seen` made of it; then the block count, or the error that stopped
/// the reader.
#[allow(clippy::type_complexity)]
pub fn drain<T>(
    bytes: &[u8],
    mut seen: impl FnMut(&Block<'_>) -> T,
) -> (Vec<(u64, T)>, Result<u64, Error>) {
    let mut out = Vec::new();
    let mut r = match FileReader::from_read(Box::new(std::io::Cursor::new(bytes.to_vec()))) {
        Ok(r) => r,
        Err(e) => return (out, Err(e)),
    };
    loop {
        let t = match r.next_block() {
            Ok(None) => {
                let n = out.len() as u64;
                return (out, Ok(n));
            }
            Err(e) => return (out, Err(e)),
            Ok(Some(block)) => {
                if let Block::Event(ev) = &block {
                    // Every accessor must stay in bounds whatever the bytes said.
                    let _ = ev.info();
                    for i in 0..ev.nparams() + 1 {
                        let _ = (
                            ev.param(i),
                            ev.param_u64(i),
                            ev.param_i64(i),
                            ev.param_str(i),
                        );
                    }
                }
                seen(&block)
            }
        };
        out.push((r.offset(), t));
    }
}

/// Drains `bytes` through [`sonde_scap::Reader::next_raw_block`]; returns
/// the block count or the error.
pub fn drain_raw(bytes: &[u8]) -> Result<u64, Error> {
    let mut r = FileReader::from_read(Box::new(std::io::Cursor::new(bytes.to_vec())))?;
    let mut n = 0;
    while r.next_raw_block()?.is_some() {
        n += 1;
    }
    Ok(n)
}

//! The filter given on the command line.

use anyhow::Result;
use sonde_filter::Filter;

use crate::args::Args;
use crate::UsageError;

/// The filter given on the command line, if any (exit code 2 when bad).
pub fn compile(args: &Args) -> Result<Option<Filter>> {
    if args.filter.is_empty() {
        return Ok(None);
    }
    let text = args.filter.join(" ");
    match Filter::new(&text) {
        Ok(f) => {
            for w in f.warnings() {
                eprintln!("sonde: warning in filter:\n{w}");
            }
            Ok(Some(f))
        }
        Err(e) => Err(UsageError(format!("invalid filter:\n{e}")).into()),
    }
}

//! # sonde-top: csysdig's views on the shared engine
//!
//! Owns what `sonde top` shows: views as data (csysdig's `view_info` Lua
//! tables: the bundled views in `views/`, or csysdig's own files loaded
//! unchanged, [`loader`]), the view model a view fills as an engine sink
//! ([`ViewSink`] feeding a [`Table`]: rows keyed by the view's key,
//! SUM/AVG/MAX/MIN/TIME_AVG columns, group-by, filters, sort, sample
//! boundaries as csysdig makes them), `--raw`/`-j` output ([`output`]),
//! and the terminal UI ([`ui`]: ratatui + crossterm, tables and spectrograms)
//! that draws only from snapshots of that model.
//!
//! Does **not** own: the event loop (`sonde-engine`), fields
//! (`sonde-fields`; only csysdig's table-only fields are computed here),
//! the filter language (`sonde-filter`), the state (`sonde-state`) or
//! flags (`sonde` CLI).

pub mod cell;
pub mod loader;
pub mod output;
mod plan;
pub mod run;
pub mod sink;
pub mod table;
pub mod tfield;
pub mod ui;
pub mod view;

pub use loader::{bundled, bundled_one, load_dir, load_file, LoadError};
pub use sink::{combine_filters, ViewSink};
pub use table::{Row, Sample, Table};
pub use view::{Action, Aggregation, Column, View, ViewType};

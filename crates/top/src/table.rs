//! The aggregation behind a view: rows keyed by the view's key, one
//! [`Cell`] per column combined with the column's aggregation, an
//! optional group-by step at the end of each sample (rows merged by the
//! group-by key with the group-by aggregations), list views that keep one
//! row per event, and the sorted [`Sample`] a sample boundary produces.
//! This is csysdig's table semantics; it knows nothing of drawing.

use rustc_hash::FxHashMap as HashMap;

use sonde_fields::Ctx;

use crate::cell::{Cell, ColType, Val};
use crate::tfield::Extractor;
use crate::view::{Aggregation, View, ViewType};

/// One row: its key and its values (one per value column).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The key.
    pub key: Cell,
    /// The values.
    pub vals: Vec<Cell>,
}

/// A finished sample: what a UI draws and `--raw` prints.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The rows, sorted.
    pub rows: Vec<Row>,
    /// The key's type.
    pub key_type: Option<ColType>,
    /// Each value column's type.
    pub types: Vec<ColType>,
    /// Each value column is a rate (divided by the sample's seconds).
    pub rate: Vec<bool>,
    /// The sample's duration (ns).
    pub time_delta: u64,
    /// Value column sorted by (0-based) and whether ascending.
    pub sort: (usize, bool),
}

impl Sample {
    /// A row's value as text, as csysdig prints it in `--raw`.
    pub fn text(&self, row: &Row, col: usize, width: usize) -> String {
        let td = if self.rate[col] { self.time_delta } else { 0 };
        row.vals[col].nice(self.types[col], width, td)
    }

    /// The row key as text (what a drill-down filters on).
    pub fn key_text(&self, row: &Row) -> String {
        match (&row.key.v, self.key_type) {
            (Val::T(s), _) => String::from_utf8_lossy(s).into_owned(),
            (_, Some(t)) => row.key.nice(t, 0, 0).trim().to_string(),
            _ => String::new(),
        }
    }

    /// Sorts by value column `col` (`ascending` or not).
    pub fn sort_by(&mut self, col: usize, ascending: bool) {
        if col >= self.types.len() {
            return;
        }
        let k = self.types[col].kind;
        self.rows.sort_by(|a, b| {
            let o = a.vals[col].cmp(k, &b.vals[col]);
            if ascending {
                o
            } else {
                o.reverse()
            }
        });
        self.sort = (col, ascending);
    }
}

/// One column of the table: its extractor and aggregations.
struct Col {
    ex: Extractor,
    ag: Aggregation,
    merge_ag: Aggregation,
}

/// The aggregation state of one view.
pub struct Table {
    list: bool,
    cols: Vec<Col>,
    use_defaults: bool,
    /// Post-merge columns as indices into `cols` (group-by key first).
    groupby: Option<Vec<usize>>,
    index: HashMap<Box<[u8]>, usize>,
    rows: Vec<Row>,
    scratch: Vec<Option<Cell>>,
    kbuf: Vec<u8>,
    /// Value column to sort by at first (0-based), ascending or not.
    sort: (usize, bool),
}

fn key_bytes(v: &Val) -> Box<[u8]> {
    let mut b = Vec::new();
    key_into(v, &mut b);
    b.into_boxed_slice()
}

/// The bytes a key hashes as.
fn key_into(v: &Val, out: &mut Vec<u8>) {
    out.clear();
    match v {
        Val::I(i) => out.extend_from_slice(&i.to_le_bytes()),
        Val::D(d) => out.extend_from_slice(&d.to_le_bytes()),
        Val::T(t) => out.extend_from_slice(t),
    }
}

impl Table {
    /// The table for `view` at drill-down `depth`.
    pub fn new(view: &View, depth: u32) -> Result<Table, String> {
        let list = view.view_type == ViewType::List;
        let mut cols = Vec::new();
        if list {
            cols.push(Col {
                ex: Extractor::new("util.cnt")?,
                ag: Aggregation::None,
                merge_ag: Aggregation::None,
            });
            if view.columns.iter().any(|c| c.is_key) {
                return Err("a list view cannot have a key".into());
            }
        } else if !view.columns.first().is_some_and(|c| c.is_key) {
            return Err("the view has no key".into());
        }
        for c in &view.columns {
            let f = c.field_at(depth);
            let ex = Extractor::new(&f).map_err(|e| format!("invalid field name {f}: {e}"))?;
            cols.push(Col {
                ex,
                ag: c.aggregation,
                merge_ag: c.groupby_aggregation,
            });
        }
        if cols.len() < 2 {
            return Err("the view has no values".into());
        }
        let groupby = match view.does_groupby() && !list {
            // columns: key, group-by key, values...
            true => Some((1..cols.len()).collect()),
            false => None,
        };
        let mut t = Table {
            list,
            cols,
            use_defaults: view.use_defaults,
            groupby,
            index: HashMap::default(),
            rows: Vec::new(),
            scratch: Vec::new(),
            kbuf: Vec::new(),
            sort: (0, false),
        };
        let sc = view.sorting_col().saturating_sub(1);
        let types = t.value_types();
        let asc = types.get(sc).is_some_and(|t| !t.numeric());
        t.sort = (sc.min(types.len().saturating_sub(1)), asc);
        Ok(t)
    }

    /// Whether this is a list view (one row per event, kept).
    pub fn is_list(&self) -> bool {
        self.list
    }

    /// Whether rows are merged by a group-by key.
    pub fn groups(&self) -> bool {
        self.groupby.is_some()
    }

    /// The types of the value columns of a sample.
    pub fn value_types(&self) -> Vec<ColType> {
        match &self.groupby {
            Some(g) => g[1..].iter().map(|&i| self.cols[i].ex.ty).collect(),
            None => self.cols[1..].iter().map(|c| c.ex.ty).collect(),
        }
    }

    /// Which value columns are rates.
    fn rates(&self) -> Vec<bool> {
        let is_rate = |c: &Col| c.ag == Aggregation::TimeAvg || c.merge_ag == Aggregation::TimeAvg;
        match &self.groupby {
            Some(g) => g[1..].iter().map(|&i| is_rate(&self.cols[i])).collect(),
            None => self.cols[1..].iter().map(is_rate).collect(),
        }
    }

    /// Adds one event (already accepted by the view's filter).
    pub fn process(&mut self, ctx: &Ctx<'_, '_>) {
        let defaults = self.use_defaults;
        let extract = |c: &mut Col| -> Option<Cell> {
            match c.ex.extract(ctx) {
                Some(v) => Some(Cell { v, cnt: 1 }),
                None if defaults && c.ex.ty.def => Some(Cell {
                    v: c.ex.ty.zero(),
                    cnt: 0,
                }),
                None => None,
            }
        };
        let Some(key) = extract(&mut self.cols[0]) else {
            return;
        };
        key_into(&key.v, &mut self.kbuf);
        let existing = match self.list {
            true => None,
            false => self.index.get(&self.kbuf[..]).copied(),
        };
        self.scratch.clear();
        for c in &mut self.cols[1..] {
            // a row's kept first value needs no extraction, unless a
            // missing value would drop the event
            if existing.is_some() && c.ag == Aggregation::None && c.ex.ty.def {
                self.scratch.push(None);
                continue;
            }
            // text kept as its last value: copied only when it changed
            if let (Some(i), Aggregation::Max, crate::cell::Kind::Text) =
                (existing, c.ag, c.ex.ty.kind)
            {
                let j = self.scratch.len();
                if let Val::T(cur) = &self.rows[i].vals[j].v {
                    if c.ex.text_equals(ctx, cur) == Some(true) {
                        self.scratch.push(None);
                        continue;
                    }
                }
            }
            match extract(c) {
                Some(cell) => self.scratch.push(Some(cell)),
                None => return,
            }
        }
        match existing {
            Some(i) => {
                let row = &mut self.rows[i];
                for (j, cell) in self.scratch.iter().enumerate() {
                    let c = &self.cols[j + 1];
                    if let (Some(cell), true) = (cell, c.ag != Aggregation::None) {
                        row.vals[j].add(c.ex.ty.kind, c.ag, cell);
                    }
                }
            }
            None => {
                let list = self.list;
                let vals = self
                    .scratch
                    .drain(..)
                    .map(|c| {
                        let c = c.unwrap_or(Cell {
                            v: Val::I(0),
                            cnt: 0,
                        });
                        match list {
                            true => Cell { cnt: 1, ..c },
                            false => c,
                        }
                    })
                    .collect();
                if !list {
                    self.index
                        .insert(self.kbuf.clone().into_boxed_slice(), self.rows.len());
                }
                self.rows.push(Row {
                    key: Cell { cnt: 1, ..key },
                    vals,
                });
            }
        }
    }

    /// Ends a sample: merges by the group-by key, sorts, and starts the
    /// next sample empty (lists keep their rows in order and are cleared
    /// by the caller when it wants).
    pub fn take_sample(&mut self, time_delta: u64) -> Sample {
        let rows = if self.list {
            self.rows.clone()
        } else {
            self.index.clear();
            std::mem::take(&mut self.rows)
        };
        let rows = match (&self.groupby, self.list) {
            (Some(g), false) => {
                let mut index = HashMap::default();
                let mut out = Vec::new();
                let kinds: Vec<_> = g[1..]
                    .iter()
                    .map(|&i| (self.cols[i].ex.ty.kind, self.cols[i].merge_ag))
                    .collect();
                for r in rows {
                    // premerge values are cols[1..]: col i is vals[i - 1]
                    let key = r.vals[g[0] - 1].clone();
                    let vals = g[1..].iter().map(|&i| r.vals[i - 1].clone()).collect();
                    add_row(&mut index, &mut out, key, vals, &kinds);
                }
                out
            }
            _ => rows,
        };
        let key_type = match &self.groupby {
            Some(g) => self.cols[g[0]].ex.ty,
            None => self.cols[0].ex.ty,
        };
        let mut s = Sample {
            rows,
            key_type: Some(key_type),
            types: self.value_types(),
            rate: self.rates(),
            time_delta,
            sort: self.sort,
        };
        if !self.list {
            s.sort_by(self.sort.0, self.sort.1);
        }
        s
    }

    /// Empties a list view.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
    }
}

fn add_row(
    index: &mut HashMap<Box<[u8]>, usize>,
    rows: &mut Vec<Row>,
    key: Cell,
    vals: Vec<Cell>,
    kinds: &[(crate::cell::Kind, Aggregation)],
) {
    let kb = key_bytes(&key.v);
    match index.get(&kb) {
        Some(&i) => {
            let row = &mut rows[i];
            for (j, v) in vals.iter().enumerate() {
                let (k, ag) = kinds[j];
                row.vals[j].add(k, ag, v);
            }
        }
        None => {
            index.insert(kb, rows.len());
            rows.push(Row {
                key: Cell { cnt: 1, ..key },
                vals,
            });
        }
    }
}

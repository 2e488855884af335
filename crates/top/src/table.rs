//! The aggregation behind a view: rows keyed by the view's key, one
//! [`Cell`] per column combined with the column's aggregation, an
//! optional group-by step at the end of each sample (rows merged by the
//! group-by key with the group-by aggregations), list views that keep one
//! row per event, and the sorted [`Sample`] a sample boundary produces.
//! This is csysdig's table semantics; it knows nothing of drawing.

use rustc_hash::FxHashMap as HashMap;

use sonde_fields::Ctx;

use crate::cell::{Cell, ColType, Kind, Val};
use crate::plan::{ColFacts, Plan};
use crate::tfield::{Extractor, Look, ValRef};
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
    /// A thread-level value whose aggregation keeps the first, the
    /// largest or the smallest: a row keyed by thread that already took
    /// it at the same thread epoch gains nothing from it again.
    fixed: bool,
}

impl Col {
    fn new(ex: Extractor, ag: Aggregation, merge_ag: Aggregation) -> Col {
        let fixed = ex.thread_level()
            && matches!(ag, Aggregation::None | Aggregation::Max | Aggregation::Min);
        Col {
            ex,
            ag,
            merge_ag,
            fixed,
        }
    }
}

/// A row's memo when it has none.
const NO_EPOCH: u64 = u64::MAX;

/// The aggregation state of one view.
pub struct Table {
    list: bool,
    cols: Vec<Col>,
    use_defaults: bool,
    /// Post-merge columns as indices into `cols` (group-by key first).
    groupby: Option<Vec<usize>>,
    index: Index,
    rows: Vec<Row>,
    /// Per row (rows keyed by thread id): the thread epoch at which the
    /// row last took its thread-level columns ([`NO_EPOCH`]: never; see
    /// `State::thread_unchanged_since`).
    epochs: Vec<u64>,
    /// The key is the thread id: every event of a row is of one thread.
    by_thread: bool,
    /// The value columns each event type may change in an existing row.
    plan: Plan,
    slots: Vec<Slot>,
    kbuf: Vec<u8>,
    /// Value column to sort by at first (0-based), ascending or not.
    sort: (usize, bool),
    /// An event on an existing row can be combined column by column as
    /// it is read: no column that may drop the event (a missing value
    /// without a default) comes after one that changes the row.
    one_pass: bool,
}

/// A row key without its text (kept in the table's `kbuf`).
#[derive(Debug, Clone, Copy)]
enum Key {
    I(i64),
    D(f64),
    T,
}

impl Key {
    fn of(v: ValRef<'_>, kbuf: &mut Vec<u8>) -> Key {
        match v {
            ValRef::I(i) => Key::I(i),
            ValRef::D(d) => Key::D(d),
            ValRef::T(t) => {
                kbuf.clear();
                kbuf.extend_from_slice(t);
                Key::T
            }
        }
    }
}

/// Rows by key: integers (and doubles, by their bits) hashed as they
/// are, text by its bytes (looked up without a copy).
#[derive(Default)]
struct Index {
    nums: HashMap<i64, usize>,
    texts: HashMap<Box<[u8]>, usize>,
}

impl Index {
    fn get(&self, k: Key, text: &[u8]) -> Option<usize> {
        match k {
            Key::I(i) => self.nums.get(&i).copied(),
            Key::D(d) => self.nums.get(&(d.to_bits() as i64)).copied(),
            Key::T => self.texts.get(text).copied(),
        }
    }

    fn insert(&mut self, k: Key, text: &[u8], row: usize) {
        match k {
            Key::I(i) => self.nums.insert(i, row),
            Key::D(d) => self.nums.insert(d.to_bits() as i64, row),
            Key::T => self.texts.insert(text.into(), row),
        };
    }

    fn clear(&mut self) {
        self.nums.clear();
        self.texts.clear();
    }
}

/// What one event brings to one value column (text stays in the
/// column's extractor until the row takes it).
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Nothing to combine (a kept first value, unchanged text).
    Skip,
    I(i64, u32),
    D(f64, u32),
    /// Text whose bytes do not matter (no value, or summed text).
    Empty(u32),
    /// The extractor's last text.
    Text(u32),
}

impl Slot {
    /// The cell this slot adds (`text`: the extractor's last text); None
    /// for [`Slot::Skip`].
    #[inline]
    fn cell(&self, text: impl FnOnce() -> Box<[u8]>) -> Option<Cell> {
        Some(match *self {
            Slot::Skip => return None,
            Slot::I(v, cnt) => Cell { v: Val::I(v), cnt },
            Slot::D(v, cnt) => Cell { v: Val::D(v), cnt },
            Slot::Empty(cnt) => Cell {
                v: Val::T(Box::default()),
                cnt,
            },
            Slot::Text(cnt) => Cell {
                v: Val::T(text()),
                cnt,
            },
        })
    }
}

/// This event's slot for column `c` (`cur`: the row's cell when the row
/// exists); None when the missing value drops the event.
fn slot<'a>(
    c: &mut Col,
    ctx: &Ctx<'a, '_>,
    look: &Look<'a>,
    cur: Option<&Cell>,
    defaults: bool,
) -> Option<Slot> {
    let ty = c.ex.ty;
    if let Some(cur) = cur {
        match c.ag {
            // a row's kept first value needs no extraction, unless a
            // missing value would drop the event
            Aggregation::None if ty.def => return Some(Slot::Skip),
            Aggregation::None => {
                c.ex.extract_ref(ctx, look)?;
                return Some(Slot::Skip);
            }
            // text kept as its last value: copied only when it changed
            Aggregation::Max if ty.kind == Kind::Text => {
                if let Val::T(t) = &cur.v {
                    if c.ex.text_equals(ctx, look, t) == Some(true) {
                        return Some(Slot::Skip);
                    }
                }
            }
            _ => {}
        }
    }
    let text_matters = match c.ag {
        Aggregation::Max | Aggregation::Min => true,
        _ => cur.is_none(),
    };
    Some(match c.ex.extract_ref(ctx, look) {
        Some(ValRef::I(v)) => Slot::I(v, 1),
        Some(ValRef::D(v)) => Slot::D(v, 1),
        Some(ValRef::T(_)) if text_matters => Slot::Text(1),
        Some(ValRef::T(_)) => Slot::Empty(1),
        // a default changes nothing a sum, an average or a minimum has
        None if defaults && ty.def && cur.is_some() && !matches!(c.ag, Aggregation::Max) => {
            Slot::Skip
        }
        None if defaults && ty.def => match ty.kind {
            Kind::Double => Slot::D(0.0, 0),
            Kind::Text => Slot::Empty(0),
            _ => Slot::I(0, 0),
        },
        None => return None,
    })
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
            cols.push(Col::new(
                Extractor::new("util.cnt")?,
                Aggregation::None,
                Aggregation::None,
            ));
            if view.columns.iter().any(|c| c.is_key) {
                return Err("a list view cannot have a key".into());
            }
        } else if !view.columns.first().is_some_and(|c| c.is_key) {
            return Err("the view has no key".into());
        }
        for c in &view.columns {
            let f = c.field_at(depth);
            let ex = Extractor::new(&f).map_err(|e| format!("invalid field name {f}: {e}"))?;
            cols.push(Col::new(ex, c.aggregation, c.groupby_aggregation));
        }
        if cols.len() < 2 {
            return Err("the view has no values".into());
        }
        let groupby = match view.does_groupby() && !list {
            // columns: key, group-by key, values...
            true => Some((1..cols.len()).collect()),
            false => None,
        };
        let mut changed = false;
        let mut one_pass = true;
        for c in &cols[1..] {
            if !(view.use_defaults && c.ex.ty.def) && changed {
                one_pass = false;
            }
            changed |= c.ag != Aggregation::None;
        }
        let facts: Vec<_> = cols[1..]
            .iter()
            .map(|c| ColFacts {
                ag: c.ag,
                def: c.ex.ty.def,
                fixed: c.fixed,
                none_for: Box::new(|code| c.ex.none_for(code)),
            })
            .collect();
        let plan = Plan::new(&facts, view.use_defaults);
        drop(facts);
        let mut t = Table {
            list,
            one_pass,
            plan,
            by_thread: !list && cols[0].ex.is_tid(),
            epochs: Vec::new(),
            cols,
            use_defaults: view.use_defaults,
            groupby,
            index: Index::default(),
            rows: Vec::new(),
            slots: Vec::new(),
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
    pub fn process<'a>(&mut self, ctx: &Ctx<'a, '_>) {
        let look = Look::new();
        let defaults = self.use_defaults;
        let key_def = defaults && self.cols[0].ex.ty.def;
        // the key, copied out of its extractor (an integer, or text in kbuf)
        let key = match self.cols[0].ex.extract_ref(ctx, &look) {
            Some(v) => Key::of(v, &mut self.kbuf),
            None if key_def => match self.cols[0].ex.ty.kind {
                Kind::Double => Key::D(0.0),
                Kind::Text => Key::of(ValRef::T(b""), &mut self.kbuf),
                _ => Key::I(0),
            },
            None => return,
        };
        let existing = match self.list {
            true => None,
            false => self.index.get(key, &self.kbuf),
        };
        // the thread epoch this event sees, when it may be kept
        let epoch = if self.by_thread && sonde_state::keeps_threads(ctx.ev.code) {
            ctx.st.thread_epoch()
        } else {
            NO_EPOCH
        };
        if let Some(i) = existing {
            // the row's thread-level values still hold: nothing changed
            // since but other threads' memory
            let since = self.epochs[i];
            let same = epoch != NO_EPOCH
                && since != NO_EPOCH
                && look
                    .thread(ctx)
                    .is_some_and(|t| ctx.st.thread_unchanged_since(t, since));
            if self.combine(i, ctx, &look, same) {
                self.epochs[i] = epoch;
            }
            return;
        }
        self.slots.clear();
        let ok = self.cols[1..].iter_mut().all(|c| {
            slot(c, ctx, &look, None, defaults)
                .map(|s| self.slots.push(s))
                .is_some()
        });
        if ok {
            self.insert(key);
            self.epochs.push(epoch);
        }
    }

    /// Combines an event into existing row `i`, visiting only the columns
    /// its type may change (`same`: at the thread epoch the row last
    /// took); false when a missing value drops the event.
    fn combine<'a>(&mut self, i: usize, ctx: &Ctx<'a, '_>, look: &Look<'a>, same: bool) -> bool {
        let defaults = self.use_defaults;
        let visit = self.plan.cols(ctx.ev.code, same);
        let row = &mut self.rows[i];
        if self.one_pass {
            for &j in visit {
                let (c, cur) = (&mut self.cols[j as usize + 1], &mut row.vals[j as usize]);
                // a drop can only come before the row changed
                let Some(s) = slot(c, ctx, look, Some(cur), defaults) else {
                    return false;
                };
                if let Some(cell) = s.cell(|| c.ex.last_text().into()) {
                    cur.add(c.ex.ty.kind, c.ag, cell);
                }
            }
            return true;
        }
        self.slots.clear();
        self.slots.resize(row.vals.len(), Slot::Skip);
        for &j in visit {
            let (c, cur) = (&mut self.cols[j as usize + 1], &row.vals[j as usize]);
            match slot(c, ctx, look, Some(cur), defaults) {
                Some(s) => self.slots[j as usize] = s,
                None => return false,
            }
        }
        self.update(i);
        true
    }

    /// Combines this event's slots into row `i`.
    fn update(&mut self, i: usize) {
        let row = &mut self.rows[i];
        for ((s, c), v) in self.slots.iter().zip(&self.cols[1..]).zip(&mut row.vals) {
            let Some(cell) = s.cell(|| c.ex.last_text().into()) else {
                continue;
            };
            v.add(c.ex.ty.kind, c.ag, cell);
        }
    }

    /// A new row from this event's slots.
    fn insert(&mut self, key: Key) {
        let list = self.list;
        let mut vals = Vec::with_capacity(self.slots.len());
        for (j, s) in self.slots.iter().enumerate() {
            let ex = &self.cols[j + 1].ex;
            let mut c = s.cell(|| ex.last_text().into()).unwrap_or(Cell {
                v: Val::I(0),
                cnt: 0,
            });
            if list {
                c.cnt = 1;
            }
            vals.push(c);
        }
        if !list {
            self.index.insert(key, &self.kbuf, self.rows.len());
        }
        let key = match key {
            Key::I(i) => Val::I(i),
            Key::D(d) => Val::D(d),
            Key::T => Val::T(self.kbuf.as_slice().into()),
        };
        self.rows.push(Row {
            key: Cell { v: key, cnt: 1 },
            vals,
        });
    }

    /// Ends a sample: merges by the group-by key, sorts, and starts the
    /// next sample empty (lists keep their rows in order and are cleared
    /// by the caller when it wants).
    pub fn take_sample(&mut self, time_delta: u64) -> Sample {
        let rows = if self.list {
            self.rows.clone()
        } else {
            self.index.clear();
            self.epochs.clear();
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
        self.epochs.clear();
        self.index.clear();
    }
}

fn add_row(
    index: &mut HashMap<Box<[u8]>, usize>,
    rows: &mut Vec<Row>,
    key: Cell,
    vals: Vec<Cell>,
    kinds: &[(Kind, Aggregation)],
) {
    let kb = key_bytes(&key.v);
    match index.get(&kb) {
        Some(&i) => {
            let row = &mut rows[i];
            for (j, v) in vals.into_iter().enumerate() {
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

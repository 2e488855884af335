//! The UI's state, apart from drawing: the views, where the user is in
//! the drill-down hierarchy, the current view's engine run and the latest
//! sample taken from it (as display rows), the selection, sort, text
//! filter and search, pause, and the open panel (views picker, help,
//! actions, a confirmation, a text panel). Keys and mouse clicks change
//! this state; `draw.rs` only reads it.

use crate::run::Options;
use crate::table::Sample;
use crate::ui::engine::{Lines, TextRun, ViewRun};
use crate::view::View;

/// One level of the drill-down: the view shown there and the row that
/// was entered to go further.
#[derive(Debug, Clone)]
pub struct Level {
    /// Index into the views.
    pub view: usize,
    /// The filter field of the row that was entered (empty at the top).
    pub field: String,
    /// The value of that row.
    pub value: String,
    /// The selection in that view when leaving it.
    pub selected: usize,
}

/// What takes the keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// The table.
    Normal,
    /// F2: choosing a view.
    Views(usize),
    /// F4: typing the row filter.
    Filter,
    /// `/`: typing a search.
    Search,
    /// F9: choosing the sort column.
    Sort(usize),
    /// F7 / F1: help for the view and the keys.
    Help,
    /// F8: choosing an action.
    Actions(usize),
    /// Asking before a destructive action: the command.
    Confirm(String, bool),
    /// A text panel (action output, echo, events).
    Text(String, usize),
}

/// The display form of a sample.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    /// Row keys as text (what a drill-down filters on).
    pub keys: Vec<String>,
    /// Each row's cells as text.
    pub cells: Vec<Vec<String>>,
}

/// The whole UI state.
pub struct App {
    /// How the run was started.
    pub opts: Options,
    /// All views (picker order: by name).
    pub views: Vec<View>,
    /// The drill-down path; the last level is the current view.
    pub path: Vec<Level>,
    /// The current engine run.
    pub run: Option<ViewRun>,
    /// The sample shown (paused: kept).
    pub sample: Option<Sample>,
    seen_gen: u64,
    /// The sample as text, filtered by `filter`.
    pub rows: Rows,
    /// Selected row (in `rows`).
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
    /// Sort column (value index) and direction chosen by the user.
    pub sort: Option<(usize, bool)>,
    /// F4 text filter.
    pub filter: String,
    /// `/` text.
    pub search: String,
    /// No new samples are taken.
    pub paused: bool,
    /// The key mode.
    pub mode: Mode,
    /// A text panel's engine run and its lines.
    pub text: Option<(Option<TextRun>, Lines)>,
    /// The last status message.
    pub status: String,
    /// Set to leave.
    pub quit: bool,
    /// The engine run ended with this error.
    pub error: Option<String>,
    /// The run ended.
    pub done: bool,
    /// A spectrogram view's lines.
    pub spectro: crate::ui::spectro::History,
}

/// A display string for a filter value, quoted as csysdig quotes it.
fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\\\""))
}

impl App {
    /// The UI on `views`, starting with the view `opts.view`.
    pub fn new(opts: Options, mut views: Vec<View>) -> Result<App, String> {
        views.sort_by(|a, b| a.name.cmp(&b.name));
        let first = views
            .iter()
            .position(|v| v.id == opts.view)
            .ok_or_else(|| format!("unknown view '{}'", opts.view))?;
        let mut app = App {
            opts,
            views,
            path: vec![Level {
                view: first,
                field: String::new(),
                value: String::new(),
                selected: 0,
            }],
            run: None,
            sample: None,
            seen_gen: 0,
            rows: Rows::default(),
            selected: 0,
            offset: 0,
            sort: None,
            filter: String::new(),
            search: String::new(),
            paused: false,
            mode: Mode::Normal,
            text: None,
            status: String::new(),
            quit: false,
            error: None,
            done: false,
            spectro: Default::default(),
        };
        app.restart();
        Ok(app)
    }

    /// The view shown.
    pub fn view(&self) -> &View {
        &self.views[self.path.last().map_or(0, |l| l.view)]
    }

    /// The drill-down filter: every entered row, as `field="value"`.
    pub fn drill_filter(&self) -> String {
        let parts: Vec<String> = self
            .path
            .iter()
            .filter(|l| !l.field.is_empty())
            .map(|l| format!("{}={}", l.field, quote(&l.value)))
            .collect();
        parts.join(" and ")
    }

    /// "Viewing: Files For: proc.pid=1234" (the breadcrumb).
    pub fn breadcrumb(&self) -> String {
        let sel: Vec<String> = self
            .path
            .iter()
            .filter(|l| !l.field.is_empty())
            .map(|l| format!("{}={}", l.field, l.value))
            .collect();
        let mut s = format!("Viewing: {}", self.view().name);
        s.push_str(" For: ");
        if sel.is_empty() {
            s.push_str("whole machine");
        } else {
            s.push_str(&sel.join(" and "));
        }
        s
    }

    /// (Re)starts the engine for the current view and selection.
    pub fn restart(&mut self) {
        self.run = None;
        self.sample = None;
        self.rows = Rows::default();
        self.seen_gen = 0;
        self.done = false;
        self.error = None;
        self.sort = None;
        self.spectro.clear();
        let v = self.view().clone();
        self.run = Some(ViewRun::start(&self.opts, &v, 0, &self.drill_filter()));
    }

    /// Takes a new sample from the engine thread, if one came.
    pub fn poll(&mut self) -> bool {
        let Some(run) = &self.run else { return false };
        let Ok(mut g) = run.shared.lock() else {
            return false;
        };
        self.done = g.done;
        if g.error.is_some() && self.error.is_none() {
            self.error = g.error.clone();
        }
        if self.paused || g.generation == self.seen_gen {
            return false;
        }
        self.seen_gen = g.generation;
        let s = g.sample.take();
        drop(g);
        if let Some(mut s) = s {
            if self.view().view_type == crate::view::ViewType::Spectrogram {
                self.spectro.push(&s);
            }
            if let Some((c, asc)) = self.sort {
                s.sort_by(c, asc);
            }
            self.sample = Some(s);
            self.refresh_rows();
        }
        true
    }

    /// Rebuilds the display rows from the sample (filter applied).
    pub fn refresh_rows(&mut self) {
        let mut rows = Rows::default();
        if let Some(s) = &self.sample {
            for r in &s.rows {
                let cells: Vec<String> = (0..r.vals.len())
                    .map(|c| s.text(r, c, 0).trim().to_string())
                    .collect();
                if !self.filter.is_empty() && !cells.iter().any(|c| c.contains(&self.filter)) {
                    continue;
                }
                rows.keys.push(s.key_text(r));
                rows.cells.push(cells);
            }
        }
        self.rows = rows;
        if self.selected >= self.rows.cells.len() {
            self.selected = self.rows.cells.len().saturating_sub(1);
        }
    }

    /// The names of the value columns shown.
    pub fn column_names(&self) -> Vec<(String, Option<u32>)> {
        let v = self.view();
        let skip = if v.does_groupby() { 2 } else { 1 };
        let skip = match v.view_type {
            crate::view::ViewType::List => 0,
            _ => skip,
        };
        v.columns
            .iter()
            .skip(skip)
            .map(|c| (c.name.clone(), c.colsize))
            .collect()
    }

    /// Sorts by value column `col`: the same column again flips the
    /// direction; numbers sort descending first.
    pub fn sort_by(&mut self, col: usize) {
        let Some(s) = &mut self.sample else { return };
        if col >= s.types.len() {
            return;
        }
        let asc = match self.sort.or(Some(s.sort)) {
            Some((c, a)) if c == col => !a,
            _ => !s.types[col].numeric(),
        };
        s.sort_by(col, asc);
        self.sort = Some((col, asc));
        self.refresh_rows();
        self.status = format!(
            "sorted by {}",
            self.column_names().get(col).map_or("", |c| c.0.as_str())
        );
    }

    /// Enter: into the selected row, with the view's drill-down target.
    pub fn drill_down(&mut self) {
        let v = self.view();
        let target = v.drilldown_target.clone();
        let Some(key) = v.key() else { return };
        let field = match key.filterfield.is_empty() {
            true => key.field_at(0),
            false => key.filterfield.clone(),
        };
        let Some(value) = self.rows.keys.get(self.selected).cloned() else {
            return;
        };
        let Some(t) = self.views.iter().position(|x| x.id == target) else {
            self.status = format!("{} has no drill-down view", v.name);
            return;
        };
        if let Some(l) = self.path.last_mut() {
            l.selected = self.selected;
        }
        self.path.push(Level {
            view: t,
            field,
            value,
            selected: 0,
        });
        self.selected = 0;
        self.offset = 0;
        self.filter.clear();
        self.restart();
    }

    /// Backspace: back to the previous level.
    pub fn drill_up(&mut self) {
        if self.path.len() < 2 {
            self.status = "already at the top".into();
            return;
        }
        self.path.pop();
        self.selected = self.path.last().map_or(0, |l| l.selected);
        self.filter.clear();
        self.restart();
    }

    /// F2 choice: shows `view` for the current selection.
    pub fn switch_view(&mut self, view: usize) {
        if let Some(l) = self.path.last_mut() {
            l.view = view;
        }
        self.selected = 0;
        self.offset = 0;
        self.filter.clear();
        self.restart();
    }

    /// Moves the selection to the next row containing the search text.
    pub fn search_next(&mut self) {
        if self.search.is_empty() {
            return;
        }
        let n = self.rows.cells.len();
        for i in 1..=n {
            let r = (self.selected + i) % n;
            if self.rows.cells[r].iter().any(|c| c.contains(&self.search)) {
                self.selected = r;
                self.status = format!("found '{}'", self.search);
                return;
            }
        }
        self.status = format!("'{}' not found", self.search);
    }

    /// Pauses or resumes taking samples.
    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if let Some(r) = &self.run {
            r.paused
                .store(self.paused, std::sync::atomic::Ordering::Relaxed);
        }
        self.status = if self.paused { "paused" } else { "running" }.into();
    }

    /// The selected row's value of `field` (a `%field` in an action):
    /// the key, or a column of that field.
    pub fn row_value(&self, field: &str) -> Option<String> {
        let v = self.view();
        let row = self.selected;
        if v.key().is_some_and(|k| k.field_at(0) == field) {
            return self.rows.keys.get(row).cloned();
        }
        let skip = v.columns.len() - self.column_names().len();
        let i = v
            .columns
            .iter()
            .skip(skip)
            .position(|c| c.field_at(0) == field)?;
        self.rows.cells.get(row)?.get(i).cloned()
    }

    /// An action's command with the selected row's values in place of
    /// `%field` references (None when a value is missing).
    pub fn resolve(&self, command: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = command;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let tail = &rest[i + 1..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(tail.len());
            let field = tail[..end].trim_end_matches('.');
            out.push_str(&self.row_value(field)?);
            rest = &tail[field.len()..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// Opens a text panel running the selection's events through `format`.
    pub fn open_text(&mut self, title: &str, extra: &str, format: &'static str) {
        let mut f = crate::sink::combine_filters(&self.opts.filter, &self.drill_filter());
        // the selected row, as a drill-down would filter it
        if let (Some(k), Some(val)) = (self.view().key(), self.rows.keys.get(self.selected)) {
            f = crate::sink::combine_filters(&f, &format!("{}={}", k.field_at(0), quote(val)));
        }
        f = crate::sink::combine_filters(&f, extra);
        let run = TextRun::start(&self.opts, f, format);
        let lines = run.lines.clone();
        self.text = Some((Some(run), lines));
        self.mode = Mode::Text(title.to_string(), 0);
    }
}

//! What a view is: csysdig's `view_info` table as Rust data ([`View`],
//! [`Column`], [`Action`]), with the rules csysdig applies to it once
//! loaded: keys moved to the front, column tags (`default` or
//! `containers`) applied, the sorting column found, `%depth` substituted.

/// How a column's values are combined when several events fall on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// The first value is kept.
    #[default]
    None,
    /// Sum.
    Sum,
    /// Average over the events that had a value.
    Avg,
    /// Largest value (for text: the last one).
    Max,
    /// Smallest value.
    Min,
    /// Sum divided by the sample's duration in seconds (a rate).
    TimeAvg,
}

impl Aggregation {
    /// From the view file's spelling (`SUM`, `AVG`, ...); unknown: none.
    pub fn parse(s: &str) -> Aggregation {
        match s {
            "SUM" => Aggregation::Sum,
            "AVG" => Aggregation::Avg,
            "MAX" => Aggregation::Max,
            "MIN" => Aggregation::Min,
            "TIME_AVG" => Aggregation::TimeAvg,
            _ => Aggregation::None,
        }
    }
}

/// The kind of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    /// Rows keyed by a field, aggregated over a sample.
    #[default]
    Table,
    /// One row per matching event.
    List,
    /// A latency histogram over time.
    Spectrogram,
}

/// One column of a view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Column {
    /// Header text.
    pub name: String,
    /// The field (may hold `%depth`).
    pub field: String,
    /// What the column shows (F7 help, F2 picker).
    pub description: String,
    /// Width on screen (0: the rest of the line; None: the field's default).
    pub colsize: Option<u32>,
    /// The row key.
    pub is_key: bool,
    /// The key rows are grouped by after aggregation.
    pub is_groupby_key: bool,
    /// The column the view sorts by at first.
    pub is_sorting: bool,
    /// How values of a row combine.
    pub aggregation: Aggregation,
    /// How rows combine when grouped.
    pub groupby_aggregation: Aggregation,
    /// Shown only under one of these tags (`default`, `containers`).
    pub tags: Vec<String>,
    /// The field a drill-down filters on instead of `field`.
    pub filterfield: String,
}

impl Column {
    /// The field at drill-down depth `depth` (csysdig's substitution).
    pub fn field_at(&self, depth: u32) -> String {
        let f: String = self
            .field
            .chars()
            .filter(|c| *c != ' ' && *c != '\t')
            .collect();
        depth_subst(&f, depth, true)
    }
}

/// A command run on the selected row (`%field` substituted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Action {
    /// The key that runs it.
    pub hotkey: String,
    /// The shell command, with `%field` references.
    pub command: String,
    /// What it does.
    pub description: String,
    /// Destructive: asks before running.
    pub ask_confirmation: bool,
    /// Waits for the command and shows its output.
    pub wait_finish: bool,
}

/// A view: what csysdig's `view_info` table says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Short id (`procs`).
    pub id: String,
    /// Title (`Processes`).
    pub name: String,
    /// What the view shows.
    pub description: String,
    /// Hints shown in the help page.
    pub tips: Vec<String>,
    /// Tags (`Default`, `wsysdig`, `nocsysdig`, ...).
    pub tags: Vec<String>,
    /// Table, list or spectrogram.
    pub view_type: ViewType,
    /// The view's own filter.
    pub filter: String,
    /// The drill-down fields this view can be opened for (`""`: top level).
    pub applies_to: Vec<String>,
    /// Where drilling down from a row goes.
    pub drilldown_target: String,
    /// Missing numeric values count as zero instead of dropping the event.
    pub use_defaults: bool,
    /// Can be the first view.
    pub is_root: bool,
    /// Drilling down increases `%depth` (tracers).
    pub drilldown_increase_depth: bool,
    /// The spectrogram flavour.
    pub spectro_type: String,
    /// The drill-down filter is passed to the next view.
    pub propagate_filter: bool,
    /// Columns, keys first.
    pub columns: Vec<Column>,
    /// Row actions (F8 and hotkeys).
    pub actions: Vec<Action>,
}

impl View {
    /// Puts the keys first (group-by key, then key in front of it), as
    /// csysdig does when it loads a view.
    pub fn normalize(&mut self) {
        for pick in [|c: &Column| c.is_groupby_key, |c: &Column| c.is_key] {
            if let Some(i) = self.columns.iter().position(pick) {
                let c = self.columns.remove(i);
                self.columns.insert(0, c);
            }
        }
    }

    /// Drops the columns tagged for something else than `tag`
    /// (`default` without containers, `containers` with them).
    pub fn apply_tag(&mut self, tag: &str) {
        self.columns
            .retain(|c| c.tags.is_empty() || c.tags.iter().any(|t| t == tag));
    }

    /// Whether rows are grouped by a second key.
    pub fn does_groupby(&self) -> bool {
        self.columns.iter().any(|c| c.is_groupby_key)
    }

    /// The column rows are sorted by at first, as an index into the
    /// shown columns (key excluded: 1 is the first value column).
    pub fn sorting_col(&self) -> usize {
        let g = self.does_groupby();
        match self.columns.iter().rposition(|c| c.is_sorting) {
            Some(j) if g => j.saturating_sub(1).max(1),
            Some(j) => j.max(1),
            None if g => 2,
            None => 1,
        }
    }

    /// The key drill-downs filter on: the group-by key, else the key.
    pub fn key(&self) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.is_groupby_key)
            .or_else(|| self.columns.iter().find(|c| c.is_key))
    }

    /// The view's filter at depth `depth`.
    pub fn filter_at(&self, depth: u32) -> String {
        let f = self.filter.replace("%depth + 1", "%depth+1");
        let f = f.replace("%depth - 1", "%depth-1");
        depth_subst(&f, depth, false)
    }

    /// The columns shown (group-by views hide the original key and show
    /// the group-by key first), as indices into `columns`.
    pub fn shown_columns(&self) -> Vec<usize> {
        let g = self.does_groupby();
        (0..self.columns.len())
            .filter(|&i| !(g && self.columns[i].is_key))
            .collect()
    }

    /// Whether `tag` is among the view's tags.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// `%depth`, `%depth+1`, `%depth-1` replaced. csysdig substitutes
/// `%depth+1` in column fields with depth-1 (a quirk kept for fidelity).
fn depth_subst(s: &str, depth: u32, field: bool) -> String {
    let d = depth as i64;
    if s.contains("%depth+1") {
        let v = if field { d - 1 } else { d + 1 };
        s.replace("%depth+1", &v.to_string())
    } else if s.contains("%depth-1") {
        s.replace("%depth-1", &(d - 1).to_string())
    } else {
        s.replace("%depth", &d.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, key: bool, gby: bool, sort: bool) -> Column {
        Column {
            name: name.into(),
            field: name.into(),
            is_key: key,
            is_groupby_key: gby,
            is_sorting: sort,
            ..Column::default()
        }
    }

    #[test]
    fn keys_go_first_and_sorting_counts_shown_columns() {
        let mut v = View {
            columns: vec![
                col("a", false, false, false),
                col("g", false, true, false),
                col("k", true, false, false),
                col("cpu", false, false, true),
            ],
            ..View::default()
        };
        v.normalize();
        let names: Vec<_> = v.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["k", "g", "a", "cpu"]);
        // table fields: g a cpu -> cpu is field 2
        assert_eq!(v.sorting_col(), 2);
        assert_eq!(v.shown_columns(), vec![1, 2, 3]);
    }

    #[test]
    fn depth_is_substituted() {
        assert_eq!(
            depth_subst("span.ntags>=%depth+1", 2, false),
            "span.ntags>=3"
        );
        assert_eq!(depth_subst("span.tag[%depth]", 2, true), "span.tag[2]");
    }
}

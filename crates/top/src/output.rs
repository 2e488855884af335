//! Samples as text for scripts: `--raw` (csysdig's rows: each value as
//! csysdig renders it, a space after each, a dashed line after each
//! sample) and `-j` (csysdig's JSON slices: one object per sample with
//! its rows as `{"d": [values], "k": key}`).

use std::io::Write;

use crate::cell::json_string;
use crate::table::Sample;
use crate::view::View;

/// The line csysdig prints after each sample.
pub const SAMPLE_END: &str = "----------------------";

/// Writes one sample as `--raw` rows.
pub fn write_raw(out: &mut impl Write, s: &Sample) -> std::io::Result<()> {
    let mut line = String::new();
    for r in &s.rows {
        line.clear();
        for c in 0..r.vals.len() {
            line.push_str(&s.text(r, c, 10));
            line.push(' ');
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    writeln!(out, "{SAMPLE_END}")?;
    out.flush()
}

/// The JSON writer: `{"slices": [` first, one slice per sample, `]}` at
/// the end.
pub struct JsonOut<W: Write> {
    out: W,
    legend: String,
    first: bool,
}

impl<W: Write> JsonOut<W> {
    /// Starts the document for `view`.
    pub fn new(mut out: W, view: &View) -> std::io::Result<JsonOut<W>> {
        writeln!(out, "{{\"slices\": [\n{{\"progress\": 0}},")?;
        let cols: Vec<String> = view
            .shown_columns()
            .into_iter()
            .skip(1)
            .map(|i| {
                let c = &view.columns[i];
                format!(
                    "{{\"name\":{},\"size\":{}}}",
                    json_string(&c.name),
                    c.colsize.map_or(-1, |v| v as i64)
                )
            })
            .collect();
        let legend = format!("\"legend\":[{}]", cols.join(","));
        Ok(JsonOut {
            out,
            legend,
            first: true,
        })
    }

    /// Writes one sample (the first, empty one csysdig skips too).
    pub fn sample(&mut self, s: &Sample) -> std::io::Result<()> {
        if self.first {
            self.first = false;
            return Ok(());
        }
        let o = &mut self.out;
        // csysdig leaves `data` out of a slice without rows
        if s.rows.is_empty() {
            write!(o, "{{\"progress\": 100, ")?;
            return self.tail(s);
        }
        write!(o, "{{\"progress\": 100, \"data\": [")?;
        for (i, r) in s.rows.iter().enumerate() {
            let d: Vec<String> = (0..r.vals.len())
                .map(|c| {
                    let td = if s.rate[c] { s.time_delta } else { 0 };
                    r.vals[c].json(s.types[c], td)
                })
                .collect();
            let sep = if i + 1 < s.rows.len() { "," } else { "" };
            write!(
                o,
                "\n{{\"d\":[{}],\"k\":{}}}{sep}",
                d.join(","),
                json_string(&s.key_text(r))
            )?;
        }
        writeln!(o, "],")?;
        self.tail(s)
    }

    /// The end of a slice: its row count and info.
    fn tail(&mut self, s: &Sample) -> std::io::Result<()> {
        writeln!(
            self.out,
            "\"count\": {}, \"info\": {{{},\"sortingCol\":{}}}}}",
            s.rows.len(),
            self.legend,
            s.sort.0 + 1
        )?;
        self.out.flush()
    }

    /// Ends the document.
    pub fn end(&mut self) -> std::io::Result<()> {
        writeln!(self.out, "]}}")?;
        self.out.flush()
    }
}

//! Spectrogram views (csysdig's `spectro_*`): each sample is one line of
//! a latency histogram, newest at the top, older lines scrolling down.
//! The x axis is the latency on a log scale (1ns at the left, 100s at the
//! right, as `evt.latency.quantized` buckets it: 80 buckets over 11
//! decades); each cell's colour (and glyph, so the picture survives a
//! monochrome terminal) grades how many calls fell in that bucket.

use std::collections::VecDeque;

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::cell::Val;
use crate::table::Sample;

/// Buckets of `evt.latency.quantized` (values 1..=81: 80 columns over 11
/// decades, plus the top edge).
pub const BUCKETS: usize = 81;
/// Lines kept (more than any terminal shows).
const KEEP: usize = 512;

/// The colour grades, from one call to many.
const PALETTE: &[(Color, char)] = &[
    (Color::DarkGray, '.'),
    (Color::Blue, ':'),
    (Color::LightBlue, '-'),
    (Color::Cyan, '='),
    (Color::Green, '+'),
    (Color::LightGreen, '*'),
    (Color::Yellow, 'o'),
    (Color::LightYellow, 'O'),
    (Color::Red, '#'),
    (Color::LightRed, '%'),
    (Color::Magenta, '@'),
];

/// The latency labels of the x axis: one per decade.
const DECADES: &[&str] = &[
    "1ns", "10ns", "100ns", "1us", "10us", "100us", "1ms", "10ms", "100ms", "1s", "10s", "100s",
];

/// The histogram lines seen so far (newest first).
#[derive(Debug, Default, Clone)]
pub struct History {
    lines: VecDeque<[u64; BUCKETS]>,
}

impl History {
    /// Empties the history (another view or selection).
    pub fn clear(&mut self) {
        self.lines.clear();
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no sample came yet.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds a sample of a spectrogram view: rows keyed by the bucket, the
    /// count in the last value column.
    pub fn push(&mut self, s: &Sample) {
        let mut line = [0u64; BUCKETS];
        for r in &s.rows {
            let Val::I(b) = r.key.v else { continue };
            let Some(Val::I(n)) = r.vals.last().map(|c| &c.v) else {
                continue;
            };
            let b = (b.max(1) as usize - 1).min(BUCKETS - 1);
            line[b] = line[b].saturating_add(*n as u64);
        }
        self.lines.push_front(line);
        self.lines.truncate(KEEP);
    }

    /// The counts of line `i` (0: newest).
    pub fn line(&self, i: usize) -> Option<&[u64; BUCKETS]> {
        self.lines.get(i)
    }
}

/// The grade of a count: 0 for none, else 1 + log2 of the count, capped
/// at the palette.
pub fn grade(n: u64) -> usize {
    match n {
        0 => 0,
        n => ((64 - n.leading_zeros()) as usize).min(PALETTE.len()),
    }
}

/// The bucket shown in screen column `x` of `width`.
pub fn bucket_at(x: u16, width: u16) -> usize {
    (x as usize * BUCKETS / width.max(1) as usize).min(BUCKETS - 1)
}

/// The x axis for `width` columns: each decade's label where it starts.
pub fn axis(width: u16) -> String {
    let w = width as usize;
    let mut s = vec![b' '; w];
    let mut next = 0;
    for (d, label) in DECADES.iter().enumerate() {
        // 10^d ns is bucket d * 80 / 11, whose first column is this
        let x = ((d * 80 / 11) * w).div_ceil(BUCKETS);
        // the last labels go back inside the right edge
        let x = x.min(w.saturating_sub(label.len()));
        if x < next {
            continue;
        }
        s[x..x + label.len()].copy_from_slice(label.as_bytes());
        next = x + label.len() + 1;
    }
    String::from_utf8(s).unwrap_or_default()
}

/// One histogram line as coloured cells.
fn histogram_line(counts: &[u64; BUCKETS], width: u16) -> Line<'static> {
    let spans: Vec<Span<'static>> = (0..width)
        .map(|x| {
            // the busiest bucket under this column
            let (b0, b1) = (
                bucket_at(x, width),
                bucket_at(x + 1, width).max(bucket_at(x, width) + 1),
            );
            let n = counts[b0..b1.min(BUCKETS)]
                .iter()
                .copied()
                .max()
                .unwrap_or(0);
            match grade(n) {
                0 => Span::raw(" "),
                g => {
                    let (c, ch) = PALETTE[g - 1];
                    Span::styled(ch.to_string(), Style::default().fg(Color::Black).bg(c))
                }
            }
        })
        .collect();
    Line::from(spans)
}

/// Draws the spectrogram in `body` (axis on its last line).
pub fn draw(f: &mut Frame<'_>, h: &History, body: Rect, empty_msg: &str) {
    if body.height < 2 {
        return;
    }
    let rows = body.height as usize - 1;
    let mut lines: Vec<Line<'static>> = (0..rows)
        .map(|i| match h.line(i) {
            Some(c) => histogram_line(c, body.width),
            None if i == 0 && h.is_empty() => Line::from(empty_msg.to_string()),
            None => Line::from(""),
        })
        .collect();
    lines.push(Line::styled(
        axis(body.width),
        Style::default().bg(Color::Green).fg(Color::Black),
    ));
    f.render_widget(Paragraph::new(lines), body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;
    use crate::table::Row;

    fn sample(buckets: &[(i64, i64)]) -> Sample {
        let rows = buckets
            .iter()
            .map(|&(b, n)| Row {
                key: Cell {
                    v: Val::I(b),
                    cnt: 1,
                },
                vals: vec![
                    Cell {
                        v: Val::I(b),
                        cnt: 1,
                    },
                    Cell {
                        v: Val::I(n),
                        cnt: 1,
                    },
                ],
            })
            .collect();
        Sample {
            rows,
            ..Sample::default()
        }
    }

    #[test]
    fn samples_become_lines_newest_first() {
        let mut h = History::default();
        h.push(&sample(&[(1, 3), (30, 1000)]));
        h.push(&sample(&[(81, 1)]));
        assert_eq!(h.len(), 2);
        assert_eq!(h.line(0).unwrap()[80], 1);
        let old = h.line(1).unwrap();
        assert_eq!((old[0], old[29], old[30]), (3, 1000, 0));
    }

    #[test]
    fn grades_grow_with_the_count() {
        assert_eq!(grade(0), 0);
        assert_eq!(grade(1), 1);
        assert_eq!(grade(2), 2);
        assert_eq!(grade(1000), 10);
        assert_eq!(grade(u64::MAX), PALETTE.len());
    }

    #[test]
    fn axis_labels_decades_in_order() {
        let a = axis(120);
        let pos: Vec<usize> = ["1ns", "1us", "1ms", "1s", "100s"]
            .iter()
            .map(|l| a.find(&format!("{l} ")).or_else(|| a.rfind(l)).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{a}");
        assert_eq!(a.len(), 120);
        // the bucket under a label is that decade's
        assert_eq!(bucket_at(a.find("1ms").unwrap() as u16, 120), 6 * 80 / 11);
    }
}

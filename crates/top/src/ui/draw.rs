//! Drawing: reads the [`App`] (never the engine or the state) and paints
//! a frame: the breadcrumb line, the column headers, the rows with the
//! selection, the function-key bar, and the panel of the current mode
//! (views picker with the view's description and columns, help, actions,
//! confirmation, text). The screen geometry is computed by [`geometry`],
//! which mouse handling uses too.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::app::{App, Mode};

/// The smallest terminal the UI draws in.
pub const MIN_W: u16 = 60;
/// The smallest terminal height.
pub const MIN_H: u16 = 8;

/// The function-key bar: key label, what it does.
pub const KEYS: &[(&str, &str)] = &[
    ("F1", "Help"),
    ("F2", "Views"),
    ("F4", "Filter"),
    ("F5", "Echo"),
    ("F6", "Dig"),
    ("F7", "Legend"),
    ("F8", "Actions"),
    ("F9", "Sort"),
    ("/", "Search"),
    ("p", "Pause"),
    ("q", "Quit"),
];

/// Where things are on screen.
pub struct Geometry {
    /// The breadcrumb line.
    pub header: Rect,
    /// The column header line.
    pub columns: Rect,
    /// The rows.
    pub body: Rect,
    /// The function-key bar.
    pub footer: Rect,
}

/// The screen split for a terminal of `area`.
pub fn geometry(area: Rect) -> Geometry {
    let h = area.height;
    Geometry {
        header: Rect::new(area.x, area.y, area.width, 1),
        columns: Rect::new(area.x, area.y + 1, area.width, 1),
        body: Rect::new(area.x, area.y + 2, area.width, h.saturating_sub(3)),
        footer: Rect::new(area.x, area.y + h.saturating_sub(1), area.width, 1),
    }
}

/// The x range of each function key in the footer.
pub fn footer_spans() -> Vec<(u16, u16, &'static str)> {
    let mut x = 0u16;
    let mut out = Vec::new();
    for (k, what) in KEYS {
        let w = (k.len() + what.len() + 1) as u16;
        out.push((x, x + w, *k));
        x += w;
    }
    out
}

/// Column widths for the value columns (the last takes what is left).
pub fn widths(app: &App, total: u16) -> Vec<u16> {
    let cols = app.column_names();
    let mut w: Vec<u16> = cols
        .iter()
        .map(|(name, size)| match size {
            Some(0) => 0,
            Some(s) => (*s as u16).max(name.len() as u16 + 1),
            None => 10u16.max(name.len() as u16 + 1),
        })
        .collect();
    let used: u16 = w.iter().sum();
    if let Some(last) = w.iter_mut().rev().find(|x| **x == 0) {
        *last = total.saturating_sub(used).max(8);
    }
    w
}

/// Paints one frame.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = format!(
            "Terminal too small: {}x{}, sonde top needs at least {MIN_W}x{MIN_H}",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let g = geometry(area);
    draw_header(f, app, &g);
    if app.view().view_type == crate::view::ViewType::Spectrogram {
        draw_spectro(f, app, &g);
    } else {
        draw_table(f, app, &g);
    }
    draw_footer(f, app, &g);
    draw_panel(f, app, area);
}

fn draw_header(f: &mut Frame<'_>, app: &App, g: &Geometry) {
    let mut s = app.breadcrumb();
    if app.paused {
        s.push_str("  [PAUSED]");
    }
    if !app.filter.is_empty() {
        s.push_str(&format!("  Filter: {}", app.filter));
    }
    let style = Style::default().bg(Color::Blue).fg(Color::White);
    f.render_widget(Paragraph::new(s).style(style), g.header);
}

fn draw_table(f: &mut Frame<'_>, app: &App, g: &Geometry) {
    let w = widths(app, g.columns.width);
    let sort = app
        .sort
        .map(|s| s.0)
        .or(app.sample.as_ref().map(|s| s.sort.0));
    let mut spans = Vec::new();
    for (i, (name, _)) in app.column_names().iter().enumerate() {
        let width = w.get(i).copied().unwrap_or(10) as usize;
        let style = match Some(i) == sort {
            true => Style::default().bg(Color::Cyan).fg(Color::Black),
            false => Style::default().bg(Color::Green).fg(Color::Black),
        };
        spans.push(Span::styled(pad(name, width, false), style));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Green)),
        g.columns,
    );
    let height = g.body.height as usize;
    let offset = scroll_offset(app.selected, app.offset, height);
    let mut lines = Vec::new();
    for (r, cells) in app.rows.cells.iter().enumerate().skip(offset).take(height) {
        let mut text = String::new();
        for (i, c) in cells.iter().enumerate() {
            let width = w.get(i).copied().unwrap_or(10) as usize;
            let numeric = app
                .sample
                .as_ref()
                .and_then(|s| s.types.get(i))
                .is_some_and(|t| t.numeric());
            text.push_str(&pad(c, width, numeric));
        }
        let style = if r == app.selected {
            Style::default().bg(Color::Cyan).fg(Color::Black)
        } else {
            Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    if lines.is_empty() {
        let msg = match (&app.error, app.sample.is_some(), app.done) {
            (Some(e), _, _) => format!("error: {e}"),
            (None, false, _) => "Loading...".to_string(),
            _ => "No rows".to_string(),
        };
        lines.push(Line::from(msg));
    }
    f.render_widget(Paragraph::new(lines), g.body);
}

fn draw_spectro(f: &mut Frame<'_>, app: &App, g: &Geometry) {
    let title = format!(
        "{}: one line per sample, newest on top; latency left to right",
        app.view().name
    );
    let style = Style::default().bg(Color::Green).fg(Color::Black);
    f.render_widget(Paragraph::new(title).style(style), g.columns);
    let msg = match (&app.error, app.done) {
        (Some(e), _) => format!("error: {e}"),
        (None, false) => "Loading...".to_string(),
        _ => "No samples".to_string(),
    };
    crate::ui::spectro::draw(f, &app.spectro, g.body, &msg);
}

/// Keeps the selection on screen.
pub fn scroll_offset(selected: usize, offset: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

fn pad(s: &str, width: usize, right: bool) -> String {
    if width == 0 {
        return String::new();
    }
    let cut: String = s.chars().take(width - 1).collect();
    match right {
        true => format!("{cut:>w$} ", w = width - 1),
        false => format!("{cut:<w$} ", w = width - 1),
    }
}

fn draw_footer(f: &mut Frame<'_>, app: &App, g: &Geometry) {
    let mut spans = Vec::new();
    match &app.mode {
        Mode::Filter => spans.push(Span::raw(format!("Filter: {}_", app.filter))),
        Mode::Search => spans.push(Span::raw(format!("Search: {}_", app.search))),
        _ => {
            for (k, what) in KEYS {
                spans.push(Span::styled(
                    k.to_string(),
                    Style::default().add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::styled(
                    format!("{what} "),
                    Style::default().bg(Color::Cyan).fg(Color::Black),
                ));
            }
            if !app.status.is_empty() {
                spans.push(Span::raw(format!(" {}", app.status)));
            }
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), g.footer);
}

/// A centred box of `w` x `h` inside `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn list_lines(items: &[String], sel: usize, height: usize) -> Vec<Line<'static>> {
    let off = scroll_offset(sel, 0, height);
    items
        .iter()
        .enumerate()
        .skip(off)
        .take(height)
        .map(|(i, s)| match i == sel {
            true => Line::styled(s.clone(), Style::default().bg(Color::Cyan).fg(Color::Black)),
            false => Line::from(s.clone()),
        })
        .collect()
}

fn draw_panel(f: &mut Frame<'_>, app: &App, area: Rect) {
    match &app.mode {
        Mode::Views(sel) => {
            let r = centered(
                area,
                area.width.saturating_sub(4),
                area.height.saturating_sub(4),
            );
            let left = Rect::new(r.x, r.y, 28.min(r.width), r.height);
            let right = Rect::new(r.x + left.width, r.y, r.width - left.width, r.height);
            let names: Vec<String> = app.views.iter().map(|v| v.name.clone()).collect();
            f.render_widget(Clear, r);
            let h = left.height.saturating_sub(2) as usize;
            f.render_widget(
                Paragraph::new(list_lines(&names, *sel, h))
                    .block(Block::default().borders(Borders::ALL).title("Select View")),
                left,
            );
            let v = &app.views[*sel];
            let mut text = vec![Line::from(v.description.clone()), Line::from("")];
            text.push(Line::from("Columns:"));
            for c in &v.columns {
                if c.is_key || c.is_groupby_key {
                    continue;
                }
                text.push(Line::from(format!("  {}: {}", c.name, c.description)));
            }
            f.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: false })
                    .block(Block::default().borders(Borders::ALL).title(v.name.clone())),
                right,
            );
        }
        Mode::Sort(sel) => {
            let cols: Vec<String> = app.column_names().into_iter().map(|c| c.0).collect();
            let r = centered(area, 30, cols.len() as u16 + 2);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(list_lines(&cols, *sel, r.height as usize))
                    .block(Block::default().borders(Borders::ALL).title("Sort by")),
                r,
            );
        }
        Mode::Actions(sel) => {
            let acts: Vec<String> = app
                .view()
                .actions
                .iter()
                .map(|a| format!("{}: {}", a.hotkey, a.description))
                .collect();
            let r = centered(area, 40, acts.len().max(1) as u16 + 2);
            f.render_widget(Clear, r);
            let body = match acts.is_empty() {
                true => vec![Line::from("This view has no actions")],
                false => list_lines(&acts, *sel, r.height as usize),
            };
            f.render_widget(
                Paragraph::new(body).block(Block::default().borders(Borders::ALL).title("Actions")),
                r,
            );
        }
        Mode::Confirm(cmd, _) => {
            let r = centered(area, area.width.saturating_sub(10).min(90), 5);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(format!("Run '{cmd}'? (y/n)"))
                    .wrap(Wrap { trim: false })
                    .block(Block::default().borders(Borders::ALL).title("Confirm")),
                r,
            );
        }
        Mode::Help => draw_help(f, app, area),
        Mode::Text(title, scroll) => draw_text(f, app, area, title, *scroll),
        _ => {}
    }
}

fn draw_help(f: &mut Frame<'_>, app: &App, area: Rect) {
    let v = app.view();
    let mut text = vec![
        Line::styled(
            v.name.clone(),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Line::from(v.description.clone()),
    ];
    for t in &v.tips {
        text.push(Line::from(format!("Tip: {t}")));
    }
    text.push(Line::from(""));
    for c in v.columns.iter().filter(|c| !c.is_key && !c.is_groupby_key) {
        text.push(Line::from(format!("{}: {}", c.name, c.description)));
    }
    text.push(Line::from(""));
    text.push(Line::from(
        "Keys: Enter drill down, Backspace back, F2 views, F4 filter, F5/e echo, F6/d events, \
         F8 actions, F9 or shift+1..9 sort, / search, p pause, DEL clear list, q quit, Esc close",
    ));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title("Help")),
        area,
    );
}

fn draw_text(f: &mut Frame<'_>, app: &App, area: Rect, title: &str, scroll: usize) {
    let lines: Vec<Line<'_>> = match &app.text {
        Some((_, l)) => {
            let l = l.lock().map(|g| g.clone()).unwrap_or_default();
            let h = area.height.saturating_sub(2) as usize;
            l.into_iter().skip(scroll).take(h).map(Line::from).collect()
        }
        None => Vec::new(),
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("{title} (arrows scroll, Esc closes)")),
        ),
        area,
    );
}

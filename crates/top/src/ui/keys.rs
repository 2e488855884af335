//! Keys and mouse clicks turned into changes of the [`App`] (csysdig's
//! bindings), and actions run with the selected row's values.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::ui::app::{App, Mode};
use crate::ui::draw::{footer_spans, geometry, widths};

/// Shift+1..9 on a US keyboard: sort by column 1..9.
const SHIFT_DIGITS: &[char] = &['!', '@', '#', '$', '%', '^', '&', '*', '('];

/// Keys the table uses itself (never taken by a view's action).
const RESERVED: &[char] = &['q', 'p', 'e', 'd', '/'];

/// Handles one key.
pub fn on_key(app: &mut App, k: KeyEvent, page: usize) {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        app.quit = true;
        return;
    }
    match app.mode.clone() {
        Mode::Normal => normal_key(app, k, page),
        Mode::Filter | Mode::Search => text_key(app, k),
        Mode::Views(sel) => {
            let n = app.views.len();
            match k.code {
                KeyCode::Enter => {
                    app.mode = Mode::Normal;
                    app.switch_view(sel);
                }
                code => app.mode = Mode::Views(list_move(code, sel, n, page).unwrap_or(sel)),
            }
            if k.code == KeyCode::Esc || k.code == KeyCode::F(2) {
                app.mode = Mode::Normal;
            }
        }
        Mode::Sort(sel) => {
            let n = app.column_names().len();
            match k.code {
                KeyCode::Enter => {
                    app.mode = Mode::Normal;
                    app.sort_by(sel);
                }
                KeyCode::Esc | KeyCode::F(9) => app.mode = Mode::Normal,
                code => app.mode = Mode::Sort(list_move(code, sel, n, page).unwrap_or(sel)),
            }
        }
        Mode::Actions(sel) => {
            let n = app.view().actions.len();
            match k.code {
                KeyCode::Enter if n > 0 => start_action(app, sel),
                KeyCode::Esc | KeyCode::F(8) => app.mode = Mode::Normal,
                KeyCode::Char(c) => match find_action(app, c) {
                    Some(i) => start_action(app, i),
                    None => app.mode = Mode::Normal,
                },
                code => app.mode = Mode::Actions(list_move(code, sel, n, page).unwrap_or(sel)),
            }
        }
        Mode::Confirm(cmd, wait) => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => run_command(app, &cmd, wait),
            _ => {
                app.mode = Mode::Normal;
                app.status = "cancelled".into();
            }
        },
        Mode::Help => app.mode = Mode::Normal,
        Mode::Text(title, scroll) => match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::F(5) | KeyCode::F(6) => {
                app.mode = Mode::Normal;
                app.text = None;
            }
            code => {
                let n = app
                    .text
                    .as_ref()
                    .map_or(0, |t| t.1.lock().map(|l| l.len()).unwrap_or(0));
                let s = list_move(code, scroll, n, page).unwrap_or(scroll);
                app.mode = Mode::Text(title, s);
            }
        },
    }
}

/// Up, down, page up/down, home, end on a list of `n`.
fn list_move(code: KeyCode, sel: usize, n: usize, page: usize) -> Option<usize> {
    let last = n.saturating_sub(1);
    Some(match code {
        KeyCode::Up => sel.saturating_sub(1),
        KeyCode::Down => (sel + 1).min(last),
        KeyCode::PageUp => sel.saturating_sub(page.max(1)),
        KeyCode::PageDown => (sel + page.max(1)).min(last),
        KeyCode::Home => 0,
        KeyCode::End => last,
        _ => return None,
    })
}

fn normal_key(app: &mut App, k: KeyEvent, page: usize) {
    let n = app.rows.cells.len();
    if let Some(s) = list_move(k.code, app.selected, n, page) {
        app.selected = s;
        return;
    }
    match k.code {
        KeyCode::Char('q') | KeyCode::F(10) => app.quit = true,
        KeyCode::Enter => app.drill_down(),
        KeyCode::Backspace => app.drill_up(),
        KeyCode::F(2) => {
            let cur = app.path.last().map_or(0, |l| l.view);
            app.mode = Mode::Views(cur);
        }
        KeyCode::F(4) | KeyCode::Char('\\') => app.mode = Mode::Filter,
        KeyCode::Char('/') => {
            app.search.clear();
            app.mode = Mode::Search;
        }
        KeyCode::Char('f') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            app.search.clear();
            app.mode = Mode::Search;
        }
        KeyCode::F(3) => app.search_next(),
        KeyCode::F(1) | KeyCode::F(7) | KeyCode::Char('?') => app.mode = Mode::Help,
        KeyCode::F(8) => app.mode = Mode::Actions(0),
        KeyCode::F(9) | KeyCode::Char('>') => {
            app.mode = Mode::Sort(app.sort.map_or(0, |s| s.0));
        }
        KeyCode::F(5) | KeyCode::Char('e') => app.open_text(
            "Echo",
            "evt.is_io=true and evt.dir=<",
            "------ %evt.time %proc.name (%thread.tid) %evt.type %fd.name\n%evt.buffer",
        ),
        KeyCode::F(6) | KeyCode::Char('d') => app.open_text(
            "Events",
            "",
            "%evt.num %evt.time %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info",
        ),
        KeyCode::Char('p') => app.toggle_pause(),
        KeyCode::Delete => {
            app.restart();
            app.status = "cleared".into();
        }
        KeyCode::Char(c) if SHIFT_DIGITS.contains(&c) => {
            let col = SHIFT_DIGITS.iter().position(|x| *x == c).unwrap_or(0);
            app.sort_by(col);
        }
        KeyCode::Char(c) if !RESERVED.contains(&c) => {
            if let Some(i) = find_action(app, c) {
                start_action(app, i);
            }
        }
        _ => {}
    }
}

fn text_key(app: &mut App, k: KeyEvent) {
    let filter = app.mode == Mode::Filter;
    let text = if filter {
        &mut app.filter
    } else {
        &mut app.search
    };
    match k.code {
        KeyCode::Char(c) => text.push(c),
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Esc => {
            text.clear();
            app.mode = Mode::Normal;
        }
        KeyCode::Enter => app.mode = Mode::Normal,
        _ => {}
    }
    if filter {
        app.refresh_rows();
    } else if !app.search.is_empty() {
        // incremental: from the row before the selection
        app.selected = app.selected.saturating_sub(1);
        app.search_next();
    }
}

fn find_action(app: &App, c: char) -> Option<usize> {
    app.view()
        .actions
        .iter()
        .position(|a| a.hotkey == c.to_string())
}

fn start_action(app: &mut App, i: usize) {
    let Some(a) = app.view().actions.get(i).cloned() else {
        return;
    };
    let Some(cmd) = app.resolve(&a.command) else {
        app.mode = Mode::Normal;
        app.status = format!("'{}' needs a value the row does not have", a.command);
        return;
    };
    if a.ask_confirmation {
        app.mode = Mode::Confirm(cmd, a.wait_finish);
    } else {
        run_command(app, &cmd, a.wait_finish);
    }
}

/// Runs an action's command: waits and shows its output, or starts it
/// in the background.
fn run_command(app: &mut App, cmd: &str, wait: bool) {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(cmd).stdin(std::process::Stdio::null());
    if !wait {
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        app.status = match c.spawn() {
            Ok(_) => format!("started: {cmd}"),
            Err(e) => format!("cannot run '{cmd}': {e}"),
        };
        app.mode = Mode::Normal;
        return;
    }
    let lines: Vec<String> = match c.output() {
        Ok(o) => {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            let mut l: Vec<String> = vec![format!("$ {cmd}")];
            l.extend(t.lines().map(str::to_string));
            l.push(format!("(exit status {})", o.status.code().unwrap_or(-1)));
            l
        }
        Err(e) => vec![format!("cannot run '{cmd}': {e}")],
    };
    app.text = Some((None, std::sync::Arc::new(std::sync::Mutex::new(lines))));
    app.mode = Mode::Text(cmd.to_string(), 0);
}

/// Handles a mouse click: rows select (a second click enters), headers
/// sort, the function-key bar acts as its key.
pub fn on_mouse(app: &mut App, m: MouseEvent, area: Rect) {
    if !matches!(m.kind, MouseEventKind::Down(MouseButton::Left)) || app.mode != Mode::Normal {
        match m.kind {
            MouseEventKind::ScrollDown => {
                app.selected = (app.selected + 1).min(app.rows.cells.len().saturating_sub(1))
            }
            MouseEventKind::ScrollUp => app.selected = app.selected.saturating_sub(1),
            _ => {}
        }
        return;
    }
    let g = geometry(area);
    let (x, y) = (m.column, m.row);
    if y == g.footer.y {
        if let Some((_, _, key)) = footer_spans()
            .into_iter()
            .find(|(a, b, _)| x >= *a && x < *b)
        {
            let code = match key {
                "/" => KeyCode::Char('/'),
                "p" => KeyCode::Char('p'),
                "q" => KeyCode::Char('q'),
                f => KeyCode::F(f[1..].parse().unwrap_or(1)),
            };
            on_key(
                app,
                KeyEvent::new(code, KeyModifiers::NONE),
                g.body.height as usize,
            );
        }
    } else if y == g.columns.y {
        let mut left = 0u16;
        for (i, w) in widths(app, g.columns.width).into_iter().enumerate() {
            if x >= left && x < left + w {
                app.sort_by(i);
                return;
            }
            left += w;
        }
    } else if y >= g.body.y && y < g.body.y + g.body.height {
        let row = app.offset + (y - g.body.y) as usize;
        if row < app.rows.cells.len() {
            if row == app.selected {
                app.drill_down();
            } else {
                app.selected = row;
            }
        }
    }
}

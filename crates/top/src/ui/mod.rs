//! The terminal UI of `sonde top` (ratatui + crossterm). State lives in
//! [`app`] (changed by [`keys`]), drawing in [`draw`] (reads the state
//! only), the engine runs on other threads ([`engine`]) and hands over
//! finished samples: drawing never waits on capture and never reads the
//! state engine.

pub mod app;
pub mod draw;
pub mod engine;
pub mod keys;
pub mod spectro;

use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use sonde_engine::StopHandle;

use crate::run::{Options, TopError};
use crate::view::View;

/// Puts the terminal back however the UI ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
        let _ = execute!(std::io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
    }
}

/// Runs the interactive UI until `q` (or `stop`: a signal).
pub fn run(opts: &Options, views: Vec<View>, stop: StopHandle) -> Result<(), TopError> {
    let mut app = app::App::new(opts.clone(), views).map_err(TopError::Usage)?;
    let io = |e: std::io::Error| TopError::Other(format!("terminal: {e}"));
    enable_raw_mode().map_err(io)?;
    let _restore = Restore;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture).map_err(io)?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(io)?;
    let mut dirty = true;
    while !app.quit && !stop.is_stopped() {
        if app.poll() {
            dirty = true;
        }
        let area = term.size().map_err(io)?;
        let area = ratatui::layout::Rect::new(0, 0, area.width, area.height);
        let body_h = draw::geometry(area).body.height as usize;
        app.offset = draw::scroll_offset(app.selected, app.offset, body_h);
        if dirty || matches!(app.mode, app::Mode::Text(..)) {
            term.draw(|f| draw::draw(f, &app)).map_err(io)?;
            dirty = false;
        }
        if !event::poll(Duration::from_millis(100)).map_err(io)? {
            continue;
        }
        dirty = true;
        match event::read().map_err(io)? {
            Event::Key(k) if k.kind != KeyEventKind::Release => keys::on_key(&mut app, k, body_h),
            Event::Mouse(m) => keys::on_mouse(&mut app, m, area),
            Event::Resize(..) => {
                term.autoresize().map_err(io)?;
                term.clear().map_err(io)?;
            }
            _ => {}
        }
    }
    Ok(())
}

//! The engine runs on its own thread, never on the drawing thread: a
//! [`ViewRun`] is one engine pass for the current view and selection,
//! publishing finished samples into a shared slot the UI reads; a
//! [`TextRun`] is one engine pass printing sysdig lines (the selection's
//! events, or the data it reads and writes) into a shared buffer for the
//! echo and events panels. Changing view stops the run and starts another
//! (on a file, csysdig restarts the capture the same way).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sonde_engine::{Config, Engine, Source, StopHandle};
use sonde_fields::Format;

use crate::run::{run_engine, Options};
use crate::table::Sample;
use crate::view::View;

/// What the engine thread left for the UI.
#[derive(Default)]
pub struct Shared {
    /// The latest finished sample.
    pub sample: Option<Sample>,
    /// Bumped at each new sample.
    pub generation: u64,
    /// The run ended (a file was read to its end).
    pub done: bool,
    /// The run failed.
    pub error: Option<String>,
}

/// One engine run filling the view model.
pub struct ViewRun {
    /// The shared model.
    pub shared: Arc<Mutex<Shared>>,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
    /// Pauses sampling.
    pub paused: Arc<std::sync::atomic::AtomicBool>,
}

impl ViewRun {
    /// Starts the engine for `view` with the drill-down filter `drill`.
    pub fn start(opts: &Options, view: &View, depth: u32, drill: &str) -> ViewRun {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = StopHandle::new();
        let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (o, v, d) = (opts.clone(), view.clone(), drill.to_string());
        let (sh, st, pz) = (shared.clone(), stop.clone(), paused.clone());
        let thread = std::thread::spawn(move || {
            let pub_sh = sh.clone();
            let publish = Box::new(move |s: Sample| {
                if pz.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(());
                }
                if let Ok(mut g) = pub_sh.lock() {
                    g.sample = Some(s);
                    g.generation += 1;
                }
                Ok(())
            });
            let r = run_engine(&o, &v, depth, &d, publish, st);
            if let Ok(mut g) = sh.lock() {
                g.done = true;
                if let Err(e) = r {
                    g.error = Some(e.to_string());
                }
            }
        });
        ViewRun {
            shared,
            stop,
            thread: Some(thread),
            paused,
        }
    }
}

impl Drop for ViewRun {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Lines printed by a text run.
pub type Lines = Arc<Mutex<Vec<String>>>;

/// A writer appending whole lines to a shared list (bounded).
struct LineWriter {
    lines: Lines,
    partial: Vec<u8>,
}

const MAX_LINES: usize = 100_000;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            let s = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if let Ok(mut l) = self.lines.lock() {
                if l.len() < MAX_LINES {
                    l.push(s);
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One engine run printing events as text into [`Lines`].
pub struct TextRun {
    /// What it printed so far.
    pub lines: Lines,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
}

impl TextRun {
    /// Prints the events `filter` accepts with `format` (sysdig's `-p`).
    pub fn start(opts: &Options, filter: String, format: &'static str) -> TextRun {
        let lines: Lines = Arc::new(Mutex::new(Vec::new()));
        let stop = StopHandle::new();
        let (o, l, st) = (opts.clone(), lines.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            if let Err(e) = text_run(&o, &filter, format, l.clone(), st) {
                if let Ok(mut g) = l.lock() {
                    g.push(format!("error: {e}"));
                }
            }
        });
        TextRun {
            lines,
            stop,
            thread: Some(thread),
        }
    }
}

fn text_run(
    opts: &Options,
    filter: &str,
    format: &str,
    lines: Lines,
    stop: StopHandle,
) -> Result<(), String> {
    let f = match filter.trim().is_empty() {
        true => None,
        false => Some(sonde_filter::Filter::new(filter).map_err(|e| e.to_string())?),
    };
    let fmt = Format::parse(format).map_err(|e| e.to_string())?;
    let w = LineWriter {
        lines,
        partial: Vec::new(),
    };
    let mut engine = Engine::new(Config {
        filter: f,
        ..Config::default()
    });
    engine.set_stop_handle(stop);
    engine.add_sink(Box::new(sonde_sinks::Printer::new(w, fmt, false)));
    let source = match &opts.read {
        Some(p) => Source::open_file(p.as_ref()).map_err(|e| e.to_string())?,
        #[cfg(feature = "live")]
        None => engine.open_live().map_err(|e| e.to_string())?,
        #[cfg(not(feature = "live"))]
        None => return Err("live capture is not built in".into()),
    };
    engine.run(source).map_err(|e| e.to_string())?;
    Ok(())
}

impl Drop for TextRun {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

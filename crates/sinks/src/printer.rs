//! The printing sink: one line (or one JSON object) per event, as sysdig
//! prints them, with `-d`'s display filter and a colour reset at the end.

use std::io::Write;

use sonde_engine::{Flow, Handed, Needs, Sink, SinkError, SinkResult};
use sonde_fields::{Ctx, Format};
use sonde_filter::Filter;
use sonde_state::State;

mod json;
use json::{json_line, JsonFields};

/// Prints events as text lines or JSON objects.
///
/// Lines are rendered straight into the output buffer, which goes to `out`
/// once it holds [`Printer::CHUNK`] bytes (and on [`Printer::flush`]):
/// `out` needs no buffering of its own.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    /// `-j`: the format's fields as JSON writes them.
    json: Option<JsonFields>,
    buf: Vec<u8>,
    /// `-d`: the filter runs on the events about to be printed.
    display: Option<Filter>,
    /// A format with colours gets them reset when the capture ends.
    reset_colors: bool,
}

impl<W: Write> Printer<W> {
    /// How many bytes are collected before they are written.
    pub const CHUNK: usize = 1 << 16;

    /// A printer of `format` (as JSON objects with `json`) into `out`.
    pub fn new(out: W, format: Format, json: bool) -> Self {
        Printer {
            out,
            json: json.then(|| JsonFields::new(&format)),
            format,
            buf: Vec::with_capacity(Self::CHUNK + 4096),
            display: None,
            reset_colors: false,
        }
    }

    /// `-d`: prints only the events `filter` accepts.
    pub fn with_display_filter(mut self, filter: Option<Filter>) -> Self {
        self.display = filter;
        self
    }

    /// Ends the output with a colour reset (formats with colours).
    pub fn with_color_reset(mut self, reset: bool) -> Self {
        self.reset_colors = reset;
        self
    }

    /// Renders one event into the buffer (writing it out when full).
    pub fn event(&mut self, ctx: &Ctx<'_, '_>) -> std::io::Result<()> {
        let start = self.buf.len();
        let rendered = if let Some(fields) = &self.json {
            json_line(&self.format, fields, ctx, &mut self.buf)
        } else {
            self.format.render(ctx, &mut self.buf)
        };
        if !rendered {
            self.buf.truncate(start);
            return Ok(());
        }
        self.buf.push(b'\n');
        if self.buf.len() >= Self::CHUNK {
            return self.write_out();
        }
        Ok(())
    }

    /// Writes bytes as they are (the colour reset at the end).
    pub fn write_raw(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(b);
        Ok(())
    }

    /// Writes what is buffered and flushes `out`.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        let r = self.out.write_all(&self.buf);
        self.buf.clear();
        r
    }
}

/// A broken pipe ends the run quietly; other errors end it with a message.
fn out_result(r: std::io::Result<()>) -> SinkResult<Flow> {
    match r {
        Ok(()) => Ok(Flow::Continue),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Flow::Quit),
        Err(e) => Err(SinkError::io("", e)),
    }
}

impl<W: Write> Sink for Printer<W> {
    fn needs(&self) -> Needs {
        let display = self.display.as_ref().map(|f| f.text().to_string());
        Needs {
            state: true,
            latency: self.format.fields().any(|(n, _)| Needs::names_latency(n))
                || display.as_deref().is_some_and(Needs::names_latency),
            // with -d, what the display filter can select is all it shows
            types: display,
            prev_ts: true,
            shown_only: true,
            ..Needs::default()
        }
    }

    #[inline]
    fn event(&mut self, ctx: &Ctx<'_, '_>, how: Handed) -> SinkResult<Flow> {
        if !how.shown {
            return Ok(Flow::Continue);
        }
        if let Some(f) = &self.display {
            if !f.matches(ctx) {
                return Ok(Flow::Continue);
            }
        }
        out_result(Printer::event(self, ctx))
    }

    fn finish(&mut self, _st: &State) -> SinkResult {
        if self.reset_colors {
            let _ = self.write_raw(b"\x1b[00m");
        }
        match out_result(self.flush()) {
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

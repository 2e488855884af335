//! The printing sink: one line (or one JSON object) per event.

use std::io::Write;

use sonde_fields::{Ctx, Field, Format};

/// Prints events as text lines or JSON objects.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    json: bool,
    line: Vec<u8>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: Format, json: bool) -> Self {
        Printer {
            out,
            format,
            json,
            line: Vec::with_capacity(512),
        }
    }

    pub fn event(&mut self, ctx: &Ctx<'_, '_>) -> std::io::Result<()> {
        self.line.clear();
        if self.json {
            json_line(&self.format, ctx, &mut self.line);
        } else if !self.format.render(ctx, &mut self.line) {
            return Ok(());
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Whether a field renders as a JSON number.
fn is_numeric(f: &Field) -> bool {
    matches!(
        f,
        Field::EvtNum
            | Field::EvtCpu
            | Field::EvtRawtime
            | Field::EvtOutputtime
            | Field::ThreadTid
            | Field::ProcPid
            | Field::ProcPpid
            | Field::FdNum
            | Field::EvtLatency
            | Field::ProcVpid
            | Field::ThreadVtid
            | Field::UserUid
            | Field::GroupGid
    )
}

fn json_escape(s: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(s);
    for ch in text.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

/// Renders the format's fields as a JSON object with keys in sorted order.
fn json_line(format: &Format, ctx: &Ctx<'_, '_>, out: &mut Vec<u8>) {
    let mut fields: Vec<(&str, &Field)> = format.fields().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    out.push(b'{');
    let mut val = Vec::new();
    for (i, (name, f)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        val.clear();
        let present = if matches!(f, Field::EvtOutputtime) {
            let _ = write!(val, "{}", ctx.ev.ts);
            true
        } else {
            ctx.extract(f, &mut val)
        };
        if !present {
            out.extend_from_slice(b"null");
        } else if is_numeric(f) && !val.is_empty() {
            out.extend_from_slice(&val);
        } else {
            out.push(b'"');
            json_escape(&val, out);
            out.push(b'"');
        }
    }
    out.push(b'}');
}

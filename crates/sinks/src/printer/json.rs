//! `-j`: one JSON object per event, as sysdig 0.29.3 (jsoncpp) writes it.

use std::io::Write;

use sonde_fields::registry::{json_kind, JsonKind};
use sonde_fields::{Ctx, Field, Format};

/// The fields of a format as JSON writes them: sorted by name, once each,
/// with the JSON kind each one's type gives it (found once per format).
pub(crate) struct JsonFields {
    fields: Vec<(String, Field, JsonKind)>,
}

impl JsonFields {
    /// Prepares `format`'s fields for JSON output.
    pub(crate) fn new(format: &Format) -> Self {
        let mut fields: Vec<(String, Field, JsonKind)> = format
            .fields()
            .map(|(name, f)| (name.to_string(), f.clone(), json_kind(name)))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|a, b| a.0 == b.0);
        JsonFields { fields }
    }
}

/// Quotes a string like jsoncpp 1.9's writer: the usual short escapes,
/// other control characters and every non-ASCII character as `\uXXXX`
/// (UTF-16, lower-case hex), malformed UTF-8 as U+FFFD.
fn json_escape(s: &[u8], out: &mut Vec<u8>) {
    fn u(out: &mut Vec<u8>, cp: u32) {
        let _ = write!(out, "\\u{cp:04x}");
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7f => out.push(c),
            0..=0x1f => u(out, u32::from(c)),
            _ => {
                let (cp, n) = utf8_codepoint(&s[i..]);
                if cp < 0x10000 {
                    u(out, cp);
                } else {
                    let v = cp - 0x10000;
                    u(out, 0xd800 + (v >> 10));
                    u(out, 0xdc00 + (v & 0x3ff));
                }
                i += n;
                continue;
            }
        }
        i += 1;
    }
}

/// Decodes one UTF-8 sequence the lenient way jsoncpp does; returns the
/// code point (U+FFFD when malformed) and the bytes consumed.
fn utf8_codepoint(s: &[u8]) -> (u32, usize) {
    const BAD: u32 = 0xfffd;
    let b = |i: usize| u32::from(s[i] & 0x3f);
    let first = u32::from(s[0]);
    if first < 0xe0 {
        if s.len() < 2 {
            return (BAD, 1);
        }
        let cp = ((first & 0x1f) << 6) | b(1);
        (if cp < 0x80 { BAD } else { cp }, 2)
    } else if first < 0xf0 {
        if s.len() < 3 {
            return (BAD, 1);
        }
        let cp = ((first & 0x0f) << 12) | (b(1) << 6) | b(2);
        let bad = (0xd800..=0xdfff).contains(&cp) || cp < 0x800;
        (if bad { BAD } else { cp }, 3)
    } else if first < 0xf8 {
        if s.len() < 4 {
            return (BAD, 1);
        }
        let cp = ((first & 0x07) << 18) | (b(1) << 12) | (b(2) << 6) | b(3);
        (if cp < 0x10000 { BAD } else { cp }, 4)
    } else {
        (BAD, 1)
    }
}

/// Renders the format's fields as a JSON object with keys in sorted order.
/// Returns false when a field is missing and the format has no `*`: sysdig
/// skips such events in JSON as in text.
pub(crate) fn json_line(
    format: &Format,
    fields: &JsonFields,
    ctx: &Ctx<'_, '_>,
    out: &mut Vec<u8>,
) -> bool {
    out.push(b'{');
    let mut val = Vec::new();
    for (i, (name, f, kind)) in fields.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        val.clear();
        // sysdig asks for each value twice: fields that measure from
        // their previous use measure from the first ask
        if f.is_stateful() {
            ctx.extract(f, &mut val);
            val.clear();
        }
        if !ctx.extract(f, &mut val) {
            if !format.always {
                return false;
            }
            out.extend_from_slice(b"null");
            continue;
        }
        match kind {
            JsonKind::Ts => {
                let _ = write!(out, "{}", ctx.ev.ts);
            }
            JsonKind::Zero => out.push(b'0'),
            JsonKind::Num if !val.is_empty() => {
                // numbers printed zero-padded are plain numbers in JSON
                let digits = if val.iter().all(u8::is_ascii_digit) {
                    val.iter().position(|&c| c != b'0').unwrap_or(val.len() - 1)
                } else {
                    0
                };
                out.extend_from_slice(&val[digits..]);
            }
            JsonKind::Bool if val == b"true" || val == b"false" => out.extend_from_slice(&val),
            _ => {
                out.push(b'"');
                json_escape(&val, out);
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
    true
}

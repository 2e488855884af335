//! `-p` output formats: literal text and `%field` references, with
//! optional widths (`%10proc.name`, `%-10proc.name`) and the leading `*`
//! that prints a line even when a field has no value.

use crate::extract::{Ctx, Field, FieldError};

/// Why a format string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub msg: String,
    /// Byte offset of the fault in the format string.
    pub pos: usize,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at position {})", self.msg, self.pos)
    }
}

impl std::error::Error for FormatError {}

#[derive(Debug, Clone)]
enum Piece {
    Lit(Vec<u8>),
    Field {
        field: Field,
        width: usize,
        left: bool,
        name: String,
    },
}

/// A compiled output format.
#[derive(Debug, Clone)]
pub struct Format {
    pieces: Vec<Piece>,
    /// `*` prefix: print even if some fields are missing.
    pub always: bool,
}

/// The format sysdig uses when none is given.
pub const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";
/// `-pc`: the container-friendly default.
pub const CONTAINER_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %container.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";

fn is_field_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'_'
}

impl Format {
    /// Compiles a format string.
    pub fn parse(s: &str) -> Result<Format, FormatError> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut always = false;
        if b.first() == Some(&b'*') {
            always = true;
            i = 1;
        }
        let mut pieces = Vec::new();
        let mut lit = Vec::new();
        while i < b.len() {
            if b[i] != b'%' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            let mut left = false;
            if i < b.len() && b[i] == b'-' {
                left = true;
                i += 1;
            }
            let ws = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let width = s[ws..i].parse().unwrap_or(0);
            let fs = i;
            while i < b.len() && is_field_char(b[i]) {
                i += 1;
            }
            if i < b.len() && b[i] == b'[' {
                match b[i..].iter().position(|&c| c == b']') {
                    Some(e) => i += e + 1,
                    None => {
                        return Err(FormatError {
                            msg: "unterminated '[' in field".into(),
                            pos: i,
                        })
                    }
                }
            }
            let name = s[fs..i].trim_end_matches('.');
            i = fs + name.len();
            if name.is_empty() {
                return Err(FormatError {
                    msg: "'%' not followed by a field name".into(),
                    pos: start,
                });
            }
            let field =
                Field::parse(name).map_err(|FieldError(m)| FormatError { msg: m, pos: fs })?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Field {
                field,
                width,
                left,
                name: name.to_string(),
            });
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Format { pieces, always })
    }

    /// Renders one line (without newline). Returns false when a field is
    /// missing and the format has no `*`: sysdig skips such lines.
    pub fn render(&self, ctx: &Ctx<'_, '_>, out: &mut Vec<u8>) -> bool {
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => out.extend_from_slice(l),
                Piece::Field {
                    field, width, left, ..
                } => {
                    let start = out.len();
                    if !ctx.extract(field, out) {
                        if !self.always {
                            return false;
                        }
                        out.truncate(start);
                        out.extend_from_slice(b"<NA>");
                    }
                    let n = out.len() - start;
                    if *width > n {
                        let pad = width - n;
                        if *left {
                            out.extend(std::iter::repeat_n(b' ', pad));
                        } else {
                            let tail = out[start..].to_vec();
                            out.truncate(start);
                            out.extend(std::iter::repeat_n(b' ', pad));
                            out.extend_from_slice(&tail);
                        }
                    }
                }
            }
        }
        true
    }

    /// The fields of this format with their names, for JSON output.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field { field, name, .. } => Some((name.as_str(), field)),
            _ => None,
        })
    }
}

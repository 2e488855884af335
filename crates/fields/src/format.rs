//! `-p` output formats: literal text and `%field` references, with
//! optional widths (`%10proc.name`: cut or right-padded to 10 characters) and the leading `*`
//! that prints a line even when a field has no value.

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::extract::Hot;
use crate::field::Field;

/// Why a format string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// What is wrong.
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
    /// Literal text of at most [`SHORT`] bytes (most are a space or two),
    /// zero-padded: appended as one copy of constant size.
    Short([u8; SHORT], usize),
    Lit(Vec<u8>),
    /// A field reference: its index in [`Format::fields`].
    Field(usize),
}

/// A `%field` of a format.
#[derive(Debug, Clone)]
struct FieldRef {
    field: Field,
    /// `%Nfield`: the value is cut or space-padded to N characters.
    width: usize,
    name: String,
    /// The field's kind for [`Ctx::extract_as`], found once.
    hot: Hot,
}

/// A compiled output format.
#[derive(Debug, Clone)]
pub struct Format {
    pieces: Vec<Piece>,
    fields: Vec<FieldRef>,
    /// `*` prefix: print even if some fields are missing.
    pub always: bool,
    /// The format is [`DEFAULT_FORMAT`]: rendered by
    /// [`Format::render_default`].
    default_line: bool,
}

/// The format sysdig uses when none is given.
pub const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";
/// The default when standard output is a terminal: coloured, and with
/// `pid.tid`.
pub const TTY_FORMAT: &str = "*%evt.num %evt.outputtime %evt.cpu \x1b[01;32m%proc.name\x1b[00m (\x1b[01;36m%proc.pid\x1b[00m.%thread.tid) %evt.dir \x1b[01;34m%evt.type\x1b[00m %evt.info";

/// Interprets the escapes sysdig allows in `-p` formats: `\n`, `\t`, `\e`
/// (ESC) and `\\`; a backslash before anything else stays.
pub fn unescape_format(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = match chars.peek() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('e') => '\x1b',
            Some('\\') => '\\',
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push(esc);
    }
    out
}

/// `-pk`: the Kubernetes-friendly default.
pub const K8S_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %k8s.pod.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";
/// `-pm`: the Mesos-friendly default.
pub const MESOS_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %mesos.task.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";
/// `-pc`: the container-friendly default.
pub const CONTAINER_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %container.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";

/// Longest literal kept as [`Piece::Short`].
const SHORT: usize = 16;

/// Widest `%Nfield` (wider is an error: each line is padded to it).
pub const MAX_WIDTH: usize = 65_536;

impl Piece {
    fn lit(text: Vec<u8>) -> Piece {
        if text.len() <= SHORT {
            let mut b = [0; SHORT];
            b[..text.len()].copy_from_slice(&text);
            Piece::Short(b, text.len())
        } else {
            Piece::Lit(text)
        }
    }
}

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
        let mut fields = Vec::new();
        let mut lit = Vec::new();
        while i < b.len() {
            if b[i] != b'%' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            if i == b.len() {
                return Err(FormatError {
                    msg: "formatting cannot end with a %".into(),
                    pos: start,
                });
            }
            let ws = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i > ws && i == b.len() {
                return Err(FormatError {
                    msg: "formatting cannot end with a number".into(),
                    pos: ws,
                });
            }
            // every line is padded to the width: a huge one is an error,
            // not an allocation of that many bytes per field
            let width = if i == ws {
                0
            } else {
                match s[ws..i].parse::<usize>() {
                    Ok(w) if w <= MAX_WIDTH => w,
                    _ => {
                        return Err(FormatError {
                            msg: format!("field width over {MAX_WIDTH}"),
                            pos: ws,
                        })
                    }
                }
            };
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
                pieces.push(Piece::lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Field(fields.len()));
            fields.push(FieldRef {
                hot: Hot::of(&field),
                field,
                width,
                name: name.to_string(),
            });
        }
        if !lit.is_empty() {
            pieces.push(Piece::lit(lit));
        }
        Ok(Format {
            pieces,
            fields,
            always,
            default_line: s == DEFAULT_FORMAT,
        })
    }

    /// Renders one line (without newline). Returns false when a field is
    /// missing and the format has no `*`: sysdig skips such lines.
    pub fn render(&self, ctx: &Ctx<'_, '_>, out: &mut Vec<u8>) -> bool {
        if self.default_line {
            if let [num, time, cpu, name, tid, dir, typ, info] = self.fields.as_slice() {
                render_default(ctx, [num, time, cpu, name, tid, dir, typ, info], out);
                return true;
            }
        }
        for p in &self.pieces {
            match *p {
                Piece::Short(ref b, n) => {
                    let len = out.len();
                    out.extend_from_slice(b);
                    out.truncate(len + n);
                }
                Piece::Lit(ref l) => out.extend_from_slice(l),
                Piece::Field(k) => {
                    let Some(f) = self.fields.get(k) else {
                        continue;
                    };
                    let start = out.len();
                    if !ctx.extract_as(&f.field, f.hot, out) {
                        if !self.always {
                            // sysdig still evaluates the rest: fields that
                            // measure from their previous use must see it
                            let mut scratch = Vec::new();
                            for rest in self.fields.get(k + 1..).unwrap_or_default() {
                                if rest.field.is_stateful() {
                                    scratch.clear();
                                    ctx.extract(&rest.field, &mut scratch);
                                }
                            }
                            return false;
                        }
                        out.truncate(start);
                        out.extend_from_slice(b"<NA>");
                    }
                    if f.width != 0 {
                        // like std::string::resize: cut, or pad on the right
                        out.resize(start + f.width, b' ');
                    }
                }
            }
        }
        true
    }

    /// The fields of this format with their names, for JSON output.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.fields.iter().map(|f| (f.name.as_str(), &f.field))
    }
}

/// [`DEFAULT_FORMAT`], the most used format, without going through its
/// pieces: `*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid)
/// %evt.dir %evt.type %evt.info`, given its fields in that order.
#[inline(never)]
fn render_default(ctx: &Ctx<'_, '_>, f: [&FieldRef; 8], out: &mut Vec<u8>) {
    /// One field as [`Format::render`] writes it in a `*` format.
    #[inline(always)]
    fn put(ctx: &Ctx<'_, '_>, hot: Hot, f: &FieldRef, out: &mut Vec<u8>) {
        let start = out.len();
        if !ctx.extract_as(&f.field, hot, out) {
            out.truncate(start);
            out.extend_from_slice(b"<NA>");
        }
    }
    put(ctx, Hot::EvtNum, f[0], out);
    out.push(b' ');
    put(ctx, Hot::EvtOutputtime, f[1], out);
    out.push(b' ');
    put(ctx, Hot::EvtCpu, f[2], out);
    out.push(b' ');
    put(ctx, Hot::ProcName, f[3], out);
    out.extend_from_slice(b" (");
    put(ctx, Hot::ThreadTid, f[4], out);
    out.extend_from_slice(b") ");
    put(ctx, Hot::EvtDir, f[5], out);
    out.push(b' ');
    put(ctx, Hot::EvtType, f[6], out);
    out.push(b' ');
    put(ctx, Hot::EvtInfo, f[7], out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeFmt;
    use sonde_event::{codes, RawEvent};
    use sonde_output::RenderOpts;
    use sonde_state::State;

    fn render(fmt: &str) -> Option<String> {
        let st = State::new();
        let ev = RawEvent::from_parts(5, 42, codes::GENERIC_E, 0, &[], false).unwrap();
        let opts = RenderOpts::default();
        let ctx = Ctx {
            st: &st,
            ev: &ev,
            num: 211,
            first_ts: 1,
            prev_ts: 0,
            opts: &opts,
            time_fmt: TimeFmt::Human,
            lookups: Default::default(),
        };
        let mut out = Vec::new();
        let f = Format::parse(fmt).unwrap();
        f.render(&ctx, &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn default_format_fast_path_matches_the_pieces() {
        let mut st = State::new();
        st.add_thread_info(&sonde_scap::ThreadInfo {
            tid: 42,
            pid: 42,
            comm: b"loop".to_vec(),
            ..Default::default()
        });
        let fast = Format::parse(DEFAULT_FORMAT).unwrap();
        assert!(fast.default_line);
        let mut slow = fast.clone();
        slow.default_line = false;
        // generic events (known and unknown syscall ids), a brk enter, an
        // event with an unknown code; with and without a known thread
        let getppid = 110u16.to_le_bytes();
        let bogus = 60000u16.to_le_bytes();
        let mut generic = vec![2, 0, 2, 0];
        generic.extend_from_slice(&getppid);
        generic.extend_from_slice(&getppid);
        let mut generic_bogus = vec![2, 0, 2, 0];
        generic_bogus.extend_from_slice(&bogus);
        generic_bogus.extend_from_slice(&bogus);
        let mut brk = vec![8, 0];
        brk.extend_from_slice(&4096u64.to_le_bytes());
        let cases: [(u16, u32, &[u8]); 5] = [
            (codes::GENERIC_X, 2, &generic),
            (codes::GENERIC_E, 2, &generic_bogus),
            (codes::SYSCALL_BRK_4_E, 1, &brk),
            (codes::SYSCALL_BRK_4_X, 0, &[]),
            (u16::MAX, 0, &[]),
        ];
        for (code, n, body) in cases {
            for tid in [42, 43] {
                let ev = RawEvent::from_parts(1_700_000_123_456_789_012, tid, code, n, body, false)
                    .unwrap();
                for time_fmt in [TimeFmt::Human, TimeFmt::Absolute, TimeFmt::Relative] {
                    let opts = RenderOpts::default();
                    let ctx = Ctx {
                        st: &st,
                        ev: &ev,
                        num: 1_234_567,
                        first_ts: 1_700_000_000_000_000_000,
                        prev_ts: 0,
                        opts: &opts,
                        time_fmt,
                        lookups: Default::default(),
                    };
                    let (mut a, mut b) = (b"x".to_vec(), b"x".to_vec());
                    assert!(fast.render(&ctx, &mut a));
                    assert!(slow.render(&ctx, &mut b));
                    assert_eq!(
                        String::from_utf8_lossy(&a),
                        String::from_utf8_lossy(&b),
                        "code {code} tid {tid}"
                    );
                }
            }
        }
    }

    #[test]
    fn widths_cut_or_pad_on_the_right() {
        assert_eq!(
            render("[%5evt.num|%2evt.type|%thread.tid]").as_deref(),
            Some("[211  |<u|42]")
        );
    }

    #[test]
    fn missing_fields_skip_or_show_na() {
        assert_eq!(render("%evt.num %proc.name"), None);
        assert_eq!(render("*%evt.num %proc.name").as_deref(), Some("211 <NA>"));
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape_format(r"a\tb\nc\\d\q\e["), "a\tb\nc\\d\\q\x1b[");
        assert_eq!(unescape_format(r"end\"), "end\\");
    }

    #[test]
    fn bad_formats_are_rejected() {
        assert!(Format::parse("%evt.num %").is_err());
        assert!(Format::parse("%evt.num %12").is_err());
        // sysdig has no left-alignment flag
        assert!(Format::parse("%-5evt.num").is_err());
        // found by tests/fuzz_parsers.rs: the width was taken as given,
        // and rendering padded each line to it (here 100 GB); a width
        // past usize was silently 0
        for f in [
            "%99999999999evt.num",
            "%65537evt.num",
            "%99999999999999999999999evt.num",
        ] {
            let e = Format::parse(f).unwrap_err();
            assert_eq!((e.pos, e.msg.contains("width")), (1, true), "{f}");
        }
        assert_eq!(render("%65536evt.num").map(|l| l.len()), Some(MAX_WIDTH));
    }
}

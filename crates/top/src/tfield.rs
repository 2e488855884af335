//! A view column's extractor: the field's value for one event as a typed
//! [`Val`], with the column type csysdig gives it. Most fields come from
//! `sonde-fields`; the fields csysdig has only for tables
//! (`evt.buflen.file.in`, `evt.count.procinfo`, `thread.vmsize.b`,
//! `thread.nametid`, `evt.latency.quantized`, `util.cnt`, and
//! `evt.type.is.N` with an event number) are computed here from the same
//! event and state.

use std::cell::Cell;

use sonde_event::category;
use sonde_fields::registry::FieldType;
use sonde_fields::{Ctx, Field, Value};
use sonde_state::{FdType, Thread};

use crate::cell::{ColType, Kind, Pf, Val};

/// Fields printed as identifiers (never scaled), as libsinsp marks them.
const ID_FIELDS: &[&str] = &[
    "fd.num",
    "proc.pid",
    "proc.ppid",
    "proc.apid",
    "proc.loginshellid",
    "thread.tid",
    "thread.vtid",
    "proc.vpid",
    "proc.sid",
    "proc.tty",
    "proc.vpgid",
    "evt.num",
    "evt.cpu",
    "user.uid",
    "user.loginuid",
    "group.gid",
    "span.id",
    "util.cnt",
];

/// Which I/O direction a buffer length counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Any,
    In,
    Out,
}

/// Which fds a buffer length counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FdClass {
    Any,
    File,
    Net,
}

/// The event's thread and its process's main thread, each looked up at
/// most once per event whatever the number of columns reading them.
#[derive(Default)]
pub struct Look<'a> {
    t: Cell<Option<Option<&'a Thread>>>,
    main: Cell<Option<Option<&'a Thread>>>,
}

impl<'a> Look<'a> {
    /// Nothing looked up yet.
    pub fn new() -> Look<'a> {
        Look::default()
    }

    /// The event's thread (`State::event_thread`).
    #[inline]
    pub fn thread(&self, ctx: &Ctx<'a, '_>) -> Option<&'a Thread> {
        if let Some(t) = self.t.get() {
            return t;
        }
        // shared with the fields `sonde-fields` extracts for this event
        let t = ctx.thread();
        self.t.set(Some(t));
        t
    }

    /// Its process's main thread (the thread itself when not known).
    #[inline]
    pub fn main(&self, ctx: &Ctx<'a, '_>) -> Option<&'a Thread> {
        if let Some(m) = self.main.get() {
            return m;
        }
        let m = self.thread(ctx).map(|t| ctx.st.thread(t.pid).unwrap_or(t));
        self.main.set(Some(m));
        m
    }
}

/// A value borrowed from the extractor (text stays in its buffer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValRef<'b> {
    /// An integer.
    I(i64),
    /// A double.
    D(f64),
    /// Text.
    T(&'b [u8]),
}

impl ValRef<'_> {
    /// The owned value.
    pub fn to_val(self) -> Val {
        match self {
            ValRef::I(i) => Val::I(i),
            ValRef::D(d) => Val::D(d),
            ValRef::T(t) => Val::T(t.into()),
        }
    }
}

/// The thread fields read straight from the state here (the same values
/// and "no value" cases as `sonde-fields`, without their text round trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThreadF {
    Tid,
    Pid,
    Ppid,
    Nthreads,
    Exeline,
}

enum Src {
    Std(Field),
    Thread(ThreadF),
    /// `thread.cpu*`: a value only on procinfo events.
    Cpu(Field),
    CountProcinfo {
        main_only: bool,
    },
    Buflen(Dir, FdClass),
    VmB {
        rss: bool,
    },
    LatencyQuantized,
    NameTid,
    UtilCnt(u64),
    TypeIsCode(u16),
}

/// A column's field, ready to extract.
pub struct Extractor {
    src: Src,
    /// The column's type.
    pub ty: ColType,
    buf: Vec<u8>,
}

fn int(bits: u8, signed: bool) -> Kind {
    Kind::Int { bits, signed }
}

fn std_type(name: &str, ty: FieldType) -> ColType {
    let base = name.split('[').next().unwrap_or(name);
    let id = ID_FIELDS.contains(&base);
    let dec = if id { Pf::Id } else { Pf::Dec };
    let (kind, pf, def) = match ty {
        FieldType::Int8 => (int(8, true), dec, !id),
        FieldType::Int16 => (int(16, true), dec, !id),
        FieldType::Int32 => (int(32, true), dec, !id),
        FieldType::Int64 => (int(64, true), dec, !id),
        FieldType::Uint8 => (int(8, false), dec, !id),
        FieldType::Uint16 => (int(16, false), dec, !id),
        FieldType::Uint32 => (int(32, false), dec, !id),
        FieldType::Uint64 => (int(64, false), dec, !id),
        FieldType::RelTime => (Kind::RelTime, dec, !id),
        FieldType::AbsTime => (Kind::AbsTime, dec, !id),
        FieldType::Double => (Kind::Double, Pf::Na, true),
        FieldType::Charbuf | FieldType::FsPath | FieldType::Dynamic => (Kind::Text, Pf::Na, true),
        FieldType::Port => (Kind::Text, Pf::Port, false),
        _ => (Kind::Text, Pf::Na, false),
    };
    ColType { kind, pf, def }
}

impl Extractor {
    /// The extractor for `name`, or why there is none.
    pub fn new(name: &str) -> Result<Extractor, String> {
        let u64dec = ColType {
            kind: int(64, false),
            pf: Pf::Dec,
            def: true,
        };
        let u32dec = ColType {
            kind: int(32, false),
            ..u64dec
        };
        let (src, ty) = match name {
            "evt.count.procinfo" => (Src::CountProcinfo { main_only: true }, u32dec),
            "evt.count.threadinfo" => (Src::CountProcinfo { main_only: false }, u32dec),
            "evt.buflen.in" => (Src::Buflen(Dir::In, FdClass::Any), u64dec),
            "evt.buflen.out" => (Src::Buflen(Dir::Out, FdClass::Any), u64dec),
            "evt.buflen.file" => (Src::Buflen(Dir::Any, FdClass::File), u64dec),
            "evt.buflen.file.in" => (Src::Buflen(Dir::In, FdClass::File), u64dec),
            "evt.buflen.file.out" => (Src::Buflen(Dir::Out, FdClass::File), u64dec),
            "evt.buflen.net" => (Src::Buflen(Dir::Any, FdClass::Net), u64dec),
            "evt.buflen.net.in" => (Src::Buflen(Dir::In, FdClass::Net), u64dec),
            "evt.buflen.net.out" => (Src::Buflen(Dir::Out, FdClass::Net), u64dec),
            "thread.vmsize.b" => (Src::VmB { rss: false }, u64dec),
            "thread.vmrss.b" => (Src::VmB { rss: true }, u64dec),
            "evt.latency.quantized" => (Src::LatencyQuantized, u64dec),
            "thread.nametid" => (
                Src::NameTid,
                ColType {
                    kind: Kind::Text,
                    pf: Pf::Na,
                    def: true,
                },
            ),
            "thread.tid" | "proc.pid" | "proc.ppid" | "proc.nthreads" | "proc.exeline" => {
                let tf = match name {
                    "thread.tid" => ThreadF::Tid,
                    "proc.pid" => ThreadF::Pid,
                    "proc.ppid" => ThreadF::Ppid,
                    "proc.nthreads" => ThreadF::Nthreads,
                    _ => ThreadF::Exeline,
                };
                let ty = match sonde_fields::registry::resolve(name) {
                    Some((info, _)) => std_type(name, info.ty),
                    None => std_type(name, FieldType::Charbuf),
                };
                (Src::Thread(tf), ty)
            }
            "thread.cpu" | "thread.cpu.user" | "thread.cpu.system" => {
                let f = Field::parse(name).map_err(|e| e.to_string())?;
                let ty = match sonde_fields::registry::resolve(name) {
                    Some((info, _)) => std_type(name, info.ty),
                    None => std_type(name, FieldType::Double),
                };
                (Src::Cpu(f), ty)
            }
            "util.cnt" => (
                Src::UtilCnt(0),
                ColType {
                    pf: Pf::Id,
                    def: false,
                    ..u64dec
                },
            ),
            _ => match name
                .strip_prefix("evt.type.is.")
                .and_then(|n| n.parse::<u16>().ok())
            {
                Some(code) => (
                    Src::TypeIsCode(code),
                    ColType {
                        pf: Pf::Na,
                        def: false,
                        ..u32dec
                    },
                ),
                None => {
                    let f = Field::parse(name).map_err(|e| e.to_string())?;
                    let base = name.split('[').next().unwrap_or(name);
                    let ty = match name.strip_prefix("evt.type.is.") {
                        Some(_) => ColType {
                            pf: Pf::Na,
                            def: false,
                            ..u32dec
                        },
                        None => match sonde_fields::registry::resolve(base) {
                            Some((info, _)) => std_type(name, info.ty),
                            None => std_type(name, FieldType::Charbuf),
                        },
                    };
                    (Src::Std(f), ty)
                }
            },
        };
        Ok(Extractor {
            src,
            ty,
            buf: Vec::new(),
        })
    }

    /// For a text field, whether this event's value equals `cur` (no
    /// value: None); the caller replaces its copy only when it differs.
    pub fn text_equals<'a>(
        &mut self,
        ctx: &Ctx<'a, '_>,
        look: &Look<'a>,
        cur: &[u8],
    ) -> Option<bool> {
        if self.ty.kind != Kind::Text {
            return None;
        }
        match &self.src {
            Src::Thread(ThreadF::Exeline) => {
                let t = look.thread(ctx)?;
                Some(exeline_equals(t, cur))
            }
            Src::Std(f) => {
                self.buf.clear();
                if !ctx.extract(f, &mut self.buf) {
                    return None;
                }
                Some(self.buf == cur)
            }
            _ => None,
        }
    }

    /// Whether the value depends only on the event's thread-level state
    /// (ids, thread count, command line, memory sizes), never on the
    /// event itself: the same for two events of one thread that see the
    /// same [`State::thread_epoch`](sonde_state::State::thread_epoch).
    pub fn thread_level(&self) -> bool {
        matches!(self.src, Src::Thread(_) | Src::VmB { .. })
    }

    /// Whether every event of type `code` has no value here: CPU and
    /// procinfo counts outside procinfo events, buffer lengths outside
    /// I/O exits of their direction.
    pub fn none_for(&self, code: u16) -> bool {
        let Some(info) = sonde_event::event_info(code) else {
            return false;
        };
        match &self.src {
            Src::Cpu(_) | Src::CountProcinfo { .. } => code != sonde_event::codes::PROCINFO_E,
            Src::Buflen(dir, _) => {
                info.dir != sonde_event::Direction::Exit || !io_dir_matches(*dir, info.old_category)
            }
            _ => false,
        }
    }

    /// Whether the value is the event's thread id.
    pub fn is_tid(&self) -> bool {
        matches!(self.src, Src::Thread(ThreadF::Tid))
    }

    /// The text of the last value [`Extractor::extract_ref`] gave as text.
    pub fn last_text(&self) -> &[u8] {
        &self.buf
    }

    /// The value for this event as an owned [`Val`], None when the field
    /// has none.
    pub fn extract(&mut self, ctx: &Ctx<'_, '_>) -> Option<Val> {
        let look = Look::new();
        self.extract_ref(ctx, &look).map(ValRef::to_val)
    }

    /// The value for this event, text borrowed from the extractor; None
    /// when the field has none. The cases a table meets on most events
    /// (numbers from the thread, a CPU or I/O column on an event without
    /// one) are answered here, inlined; the rest out of line.
    #[inline]
    pub fn extract_ref<'a>(&mut self, ctx: &Ctx<'a, '_>, look: &Look<'a>) -> Option<ValRef<'_>> {
        let ev = ctx.ev;
        let numeric = !matches!(self.ty.kind, Kind::Text | Kind::Double);
        match &self.src {
            Src::Thread(ThreadF::Tid) if numeric => return Some(ValRef::I(ev.tid)),
            Src::Thread(ThreadF::Pid) if numeric => return Some(ValRef::I(look.thread(ctx)?.pid)),
            Src::Thread(ThreadF::Ppid) if numeric => return Some(ValRef::I(look.main(ctx)?.ptid)),
            Src::Thread(ThreadF::Nthreads) if numeric => {
                return Some(ValRef::I(look.main(ctx)?.nchilds as i64 + 1))
            }
            Src::Cpu(_) | Src::CountProcinfo { .. }
                if ev.code != sonde_event::codes::PROCINFO_E =>
            {
                return None
            }
            Src::VmB { rss } => {
                let t = look.thread(ctx)?;
                let kb = if *rss { t.vmrss_kb } else { t.vmsize_kb };
                return Some(ValRef::I(if t.is_main() { kb as i64 * 1024 } else { 0 }));
            }
            Src::Buflen(dir, _) if !io_dir_matches(*dir, ev.info()?.old_category) => {
                return None;
            }
            _ => {}
        }
        self.extract_full(ctx, look)
    }

    /// [`Extractor::extract_ref`] for every case.
    #[inline(never)]
    fn extract_full<'a>(&mut self, ctx: &Ctx<'a, '_>, look: &Look<'a>) -> Option<ValRef<'_>> {
        let ev = ctx.ev;
        let kind = self.ty.kind;
        match &mut self.src {
            Src::Std(f) => std_ref(ctx, f, kind, &mut self.buf),
            Src::Cpu(f) => {
                if ev.code != sonde_event::codes::PROCINFO_E {
                    return None;
                }
                std_ref(ctx, f, kind, &mut self.buf)
            }
            Src::Thread(tf) => {
                let n = match tf {
                    ThreadF::Tid => ev.tid,
                    ThreadF::Pid => look.thread(ctx)?.pid,
                    ThreadF::Ppid => look.main(ctx)?.ptid,
                    ThreadF::Nthreads => look.main(ctx)?.nchilds as i64 + 1,
                    ThreadF::Exeline => {
                        let t = look.thread(ctx)?;
                        self.buf.clear();
                        exeline_into(t, &mut self.buf);
                        return Some(ValRef::T(&self.buf));
                    }
                };
                Some(match kind {
                    Kind::Text => {
                        self.buf.clear();
                        self.buf.extend_from_slice(n.to_string().as_bytes());
                        ValRef::T(&self.buf)
                    }
                    Kind::Double => ValRef::D(n as f64),
                    _ => ValRef::I(n),
                })
            }
            Src::CountProcinfo { main_only } => {
                if ev.code != sonde_event::codes::PROCINFO_E {
                    return None;
                }
                let t = look.thread(ctx);
                match (*main_only, t) {
                    (false, _) => Some(ValRef::I(1)),
                    (true, Some(t)) if t.is_main() => Some(ValRef::I(1)),
                    _ => None,
                }
            }
            Src::Buflen(dir, class) => {
                let info = ev.info()?;
                if !io_dir_matches(*dir, info.old_category) {
                    return None;
                }
                let ok = match class {
                    FdClass::Any => true,
                    FdClass::File => ctx.event_fd()?.kind == FdType::File,
                    FdClass::Net => matches!(
                        ctx.event_fd()?.kind,
                        FdType::Ipv4Sock
                            | FdType::Ipv4ServSock
                            | FdType::Ipv6Sock
                            | FdType::Ipv6ServSock
                    ),
                };
                if !ok {
                    return None;
                }
                ctx.buflen().map(ValRef::I)
            }
            Src::VmB { rss } => {
                let t = look.thread(ctx)?;
                let kb = if *rss { t.vmrss_kb } else { t.vmsize_kb };
                Some(ValRef::I(if t.is_main() { kb as i64 * 1024 } else { 0 }))
            }
            Src::LatencyQuantized => {
                let info = ev.info()?;
                if info.old_category & category::INTERNAL != 0 {
                    return None;
                }
                let t = look.thread(ctx)?;
                if t.latency == 0 {
                    return None;
                }
                let l = (t.latency as f64).log10().min(11.0);
                // csysdig scales to its screen width (80 columns in --raw)
                Some(ValRef::I((l * 80.0 / 11.0) as i64 + 1))
            }
            Src::NameTid => {
                let t = look.thread(ctx)?;
                self.buf.clear();
                self.buf.extend_from_slice(&t.comm);
                self.buf.extend_from_slice(ev.tid.to_string().as_bytes());
                Some(ValRef::T(&self.buf))
            }
            Src::UtilCnt(n) => {
                *n += 1;
                Some(ValRef::I(*n as i64))
            }
            Src::TypeIsCode(code) => Some(ValRef::I((ev.code == *code) as i64)),
        }
    }
}

/// `proc.exeline` as `sonde-fields` renders it: the exe, a space (always),
/// the arguments joined by spaces.
fn exeline_into(t: &Thread, out: &mut Vec<u8>) {
    out.extend_from_slice(&t.exe);
    out.push(b' ');
    for (i, a) in t.args_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a);
    }
}

/// Whether `cur` is the thread's `proc.exeline` ([`exeline_into`]):
/// the arguments joined by spaces are their NUL-separated list with each
/// NUL a space (without the last NUL).
fn exeline_equals(t: &Thread, cur: &[u8]) -> bool {
    let exe = t.exe.as_slice();
    let args = t.args.strip_suffix(&[0]).unwrap_or(&t.args);
    if cur.len() != exe.len() + 1 + args.len() || !cur.starts_with(exe) || cur[exe.len()] != b' ' {
        return false;
    }
    // byte for byte, a space (0x20) where the list has a NUL; the
    // differences or-ed together (a loop without branches)
    let rest = &cur[exe.len() + 1..];
    let diff = rest
        .iter()
        .zip(args)
        .fold(0u8, |d, (&c, &a)| d | (c ^ (a | (((a == 0) as u8) << 5))));
    diff == 0
}

/// A field of `sonde-fields` as the column's kind: text stays in `buf`
/// (values that are not text are rendered into it).
fn std_ref<'b>(
    ctx: &Ctx<'_, '_>,
    f: &Field,
    kind: Kind,
    buf: &'b mut Vec<u8>,
) -> Option<ValRef<'b>> {
    let v = match ctx.extract_value(f, buf)? {
        Value::Str(_) => None,
        Value::Int(i) => Some(Value::Int(i)),
        Value::Uint(u) => Some(Value::Uint(u)),
        Value::Double(d) => Some(Value::Double(d)),
        Value::Bool(b) => Some(Value::Bool(b)),
        Value::Ip(ip) => Some(Value::Ip(ip)),
    };
    let Some(v) = v else {
        // the text is in `buf`
        let s: &'b [u8] = buf;
        return Some(match kind {
            Kind::Text => ValRef::T(s),
            _ => num_ref(kind, Value::Str(s)),
        });
    };
    if kind != Kind::Text {
        return Some(num_ref(kind, v));
    }
    use std::io::Write;
    buf.clear();
    let _ = match v {
        Value::Ip(ip) => write!(buf, "{ip}"),
        Value::Bool(b) => write!(buf, "{b}"),
        Value::Int(i) => write!(buf, "{i}"),
        Value::Uint(u) => write!(buf, "{u}"),
        Value::Double(d) => write!(buf, "{d}"),
        Value::Str(_) => Ok(()),
    };
    Some(ValRef::T(buf))
}

/// A value as a number of the column's kind.
fn num_ref(kind: Kind, v: Value<'_>) -> ValRef<'static> {
    match kind {
        Kind::Double => match v {
            Value::Double(d) => ValRef::D(d),
            Value::Str(s) => ValRef::D(
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0.0),
            ),
            other => ValRef::D(other.as_i128().unwrap_or(0) as f64),
        },
        _ => match v {
            Value::Double(d) => ValRef::I(d as i64),
            other => ValRef::I(other.as_i128().unwrap_or(0) as i64),
        },
    }
}

/// Whether an event of syscall category `cat` is I/O in direction `dir`.
#[inline]
fn io_dir_matches(dir: Dir, cat: u32) -> bool {
    match dir {
        Dir::Any => cat & category::IO_BASE != 0,
        Dir::In => cat == category::IO_READ,
        Dir::Out => cat == category::IO_WRITE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison without a copy agrees with the rendering.
    #[test]
    fn exeline_compare_matches_its_text() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"curl", b"-6\0http://x\0"),
            (b"curl", b""),
            (b"curl", b"\0"),
            (b"a", b"x\0\0y\0"),
            (b"", b"only\0"),
        ];
        for &(exe, args) in cases {
            let t = Thread {
                info: sonde_event::meta::ThreadInfo {
                    exe: exe.to_vec(),
                    args: args.to_vec(),
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut text = Vec::new();
            exeline_into(&t, &mut text);
            assert!(
                exeline_equals(&t, &text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            for other in [&b""[..], b"curl", b"curl -6 http://y", b"curl -6\0http://x"] {
                if other != text.as_slice() {
                    assert!(!exeline_equals(&t, other), "{other:?}");
                }
            }
            let mut longer = text.clone();
            longer.push(b'z');
            assert!(!exeline_equals(&t, &longer));
        }
    }
}

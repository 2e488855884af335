//! A view column's extractor: the field's value for one event as a typed
//! [`Val`], with the column type csysdig gives it. Most fields come from
//! `sonde-fields`; the fields csysdig has only for tables
//! (`evt.buflen.file.in`, `evt.count.procinfo`, `thread.vmsize.b`,
//! `thread.nametid`, `evt.latency.quantized`, `util.cnt`, and
//! `evt.type.is.N` with an event number) are computed here from the same
//! event and state.

use sonde_event::category;
use sonde_fields::registry::FieldType;
use sonde_fields::{Ctx, Field, Value};

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

enum Src {
    Std(Field),
    CountProcinfo { main_only: bool },
    Buflen(Dir, FdClass),
    VmB { rss: bool },
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
    buflen: Option<Field>,
    fdtype: Option<Field>,
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
        let needs_io = matches!(src, Src::Buflen(..));
        Ok(Extractor {
            src,
            ty,
            buflen: needs_io.then_some(Field::EvtBuflen),
            fdtype: needs_io.then(|| Field::parse("fd.type").ok()).flatten(),
            buf: Vec::new(),
        })
    }

    /// For a text field, whether this event's value equals `cur` (no
    /// value: None); the caller replaces its copy only when it differs.
    pub fn text_equals(&mut self, ctx: &Ctx<'_, '_>, cur: &[u8]) -> Option<bool> {
        match &self.src {
            Src::Std(f) if self.ty.kind == Kind::Text => {
                self.buf.clear();
                if !ctx.extract(f, &mut self.buf) {
                    return None;
                }
                Some(self.buf == cur)
            }
            _ => None,
        }
    }

    /// The value for this event, None when the field has none.
    pub fn extract(&mut self, ctx: &Ctx<'_, '_>) -> Option<Val> {
        let ev = ctx.ev;
        match &mut self.src {
            Src::Std(f) => {
                let v = ctx.extract_value(f, &mut self.buf)?;
                Some(to_val(self.ty.kind, v))
            }
            Src::CountProcinfo { main_only } => {
                if ev.code != sonde_event::codes::PROCINFO_E {
                    return None;
                }
                let t = ctx.st.event_thread(ev);
                match (*main_only, t) {
                    (false, _) => Some(Val::I(1)),
                    (true, Some(t)) if t.is_main() => Some(Val::I(1)),
                    _ => None,
                }
            }
            Src::Buflen(dir, class) => {
                let info = ev.info()?;
                let cat = info.old_category;
                let ok_dir = match dir {
                    Dir::Any => cat & category::IO_BASE != 0,
                    Dir::In => cat == category::IO_READ,
                    Dir::Out => cat == category::IO_WRITE,
                };
                if !ok_dir {
                    return None;
                }
                if *class != FdClass::Any {
                    self.buf.clear();
                    if !ctx.extract(self.fdtype.as_ref()?, &mut self.buf) {
                        return None;
                    }
                    let t = self.buf.as_slice();
                    let ok = match class {
                        FdClass::File => t == b"file",
                        _ => t == b"ipv4" || t == b"ipv6",
                    };
                    if !ok {
                        return None;
                    }
                }
                self.buf.clear();
                let f = self.buflen.as_ref()?;
                if !ctx.extract(f, &mut self.buf) {
                    return None;
                }
                sonde_fields::parse_int(&self.buf).map(|v| Val::I(v as i64))
            }
            Src::VmB { rss } => {
                let t = ctx.st.event_thread(ev)?;
                let kb = if *rss { t.vmrss_kb } else { t.vmsize_kb };
                Some(Val::I(if t.is_main() { kb as i64 * 1024 } else { 0 }))
            }
            Src::LatencyQuantized => {
                let info = ev.info()?;
                if info.old_category & category::INTERNAL != 0 {
                    return None;
                }
                let t = ctx.st.event_thread(ev)?;
                if t.latency == 0 {
                    return None;
                }
                let l = (t.latency as f64).log10().min(11.0);
                // csysdig scales to its screen width (80 columns in --raw)
                Some(Val::I((l * 80.0 / 11.0) as i64 + 1))
            }
            Src::NameTid => {
                let t = ctx.st.event_thread(ev)?;
                let mut s = t.comm.clone();
                s.extend_from_slice(ev.tid.to_string().as_bytes());
                Some(Val::T(s.into_boxed_slice()))
            }
            Src::UtilCnt(n) => {
                *n += 1;
                Some(Val::I(*n as i64))
            }
            Src::TypeIsCode(code) => Some(Val::I((ev.code == *code) as i64)),
        }
    }
}

/// A typed value as the column's kind.
fn to_val(kind: Kind, v: Value<'_>) -> Val {
    match kind {
        Kind::Text => match v {
            Value::Str(s) => Val::T(s.into()),
            Value::Ip(ip) => Val::T(ip.to_string().into_bytes().into_boxed_slice()),
            Value::Bool(b) => Val::T(if b { &b"true"[..] } else { b"false" }.into()),
            Value::Int(i) => Val::T(i.to_string().into_bytes().into_boxed_slice()),
            Value::Uint(u) => Val::T(u.to_string().into_bytes().into_boxed_slice()),
            Value::Double(d) => Val::T(d.to_string().into_bytes().into_boxed_slice()),
        },
        Kind::Double => match v {
            Value::Double(d) => Val::D(d),
            Value::Str(s) => Val::D(
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0.0),
            ),
            other => Val::D(other.as_i128().unwrap_or(0) as f64),
        },
        _ => match v {
            Value::Double(d) => Val::I(d as i64),
            other => Val::I(other.as_i128().unwrap_or(0) as i64),
        },
    }
}

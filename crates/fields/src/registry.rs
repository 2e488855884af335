//! The field registry: every field name sysdig 0.29.3 knows (`sysdig -l`),
//! plus the newer fields current Falco rules use, each with its class, type,
//! description and flags, and whether sonde extracts it yet.
//!
//! Filters use it to accept a field and to type its comparisons; `sonde -l`
//! prints it in sysdig's layout.

use std::io::Write;

mod table;

/// The type of a field's value, named as sysdig names it (`-lv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Bool,
    Charbuf,
    Bytebuf,
    IpAddr,
    IpNet,
    Port,
    RelTime,
    AbsTime,
    Double,
    /// Depends on the event (`evt.rawarg.*`).
    Dynamic,
    FsPath,
}

impl FieldType {
    /// The name `sysdig -lv` shows.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int8 => "INT8",
            FieldType::Int16 => "INT16",
            FieldType::Int32 => "INT32",
            FieldType::Int64 => "INT64",
            FieldType::Uint8 => "UINT8",
            FieldType::Uint16 => "UINT16",
            FieldType::Uint32 => "UINT32",
            FieldType::Uint64 => "UINT64",
            FieldType::Bool => "BOOL",
            FieldType::Charbuf => "CHARBUF",
            FieldType::Bytebuf => "BYTEBUF",
            FieldType::IpAddr => "IPADDR",
            FieldType::IpNet => "IPNET",
            FieldType::Port => "PORT",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::Double => "DOUBLE",
            FieldType::Dynamic => "DYNAMIC",
            FieldType::FsPath => "FSPATH",
        }
    }

    /// Integer-valued (compared as numbers).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            FieldType::Int8
                | FieldType::Int16
                | FieldType::Int32
                | FieldType::Int64
                | FieldType::Uint8
                | FieldType::Uint16
                | FieldType::Uint32
                | FieldType::Uint64
                | FieldType::Port
                | FieldType::RelTime
                | FieldType::AbsTime
        )
    }

    /// Signed integer.
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            FieldType::Int8 | FieldType::Int16 | FieldType::Int32 | FieldType::Int64
        )
    }

    /// Text-valued (compared as bytes).
    pub fn is_string(self) -> bool {
        matches!(self, FieldType::Charbuf | FieldType::FsPath)
    }
}

/// Field flags.
pub mod flags {
    /// Only usable in filters (`(FILTER ONLY)` in `sysdig -l`).
    pub const FILTER_ONLY: u16 = 1;
    /// Not in sysdig 0.29.3: a newer libs field (used by current Falco rules).
    pub const NEWER: u16 = 2;
    /// Takes an argument after a dot (`evt.arg.name`, `k8s.pod.label.app`).
    pub const ARG_DOT: u16 = 4;
    /// Takes a numeric argument in brackets (`proc.aname[2]`).
    pub const ARG_INDEX: u16 = 8;
    /// Takes a key argument in brackets (`thread.cgroup[memory]`, `evt.arg[0]`).
    pub const ARG_KEY: u16 = 16;
    /// The argument is mandatory.
    pub const ARG_REQUIRED: u16 = 32;
    /// A class sonde will not support (mesos, marathon, spans).
    pub const UNAVAILABLE: u16 = 64;
}

/// A class of fields (`Field Class:` in `sysdig -l`).
#[derive(Debug)]
pub struct FieldClass {
    pub name: &'static str,
    pub shortdesc: &'static str,
    pub desc: &'static str,
}

/// One field.
#[derive(Debug)]
pub struct FieldInfo {
    pub name: &'static str,
    /// Index into [`classes`].
    pub class: u8,
    pub ty: FieldType,
    pub flags: u16,
    pub desc: &'static str,
}

impl FieldInfo {
    pub fn class(&self) -> &'static FieldClass {
        &table::CLASSES[self.class as usize]
    }

    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// Whether the field takes an argument at all.
    pub fn takes_arg(&self) -> bool {
        self.flags & (flags::ARG_DOT | flags::ARG_INDEX | flags::ARG_KEY) != 0
    }

    /// Whether sonde extracts this field yet (otherwise it is accepted in
    /// filters but never has a value).
    pub fn extracted(&self) -> bool {
        if self.has(flags::UNAVAILABLE) {
            return false;
        }
        // filter-only fields that sonde-filter evaluates from fd.cip/fd.sip
        if matches!(
            self.name,
            "fd.ip" | "fd.port" | "fd.proto" | "fd.net" | "fd.cnet" | "fd.snet"
        ) {
            return true;
        }
        if crate::Field::parse(self.name).is_ok() {
            return true;
        }
        self.takes_arg()
            && (crate::Field::parse(&format!("{}[0]", self.name)).is_ok()
                || crate::Field::parse(&format!("{}.x", self.name)).is_ok())
    }
}

/// All field classes, in `sysdig -l` order.
pub fn classes() -> &'static [FieldClass] {
    table::CLASSES
}

/// All fields, in `sysdig -l` order.
pub fn fields() -> &'static [FieldInfo] {
    table::FIELDS
}

/// The field with exactly this name.
pub fn lookup(name: &str) -> Option<&'static FieldInfo> {
    table::FIELDS.iter().find(|f| f.name == name)
}

/// Resolves a field name as written in a filter, without its `[...]`
/// argument: an exact name, or a field taking a dot argument followed by
/// `.arg` (`evt.arg.fd` -> (`evt.arg`, Some("fd"))). The longest match wins.
pub fn resolve(name: &str) -> Option<(&'static FieldInfo, Option<&str>)> {
    if let Some(f) = lookup(name) {
        return Some((f, None));
    }
    let mut best: Option<(&'static FieldInfo, Option<&str>)> = None;
    for f in table::FIELDS.iter().filter(|f| f.has(flags::ARG_DOT)) {
        if let Some(rest) = name.strip_prefix(f.name).and_then(|r| r.strip_prefix('.')) {
            let longer = match best {
                None => true,
                Some((b, _)) => b.name.len() < f.name.len(),
            };
            if !rest.is_empty() && longer {
                best = Some((f, Some(rest)));
            }
        }
    }
    best
}

const RIGHT: usize = 30;
const WIDTH: usize = 120;

fn wrap(text: &str, out: &mut String) {
    let mut len = 0;
    for word in text.split_whitespace() {
        let wl = word.len() + 1;
        if len + wl <= WIDTH - RIGHT {
            len += wl;
        } else {
            out.push('\n');
            out.push_str(&" ".repeat(RIGHT));
            len = wl;
        }
        out.push_str(word);
        out.push(' ');
    }
}

/// Writes the field list in `sysdig -l` layout (`verbose`: `-lv`, with types).
/// The note `-l` puts before the description of fields whose data sonde
/// does not collect yet (filters accept them; they never have a value).
pub const NOT_COLLECTED: &str = "(NOT COLLECTED BY SONDE YET) ";

pub fn write_list(out: &mut impl Write, verbose: bool) -> std::io::Result<()> {
    let mut s = String::new();
    for (ci, c) in table::CLASSES.iter().enumerate() {
        if ci > 0 {
            s.push('\n');
        }
        s.push_str("-------------------------------\n");
        s.push_str(&format!("{:<RIGHT$}{}", "Field Class:", c.name));
        if !c.shortdesc.is_empty() {
            s.push_str(&format!(" ({})", c.shortdesc));
        }
        s.push('\n');
        if !c.desc.is_empty() {
            s.push_str(&format!("{:<RIGHT$}", "Description:"));
            wrap(c.desc, &mut s);
            s.push('\n');
        }
        s.push('\n');
        for f in table::FIELDS.iter().filter(|f| f.class as usize == ci) {
            if f.name.len() > RIGHT {
                s.push_str(f.name);
                s.push('\n');
                s.push_str(&" ".repeat(RIGHT));
            } else {
                s.push_str(&format!("{:<RIGHT$}", f.name));
            }
            let mut desc = String::new();
            if verbose {
                desc.push_str(&format!("(Type: {}) ", f.ty.name()));
            }
            if f.has(flags::FILTER_ONLY) {
                desc.push_str("(FILTER ONLY) ");
            }
            if !f.extracted() {
                desc.push_str(NOT_COLLECTED);
            }
            desc.push_str(f.desc);
            wrap(&desc, &mut s);
            s.push('\n');
        }
    }
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_dot_arguments() {
        let (f, a) = resolve("evt.arg.fd").unwrap();
        assert_eq!((f.name, a), ("evt.arg", Some("fd")));
        let (f, a) = resolve("evt.type.is.open").unwrap();
        assert_eq!((f.name, a), ("evt.type.is", Some("open")));
        let (f, a) = resolve("evt.type").unwrap();
        assert_eq!((f.name, a), ("evt.type", None));
        assert!(resolve("evt.nope").is_none());
        assert!(lookup("proc.name").unwrap().extracted());
        assert!(!lookup("span.id").unwrap().extracted());
    }

    #[test]
    fn counts() {
        let total = fields().len();
        let extracted = fields().iter().filter(|f| f.extracted()).count();
        let newer = fields().iter().filter(|f| f.has(flags::NEWER)).count();
        eprintln!(
            "registry: {total} fields, {newer} newer than sysdig 0.29.3, {extracted} extracted"
        );
        assert!(total > 300 && extracted > 50);
        // what sonde has no data for: orchestrators (k8s beyond what
        // container labels hold, mesos, marathon), tracing spans and plugins
        let missing: Vec<&str> = fields()
            .iter()
            .filter(|f| !f.extracted())
            .map(|f| f.name)
            .collect();
        assert_eq!(missing.len(), 73, "{missing:?}");
        assert!(missing.iter().all(|n| {
            [
                "k8s.",
                "mesos.",
                "marathon.",
                "span.",
                "evtin.",
                "evt.plugin",
            ]
            .iter()
            .any(|p| n.starts_with(p))
        }));
        for n in [
            "k8s.pod.name",
            "k8s.pod.id",
            "k8s.ns.name",
            "k8s.pod.label",
            "k8s.pod.labels",
        ] {
            assert!(lookup(n).unwrap().extracted(), "{n}");
        }
    }

    #[test]
    fn every_class_has_fields() {
        for (i, _) in classes().iter().enumerate() {
            assert!(fields().iter().any(|f| f.class as usize == i));
        }
    }
}

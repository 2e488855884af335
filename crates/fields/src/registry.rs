//! The field registry: every field name sysdig 0.29.3 knows (`sysdig -l`),
//! plus the newer fields current Falco rules use, each with its class, type,
//! description and flags, and whether sonde extracts it yet.
//!
//! Filters use it to accept a field and to type its comparisons; `sonde -l`
//! prints it in sysdig's layout; `-j` writes a value as its type says
//! ([`json_kind`]).
//!
//! The rows themselves live in the module of their class (`evt.rs`,
//! `proc/rows.rs`, `fd.rs`, ...), written with the types of `row.rs`;
//! this module puts the classes in `sysdig -l` order and owns the
//! lookups, the JSON kind of a name and the listing.

pub use crate::row::{class, flags, FieldClass, FieldInfo, FieldType, JsonKind};
use std::io::Write;

/// Every class with its rows, in `sysdig -l` order (the index of each is
/// its [`class`] constant).
const PARTS: [(FieldClass, &[FieldInfo]); 14] = [
    (crate::evt::CLASS, crate::evt::ROWS),
    (crate::evt::SYSCALL_CLASS, crate::evt::SYSCALL_ROWS),
    (crate::proc::CLASS, crate::proc::ROWS),
    (crate::user::CLASS, crate::user::ROWS),
    (crate::user::GROUP_CLASS, crate::user::GROUP_ROWS),
    (crate::container::CLASS, crate::container::ROWS),
    (crate::fd::CLASS, crate::fd::ROWS),
    (crate::syslog::CLASS, crate::syslog::ROWS),
    (crate::fdlist::CLASS, crate::fdlist::ROWS),
    (crate::k8s::CLASS, crate::k8s::ROWS),
    (crate::mesos::CLASS, crate::mesos::ROWS),
    (crate::span::CLASS, crate::span::ROWS),
    (crate::span::EVTIN_CLASS, crate::span::EVTIN_ROWS),
    (crate::fspath::CLASS, crate::fspath::ROWS),
];

static CLASSES: [FieldClass; PARTS.len()] = {
    let mut out = [PARTS[0].0; PARTS.len()];
    let mut i = 0;
    while i < PARTS.len() {
        out[i] = PARTS[i].0;
        i += 1;
    }
    out
};

/// The number of fields.
const NFIELDS: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < PARTS.len() {
        n += PARTS[i].1.len();
        i += 1;
    }
    n
};

/// All rows, class after class (checked at compile time: each row sits in
/// the part of its class).
static FIELDS: [FieldInfo; NFIELDS] = {
    let mut out = [PARTS[0].1[0]; NFIELDS];
    let mut k = 0;
    let mut i = 0;
    while i < PARTS.len() {
        let rows = PARTS[i].1;
        let mut j = 0;
        while j < rows.len() {
            assert!(
                rows[j].class as usize == i,
                "a registry row is in another class's part"
            );
            out[k] = rows[j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

impl FieldInfo {
    /// The field's class.
    pub fn class(&self) -> &'static FieldClass {
        &CLASSES[self.class as usize]
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
    &CLASSES
}

/// All fields, in `sysdig -l` order.
pub fn fields() -> &'static [FieldInfo] {
    &FIELDS
}

/// The field with exactly this name.
pub fn lookup(name: &str) -> Option<&'static FieldInfo> {
    FIELDS.iter().find(|f| f.name == name)
}

/// Resolves a field name as written in a filter, without its `[...]`
/// argument: an exact name, or a field taking a dot argument followed by
/// `.arg` (`evt.arg.fd` -> (`evt.arg`, Some("fd"))). The longest match wins.
pub fn resolve(name: &str) -> Option<(&'static FieldInfo, Option<&str>)> {
    if let Some(f) = lookup(name) {
        return Some((f, None));
    }
    let mut best: Option<(&'static FieldInfo, Option<&str>)> = None;
    for f in FIELDS.iter().filter(|f| f.has(flags::ARG_DOT)) {
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

/// How `-j` writes the field `name` as a format names it (`proc.aname[2]`,
/// `evt.arg.fd`): look it up once per format, not per event.
pub fn json_kind(name: &str) -> JsonKind {
    let base = name.split('[').next().unwrap_or(name);
    // the time of `-t`, only in formats (no row): a timestamp
    if base == "evt.outputtime" {
        return JsonKind::Ts;
    }
    match resolve(base) {
        Some((f, _)) => f.json_kind(),
        None => JsonKind::Str,
    }
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

/// The note `-l` puts before the description of fields whose data sonde
/// does not collect yet (filters accept them; they never have a value).
pub const NOT_COLLECTED: &str = "(NOT COLLECTED BY SONDE YET) ";

/// Writes the field list in `sysdig -l` layout (`verbose`: `-lv`, with types).
pub fn write_list(out: &mut impl Write, verbose: bool) -> std::io::Result<()> {
    let mut s = String::new();
    for (ci, c) in CLASSES.iter().enumerate() {
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
        for f in FIELDS.iter().filter(|f| f.class as usize == ci) {
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
        // what sonde has no data for: orchestrators (mesos, marathon),
        // tracing spans and plugins
        let missing: Vec<&str> = fields()
            .iter()
            .filter(|f| !f.extracted())
            .map(|f| f.name)
            .collect();
        assert_eq!(missing.len(), 54, "{missing:?}");
        assert!(missing.iter().all(|n| {
            ["mesos.", "marathon.", "span.", "evtin.", "evt.plugin"]
                .iter()
                .any(|p| n.starts_with(p))
        }));
        for n in [
            "k8s.pod.name",
            "k8s.rc.label",
            "k8s.svc.labels",
            "k8s.pod.ip",
        ] {
            assert!(lookup(n).unwrap().extracted(), "{n}");
        }
    }

    #[test]
    fn json_kinds_follow_types() {
        use JsonKind::*;
        for (name, kind) in [
            ("evt.num", Num),
            ("evt.outputtime", Ts),
            ("evt.time", Ts),
            ("evt.datetime.s", Ts),
            ("evt.deltatime.s", Zero),
            ("evt.failed", Bool),
            ("evt.arg.fd", Str),
            ("proc.aname[2]", Str),
            ("proc.apid[1]", Num),
            ("proc.fdusage", Num),
            ("fd.sport", Num),
            ("fd.dev", Str),
            ("fd.sip", Str),
            ("container.privileged", Bool),
        ] {
            assert_eq!(json_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn every_class_has_fields() {
        for (i, _) in classes().iter().enumerate() {
            assert!(fields().iter().any(|f| f.class as usize == i));
        }
    }
}

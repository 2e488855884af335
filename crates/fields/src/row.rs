//! What a row of the field registry is: [`FieldType`], the [`flags`],
//! [`FieldClass`], [`FieldInfo`], the [`class`] indices and how `-j`
//! writes a value ([`JsonKind`]). The class modules write their rows with
//! these; `registry.rs` puts the rows together. Re-exported from
//! [`crate::registry`].

/// The type of a field's value, named as sysdig names it (`-lv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `INT8`.
    Int8,
    /// `INT16`.
    Int16,
    /// `INT32`.
    Int32,
    /// `INT64`.
    Int64,
    /// `UINT8`.
    Uint8,
    /// `UINT16`.
    Uint16,
    /// `UINT32`.
    Uint32,
    /// `UINT64`.
    Uint64,
    /// `BOOL`.
    Bool,
    /// `CHARBUF` (text).
    Charbuf,
    /// `BYTEBUF` (binary data).
    Bytebuf,
    /// `IPADDR`.
    IpAddr,
    /// `IPNET`.
    IpNet,
    /// `PORT`.
    Port,
    /// `RELTIME` (nanoseconds).
    RelTime,
    /// `ABSTIME` (nanoseconds since the epoch).
    AbsTime,
    /// `DOUBLE`.
    Double,
    /// Depends on the event (`evt.rawarg.*`).
    Dynamic,
    /// `FSPATH`.
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
    /// `-j` writes the event timestamp (a time field whose text is a date).
    pub const JSON_TS: u16 = 128;
    /// `-j` writes 0 (see [`super::JsonKind::Zero`]).
    pub const JSON_ZERO: u16 = 256;
    /// `-j` writes a string whatever the type.
    pub const JSON_STR: u16 = 512;
}

/// A class of fields (`Field Class:` in `sysdig -l`).
#[derive(Debug, Clone, Copy)]
pub struct FieldClass {
    /// The class name (`evt`, `process`, `fd`, ...).
    pub name: &'static str,
    /// The short description `sysdig -l` puts after the name.
    pub shortdesc: &'static str,
    /// The description.
    pub desc: &'static str,
}

/// One field.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// The field name, without argument.
    pub name: &'static str,
    /// Index into [`crate::registry::classes`] (one of the [`class`]
    /// constants).
    pub class: u8,
    /// The type of its value.
    pub ty: FieldType,
    /// [`flags`].
    pub flags: u16,
    /// The description `sysdig -l` shows.
    pub desc: &'static str,
}

/// The index of each class in [`crate::registry::classes`], in
/// `sysdig -l` order.
pub mod class {
    /// `evt`: all events.
    pub const EVT: u8 = 0;
    /// `evt`: syscall events.
    pub const EVT_SYSCALL: u8 = 1;
    /// `process`: `proc.*` and `thread.*`.
    pub const PROCESS: u8 = 2;
    /// `user`.
    pub const USER: u8 = 3;
    /// `group`.
    pub const GROUP: u8 = 4;
    /// `container`.
    pub const CONTAINER: u8 = 5;
    /// `fd`.
    pub const FD: u8 = 6;
    /// `syslog`.
    pub const SYSLOG: u8 = 7;
    /// `fdlist`.
    pub const FDLIST: u8 = 8;
    /// `k8s`.
    pub const K8S: u8 = 9;
    /// `mesos` (and `marathon.*`).
    pub const MESOS: u8 = 10;
    /// `span`.
    pub const SPAN: u8 = 11;
    /// `evtin`.
    pub const EVTIN: u8 = 12;
    /// `fs.path`.
    pub const FS_PATH: u8 = 13;
}

impl FieldInfo {
    /// Whether the field has this flag ([`flags`]).
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// Whether the field takes an argument at all.
    pub fn takes_arg(&self) -> bool {
        self.flags & (flags::ARG_DOT | flags::ARG_INDEX | flags::ARG_KEY) != 0
    }
}

/// How `-j` writes a field's value (as sysdig's jsoncpp output does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// A string.
    Str,
    /// A number: the extracted decimal text as is.
    Num,
    /// `true`/`false`.
    Bool,
    /// The event timestamp in nanoseconds (time fields whose text is a
    /// formatted date: flag [`flags::JSON_TS`]).
    Ts,
    /// Always 0: sysdig evaluates `evt.deltatime` twice per event for
    /// JSON, so the second evaluation measures from the first (flag
    /// [`flags::JSON_ZERO`]).
    Zero,
}

impl FieldType {
    /// How `-j` writes a value of this type.
    pub fn json_kind(self) -> JsonKind {
        match self {
            FieldType::Bool => JsonKind::Bool,
            t if t.is_integer() || t == FieldType::Double => JsonKind::Num,
            _ => JsonKind::Str,
        }
    }
}

impl FieldInfo {
    /// How `-j` writes this field's value: as its type says, but for the
    /// fields flagged otherwise.
    pub fn json_kind(&self) -> JsonKind {
        if self.has(flags::JSON_TS) {
            JsonKind::Ts
        } else if self.has(flags::JSON_ZERO) {
            JsonKind::Zero
        } else if self.has(flags::JSON_STR) {
            JsonKind::Str
        } else {
            self.ty.json_kind()
        }
    }
}

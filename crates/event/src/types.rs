//! Parameter types, print formats, categories and event flags.
//!
//! The numeric values follow the driver ABI of falcosecurity/libs so that
//! capture files written by any version can be interpreted.

/// How a parameter is encoded in an event (the driver's `PT_*` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParamType {
    None = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Uint8 = 5,
    Uint16 = 6,
    Uint32 = 7,
    Uint64 = 8,
    Charbuf = 9,
    Bytebuf = 10,
    Errno = 11,
    Sockaddr = 12,
    Socktuple = 13,
    Fd = 14,
    Pid = 15,
    Fdlist = 16,
    Fspath = 17,
    Syscallid = 18,
    Sigtype = 19,
    Reltime = 20,
    Abstime = 21,
    Port = 22,
    L4proto = 23,
    Sockfamily = 24,
    Bool = 25,
    Ipv4addr = 26,
    Dyn = 27,
    Flags8 = 28,
    Flags16 = 29,
    Flags32 = 30,
    Uid = 31,
    Gid = 32,
    Double = 33,
    Sigset = 34,
    Charbufarray = 35,
    CharbufPairArray = 36,
    Ipv4net = 37,
    Ipv6addr = 38,
    Ipv6net = 39,
    Ipaddr = 40,
    Ipnet = 41,
    Mode = 42,
    Fsrelpath = 43,
    Enumflags8 = 44,
    Enumflags16 = 45,
    Enumflags32 = 46,
    Fd32 = 47,
    Pid32 = 48,
}

impl ParamType {
    /// Parses the type name used in the event table data (`FSPATH`, `UINT32`, ...).
    pub fn from_name(s: &str) -> Option<ParamType> {
        use ParamType::*;
        Some(match s {
            "NONE" => None,
            "INT8" => Int8,
            "INT16" => Int16,
            "INT32" => Int32,
            "INT64" => Int64,
            "UINT8" => Uint8,
            "UINT16" => Uint16,
            "UINT32" => Uint32,
            "UINT64" => Uint64,
            "CHARBUF" => Charbuf,
            "BYTEBUF" => Bytebuf,
            "ERRNO" => Errno,
            "SOCKADDR" => Sockaddr,
            "SOCKTUPLE" => Socktuple,
            "FD" => Fd,
            "PID" => Pid,
            "FDLIST" => Fdlist,
            "FSPATH" => Fspath,
            "SYSCALLID" => Syscallid,
            "SIGTYPE" => Sigtype,
            "RELTIME" => Reltime,
            "ABSTIME" => Abstime,
            "PORT" => Port,
            "L4PROTO" => L4proto,
            "SOCKFAMILY" => Sockfamily,
            "BOOL" => Bool,
            "IPV4ADDR" => Ipv4addr,
            "DYN" => Dyn,
            "FLAGS8" => Flags8,
            "FLAGS16" => Flags16,
            "FLAGS32" => Flags32,
            "UID" => Uid,
            "GID" => Gid,
            "DOUBLE" => Double,
            "SIGSET" => Sigset,
            "CHARBUFARRAY" => Charbufarray,
            "CHARBUF_PAIR_ARRAY" => CharbufPairArray,
            "IPV4NET" => Ipv4net,
            "IPV6ADDR" => Ipv6addr,
            "IPV6NET" => Ipv6net,
            "IPADDR" => Ipaddr,
            "IPNET" => Ipnet,
            "MODE" => Mode,
            "FSRELPATH" => Fsrelpath,
            "ENUMFLAGS8" => Enumflags8,
            "ENUMFLAGS16" => Enumflags16,
            "ENUMFLAGS32" => Enumflags32,
            "FD32" => Fd32,
            "PID32" => Pid32,
            _ => return Option::None,
        })
    }

    /// The name sysdig uses for this type in `-lv` listings and `-L`.
    pub fn name(self) -> &'static str {
        use ParamType::*;
        match self {
            None => "NONE",
            Int8 => "INT8",
            Int16 => "INT16",
            Int32 => "INT32",
            Int64 => "INT64",
            Uint8 => "UINT8",
            Uint16 => "UINT16",
            Uint32 => "UINT32",
            Uint64 => "UINT64",
            Charbuf => "CHARBUF",
            Bytebuf => "BYTEBUF",
            Errno => "ERRNO",
            Sockaddr => "SOCKADDR",
            Socktuple => "SOCKTUPLE",
            Fd => "FD",
            Pid => "PID",
            Fdlist => "FDLIST",
            Fspath => "FSPATH",
            Syscallid => "SYSCALLID",
            Sigtype => "SIGTYPE",
            Reltime => "RELTIME",
            Abstime => "ABSTIME",
            Port => "PORT",
            L4proto => "L4PROTO",
            Sockfamily => "SOCKFAMILY",
            Bool => "BOOL",
            Ipv4addr => "IPV4ADDR",
            Dyn => "DYN",
            Flags8 => "FLAGS8",
            Flags16 => "FLAGS16",
            Flags32 => "FLAGS32",
            Uid => "UID",
            Gid => "GID",
            Double => "DOUBLE",
            Sigset => "SIGSET",
            Charbufarray => "CHARBUFARRAY",
            CharbufPairArray => "CHARBUF_PAIR_ARRAY",
            Ipv4net => "IPV4NET",
            Ipv6addr => "IPV6ADDR",
            Ipv6net => "IPV6NET",
            Ipaddr => "IPADDR",
            Ipnet => "IPNET",
            Mode => "MODE",
            Fsrelpath => "FSRELPATH",
            Enumflags8 => "ENUMFLAGS8",
            Enumflags16 => "ENUMFLAGS16",
            Enumflags32 => "ENUMFLAGS32",
            Fd32 => "FD32",
            Pid32 => "PID32",
        }
    }

    /// Whether values of this type are a set of OR-ed flag bits.
    pub fn is_flags(self) -> bool {
        matches!(
            self,
            ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 | ParamType::Mode
        )
    }

    /// Whether values of this type are one symbol of an enumeration.
    pub fn is_enum(self) -> bool {
        matches!(
            self,
            ParamType::Enumflags8 | ParamType::Enumflags16 | ParamType::Enumflags32
        )
    }
}

/// How a numeric parameter is printed (the driver's `PF_*` formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PrintFmt {
    Na = 0,
    Dec = 1,
    Hex = 2,
    PaddedDec = 3,
    Id = 4,
    Dir = 5,
    Oct = 6,
}

impl PrintFmt {
    /// Parses the format name used in the event table data (`DEC`, `HEX`, ...).
    pub fn from_name(s: &str) -> Option<PrintFmt> {
        Some(match s {
            "NA" => PrintFmt::Na,
            "DEC" => PrintFmt::Dec,
            "HEX" => PrintFmt::Hex,
            "10_PADDED_DEC" => PrintFmt::PaddedDec,
            "ID" => PrintFmt::Id,
            "DIR" => PrintFmt::Dir,
            "OCT" => PrintFmt::Oct,
            _ => return None,
        })
    }
}

/// Event categories (`EC_*`). The low 6 bits hold one base category; the
/// rest are independent bits.
pub mod category {
    pub const UNKNOWN: u32 = 0;
    pub const OTHER: u32 = 1;
    pub const FILE: u32 = 2;
    pub const NET: u32 = 3;
    pub const IPC: u32 = 4;
    pub const MEMORY: u32 = 5;
    pub const PROCESS: u32 = 6;
    pub const SLEEP: u32 = 7;
    pub const SYSTEM: u32 = 8;
    pub const SIGNAL: u32 = 9;
    pub const USER: u32 = 10;
    pub const TIME: u32 = 11;
    pub const PROCESSING: u32 = 12;
    pub const IO_BASE: u32 = 32;
    pub const IO_READ: u32 = 32;
    pub const IO_WRITE: u32 = 33;
    pub const IO_OTHER: u32 = 34;
    pub const WAIT: u32 = 1 << 6;
    pub const SCHEDULER: u32 = 1 << 7;
    pub const INTERNAL: u32 = 1 << 8;
    pub const SYSCALL: u32 = 1 << 9;
    pub const TRACEPOINT: u32 = 1 << 10;
    pub const PLUGIN: u32 = 1 << 11;
    pub const METAEVENT: u32 = 1 << 12;
    pub const ITER: u32 = 1 << 13;

    /// Parses one `EC_*` name.
    pub fn from_name(s: &str) -> Option<u32> {
        Some(match s {
            "EC_UNKNOWN" => UNKNOWN,
            "EC_OTHER" => OTHER,
            "EC_FILE" => FILE,
            "EC_NET" => NET,
            "EC_IPC" => IPC,
            "EC_MEMORY" => MEMORY,
            "EC_PROCESS" => PROCESS,
            "EC_SLEEP" => SLEEP,
            "EC_SYSTEM" => SYSTEM,
            "EC_SIGNAL" => SIGNAL,
            "EC_USER" => USER,
            "EC_TIME" => TIME,
            "EC_PROCESSING" => PROCESSING,
            "EC_IO_READ" => IO_READ,
            "EC_IO_WRITE" => IO_WRITE,
            "EC_IO_OTHER" => IO_OTHER,
            "EC_WAIT" => WAIT,
            "EC_SCHEDULER" => SCHEDULER,
            "EC_INTERNAL" => INTERNAL,
            "EC_SYSCALL" => SYSCALL,
            "EC_TRACEPOINT" => TRACEPOINT,
            "EC_PLUGIN" => PLUGIN,
            "EC_METAEVENT" => METAEVENT,
            "EC_ITER" => ITER,
            _ => return None,
        })
    }

    /// The base category name as `evt.category` prints it.
    pub fn base_name(cat: u32) -> &'static str {
        match cat & 0x3f {
            OTHER => "other",
            FILE => "file",
            NET => "net",
            IPC => "ipc",
            MEMORY => "memory",
            PROCESS => "process",
            SLEEP => "sleep",
            SYSTEM => "system",
            SIGNAL => "signal",
            USER => "user",
            TIME => "time",
            PROCESSING => "processing",
            IO_READ | IO_WRITE | IO_OTHER => "file",
            _ => {
                if cat & WAIT != 0 {
                    "wait"
                } else if cat & SCHEDULER != 0 {
                    "scheduler"
                } else {
                    "unknown"
                }
            }
        }
    }
}

/// Event flags (`EF_*`).
pub mod flags {
    pub const NONE: u32 = 0;
    pub const CREATES_FD: u32 = 1 << 0;
    pub const DESTROYS_FD: u32 = 1 << 1;
    pub const USES_FD: u32 = 1 << 2;
    pub const READS_FROM_FD: u32 = 1 << 3;
    pub const WRITES_TO_FD: u32 = 1 << 4;
    pub const MODIFIES_STATE: u32 = 1 << 5;
    pub const UNUSED: u32 = 1 << 6;
    pub const WAITS: u32 = 1 << 7;
    pub const SKIPPARSERESET: u32 = 1 << 8;
    pub const OLD_VERSION: u32 = 1 << 9;
    pub const DROP_SIMPLE_CONS: u32 = 1 << 10;
    pub const LARGE_PAYLOAD: u32 = 1 << 11;
    pub const CONVERTER_MANAGED: u32 = 1 << 12;
    pub const TMP_CONVERTER_MANAGED: u32 = 1 << 13;

    /// Parses one `EF_*` name.
    pub fn from_name(s: &str) -> Option<u32> {
        Some(match s {
            "EF_NONE" => NONE,
            "EF_CREATES_FD" => CREATES_FD,
            "EF_DESTROYS_FD" => DESTROYS_FD,
            "EF_USES_FD" => USES_FD,
            "EF_READS_FROM_FD" => READS_FROM_FD,
            "EF_WRITES_TO_FD" => WRITES_TO_FD,
            "EF_MODIFIES_STATE" => MODIFIES_STATE,
            "EF_UNUSED" => UNUSED,
            "EF_WAITS" => WAITS,
            "EF_SKIPPARSERESET" => SKIPPARSERESET,
            "EF_OLD_VERSION" => OLD_VERSION,
            "EF_DROP_SIMPLE_CONS" => DROP_SIMPLE_CONS,
            "EF_LARGE_PAYLOAD" => LARGE_PAYLOAD,
            "EF_CONVERTER_MANAGED" => CONVERTER_MANAGED,
            "EF_TMP_CONVERTER_MANAGED" => TMP_CONVERTER_MANAGED,
            _ => return None,
        })
    }
}

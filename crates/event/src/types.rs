//! Parameter types, print formats, categories and event flags.
//!
//! The numeric values follow the driver ABI of falcosecurity/libs so that
//! capture files written by any version can be interpreted.

/// How a parameter is encoded in an event (the driver's `PT_*` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParamType {
    /// No type (`PT_NONE`).
    None = 0,
    /// Signed 8-bit integer.
    Int8 = 1,
    /// Signed 16-bit integer.
    Int16 = 2,
    /// Signed 32-bit integer.
    Int32 = 3,
    /// Signed 64-bit integer.
    Int64 = 4,
    /// Unsigned 8-bit integer.
    Uint8 = 5,
    /// Unsigned 16-bit integer.
    Uint16 = 6,
    /// Unsigned 32-bit integer.
    Uint32 = 7,
    /// Unsigned 64-bit integer.
    Uint64 = 8,
    /// NUL-terminated string.
    Charbuf = 9,
    /// Raw bytes (I/O buffers).
    Bytebuf = 10,
    /// Return value that is an errno when negative (64-bit).
    Errno = 11,
    /// Socket address (family byte, then address).
    Sockaddr = 12,
    /// Socket tuple (family byte, then both endpoints).
    Socktuple = 13,
    /// File descriptor (64-bit).
    Fd = 14,
    /// Process or thread id (64-bit).
    Pid = 15,
    /// List of fds with their poll flags.
    Fdlist = 16,
    /// File-system path.
    Fspath = 17,
    /// System call number (16-bit).
    Syscallid = 18,
    /// Signal number (8-bit).
    Sigtype = 19,
    /// Relative time, in ns.
    Reltime = 20,
    /// Absolute time, in ns since epoch.
    Abstime = 21,
    /// TCP/UDP port.
    Port = 22,
    /// Layer-4 protocol.
    L4proto = 23,
    /// Socket family.
    Sockfamily = 24,
    /// Boolean.
    Bool = 25,
    /// IPv4 address.
    Ipv4addr = 26,
    /// Type chosen by the first byte (see `DynTable`).
    Dyn = 27,
    /// 8-bit flag set.
    Flags8 = 28,
    /// 16-bit flag set.
    Flags16 = 29,
    /// 32-bit flag set.
    Flags32 = 30,
    /// User id.
    Uid = 31,
    /// Group id.
    Gid = 32,
    /// 64-bit float.
    Double = 33,
    /// Signal set.
    Sigset = 34,
    /// Array of NUL-terminated strings.
    Charbufarray = 35,
    /// Array of string pairs.
    CharbufPairArray = 36,
    /// IPv4 network.
    Ipv4net = 37,
    /// IPv6 address.
    Ipv6addr = 38,
    /// IPv6 network.
    Ipv6net = 39,
    /// IPv4 or IPv6 address.
    Ipaddr = 40,
    /// IPv4 or IPv6 network.
    Ipnet = 41,
    /// File mode bits.
    Mode = 42,
    /// Path relative to a dirfd parameter.
    Fsrelpath = 43,
    /// 8-bit enumeration value.
    Enumflags8 = 44,
    /// 16-bit enumeration value.
    Enumflags16 = 45,
    /// 32-bit enumeration value.
    Enumflags32 = 46,
    /// File descriptor (32-bit).
    Fd32 = 47,
    /// Process or thread id (32-bit).
    Pid32 = 48,
}

impl ParamType {
    /// Whether a value of this type is a signed (`Some(true)`) or unsigned
    /// (`Some(false)`) little-endian integer; `None` for everything else
    /// (strings, buffers, addresses, ...).
    pub fn int_sign(self) -> Option<bool> {
        use ParamType as T;
        match self {
            T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid => Some(true),
            T::Uint8
            | T::Uint16
            | T::Uint32
            | T::Uint64
            | T::Flags8
            | T::Flags16
            | T::Flags32
            | T::Uid
            | T::Gid
            | T::Mode
            | T::Reltime
            | T::Abstime
            | T::Port
            | T::Sigtype
            | T::Syscallid => Some(false),
            _ => None,
        }
    }

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
    /// No format.
    Na = 0,
    /// Decimal.
    Dec = 1,
    /// Hexadecimal.
    Hex = 2,
    /// Decimal padded to 10 digits.
    PaddedDec = 3,
    /// An id (decimal, resolved to a name where sysdig does).
    Id = 4,
    /// A directory fd (decimal, or `AT_FDCWD`).
    Dir = 5,
    /// Octal.
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
    /// Unknown category.
    pub const UNKNOWN: u32 = 0;
    /// Other.
    pub const OTHER: u32 = 1;
    /// File operations.
    pub const FILE: u32 = 2;
    /// Network operations.
    pub const NET: u32 = 3;
    /// Inter-process communication.
    pub const IPC: u32 = 4;
    /// Memory management.
    pub const MEMORY: u32 = 5;
    /// Process management.
    pub const PROCESS: u32 = 6;
    /// Sleeping.
    pub const SLEEP: u32 = 7;
    /// System administration.
    pub const SYSTEM: u32 = 8;
    /// Signals.
    pub const SIGNAL: u32 = 9;
    /// User events.
    pub const USER: u32 = 10;
    /// Time.
    pub const TIME: u32 = 11;
    /// Processing (no wait).
    pub const PROCESSING: u32 = 12;
    /// First of the I/O categories.
    pub const IO_BASE: u32 = 32;
    /// I/O reads.
    pub const IO_READ: u32 = 32;
    /// I/O writes.
    pub const IO_WRITE: u32 = 33;
    /// Other I/O.
    pub const IO_OTHER: u32 = 34;
    /// Bit: the event may wait.
    pub const WAIT: u32 = 1 << 6;
    /// Bit: scheduler event.
    pub const SCHEDULER: u32 = 1 << 7;
    /// Bit: internal event.
    pub const INTERNAL: u32 = 1 << 8;
    /// Bit: system call.
    pub const SYSCALL: u32 = 1 << 9;
    /// Bit: tracepoint.
    pub const TRACEPOINT: u32 = 1 << 10;
    /// Bit: plugin event.
    pub const PLUGIN: u32 = 1 << 11;
    /// Bit: metaevent.
    pub const METAEVENT: u32 = 1 << 12;
    /// Bit: iterator event.
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
    /// No flags.
    pub const NONE: u32 = 0;
    /// The event creates an fd.
    pub const CREATES_FD: u32 = 1 << 0;
    /// The event destroys an fd.
    pub const DESTROYS_FD: u32 = 1 << 1;
    /// The event operates on an fd.
    pub const USES_FD: u32 = 1 << 2;
    /// The event reads from an fd.
    pub const READS_FROM_FD: u32 = 1 << 3;
    /// The event writes to an fd.
    pub const WRITES_TO_FD: u32 = 1 << 4;
    /// The event changes the state (threads, fds).
    pub const MODIFIES_STATE: u32 = 1 << 5;
    /// The event is not used.
    pub const UNUSED: u32 = 1 << 6;
    /// The event waits.
    pub const WAITS: u32 = 1 << 7;
    /// The parser does not reset the thread's saved enter event for it.
    pub const SKIPPARSERESET: u32 = 1 << 8;
    /// An old version of an event.
    pub const OLD_VERSION: u32 = 1 << 9;
    /// Dropped in simple consumer mode.
    pub const DROP_SIMPLE_CONS: u32 = 1 << 10;
    /// Parameters have 32-bit lengths.
    pub const LARGE_PAYLOAD: u32 = 1 << 11;
    /// Converted by the scap converter.
    pub const CONVERTER_MANAGED: u32 = 1 << 12;
    /// Temporarily converted by the scap converter.
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

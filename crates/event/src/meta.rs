//! The metadata records every source of events shares: threads, file
//! descriptors, users and groups, interfaces and machine info, as capture
//! files store them and as the live probe reads them from the host.
//!
//! Owns the records only. Encoding them into and decoding them from
//! capture-file blocks belongs to `sonde-scap`; applying them to the tables
//! belongs to `sonde-state`.

/// The machine-info block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub num_cpus: u32,
    pub memory_size_bytes: u64,
    pub max_pid: u64,
    pub hostname: String,
    /// Boot time (ns since epoch) when the writer recorded it, else 0.
    pub boot_ts_epoch: u64,
    pub flags: u64,
    pub reserved3: u64,
    pub reserved4: u64,
}

/// One thread from a process-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadInfo {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub pgid: i64,
    pub comm: Vec<u8>,
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    /// Arguments, each followed by a NUL.
    pub args: Vec<u8>,
    pub cwd: Vec<u8>,
    pub fdlimit: i64,
    pub flags: u32,
    pub uid: u32,
    pub gid: u32,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    /// Environment, each entry followed by a NUL.
    pub env: Vec<u8>,
    pub vtid: i64,
    pub vpid: i64,
    /// cgroups as `subsys=path` entries, each followed by a NUL.
    pub cgroups: Vec<u8>,
    pub root: Vec<u8>,
    pub loginuid: u32,
    pub exe_writable: bool,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub exe_upper_layer: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime: u64,
    pub exe_ino_mtime: u64,
    pub exe_from_memfd: bool,
    pub exe_lower_layer: bool,
    pub pidns_init_start_ts: u64,
    pub tty: u32,
}

/// File descriptor kinds as stored in fd-list blocks (`SCAP_FD_*`).
pub mod fd_kind {
    pub const UNKNOWN: u8 = 0;
    pub const FILE: u8 = 1;
    pub const DIRECTORY: u8 = 2;
    pub const IPV4_SOCK: u8 = 3;
    pub const IPV6_SOCK: u8 = 4;
    pub const IPV4_SERVSOCK: u8 = 5;
    pub const IPV6_SERVSOCK: u8 = 6;
    pub const FIFO: u8 = 7;
    pub const UNIX_SOCK: u8 = 8;
    pub const EVENT: u8 = 9;
    pub const UNSUPPORTED: u8 = 10;
    pub const SIGNALFD: u8 = 11;
    pub const EVENTPOLL: u8 = 12;
    pub const INOTIFY: u8 = 13;
    pub const TIMERFD: u8 = 14;
    pub const NETLINK: u8 = 15;
    pub const FILE_V2: u8 = 16;
    pub const BPF: u8 = 17;
    pub const USERFAULTFD: u8 = 18;
    pub const IOURING: u8 = 19;
    pub const MEMFD: u8 = 20;
    pub const PIDFD: u8 = 21;
}

/// What an fd-list entry says about its file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdDetail {
    Ipv4 {
        sip: [u8; 4],
        dip: [u8; 4],
        sport: u16,
        dport: u16,
        l4proto: u8,
    },
    Ipv6 {
        sip: [u8; 16],
        dip: [u8; 16],
        sport: u16,
        dport: u16,
        l4proto: u8,
    },
    Ipv4Server {
        ip: [u8; 4],
        port: u16,
        l4proto: u8,
    },
    Ipv6Server {
        ip: [u8; 16],
        port: u16,
        l4proto: u8,
    },
    Unix {
        source: u64,
        dest: u64,
        path: Vec<u8>,
    },
    File {
        open_flags: u32,
        path: Vec<u8>,
        dev: u32,
    },
    Named(Vec<u8>),
    None,
}

/// One entry of an fd-list block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    pub fd: i64,
    pub ino: u64,
    /// One of [`fd_kind`].
    pub kind: u8,
    pub detail: FdDetail,
}

/// A user from a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub uid: u32,
    pub gid: u32,
    pub name: Vec<u8>,
    pub homedir: Vec<u8>,
    pub shell: Vec<u8>,
}

/// A group from a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub gid: u32,
    pub name: Vec<u8>,
}

/// The users and groups of a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserList {
    pub users: Vec<UserInfo>,
    pub groups: Vec<GroupInfo>,
}

/// An IPv4 interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceV4 {
    pub name: Vec<u8>,
    pub addr: [u8; 4],
    pub netmask: [u8; 4],
    pub bcast: [u8; 4],
    pub linkspeed: u64,
}

/// An IPv6 interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceV6 {
    pub name: Vec<u8>,
    pub addr: [u8; 16],
    pub netmask: [u8; 16],
    pub bcast: [u8; 16],
    pub linkspeed: u64,
}

/// The interface list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfList {
    pub v4: Vec<IfaceV4>,
    pub v6: Vec<IfaceV6>,
}

/// Everything a capture carries before its first event.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// The machine-info record, if any.
    pub machine: Option<MachineInfo>,
    /// The interface list.
    pub ifaces: IfList,
    /// Users and groups.
    pub users: UserList,
    /// The process table.
    pub threads: Vec<ThreadInfo>,
    /// fd lists by thread id; only threads present in `threads` are written.
    pub fds: Vec<(i64, Vec<FdInfo>)>,
}

/// One piece of metadata, borrowed from wherever it was read (a capture
/// block, a /proc scan): what the state engine applies.
#[derive(Debug, Clone, Copy)]
pub enum MetaRef<'a> {
    /// The machine-info record.
    Machine(&'a MachineInfo),
    /// Part of the process table.
    Threads(&'a [ThreadInfo]),
    /// The fd table of process `tid`.
    Fds {
        /// The thread (main thread of its process) owning the table.
        tid: i64,
        /// Its fds.
        fds: &'a [FdInfo],
    },
    /// Users and groups.
    Users(&'a UserList),
    /// The interface list.
    Ifaces(&'a IfList),
}

/// Something that may carry metadata (a capture block, for instance):
/// lets the state engine take it without knowing its type.
pub trait AsMeta {
    /// The metadata this carries, if any.
    fn as_meta(&self) -> Option<MetaRef<'_>>;
}

impl AsMeta for MetaRef<'_> {
    fn as_meta(&self) -> Option<MetaRef<'_>> {
        Some(*self)
    }
}

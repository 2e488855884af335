//! Block type codes and the metadata records that capture files carry.

/// Section header block.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic in the section header.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;
pub const MI: u32 = 0x201;
pub const MI_INT: u32 = 0x8002_ABCD;
pub const PL_V1: u32 = 0x202;
pub const PL_V1_INT: u32 = 0x8000_ABCD;
pub const PL_V2: u32 = 0x207;
pub const PL_V2_INT: u32 = 0x8013_ABCD;
pub const PL_V3: u32 = 0x209;
pub const PL_V3_INT: u32 = 0x8014_ABCD;
pub const PL_V4: u32 = 0x210;
pub const PL_V5: u32 = 0x211;
pub const PL_V6: u32 = 0x212;
pub const PL_V7: u32 = 0x213;
pub const PL_V8: u32 = 0x214;
pub const PL_V9: u32 = 0x215;
pub const FDL: u32 = 0x203;
pub const FDL_INT: u32 = 0x8001_ABCD;
pub const FDL_V2: u32 = 0x218;
pub const EV: u32 = 0x204;
pub const EV_INT: u32 = 0x8010_ABCD;
pub const EV_V2: u32 = 0x216;
pub const EV_V2_LARGE: u32 = 0x221;
pub const IL: u32 = 0x205;
pub const IL_INT: u32 = 0x8011_ABCD;
pub const IL_V2: u32 = 0x219;
pub const UL: u32 = 0x206;
pub const UL_INT: u32 = 0x8012_ABCD;
pub const UL_V2: u32 = 0x220;
pub const EVF: u32 = 0x208;
pub const EVF_V2: u32 = 0x217;
pub const EVF_V2_LARGE: u32 = 0x222;

/// Process-list block generation 1..=9 for a block type, if it is one.
pub fn proclist_version(bt: u32) -> Option<u8> {
    Some(match bt {
        PL_V1 | PL_V1_INT => 1,
        PL_V2 | PL_V2_INT => 2,
        PL_V3 | PL_V3_INT => 3,
        PL_V4 => 4,
        PL_V5 => 5,
        PL_V6 => 6,
        PL_V7 => 7,
        PL_V8 => 8,
        PL_V9 => 9,
        _ => return None,
    })
}

/// The section header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionHeader {
    pub major: u16,
    pub minor: u16,
    pub section_length: u64,
    /// Raw option bytes after the fixed header (pcapng-style options), if any.
    pub options: Vec<u8>,
}

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

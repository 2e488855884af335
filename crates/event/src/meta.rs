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
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory, in bytes.
    pub memory_size_bytes: u64,
    /// The highest pid the kernel hands out.
    pub max_pid: u64,
    /// The host name.
    pub hostname: String,
    /// Boot time (ns since epoch) when the writer recorded it, else 0.
    pub boot_ts_epoch: u64,
    /// Machine flags (`SCAP_*` flags of the writer).
    pub flags: u64,
    /// Reserved (written as read).
    pub reserved3: u64,
    /// Reserved (written as read).
    pub reserved4: u64,
}

/// One thread from a process-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Thread id.
    pub tid: i64,
    /// Process id (the main thread's tid).
    pub pid: i64,
    /// Parent thread id.
    pub ptid: i64,
    /// Session id.
    pub sid: i64,
    /// Process group id in the thread's pid namespace.
    pub vpgid: i64,
    /// Process group id as the host sees it (-1: unknown).
    pub pgid: i64,
    /// Command name (`comm`).
    pub comm: Vec<u8>,
    /// The executable as invoked (`argv[0]`).
    pub exe: Vec<u8>,
    /// Full path of the executable.
    pub exepath: Vec<u8>,
    /// Arguments, each followed by a NUL.
    pub args: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// Open-file limit (`RLIMIT_NOFILE`).
    pub fdlimit: i64,
    /// Thread flags (`PPM_CL_*` clone flags).
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Virtual memory size, in KiB.
    pub vmsize_kb: u32,
    /// Resident set size, in KiB.
    pub vmrss_kb: u32,
    /// Swapped-out memory, in KiB.
    pub vmswap_kb: u32,
    /// Major page faults.
    pub pfmajor: u64,
    /// Minor page faults.
    pub pfminor: u64,
    /// Environment, each entry followed by a NUL.
    pub env: Vec<u8>,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace.
    pub vpid: i64,
    /// cgroups as `subsys=path` entries, each followed by a NUL.
    pub cgroups: Vec<u8>,
    /// Root directory.
    pub root: Vec<u8>,
    /// Login (audit) user id.
    pub loginuid: u32,
    /// Whether the executable is writable by the thread's user.
    pub exe_writable: bool,
    /// Inheritable capability set.
    pub cap_inheritable: u64,
    /// Permitted capability set.
    pub cap_permitted: u64,
    /// Effective capability set.
    pub cap_effective: u64,
    /// Whether the executable is on an overlayfs upper layer.
    pub exe_upper_layer: bool,
    /// Inode of the executable.
    pub exe_ino: u64,
    /// Change time of the executable's inode (ns).
    pub exe_ino_ctime: u64,
    /// Modification time of the executable's inode (ns).
    pub exe_ino_mtime: u64,
    /// Whether the executable is a memfd.
    pub exe_from_memfd: bool,
    /// Whether the executable is on an overlayfs lower layer.
    pub exe_lower_layer: bool,
    /// Start of the thread's pid namespace (ns since epoch, 0: unknown).
    pub pidns_init_start_ts: u64,
    /// Controlling terminal (device number, 0: none).
    pub tty: u32,
}

/// File descriptor kinds as stored in fd-list blocks (`SCAP_FD_*`).
pub mod fd_kind {
    /// Unknown kind.
    pub const UNKNOWN: u8 = 0;
    /// A file (old layout).
    pub const FILE: u8 = 1;
    /// A directory.
    pub const DIRECTORY: u8 = 2;
    /// An IPv4 socket.
    pub const IPV4_SOCK: u8 = 3;
    /// An IPv6 socket.
    pub const IPV6_SOCK: u8 = 4;
    /// An IPv4 server (listening) socket.
    pub const IPV4_SERVSOCK: u8 = 5;
    /// An IPv6 server (listening) socket.
    pub const IPV6_SERVSOCK: u8 = 6;
    /// A pipe or fifo.
    pub const FIFO: u8 = 7;
    /// A unix socket.
    pub const UNIX_SOCK: u8 = 8;
    /// An eventfd.
    pub const EVENT: u8 = 9;
    /// A kind the format does not describe (named only).
    pub const UNSUPPORTED: u8 = 10;
    /// A signalfd.
    pub const SIGNALFD: u8 = 11;
    /// An epoll fd.
    pub const EVENTPOLL: u8 = 12;
    /// An inotify fd.
    pub const INOTIFY: u8 = 13;
    /// A timerfd.
    pub const TIMERFD: u8 = 14;
    /// A netlink socket.
    pub const NETLINK: u8 = 15;
    /// A file (current layout: with open flags and device).
    pub const FILE_V2: u8 = 16;
    /// A bpf object fd.
    pub const BPF: u8 = 17;
    /// A userfaultfd.
    pub const USERFAULTFD: u8 = 18;
    /// An io_uring fd.
    pub const IOURING: u8 = 19;
    /// A memfd.
    pub const MEMFD: u8 = 20;
    /// A pidfd.
    pub const PIDFD: u8 = 21;
}

/// What an fd-list entry says about its file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdDetail {
    /// A connected IPv4 socket.
    Ipv4 {
        /// Source address.
        sip: [u8; 4],
        /// Destination address.
        dip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// A connected IPv6 socket.
    Ipv6 {
        /// Source address.
        sip: [u8; 16],
        /// Destination address.
        dip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// A listening IPv4 socket.
    Ipv4Server {
        /// Bound address.
        ip: [u8; 4],
        /// Bound port.
        port: u16,
        /// Layer-4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// A listening IPv6 socket.
    Ipv6Server {
        /// Bound address.
        ip: [u8; 16],
        /// Bound port.
        port: u16,
        /// Layer-4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// A unix socket.
    Unix {
        /// Kernel pointer of this end.
        source: u64,
        /// Kernel pointer of the peer.
        dest: u64,
        /// Socket path.
        path: Vec<u8>,
    },
    /// A file.
    File {
        /// Flags it was opened with (`PPM_O_*`).
        open_flags: u32,
        /// Its path.
        path: Vec<u8>,
        /// Device number of its file system.
        dev: u32,
    },
    /// Any other kind, with its name.
    Named(Vec<u8>),
    /// No detail.
    None,
}

/// One entry of an fd-list block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    /// The fd number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// One of [`fd_kind`].
    pub kind: u8,
    /// The kind-specific detail.
    pub detail: FdDetail,
}

/// A user from a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// User name.
    pub name: Vec<u8>,
    /// Home directory.
    pub homedir: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// A group from a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: Vec<u8>,
}

/// The users and groups of a user-list block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserList {
    /// The users.
    pub users: Vec<UserInfo>,
    /// The groups.
    pub groups: Vec<GroupInfo>,
}

/// An IPv4 interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceV4 {
    /// Interface name.
    pub name: Vec<u8>,
    /// Address.
    pub addr: [u8; 4],
    /// Netmask.
    pub netmask: [u8; 4],
    /// Broadcast address.
    pub bcast: [u8; 4],
    /// Link speed (Mbit/s, 0: unknown).
    pub linkspeed: u64,
}

/// An IPv6 interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceV6 {
    /// Interface name.
    pub name: Vec<u8>,
    /// Address.
    pub addr: [u8; 16],
    /// Netmask.
    pub netmask: [u8; 16],
    /// Broadcast address.
    pub bcast: [u8; 16],
    /// Link speed (Mbit/s, 0: unknown).
    pub linkspeed: u64,
}

/// The interface list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfList {
    /// IPv4 addresses.
    pub v4: Vec<IfaceV4>,
    /// IPv6 addresses.
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

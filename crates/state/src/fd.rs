//! File descriptors and what they point to.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The kind of object a file descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FdType {
    /// Unknown kind.
    Unknown,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// An IPv4 socket.
    Ipv4Sock,
    /// An IPv6 socket.
    Ipv6Sock,
    /// An IPv4 server (bound) socket.
    Ipv4ServSock,
    /// An IPv6 server (bound) socket.
    Ipv6ServSock,
    /// A pipe or fifo.
    Fifo,
    /// A unix socket.
    UnixSock,
    /// An eventfd.
    Event,
    /// A kind sysdig does not describe.
    Unsupported,
    /// A signalfd.
    Signalfd,
    /// An epoll fd.
    Eventpoll,
    /// An inotify fd.
    Inotify,
    /// A timerfd.
    Timerfd,
    /// A netlink socket.
    Netlink,
    /// A bpf object fd.
    Bpf,
    /// A userfaultfd.
    Userfaultfd,
    /// An io_uring fd.
    Iouring,
    /// A memfd.
    Memfd,
    /// A pidfd.
    Pidfd,
}

impl FdType {
    /// From the `SCAP_FD_*` code used in fd-list blocks.
    pub fn from_scap(k: u8) -> FdType {
        use FdType::*;
        match k {
            1 | 16 => File,
            2 => Directory,
            3 => Ipv4Sock,
            4 => Ipv6Sock,
            5 => Ipv4ServSock,
            6 => Ipv6ServSock,
            7 => Fifo,
            8 => UnixSock,
            9 => Event,
            10 => Unsupported,
            11 => Signalfd,
            12 => Eventpoll,
            13 => Inotify,
            14 => Timerfd,
            15 => Netlink,
            17 => Bpf,
            18 => Userfaultfd,
            19 => Iouring,
            20 => Memfd,
            21 => Pidfd,
            _ => Unknown,
        }
    }

    /// The one-letter code sysdig shows in fd annotations (`<f>`, `<4>`, ...).
    pub fn type_char(self) -> char {
        use FdType::*;
        match self {
            File => 'f',
            Directory => 'd',
            Ipv4Sock | Ipv4ServSock => '4',
            Ipv6Sock | Ipv6ServSock => '6',
            Fifo => 'p',
            UnixSock => 'u',
            Event => 'e',
            Unsupported => 'o',
            Signalfd => 's',
            Eventpoll => 'l',
            Inotify => 'i',
            Timerfd => 't',
            Netlink => 'n',
            Bpf => 'b',
            Userfaultfd => 'u',
            Iouring => 'r',
            Memfd => 'm',
            Pidfd => 'P',
            Unknown => '?',
        }
    }

    /// The name `fd.type` reports.
    pub fn name(self) -> &'static str {
        use FdType::*;
        match self {
            File => "file",
            Directory => "directory",
            Ipv4Sock | Ipv4ServSock => "ipv4",
            Ipv6Sock | Ipv6ServSock => "ipv6",
            Fifo => "pipe",
            UnixSock => "unix",
            Event => "event",
            Unsupported => "unknown",
            Signalfd => "signalfd",
            Eventpoll => "eventpoll",
            Inotify => "inotify",
            Timerfd => "timerfd",
            Netlink => "netlink",
            Bpf => "bpf",
            Userfaultfd => "userfaultfd",
            Iouring => "io_uring",
            Memfd => "memfd",
            Pidfd => "pidfd",
            Unknown => "<NA>",
        }
    }

    /// Whether it is a socket of any family.
    pub fn is_socket(self) -> bool {
        matches!(
            self,
            FdType::Ipv4Sock
                | FdType::Ipv6Sock
                | FdType::Ipv4ServSock
                | FdType::Ipv6ServSock
                | FdType::UnixSock
        )
    }
}

/// Transport protocol of a socket (`SCAP_L4_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum L4Proto {
    /// Not known (yet).
    #[default]
    Unknown,
    /// Not applicable.
    Na,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// A raw socket.
    Raw,
}

impl L4Proto {
    /// From an fd-list record's `SCAP_L4_*` code.
    pub fn from_scap(v: u8) -> L4Proto {
        match v {
            1 => L4Proto::Na,
            2 => L4Proto::Tcp,
            3 => L4Proto::Udp,
            4 => L4Proto::Icmp,
            5 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// The letter shown after the type letter in fd annotations.
    pub fn letter(self) -> Option<char> {
        match self {
            L4Proto::Tcp => Some('t'),
            L4Proto::Udp => Some('u'),
            L4Proto::Icmp => Some('i'),
            L4Proto::Raw => Some('r'),
            _ => None,
        }
    }

    /// The name `fd.l4proto` reports.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
            _ => "<NA>",
        }
    }
}

/// Network endpoints of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SockAddrs {
    /// No endpoints known.
    #[default]
    None,
    /// An IPv4 connection.
    V4 {
        /// Source address.
        sip: Ipv4Addr,
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: Ipv4Addr,
        /// Destination port.
        dport: u16,
    },
    /// An IPv6 connection.
    V6 {
        /// Source address.
        sip: Ipv6Addr,
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: Ipv6Addr,
        /// Destination port.
        dport: u16,
    },
    /// A bound IPv4 server socket.
    V4Server {
        /// Bound address.
        ip: Ipv4Addr,
        /// Bound port.
        port: u16,
    },
    /// A bound IPv6 server socket.
    V6Server {
        /// Bound address.
        ip: Ipv6Addr,
        /// Bound port.
        port: u16,
    },
    /// A unix socket connection.
    Unix {
        /// Kernel pointer of this end.
        source: u64,
        /// Kernel pointer of the peer.
        dest: u64,
    },
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fd {
    /// What it refers to.
    pub kind: FdType,
    /// The name sysdig shows: a path, a connection tuple, ...
    pub name: Vec<u8>,
    /// Open flags (`PPM_O_*`) for files.
    pub flags: u32,
    /// Inode number (0: unknown).
    pub ino: u64,
    /// Device number of the file's file system (0: unknown).
    pub dev: u32,
    /// Transport protocol of a socket.
    pub l4: L4Proto,
    /// Endpoints of a socket.
    pub addrs: SockAddrs,
    /// Whether this socket was seen connecting (client) or accepting (server side).
    pub role_client: bool,
    /// Whether this socket is the server side of its connection.
    pub role_server: bool,
    /// Socket type given to socket() (SOCK_STREAM=1, SOCK_DGRAM=2, ...), 0 if unknown.
    pub sock_type: u32,
    /// Whether the socket is known to be connected (a successful connect,
    /// accept, or I/O on an IP socket).
    pub connected: bool,
    /// The path as the open call gave it, when that differs from `name`.
    pub name_raw: Option<Box<[u8]>>,
}

impl Fd {
    /// An fd of `kind` named `name`, nothing else known.
    pub fn new(kind: FdType, name: impl Into<Vec<u8>>) -> Fd {
        Fd {
            kind,
            name: name.into(),
            flags: 0,
            ino: 0,
            dev: 0,
            l4: L4Proto::Unknown,
            addrs: SockAddrs::None,
            role_client: false,
            role_server: false,
            sock_type: 0,
            connected: false,
            name_raw: None,
        }
    }

    /// The path as the open call gave it (`fd.nameraw`): empty for fds
    /// not opened by path.
    pub fn raw_name(&self) -> &[u8] {
        match &self.name_raw {
            Some(r) => r,
            None if matches!(self.kind, FdType::File | FdType::Directory) => &self.name,
            None => b"",
        }
    }

    /// Remembers the path an open call gave.
    pub fn set_raw_name(&mut self, raw: &[u8]) {
        self.name_raw = (raw != self.name.as_slice()).then(|| raw.into());
    }

    /// Renders the annotation sysdig appends to fd values: `<f>/etc/passwd`.
    pub fn annotation(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        let mut tmp = [0u8; 4];
        out.extend_from_slice(self.kind.type_char().encode_utf8(&mut tmp).as_bytes());
        if let Some(l) = self.l4proto().letter() {
            out.push(l as u8);
        }
        out.push(b'>');
        out.extend_from_slice(&self.name);
    }
}

//! Parsers for the metadata blocks. Each takes a block body (without the
//! block header and trailer) and returns owned records or a message.

use crate::blocks::*;

type R<T> = Result<T, String>;

/// A bounds-checked little-endian cursor.
pub(crate) struct Cur<'a> {
    b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cur<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cur { b, pos: 0 }
    }
    pub(crate) fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    pub(crate) fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        if self.left() < n {
            return Err(format!(
                "record needs {n} more bytes at body offset {}, {} left",
                self.pos,
                self.left()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub(crate) fn u8(&mut self) -> R<u8> {
        Ok(self.bytes(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> R<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> R<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self) -> R<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn i64(&mut self) -> R<i64> {
        Ok(self.u64()? as i64)
    }
    fn arr4(&mut self) -> R<[u8; 4]> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.bytes(4)?);
        Ok(a)
    }
    fn arr16(&mut self) -> R<[u8; 16]> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.bytes(16)?);
        Ok(a)
    }
    /// A string prefixed by its u16 length (not NUL-terminated on disk).
    pub(crate) fn str16(&mut self, max: usize, what: &str) -> R<Vec<u8>> {
        let n = self.u16()? as usize;
        if n > max {
            return Err(format!("{what} length {n} exceeds {max}"));
        }
        Ok(self.bytes(n)?.to_vec())
    }
}

const MAX_PATH: usize = 1024;
const MAX_ARGS: usize = 4096;
const MAX_ENV: usize = 4096;
const MAX_CGROUPS: usize = 4096;
const MAX_CRED: usize = 256;

pub(crate) fn parse_machine(b: &[u8]) -> R<MachineInfo> {
    let mut c = Cur::new(b);
    let num_cpus = c.u32()?;
    let memory_size_bytes = c.u64()?;
    let max_pid = c.u64()?;
    let host = c.bytes(128)?;
    let hostname = String::from_utf8_lossy(sonde_event::cstr(host)).into_owned();
    let mut m = MachineInfo {
        num_cpus,
        memory_size_bytes,
        max_pid,
        hostname,
        ..Default::default()
    };
    if c.left() >= 32 {
        m.boot_ts_epoch = c.u64()?;
        m.flags = c.u64()?;
        m.reserved3 = c.u64()?;
        m.reserved4 = c.u64()?;
    }
    Ok(m)
}

pub(crate) fn parse_proclist(b: &[u8], v: u8) -> R<Vec<ThreadInfo>> {
    let mut c = Cur::new(b);
    let mut out = Vec::new();
    while c.left() >= 4 {
        let start = c.pos;
        let sub_len = if v == 9 { c.u32()? as usize } else { 0 };
        if v == 9 && (sub_len < 4 || sub_len > b.len() - start) {
            return Err(format!("process entry length {sub_len} is impossible"));
        }
        let mut t = ThreadInfo {
            sid: -1,
            vpgid: -1,
            vtid: -1,
            vpid: -1,
            pgid: -1,
            loginuid: u32::MAX,
            ..Default::default()
        };
        t.tid = c.i64()?;
        t.pid = c.i64()?;
        t.ptid = c.i64()?;
        if v >= 6 {
            t.sid = c.i64()?;
        }
        if v >= 8 {
            t.vpgid = c.i64()?;
        }
        t.comm = c.str16(MAX_PATH, "comm")?;
        t.exe = c.str16(MAX_PATH, "exe")?;
        if v >= 7 {
            t.exepath = c.str16(MAX_PATH, "exepath")?;
        }
        t.args = c.str16(MAX_ARGS, "args")?;
        t.cwd = c.str16(MAX_PATH, "cwd")?;
        t.fdlimit = c.i64()?;
        t.flags = c.u32()?;
        t.uid = c.u32()?;
        t.gid = c.u32()?;
        if v >= 2 {
            t.vmsize_kb = c.u32()?;
            t.vmrss_kb = c.u32()?;
            t.vmswap_kb = c.u32()?;
            t.pfmajor = c.u64()?;
            t.pfminor = c.u64()?;
            if v >= 3 {
                t.env = c.str16(MAX_ENV, "env")?;
            }
            if v >= 4 {
                t.vtid = c.i64()?;
                t.vpid = c.i64()?;
                t.cgroups = c.str16(MAX_CGROUPS, "cgroups")?;
                if v >= 5 {
                    t.root = c.str16(MAX_PATH, "root")?;
                }
            }
        }
        if v == 9 {
            let end = start + sub_len;
            if c.pos > end {
                return Err(format!("process entry overruns its length {sub_len}"));
            }
            let room = |c: &Cur, n: usize| c.pos + n <= end;
            // Writers since libs 0.10 put two fields before loginuid; older
            // ones wrote at most 29 bytes of trailing fields.
            if end - c.pos > 29 {
                if room(&c, 8) {
                    t.pidns_init_start_ts = c.u64()?;
                }
                if room(&c, 4) {
                    t.tty = c.u32()?;
                }
            }
            if room(&c, 4) {
                t.loginuid = c.u32()?;
            }
            if room(&c, 1) {
                t.exe_writable = c.u8()? != 0;
            }
            if room(&c, 8) {
                t.cap_inheritable = c.u64()?;
            }
            if room(&c, 8) {
                t.cap_permitted = c.u64()?;
            }
            if room(&c, 8) {
                t.cap_effective = c.u64()?;
            }
            if room(&c, 1) {
                t.exe_upper_layer = c.u8()? != 0;
            }
            if room(&c, 8) {
                t.exe_ino = c.u64()?;
            }
            if room(&c, 8) {
                t.exe_ino_ctime = c.u64()?;
            }
            if room(&c, 8) {
                t.exe_ino_mtime = c.u64()?;
            }
            if room(&c, 1) {
                t.exe_from_memfd = c.u8()? != 0;
            }
            if room(&c, 1) {
                t.exe_lower_layer = c.u8()? != 0;
            }
            if room(&c, 8) {
                t.pgid = c.i64()?;
            }
            if c.pos > end {
                return Err(format!("process entry overruns its length {sub_len}"));
            }
            c.pos = end;
        }
        out.push(t);
    }
    Ok(out)
}

pub(crate) fn parse_fdlist(b: &[u8], v2: bool) -> R<(i64, Vec<FdInfo>)> {
    let mut c = Cur::new(b);
    let tid = c.i64()?;
    let mut fds = Vec::new();
    while c.left() >= 4 {
        let start = c.pos;
        let sub_len = if v2 { c.u32()? as usize } else { 0 };
        if v2 && (sub_len < 4 || sub_len > b.len() - start) {
            return Err(format!("fd entry length {sub_len} is impossible"));
        }
        let fd = c.i64()?;
        let ino = c.u64()?;
        let kind = c.u8()?;
        use fd_kind::*;
        let detail = match kind {
            IPV4_SOCK => FdDetail::Ipv4 {
                sip: c.arr4()?,
                dip: c.arr4()?,
                sport: c.u16()?,
                dport: c.u16()?,
                l4proto: c.u8()?,
            },
            IPV4_SERVSOCK => FdDetail::Ipv4Server {
                ip: c.arr4()?,
                port: c.u16()?,
                l4proto: c.u8()?,
            },
            IPV6_SOCK => FdDetail::Ipv6 {
                sip: c.arr16()?,
                dip: c.arr16()?,
                sport: c.u16()?,
                dport: c.u16()?,
                l4proto: c.u8()?,
            },
            IPV6_SERVSOCK => FdDetail::Ipv6Server {
                ip: c.arr16()?,
                port: c.u16()?,
                l4proto: c.u8()?,
            },
            UNIX_SOCK => FdDetail::Unix {
                source: c.u64()?,
                dest: c.u64()?,
                path: c.str16(MAX_PATH, "fd name")?,
            },
            FILE_V2 => {
                let open_flags = c.u32()?;
                let path = c.str16(MAX_PATH, "fd name")?;
                let dev = if v2 && c.pos + 4 <= start + sub_len {
                    c.u32()?
                } else {
                    0
                };
                FdDetail::File {
                    open_flags,
                    path,
                    dev,
                }
            }
            FIFO | FILE | DIRECTORY | UNSUPPORTED | EVENT | SIGNALFD | EVENTPOLL | INOTIFY
            | TIMERFD | NETLINK | BPF | USERFAULTFD | IOURING | MEMFD | PIDFD => {
                FdDetail::Named(c.str16(MAX_PATH, "fd name")?)
            }
            UNKNOWN => FdDetail::None,
            other => return Err(format!("fd {fd} has unknown type {other}")),
        };
        if v2 {
            let end = start + sub_len;
            if c.pos > end {
                return Err(format!("fd entry overruns its length {sub_len}"));
            }
            c.pos = end;
        }
        fds.push(FdInfo {
            fd,
            ino,
            kind,
            detail,
        });
    }
    Ok((tid, fds))
}

pub(crate) fn parse_userlist(b: &[u8], v2: bool) -> R<UserList> {
    let mut c = Cur::new(b);
    let mut ul = UserList::default();
    while c.left() >= 4 {
        let start = c.pos;
        let sub_len = if v2 { c.u32()? as usize } else { 0 };
        let ty = c.u8()?;
        if ty == 0 {
            ul.users.push(UserInfo {
                uid: c.u32()?,
                gid: c.u32()?,
                name: c.str16(MAX_CRED, "user name")?,
                homedir: c.str16(MAX_CRED, "home dir")?,
                shell: c.str16(MAX_CRED, "shell")?,
            });
        } else {
            ul.groups.push(GroupInfo {
                gid: c.u32()?,
                name: c.str16(MAX_CRED, "group name")?,
            });
        }
        if v2 && sub_len > 0 {
            let end = start + sub_len;
            if c.pos > end || end > b.len() {
                return Err(format!("user entry length {sub_len} is impossible"));
            }
            c.pos = end;
        }
    }
    Ok(ul)
}

pub(crate) fn parse_iflist(b: &[u8], v2: bool) -> R<IfList> {
    let mut c = Cur::new(b);
    let mut il = IfList::default();
    while c.left() >= 4 {
        let entry = if v2 { c.u32()? as usize } else { 0 };
        let start = c.pos;
        let ty = c.u16()?;
        let namelen = c.u16()? as usize;
        if namelen >= MAX_PATH {
            return Err(format!("interface name length {namelen} too long"));
        }
        match ty {
            1 | 3 => {
                let addr = c.arr4()?;
                let netmask = c.arr4()?;
                let bcast = c.arr4()?;
                let linkspeed = if ty == 1 { c.u64()? } else { 0 };
                let name = sonde_event::cstr(c.bytes(namelen)?).to_vec();
                il.v4.push(IfaceV4 {
                    name,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                });
            }
            2 | 4 => {
                let addr = c.arr16()?;
                let netmask = c.arr16()?;
                let bcast = c.arr16()?;
                let linkspeed = if ty == 2 { c.u64()? } else { 0 };
                let name = sonde_event::cstr(c.bytes(namelen)?).to_vec();
                il.v6.push(IfaceV6 {
                    name,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                });
            }
            other => return Err(format!("unknown interface type {other}")),
        }
        if v2 && entry > 0 {
            let end = start + entry;
            if c.pos > end || end > b.len() {
                return Err(format!("interface entry length {entry} is impossible"));
            }
            c.pos = end;
        }
    }
    Ok(il)
}

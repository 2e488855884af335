//! The initial state of the machine, read from `/proc`: every process and
//! thread (as `sonde_event::meta::ThreadInfo`) and every process's file
//! descriptors (as `sonde_event::meta::FdInfo`, sockets resolved through
//! `/proc/net`), the records a capture file's process-list and fd-list
//! blocks carry, so that `sonde_state::State::apply_meta` takes them
//! unchanged.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sonde_event::meta::fd_kind;
use sonde_event::meta::{FdDetail, FdInfo, ThreadInfo};

/// One process: its threads (main thread first) and its fds.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// Its threads, main thread first.
    pub threads: Vec<ThreadInfo>,
    /// Its open fds.
    pub fds: Vec<FdInfo>,
}

/// Reads every process under `root` (normally `/proc`). Processes that vanish
/// while being read are skipped.
pub fn scan(root: &Path) -> Vec<Process> {
    let socks = Sockets::read(root);
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir(root) else {
        return out;
    };
    let mut pids: Vec<i64> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        if let Some(p) = read_process(root, pid, &socks) {
            out.push(p);
        }
    }
    out
}

/// Reads one process.
pub fn read_process_at(root: &Path, pid: i64) -> Option<Process> {
    read_process(root, pid, &Sockets::read(root))
}

fn read_process(root: &Path, pid: i64, socks: &Sockets) -> Option<Process> {
    let pdir = root.join(pid.to_string());
    let main = read_thread(&pdir, pid, pid)?;
    let mut threads = vec![main.clone()];
    if let Ok(tasks) = fs::read_dir(pdir.join("task")) {
        let mut tids: Vec<i64> = tasks
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&t| t != pid)
            .collect();
        tids.sort_unstable();
        for tid in tids {
            let tdir = pdir.join("task").join(tid.to_string());
            let mut t = main.clone();
            t.tid = tid;
            if let Some(c) = read_trim(&tdir.join("comm")) {
                t.comm = c;
            }
            if let Some(st) = Stat::read(&tdir.join("stat")) {
                t.pfmajor = st.majflt;
                t.pfminor = st.minflt;
            }
            t.vtid = nspid(&tdir.join("status")).unwrap_or(tid);
            // PPM_CL_CLONE_THREAD | PPM_CL_CLONE_FILES: shares the main thread's fds
            t.flags |= (1 << 13) | 1;
            threads.push(t);
        }
    }
    let fds = read_fds(&pdir, socks);
    Some(Process { threads, fds })
}

fn read_trim(p: &Path) -> Option<Vec<u8>> {
    let mut v = fs::read(p).ok()?;
    while v.last() == Some(&b'\n') {
        v.pop();
    }
    Some(v)
}

fn readlink(p: &Path) -> Vec<u8> {
    fs::read_link(p)
        .map(|l| l.as_os_str().as_bytes().to_vec())
        .unwrap_or_default()
}

/// Fields of `/proc/PID/stat` after the command name.
#[derive(Default)]
struct Stat {
    ppid: i64,
    pgrp: i64,
    session: i64,
    tty: u32,
    minflt: u64,
    majflt: u64,
}

impl Stat {
    fn read(p: &Path) -> Option<Stat> {
        let s = fs::read(p).ok()?;
        let close = s.iter().rposition(|&c| c == b')')?;
        let rest = std::str::from_utf8(&s[close + 1..]).ok()?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] = state, f[1] = ppid, f[2] = pgrp, f[3] = session, f[4] = tty_nr,
        // f[7] = minflt, f[9] = majflt
        Some(Stat {
            ppid: f.get(1)?.parse().ok()?,
            pgrp: f.get(2)?.parse().ok()?,
            session: f.get(3)?.parse().ok()?,
            tty: f.get(4)?.parse::<i64>().ok()? as u32,
            minflt: f.get(7)?.parse().ok()?,
            majflt: f.get(9)?.parse().ok()?,
        })
    }
}

/// The innermost pid of an `NSpid:` line (the id inside the task's namespace).
fn nspid(status: &Path) -> Option<i64> {
    let s = fs::read_to_string(status).ok()?;
    let line = s.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

fn status_fields(s: &str) -> HashMap<&str, &str> {
    s.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k, v.trim()))
        })
        .collect()
}

fn read_thread(pdir: &Path, pid: i64, tid: i64) -> Option<ThreadInfo> {
    let status = fs::read_to_string(pdir.join("status")).ok()?;
    let st = Stat::read(&pdir.join("stat")).unwrap_or_default();
    let sf = status_fields(&status);
    let second = |k: &str| -> u32 {
        sf.get(k)
            .and_then(|v| v.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let kb = |k: &str| -> u32 {
        sf.get(k)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let hex = |k: &str| -> u64 {
        sf.get(k)
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .unwrap_or(0)
    };
    let cmdline = fs::read(pdir.join("cmdline")).unwrap_or_default();
    let (exe, args) = match cmdline.iter().position(|&c| c == 0) {
        Some(i) => (cmdline[..i].to_vec(), cmdline[i + 1..].to_vec()),
        None => (cmdline.clone(), Vec::new()),
    };
    let comm = read_trim(&pdir.join("comm")).unwrap_or_default();
    let exepath = readlink(&pdir.join("exe"));
    let exe_meta = fs::metadata(pdir.join("exe")).ok();
    let ns = |k: &str| -> Vec<i64> {
        sf.get(k)
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let vpid = ns("NSpid").last().copied().unwrap_or(pid);
    let vpgid = ns("NSpgid").last().copied().unwrap_or(st.pgrp);
    Some(ThreadInfo {
        tid,
        pid,
        ptid: st.ppid,
        sid: st.session,
        vpgid,
        pgid: st.pgrp,
        // a kernel thread has no command line: sysdig shows its comm
        exe: if exe.is_empty() { comm.clone() } else { exe },
        comm,
        exepath,
        args,
        cwd: readlink(&pdir.join("cwd")),
        fdlimit: fdlimit(&pdir.join("limits")),
        flags: 0,
        uid: second("Uid"),
        gid: second("Gid"),
        vmsize_kb: kb("VmSize"),
        vmrss_kb: kb("VmRSS"),
        vmswap_kb: kb("VmSwap"),
        pfmajor: st.majflt,
        pfminor: st.minflt,
        env: fs::read(pdir.join("environ")).unwrap_or_default(),
        vtid: vpid,
        vpid,
        cgroups: cgroups(&pdir.join("cgroup")),
        root: readlink(&pdir.join("root")),
        loginuid: read_trim(&pdir.join("loginuid"))
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(u32::MAX),
        exe_writable: false,
        cap_inheritable: hex("CapInh"),
        cap_permitted: hex("CapPrm"),
        cap_effective: hex("CapEff"),
        exe_upper_layer: false,
        exe_ino: exe_meta.as_ref().map(|m| m.ino()).unwrap_or(0),
        exe_ino_ctime: exe_meta
            .as_ref()
            .map(|m| m.ctime() as u64 * 1_000_000_000 + m.ctime_nsec() as u64)
            .unwrap_or(0),
        exe_ino_mtime: exe_meta
            .as_ref()
            .map(|m| m.mtime() as u64 * 1_000_000_000 + m.mtime_nsec() as u64)
            .unwrap_or(0),
        exe_from_memfd: false,
        exe_lower_layer: false,
        pidns_init_start_ts: 0,
        tty: st.tty,
    })
}

fn fdlimit(p: &Path) -> i64 {
    let Ok(s) = fs::read_to_string(p) else {
        return 0;
    };
    s.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l["Max open files".len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `/proc/PID/cgroup` as `subsys=path` entries, each followed by a NUL
/// (cgroup v2: `name=path` for each of the usual controllers, as libscap does).
fn cgroups(p: &Path) -> Vec<u8> {
    let Ok(s) = fs::read_to_string(p) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut unified = None;
    for l in s.lines() {
        let mut f = l.splitn(3, ':');
        let (ctrls, path) = match (f.next(), f.next(), f.next()) {
            (Some(_), Some(b), Some(c)) => (b, c),
            _ => continue,
        };
        if ctrls.is_empty() {
            unified = Some(path.to_string());
            continue;
        }
        for c in ctrls.split(',') {
            out.extend_from_slice(format!("{c}={path}").as_bytes());
            out.push(0);
            seen.push(c.to_string());
        }
    }
    // the unified hierarchy, for the controllers no v1 hierarchy has (the
    // probe lists the same controllers for cgroup v2)
    if let Some(path) = unified {
        for c in V2_CONTROLLERS {
            if !seen.iter().any(|s| s == c) {
                out.extend_from_slice(format!("{c}={path}").as_bytes());
                out.push(0);
            }
        }
    }
    out
}

/// The controllers listed for the unified hierarchy (as `bpf/sonde.bpf.c` does).
const V2_CONTROLLERS: [&str; 14] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "io",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// Sockets of `/proc/net`, by inode.
#[derive(Default)]
struct Sockets {
    by_ino: HashMap<u64, FdDetail>,
}

impl Sockets {
    fn read(root: &Path) -> Sockets {
        let mut s = Sockets::default();
        let net = root.join("net");
        s.inet(&net.join("tcp"), 2, false);
        s.inet(&net.join("udp"), 3, false);
        s.inet(&net.join("tcp6"), 2, true);
        s.inet(&net.join("udp6"), 3, true);
        s.unix(&net.join("unix"));
        s
    }

    fn inet(&mut self, p: &Path, l4proto: u8, v6: bool) {
        let Ok(text) = fs::read_to_string(p) else {
            return;
        };
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some((la, lp)), Some((ra, rp)), Ok(ino)) =
                (addr(f[1], v6), addr(f[2], v6), f[9].parse::<u64>())
            else {
                continue;
            };
            let listening = l4proto == 2 && f[3] == "0A";
            let unconnected = l4proto == 3 && rp == 0;
            let d = match (v6, listening || unconnected) {
                (false, true) => FdDetail::Ipv4Server {
                    ip: [la[0], la[1], la[2], la[3]],
                    port: lp,
                    l4proto,
                },
                (true, true) => FdDetail::Ipv6Server {
                    ip: la,
                    port: lp,
                    l4proto,
                },
                (false, false) => FdDetail::Ipv4 {
                    sip: [la[0], la[1], la[2], la[3]],
                    dip: [ra[0], ra[1], ra[2], ra[3]],
                    sport: lp,
                    dport: rp,
                    l4proto,
                },
                (true, false) => FdDetail::Ipv6 {
                    sip: la,
                    dip: ra,
                    sport: lp,
                    dport: rp,
                    l4proto,
                },
            };
            self.by_ino.insert(ino, d);
        }
    }

    fn unix(&mut self, p: &Path) {
        let Ok(text) = fs::read_to_string(p) else {
            return;
        };
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 7 {
                continue;
            }
            let Ok(ino) = f[6].parse::<u64>() else {
                continue;
            };
            let source = u64::from_str_radix(f[0].trim_end_matches(':'), 16).unwrap_or(0);
            let path = f.get(7).map(|s| s.as_bytes().to_vec()).unwrap_or_default();
            self.by_ino.insert(
                ino,
                FdDetail::Unix {
                    source,
                    dest: 0,
                    path,
                },
            );
        }
    }
}

/// `0100007F:0016` (IPv4, little-endian words) or the 32-hex-digit IPv6 form.
fn addr(s: &str, v6: bool) -> Option<([u8; 16], u16)> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let mut out = [0u8; 16];
    let words = if v6 { 4 } else { 1 };
    if a.len() != words * 8 {
        return None;
    }
    for w in 0..words {
        let v = u32::from_str_radix(&a[w * 8..w * 8 + 8], 16).ok()?;
        // /proc/net prints each 32-bit word in host (little-endian) order
        out[w * 4..w * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    Some((out, port))
}

/// `flags:` of `/proc/PID/fdinfo/N` (octal kernel open flags) as PPM file flags.
fn open_flags(pdir: &Path, fd: i64) -> u32 {
    let Ok(s) = fs::read_to_string(pdir.join("fdinfo").join(fd.to_string())) else {
        return 0;
    };
    let f = s
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0);
    ppm_open_flags(f)
}

/// The kernel's O_* flags (x86_64) as PPM_O_* flags (as the probe converts them).
pub fn ppm_open_flags(f: u64) -> u32 {
    let mut r = match f & 3 {
        1 => 2,
        2 => 3,
        _ => 1,
    };
    let map: [(u64, u32); 12] = [
        (0o100, 4),         // O_CREAT
        (0o20200000, 8192), // O_TMPFILE
        (0o2000, 8),        // O_APPEND
        (0o10000, 16),      // O_DSYNC
        (0o200, 32),        // O_EXCL
        (0o4000, 64),       // O_NONBLOCK
        (0o4010000, 128),   // O_SYNC
        (0o1000, 256),      // O_TRUNC
        (0o40000, 512),     // O_DIRECT
        (0o200000, 1024),   // O_DIRECTORY
        (0o100000, 2048),   // O_LARGEFILE
        (0o2000000, 4096),  // O_CLOEXEC
    ];
    for (k, p) in map {
        if f & k != 0 {
            r |= p;
        }
    }
    r
}

fn read_fds(pdir: &Path, socks: &Sockets) -> Vec<FdInfo> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir(pdir.join("fd")) else {
        return out;
    };
    let mut fds: Vec<i64> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    for fd in fds {
        let link: PathBuf = pdir.join("fd").join(fd.to_string());
        let target = readlink(&link);
        if target.is_empty() {
            continue;
        }
        let meta = fs::metadata(&link).ok();
        let ino = meta.as_ref().map(|m| m.ino()).unwrap_or(0);
        let bracket = |prefix: &[u8]| -> Option<u64> {
            let rest = target.strip_prefix(prefix)?;
            std::str::from_utf8(rest.strip_prefix(b"[")?.strip_suffix(b"]")?)
                .ok()?
                .parse()
                .ok()
        };
        let (kind, detail) = if let Some(sino) = bracket(b"socket:") {
            match socks.by_ino.get(&sino) {
                Some(d @ FdDetail::Ipv4 { .. }) => (fd_kind::IPV4_SOCK, d.clone()),
                Some(d @ FdDetail::Ipv6 { .. }) => (fd_kind::IPV6_SOCK, d.clone()),
                Some(d @ FdDetail::Ipv4Server { .. }) => (fd_kind::IPV4_SERVSOCK, d.clone()),
                Some(d @ FdDetail::Ipv6Server { .. }) => (fd_kind::IPV6_SERVSOCK, d.clone()),
                Some(d @ FdDetail::Unix { .. }) => (fd_kind::UNIX_SOCK, d.clone()),
                _ => (fd_kind::UNSUPPORTED, FdDetail::Named(target.clone())),
            }
        } else if bracket(b"pipe:").is_some() {
            (fd_kind::FIFO, FdDetail::Named(Vec::new()))
        } else if let Some(rest) = target.strip_prefix(b"anon_inode:") {
            let name = rest
                .strip_prefix(b"[")
                .and_then(|r| r.strip_suffix(b"]"))
                .unwrap_or(rest);
            let kind = match name {
                b"eventfd" => fd_kind::EVENT,
                b"eventpoll" => fd_kind::EVENTPOLL,
                b"inotify" => fd_kind::INOTIFY,
                b"signalfd" => fd_kind::SIGNALFD,
                b"timerfd" => fd_kind::TIMERFD,
                b"userfaultfd" => fd_kind::USERFAULTFD,
                b"io_uring" => fd_kind::IOURING,
                b"pidfd" => fd_kind::PIDFD,
                n if n.starts_with(b"bpf") => fd_kind::BPF,
                _ => fd_kind::UNKNOWN,
            };
            (kind, FdDetail::Named(Vec::new()))
        } else if target.starts_with(b"/memfd:") {
            (fd_kind::MEMFD, FdDetail::Named(target.clone()))
        } else if target.first() == Some(&b'/') {
            if meta.as_ref().is_some_and(|m| m.is_dir()) {
                (fd_kind::DIRECTORY, FdDetail::Named(target.clone()))
            } else {
                let dev = meta.as_ref().map(|m| m.dev() as u32).unwrap_or(0);
                (
                    fd_kind::FILE_V2,
                    FdDetail::File {
                        open_flags: open_flags(pdir, fd),
                        path: target.clone(),
                        dev,
                    },
                )
            }
        } else {
            (fd_kind::UNKNOWN, FdDetail::Named(target.clone()))
        };
        out.push(FdInfo {
            fd,
            ino,
            kind,
            detail,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_addresses() {
        let (a, p) = addr("0100007F:0016", false).unwrap();
        assert_eq!(&a[..4], &[127, 0, 0, 1]);
        assert_eq!(p, 22);
        let (a, p) = addr("00000000000000000000000001000000:01BB", true).unwrap();
        assert_eq!(a[15], 1);
        assert_eq!(p, 443);
    }

    #[test]
    fn scans_own_process() {
        let me = std::process::id() as i64;
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let p = read_process_at(Path::new("/proc"), me).unwrap();
        assert_eq!(p.threads[0].tid, me);
        assert_eq!(p.threads[0].pid, me);
        assert!(!p.threads[0].comm.is_empty());
        assert!(p.threads[0].cwd.starts_with(b"/"));
        assert!(p.fds.iter().any(
            |fd| matches!(&fd.detail, FdDetail::File { path, .. } if path.ends_with(b"/status"))
        ));
        drop(f);
    }

    #[test]
    fn translates_open_flags() {
        assert_eq!(ppm_open_flags(0), 1);
        assert_eq!(ppm_open_flags(0o1101), 2 | 4 | 256);
        assert_eq!(ppm_open_flags(0o2000002), 3 | 4096);
    }
}

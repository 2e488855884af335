//! Host metadata for live captures: machine info, users and groups, and
//! network interfaces, as the blocks a capture file would carry.

use std::path::Path;

use sonde_event::meta::{GroupInfo, IfList, IfaceV4, IfaceV6, MachineInfo, UserInfo, UserList};

/// Machine information from sysconf and /proc.
pub fn machine(root: &Path) -> MachineInfo {
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    let mem_kb = std::fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .unwrap_or(0);
    let hostname = std::fs::read_to_string(root.join("proc/sys/kernel/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let max_pid = std::fs::read_to_string(root.join("proc/sys/kernel/pid_max"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let boot_ts_epoch = std::fs::read_to_string(root.join("proc/stat"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("btime "))
                .and_then(|l| l[6..].trim().parse::<u64>().ok())
        })
        .map(|s| s * 1_000_000_000)
        .unwrap_or(0);
    MachineInfo {
        num_cpus: cpus,
        memory_size_bytes: mem_kb * 1024,
        max_pid,
        hostname,
        boot_ts_epoch,
        ..Default::default()
    }
}

/// Users from `etc/passwd` and groups from `etc/group` under `root`.
pub fn users(root: &Path) -> UserList {
    let mut ul = UserList::default();
    if let Ok(text) = std::fs::read(root.join("etc/passwd")) {
        for line in text.split(|&c| c == b'\n') {
            let f: Vec<&[u8]> = line.split(|&c| c == b':').collect();
            if f.len() < 7 {
                continue;
            }
            let (Some(uid), Some(gid)) = (num(f[2]), num(f[3])) else {
                continue;
            };
            ul.users.push(UserInfo {
                uid,
                gid,
                name: f[0].to_vec(),
                homedir: f[5].to_vec(),
                shell: f[6].to_vec(),
            });
        }
    }
    if let Ok(text) = std::fs::read(root.join("etc/group")) {
        for line in text.split(|&c| c == b'\n') {
            let f: Vec<&[u8]> = line.split(|&c| c == b':').collect();
            if f.len() < 3 {
                continue;
            }
            let Some(gid) = num(f[2]) else { continue };
            ul.groups.push(GroupInfo {
                gid,
                name: f[0].to_vec(),
            });
        }
    }
    ul
}

fn num(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// The host's IPv4 and IPv6 interface addresses.
pub fn interfaces() -> IfList {
    let mut il = IfList::default();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we walk read-only and free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return il;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated C string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_bytes()
            .to_vec();
        // SAFETY: ifa_addr is non-null; its family says which sockaddr it is.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
        let v4 = |p: *const libc::sockaddr| -> [u8; 4] {
            if p.is_null() {
                return [0; 4];
            }
            // SAFETY: callers pass AF_INET addresses.
            unsafe {
                (*(p as *const libc::sockaddr_in))
                    .sin_addr
                    .s_addr
                    .to_ne_bytes()
            }
        };
        let v6 = |p: *const libc::sockaddr| -> [u8; 16] {
            if p.is_null() {
                return [0; 16];
            }
            // SAFETY: callers pass AF_INET6 addresses.
            unsafe { (*(p as *const libc::sockaddr_in6)).sin6_addr.s6_addr }
        };
        match family {
            libc::AF_INET => il.v4.push(IfaceV4 {
                name,
                addr: v4(ifa.ifa_addr),
                netmask: v4(ifa.ifa_netmask),
                bcast: v4(ifa.ifa_ifu),
                linkspeed: 0,
            }),
            libc::AF_INET6 => il.v6.push(IfaceV6 {
                name,
                addr: v6(ifa.ifa_addr),
                netmask: v6(ifa.ifa_netmask),
                bcast: [0; 16],
                linkspeed: 0,
            }),
            _ => {}
        }
    }
    // SAFETY: head came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    il
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_host() {
        let root = Path::new("/");
        let m = machine(root);
        assert!(m.num_cpus >= 1 && m.memory_size_bytes > 0 && !m.hostname.is_empty());
        let u = users(root);
        assert!(u.users.iter().any(|u| u.uid == 0 && u.name == b"root"));
        assert!(u.groups.iter().any(|g| g.gid == 0));
        let i = interfaces();
        assert!(
            i.v4.iter().any(|i| i.addr == [127, 0, 0, 1]),
            "loopback present"
        );
    }
}

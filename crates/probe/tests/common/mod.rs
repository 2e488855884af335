//! Helpers shared by the live-capture tests: reading an event's parameters
//! by name, expecting events in order, and capturing a forked workload.

// each test binary uses its own subset of the helpers
#![allow(dead_code)]

use std::time::Duration;

use sonde_probe::{Config, Event, Probe};

/// Parameter `name` of an event.
pub fn param<'a>(e: &'a Event, name: &str) -> &'a [u8] {
    let raw = e.raw();
    let info = raw.info().expect("known event");
    let i = info
        .params
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("{} has no parameter {name}", info.name));
    // re-borrow from the event's bytes, not the temporary view
    let (start, len) = {
        let p = raw.param(i).unwrap();
        (p.as_ptr() as usize - e.bytes.as_ptr() as usize, p.len())
    };
    &e.bytes[start..start + len]
}

pub fn int(e: &Event, name: &str) -> i64 {
    sonde_event::le_int(param(e, name))
}

pub fn uint(e: &Event, name: &str) -> u64 {
    sonde_event::le_uint(param(e, name))
}

pub fn s<'a>(e: &'a Event, name: &str) -> &'a [u8] {
    sonde_event::cstr(param(e, name))
}

pub fn tid(e: &Event) -> i64 {
    e.raw().tid
}

/// Expected event: code, and a check of its parameters.
pub struct Want<'a> {
    code: u16,
    what: &'a str,
    check: Box<dyn Fn(&Event) -> bool + 'a>,
}

pub fn want<'a>(code: u16, what: &'a str, check: impl Fn(&Event) -> bool + 'a) -> Want<'a> {
    Want {
        code,
        what,
        check: Box::new(check),
    }
}

/// Every `wants` entry must match an event of `evs`, in order.
pub fn assert_in_order(evs: &[&Event], wants: &[Want<'_>], who: &str) {
    let mut i = 0;
    for w in wants {
        let found = evs[i..]
            .iter()
            .position(|e| e.raw().code == w.code && (w.check)(e));
        match found {
            Some(k) => i += k + 1,
            None => {
                let seen: Vec<String> = evs
                    .iter()
                    .map(|e| {
                        let r = e.raw();
                        format!("{}({})", r.info().map(|i| i.name).unwrap_or("?"), r.code)
                    })
                    .collect();
                panic!(
                    "{who}: expected {} after event #{i}; events: {}",
                    w.what,
                    seen.join(" ")
                );
            }
        }
    }
}

pub const AT_FDCWD: i64 = -100;
// PPM_O_* values of the event table
pub const PPM_O_RDONLY: u64 = 1;
pub const PPM_O_WRONLY: u64 = 2;
pub const PPM_O_CREAT: u64 = 4;
pub const PPM_O_TRUNC: u64 = 256;
pub const PPM_O_F_CREATED: u64 = 16384;

/// Forks a child that waits for [`release`], then runs `work` and exits
/// with `code`; the child's pid and the pipe end that releases it.
pub fn fork_waiting(code: i32, work: impl FnOnce()) -> (i32, i32) {
    let mut go = [0i32; 2];
    // SAFETY: valid array of two ints.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes raw system calls and _exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: reading one byte into a valid buffer; _exit ends the child.
        unsafe {
            let mut b = [0u8; 1];
            libc::read(go[0], b.as_mut_ptr().cast(), 1);
            work();
            libc::_exit(code);
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(go[0]) };
    (child, go[1])
}

/// Lets the child of [`fork_waiting`] whose pipe end is `go` run.
pub fn release(go: i32) {
    // SAFETY: writing one byte from a valid buffer.
    assert_eq!(unsafe { libc::write(go, b"g".as_ptr().cast(), 1) }, 1);
}

/// Runs `work` in a forked child traced by a new probe (opened with `cfg`,
/// limited to the child's process tree) and returns every event of the tree
/// once the child has exited with `code`.
pub fn capture_child(mut cfg: Config, code: i32, work: impl FnOnce()) -> (i64, Vec<Event>) {
    let (child, go) = fork_waiting(code, work);
    cfg.pids = vec![child as u32];
    let mut probe = Probe::open(&cfg).expect("probe loads");
    release(go);
    let mut st = 0;
    // SAFETY: valid status pointer.
    assert_eq!(unsafe { libc::waitpid(child, &mut st, 0) }, child);
    assert!(libc::WIFEXITED(st), "the workload died: status {st:#x}");
    assert_eq!(libc::WEXITSTATUS(st), code, "the workload failed");
    std::thread::sleep(Duration::from_millis(30));
    let evs = probe.flush().unwrap();
    assert_eq!(probe.drops().total(), 0, "no drops expected");
    if std::env::var_os("SONDE_LIVE_VERBOSE").is_some() {
        for e in &evs {
            let r = e.raw();
            eprintln!(
                "tid={} {} nparams={}",
                r.tid,
                r.info().map(|i| i.name).unwrap_or("?"),
                r.nparams()
            );
        }
    }
    (child as i64, evs)
}

/// Whether the live tests can run (root and BPF support); if not, test
/// `name` is skipped (false) with the reason.
pub fn live_ok(name: &str) -> bool {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{name}: skipped: live capture needs root");
        return false;
    }
    // without BPF privileges (e.g. an unprivileged container) or kernel BTF
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("{name}: skipped: {e}");
        return false;
    }
    true
}

/// 127.0.0.1, any port.
pub fn loopback() -> libc::sockaddr_in {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut lo: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    lo.sin_family = libc::AF_INET as u16;
    lo.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    lo
}

/// In a workload: a TCP server listening on `lo` (with `backlog`) and a
/// client connected to it, by raw system calls; their fds (server,
/// client).
///
/// # Safety
///
/// Raw system calls on local memory only: fit for a forked child.
pub unsafe fn tcp_pair(lo: &libc::sockaddr_in, backlog: i64) -> (i64, i64) {
    let lo_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let srv = libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0);
    libc::syscall(libc::SYS_bind, srv, lo as *const libc::sockaddr_in, lo_len);
    libc::syscall(libc::SYS_listen, srv, backlog);
    let mut bound = *lo;
    let mut blen = lo_len;
    libc::syscall(
        libc::SYS_getsockname,
        srv,
        &mut bound as *mut libc::sockaddr_in,
        &mut blen as *mut libc::socklen_t,
    );
    let cli = libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0);
    libc::syscall(
        libc::SYS_connect,
        cli,
        &bound as *const libc::sockaddr_in,
        lo_len,
    );
    (srv, cli)
}

pub fn iov(b: &[u8]) -> libc::iovec {
    libc::iovec {
        iov_base: b.as_ptr() as *mut libc::c_void,
        iov_len: b.len(),
    }
}

pub fn iov_mut(b: &mut [u8]) -> libc::iovec {
    libc::iovec {
        iov_base: b.as_mut_ptr().cast(),
        iov_len: b.len(),
    }
}

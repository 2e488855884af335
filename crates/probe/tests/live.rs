//! Live capture end to end: a forked workload does known syscalls, the probe
//! captures them (filtered to the workload's process tree) and every expected
//! event must come out, in order, with exact arguments.
//!
//! Needs root and a BPF-capable kernel; otherwise it says why and passes.
// One workload per test, checked step by step: long by nature (tests are
// exempt from the 150-line rule for functions).
#![allow(clippy::too_many_lines)]

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use sonde_event::codes as c;
use sonde_probe::{Config, Event, Probe};

mod common;
use common::*;

#[test]
fn live_workload() {
    if !live_ok("live_workload") {
        return;
    }

    let dir = std::env::temp_dir().join(format!("sonde-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.txt");
    let path2 = dir.join("b.txt");
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let cpath2 = CString::new(path2.to_str().unwrap()).unwrap();
    let missing = CString::new("/nonexistent/sonde-live").unwrap();
    let bin_true = CString::new("/bin/true").unwrap();
    let argv0 = CString::new("true").unwrap();
    let argv = [argv0.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    let msg = b"hello sonde\n";
    let lo = loopback();
    let cwd = std::env::current_dir().unwrap();
    let me = std::process::id() as i64;

    // the workload waits to be released before doing anything
    let (child, go) = fork_waiting(3, || {
        // SAFETY: raw syscalls on memory prepared before fork.
        unsafe {
            let fd = libc::syscall(
                libc::SYS_openat,
                AT_FDCWD,
                cpath.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                0o644,
            );
            libc::syscall(libc::SYS_write, fd, msg.as_ptr(), msg.len());
            libc::syscall(libc::SYS_close, fd);
            let fd = libc::syscall(
                libc::SYS_openat,
                AT_FDCWD,
                cpath.as_ptr(),
                libc::O_RDONLY,
                0,
            );
            let mut buf = [0u8; 100];
            libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len());
            libc::syscall(libc::SYS_close, fd);
            libc::syscall(
                libc::SYS_openat,
                AT_FDCWD,
                missing.as_ptr(),
                libc::O_RDONLY,
                0,
            );
            let mut p = [0i32; 2];
            libc::syscall(libc::SYS_pipe, p.as_mut_ptr());
            libc::syscall(libc::SYS_dup2, p[1] as i64, 100i64);
            libc::syscall(libc::SYS_rename, cpath.as_ptr(), cpath2.as_ptr());
            libc::syscall(libc::SYS_unlink, cpath2.as_ptr());
            // TCP over loopback: listen, connect, accept
            let (srv, cli) = tcp_pair(&lo, 5);
            let acc = libc::syscall(libc::SYS_accept4, srv, 0usize, 0usize, 0);
            libc::syscall(libc::SYS_close, acc);
            libc::syscall(libc::SYS_close, cli);
            libc::syscall(libc::SYS_close, srv);
            let pid = libc::syscall(libc::SYS_fork);
            if pid == 0 {
                libc::syscall(
                    libc::SYS_execve,
                    bin_true.as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                );
                libc::_exit(127);
            }
            let mut status = 0i32;
            libc::waitpid(pid as i32, &mut status, 0);
        }
    });

    let cfg = Config {
        pids: vec![child as u32],
        ..Config::default()
    };
    let mut probe = Probe::open(&cfg).expect("probe loads");
    release(go);

    let mut evs: Vec<Event> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut exited = false;
    while Instant::now() < deadline {
        evs.extend(probe.poll(Duration::from_millis(1)).unwrap());
        if !exited {
            let mut st = 0;
            // SAFETY: valid status pointer.
            if unsafe { libc::waitpid(child, &mut st, libc::WNOHANG) } == child {
                assert_eq!(libc::WEXITSTATUS(st), 3);
                exited = true;
            }
        }
        let child_exit = evs
            .iter()
            .any(|e| e.raw().code == c::PROCEXIT_1_E && tid(e) == child as i64);
        if exited && child_exit {
            // a little more for stragglers
            std::thread::sleep(Duration::from_millis(20));
            evs.extend(probe.flush().unwrap());
            break;
        }
    }
    assert!(exited, "workload did not finish");
    assert_eq!(probe.drops().total(), 0, "no drops expected");
    assert!(
        evs.windows(2).all(|w| w[0].ts() <= w[1].ts()),
        "events are in timestamp order"
    );

    let child = child as i64;
    let dev = std::fs::metadata(&dir).unwrap().dev() as u64;
    let p1 = path.as_os_str().as_encoded_bytes();
    let p2 = path2.as_os_str().as_encoded_bytes();
    let mine: Vec<&Event> = evs.iter().filter(|e| tid(e) == child).collect();
    let ino = std::cell::Cell::new(0u64);
    let wfd = std::cell::Cell::new(-1i64);
    let rfd = std::cell::Cell::new(-1i64);
    let pipe_w = std::cell::Cell::new(-1i64);
    let gchild = std::cell::Cell::new(-1i64);
    let srv = std::cell::Cell::new(-1i64);
    let cli = std::cell::Cell::new(-1i64);
    let port = std::cell::Cell::new(0u16);
    let cport = std::cell::Cell::new(0u16);
    let wants = vec![
        want(c::SYSCALL_OPENAT_2_E, "openat enter (create)", |e| {
            int(e, "dirfd") == AT_FDCWD
                && s(e, "name") == p1
                && uint(e, "flags") == PPM_O_WRONLY | PPM_O_CREAT | PPM_O_TRUNC
                && uint(e, "mode") == 0o644
        }),
        want(c::SYSCALL_OPENAT_2_X, "openat exit (create)", |e| {
            wfd.set(int(e, "fd"));
            ino.set(uint(e, "ino"));
            int(e, "fd") >= 3
                && int(e, "dirfd") == AT_FDCWD
                && s(e, "name") == p1
                && uint(e, "flags") == PPM_O_WRONLY | PPM_O_CREAT | PPM_O_TRUNC | PPM_O_F_CREATED
                && uint(e, "mode") == 0o644
                && uint(e, "dev") == dev
                && uint(e, "ino") != 0
                && e.latency_ns > 0
        }),
        want(c::SYSCALL_WRITE_X, "write", |e| {
            int(e, "res") == 12
                && param(e, "data") == msg
                && int(e, "fd") == wfd.get()
                && uint(e, "size") == 12
        }),
        want(c::SYSCALL_CLOSE_X, "close", |e| {
            int(e, "res") == 0 && int(e, "fd") == wfd.get()
        }),
        want(c::SYSCALL_OPENAT_2_E, "openat enter (read)", |e| {
            s(e, "name") == p1 && uint(e, "flags") == PPM_O_RDONLY && uint(e, "mode") == 0
        }),
        want(c::SYSCALL_OPENAT_2_X, "openat exit (read)", |e| {
            rfd.set(int(e, "fd"));
            int(e, "fd") >= 3
                && s(e, "name") == p1
                && uint(e, "flags") == PPM_O_RDONLY
                && uint(e, "ino") == ino.get()
                && uint(e, "dev") == dev
        }),
        want(c::SYSCALL_READ_X, "read", |e| {
            int(e, "res") == 12
                && param(e, "data") == msg
                && int(e, "fd") == rfd.get()
                && uint(e, "size") == 100
        }),
        want(c::SYSCALL_CLOSE_X, "close", |e| {
            int(e, "res") == 0 && int(e, "fd") == rfd.get()
        }),
        want(c::SYSCALL_OPENAT_2_E, "openat enter (missing)", |e| {
            s(e, "name") == b"/nonexistent/sonde-live"
        }),
        want(c::SYSCALL_OPENAT_2_X, "openat exit ENOENT", |e| {
            int(e, "fd") == -2
                && s(e, "name") == b"/nonexistent/sonde-live"
                && uint(e, "dev") == 0
                && uint(e, "ino") == 0
        }),
        want(c::SYSCALL_PIPE_X, "pipe", |e| {
            pipe_w.set(int(e, "fd2"));
            int(e, "res") == 0
                && int(e, "fd1") >= 3
                // not always fd1 + 1: the workload is forked from a test
                // process whose other threads hold fds at that moment
                && int(e, "fd2") > int(e, "fd1")
                && uint(e, "ino") != 0
        }),
        want(c::SYSCALL_DUP2_X, "dup2", |e| {
            int(e, "res") == 100 && int(e, "oldfd") == pipe_w.get() && int(e, "newfd") == 100
        }),
        want(c::SYSCALL_RENAME_X, "rename", |e| {
            int(e, "res") == 0 && s(e, "oldpath") == p1 && s(e, "newpath") == p2
        }),
        want(c::SYSCALL_UNLINK_2_X, "unlink", |e| {
            int(e, "res") == 0 && s(e, "path") == p2
        }),
        want(c::SOCKET_SOCKET_X, "socket (server)", |e| {
            srv.set(int(e, "fd"));
            int(e, "fd") >= 3
                && uint(e, "domain") == 2
                && uint(e, "type") == 1
                && uint(e, "proto") == 0
        }),
        want(c::SOCKET_BIND_X, "bind 127.0.0.1:0", |e| {
            int(e, "res") == 0
                && param(e, "addr") == [2, 127, 0, 0, 1, 0, 0]
                && int(e, "fd") == srv.get()
        }),
        want(c::SOCKET_LISTEN_X, "listen", |e| {
            int(e, "res") == 0 && int(e, "fd") == srv.get() && int(e, "backlog") == 5
        }),
        want(c::SOCKET_SOCKET_X, "socket (client)", |e| {
            cli.set(int(e, "fd"));
            int(e, "fd") >= 3 && int(e, "fd") != srv.get()
        }),
        want(c::SOCKET_CONNECT_E, "connect enter", |e| {
            let a = param(e, "addr");
            port.set(u16::from_le_bytes([a[5], a[6]]));
            int(e, "fd") == cli.get()
                && a.len() == 7
                && a[..5] == [2, 127, 0, 0, 1]
                && port.get() != 0
        }),
        want(c::SOCKET_CONNECT_X, "connect exit", |e| {
            let t = param(e, "tuple");
            cport.set(u16::from_le_bytes([t[5], t[6]]));
            let p = port.get().to_le_bytes();
            int(e, "res") == 0
                && t.len() == 13
                && t[..5] == [2, 127, 0, 0, 1]
                && cport.get() != 0
                && t[7..] == [127, 0, 0, 1, p[0], p[1]]
                && int(e, "fd") == cli.get()
                && param(e, "addr") == [2, 127, 0, 0, 1, p[0], p[1]]
        }),
        want(c::SOCKET_ACCEPT4_6_X, "accept4", |e| {
            let (p, cp) = (port.get().to_le_bytes(), cport.get().to_le_bytes());
            // inbound: the peer first
            int(e, "fd") >= 3
                && int(e, "fd") != cli.get()
                && int(e, "fd") != srv.get()
                && param(e, "tuple") == [2, 127, 0, 0, 1, cp[0], cp[1], 127, 0, 0, 1, p[0], p[1]]
                && uint(e, "queuepct") == 0
                && uint(e, "queuelen") == 0
                && uint(e, "queuemax") == 5
                && int(e, "flags") == 0
        }),
        want(c::SYSCALL_FORK_20_X, "fork (parent side)", |e| {
            gchild.set(int(e, "res"));
            int(e, "res") > 0
                && int(e, "tid") == child
                && int(e, "pid") == child
                && int(e, "ptid") == me
                && s(e, "cwd") == cwd.as_os_str().as_encoded_bytes()
                && uint(e, "flags") == 0
                && uint(e, "uid") == 0
        }),
        want(c::PROCEXIT_1_E, "procexit of the workload", |e| {
            int(e, "status") == 3 << 8 && int(e, "ret") == 3 && uint(e, "sig") == 0
        }),
    ];
    if std::env::var_os("SONDE_LIVE_VERBOSE").is_some() {
        for e in &evs {
            let r = e.raw();
            eprintln!(
                "{} tid={} {} nparams={} lat={}",
                r.ts,
                r.tid,
                r.info().map(|i| i.name).unwrap_or("?"),
                r.nparams(),
                e.latency_ns
            );
        }
    }
    assert_in_order(&mine, &wants, "workload");

    let g = gchild.get();
    let true_meta = std::fs::metadata("/bin/true").unwrap();
    // SAFETY: no preconditions.
    let pgid = unsafe { libc::getpgid(0) } as i64;
    let true_path = std::fs::canonicalize("/bin/true").unwrap();
    let theirs: Vec<&Event> = evs.iter().filter(|e| tid(e) == g).collect();
    let wants = vec![
        want(c::SYSCALL_FORK_20_X, "fork (child side)", |e| {
            int(e, "res") == 0
                && int(e, "tid") == g
                && int(e, "pid") == g
                && int(e, "ptid") == child
        }),
        want(c::SYSCALL_EXECVE_19_X, "execve /bin/true", |e| {
            int(e, "res") == 0
                && s(e, "exe") == b"true"
                && param(e, "args").is_empty()
                && int(e, "tid") == g
                && int(e, "pid") == g
                && int(e, "ptid") == child
                && s(e, "cwd") == cwd.as_os_str().as_encoded_bytes()
                && s(e, "comm") == b"true"
                && s(e, "filename") == b"/bin/true"
                && uint(e, "uid") == 0
                && uint(e, "exe_ino") == true_meta.ino()
                && uint(e, "exe_ino_ctime")
                    == true_meta.ctime() as u64 * 1_000_000_000 + true_meta.ctime_nsec() as u64
                && uint(e, "exe_ino_mtime")
                    == true_meta.mtime() as u64 * 1_000_000_000 + true_meta.mtime_nsec() as u64
                && s(e, "trusted_exepath") == true_path.as_os_str().as_encoded_bytes()
                && param(e, "cgroups").starts_with(b"cpuset=/")
                && int(e, "pgid") == pgid
                && int(e, "vpgid") == pgid
                && param(e, "cgroups").ends_with(b"\0")
        }),
        want(c::PROCEXIT_1_E, "procexit of /bin/true", |e| {
            int(e, "status") == 0 && int(e, "ret") == 0
        }),
    ];
    assert_in_order(&theirs, &wants, "/bin/true");

    // everything the workload produced parses and is known to the event table
    for e in &evs {
        assert!(e.raw().info().is_some());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The /proc scan is what a capture file's process and fd lists are: the
/// state engine takes it unchanged. Needs no privileges.
#[test]
fn proc_scan_feeds_state() {
    let me = std::process::id() as i64;
    let _f = std::fs::File::open("/proc/self/stat").unwrap();
    let mut st = sonde_state::State::new();
    for p in sonde_probe::proc::scan(std::path::Path::new("/proc")) {
        let pid = p.threads[0].pid;
        st.apply_block(&sonde_scap::Block::Threads(p.threads));
        st.apply_block(&sonde_scap::Block::Fds {
            tid: pid,
            fds: p.fds,
        });
    }
    let t = st.thread(me).expect("this process is known");
    assert_eq!(t.pid, me);
    assert!(!t.comm.is_empty());
    assert!(!t.exepath.is_empty());
    let t = st.fd_owner(me).unwrap();
    assert!(
        t.fds.values().any(|f| f.name.ends_with(b"/stat")),
        "an open file is known by name"
    );
}

/// The kernel-side syscall filter: only the chosen syscalls make events
/// (process exits always do).
#[test]
fn kernel_syscall_filter() {
    if !live_ok("kernel_syscall_filter") {
        return;
    }
    let devnull = CString::new("/dev/null").unwrap();
    let openat = sonde_probe::syscall_nr("openat").unwrap();
    let cfg = Config {
        syscalls: Some(vec![openat]),
        ..Config::default()
    };
    let (_, evs) = capture_child(cfg, 0, || {
        // SAFETY: raw syscalls on memory prepared before fork.
        unsafe {
            libc::syscall(libc::SYS_getpid);
            let fd = libc::syscall(
                libc::SYS_openat,
                AT_FDCWD,
                devnull.as_ptr(),
                libc::O_RDONLY,
                0,
            );
            libc::syscall(libc::SYS_close, fd);
        }
    });
    let codes: Vec<u16> = evs.iter().map(|e| e.raw().code).collect();
    assert_eq!(
        codes,
        [
            c::SYSCALL_OPENAT_2_E,
            c::SYSCALL_OPENAT_2_X,
            c::PROCEXIT_1_E
        ]
    );
}

/// Counted syscalls (`Config::counted`) send no events: the kernel counts
/// them per process, syscall and result, and `take_counts` hands out what
/// changed since its previous call.
#[test]
fn counted_syscalls() {
    if !live_ok("counted_syscalls") {
        return;
    }
    let nr = |n: &str| sonde_probe::syscall_nr(n).unwrap();
    let (epoll_wait, getppid) = (nr("epoll_wait"), nr("getppid"));
    let cfg = Config {
        counted: vec![epoll_wait, getppid],
        ..Config::default()
    };
    let (child, go) = fork_waiting(0, || {
        // SAFETY: raw syscalls; the fds are invalid on purpose (EBADF).
        unsafe {
            for _ in 0..300 {
                libc::syscall(libc::SYS_epoll_wait, -1, 0usize, 1, 0);
            }
            for _ in 0..200 {
                libc::syscall(libc::SYS_getppid);
            }
            libc::syscall(libc::SYS_close, -1);
        }
    });
    let mut cfg = cfg;
    cfg.pids = vec![child as u32];
    let mut probe = Probe::open(&cfg).expect("probe loads");
    assert!(
        probe.take_counts().is_empty(),
        "nothing counted before the workload"
    );
    release(go);
    let mut st = 0;
    // SAFETY: valid status pointer.
    assert_eq!(unsafe { libc::waitpid(child, &mut st, 0) }, child);
    std::thread::sleep(Duration::from_millis(30));
    let evs = probe.flush().unwrap();
    let mut counts = probe.take_counts();
    counts.sort_by_key(|c| c.nr);
    let want = |nr: u32, errno: u16, calls: u64| sonde_probe::SyscallCount {
        tgid: child as u32,
        nr,
        errno,
        calls,
    };
    assert_eq!(
        counts,
        [
            want(getppid, 0, 200),
            want(epoll_wait, libc::EBADF as u16, 300)
        ]
    );
    // no events for them; the others still come
    let codes: Vec<u16> = evs.iter().map(|e| e.raw().code).collect();
    // (the read is the child waiting to be released)
    assert_eq!(
        codes,
        [c::SYSCALL_READ_X, c::SYSCALL_CLOSE_X, c::PROCEXIT_1_E]
    );
    // nothing new: nothing handed out, and the idle keys leave the map
    assert!(probe.take_counts().is_empty());
    assert!(probe.take_counts().is_empty());
    assert_eq!(probe.counts_lost(), 0);
}

/// The other handled syscalls: open, creat, openat2, dup, dup3, pipe2,
/// renameat, renameat2, unlinkat, accept, clone3 and execveat.
#[test]
fn more_syscalls() {
    if !live_ok("more_syscalls") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-more-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (p3, p4, p5) = (path("c.txt"), path("d.txt"), path("e.txt"));
    let missing_dir = path("nodir");
    let c3 = CString::new(p3.clone()).unwrap();
    let c4 = CString::new(p4.clone()).unwrap();
    let c5 = CString::new(p5.clone()).unwrap();
    let cmissing = CString::new(missing_dir.clone()).unwrap();
    let bin_true = CString::new("/bin/true").unwrap();
    let argv0 = CString::new("true").unwrap();
    let argv1 = CString::new("x").unwrap();
    let argv = [argv0.as_ptr(), argv1.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // struct open_how { flags, mode, resolve }: O_RDONLY, RESOLVE_NO_SYMLINKS
    let how: [u64; 3] = [0, 0, 0x04];
    // struct clone_args: flags 0, exit_signal SIGCHLD, the rest 0 (a fork)
    let mut cargs = [0u64; 11];
    cargs[4] = libc::SIGCHLD as u64;
    let lo = loopback();

    let (child, evs) = capture_child(Config::default(), 0, || {
        // SAFETY: raw syscalls on memory prepared before fork.
        unsafe {
            let fd = libc::syscall(
                libc::SYS_open,
                c3.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY,
                0o600,
            );
            let fd4 = libc::syscall(libc::SYS_creat, c4.as_ptr(), 0o640);
            let fd2 = libc::syscall(
                libc::SYS_openat2,
                AT_FDCWD,
                c3.as_ptr(),
                how.as_ptr(),
                24usize,
            );
            libc::syscall(libc::SYS_dup, fd);
            libc::syscall(libc::SYS_dup3, fd, 101i64, libc::O_CLOEXEC);
            let mut p = [0i32; 2];
            libc::syscall(
                libc::SYS_pipe2,
                p.as_mut_ptr(),
                libc::O_CLOEXEC | libc::O_NONBLOCK,
            );
            libc::syscall(
                libc::SYS_renameat,
                AT_FDCWD,
                c3.as_ptr(),
                AT_FDCWD,
                c5.as_ptr(),
            );
            libc::syscall(
                libc::SYS_renameat2,
                AT_FDCWD,
                c5.as_ptr(),
                AT_FDCWD,
                c3.as_ptr(),
                1,
            );
            libc::syscall(libc::SYS_unlinkat, AT_FDCWD, c3.as_ptr(), 0);
            libc::syscall(libc::SYS_unlinkat, AT_FDCWD, c4.as_ptr(), 0);
            libc::syscall(
                libc::SYS_unlinkat,
                AT_FDCWD,
                cmissing.as_ptr(),
                libc::AT_REMOVEDIR,
            );
            libc::syscall(libc::SYS_close, fd2);
            libc::syscall(libc::SYS_close, fd4);
            let (srv, _cli) = tcp_pair(&lo, 3);
            libc::syscall(libc::SYS_accept, srv, 0usize, 0usize);
            let pid = libc::syscall(libc::SYS_clone3, cargs.as_ptr(), 88usize);
            if pid == 0 {
                libc::syscall(
                    libc::SYS_execveat,
                    AT_FDCWD,
                    bin_true.as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                    0,
                );
                libc::_exit(127);
            }
            let mut status = 0i32;
            libc::waitpid(pid as i32, &mut status, 0);
        }
    });
    let mine: Vec<&Event> = evs.iter().filter(|e| tid(e) == child).collect();
    let fd = std::cell::Cell::new(-1i64);
    let gchild = std::cell::Cell::new(-1i64);
    const PPM_O_CLOEXEC: u64 = 4096;
    const PPM_O_NONBLOCK: u64 = 64;
    let wants = vec![
        want(c::SYSCALL_OPEN_E, "open enter", |e| {
            s(e, "name") == p3.as_bytes()
                && uint(e, "flags") == PPM_O_WRONLY | PPM_O_CREAT
                && uint(e, "mode") == 0o600
        }),
        want(c::SYSCALL_OPEN_X, "open exit", |e| {
            fd.set(int(e, "fd"));
            int(e, "fd") >= 3
                && s(e, "name") == p3.as_bytes()
                && uint(e, "flags") == PPM_O_WRONLY | PPM_O_CREAT | PPM_O_F_CREATED
                && uint(e, "mode") == 0o600
                && uint(e, "ino") != 0
        }),
        want(c::SYSCALL_CREAT_E, "creat enter", |e| {
            s(e, "name") == p4.as_bytes() && uint(e, "mode") == 0o640
        }),
        want(c::SYSCALL_CREAT_X, "creat exit", |e| {
            int(e, "fd") >= 3
                && s(e, "name") == p4.as_bytes()
                && uint(e, "mode") == 0o640
                && uint(e, "ino") != 0
        }),
        want(c::SYSCALL_OPENAT2_E, "openat2 enter", |e| {
            int(e, "dirfd") == AT_FDCWD
                && s(e, "name") == p3.as_bytes()
                && uint(e, "flags") == PPM_O_RDONLY
                && uint(e, "resolve") == 8 // PPM_RESOLVE_NO_SYMLINKS
        }),
        want(c::SYSCALL_OPENAT2_X, "openat2 exit", |e| {
            int(e, "fd") >= 3 && s(e, "name") == p3.as_bytes() && uint(e, "resolve") == 8
        }),
        want(c::SYSCALL_DUP_1_X, "dup", |e| {
            int(e, "res") >= 3 && int(e, "oldfd") == fd.get()
        }),
        want(c::SYSCALL_DUP3_X, "dup3", |e| {
            int(e, "res") == 101
                && int(e, "oldfd") == fd.get()
                && int(e, "newfd") == 101
                && uint(e, "flags") == PPM_O_CLOEXEC
        }),
        want(c::SYSCALL_PIPE2_X, "pipe2", |e| {
            int(e, "res") == 0
                && int(e, "fd1") >= 3
                && uint(e, "ino") != 0
                && uint(e, "flags") == PPM_O_CLOEXEC | PPM_O_NONBLOCK
        }),
        want(c::SYSCALL_RENAMEAT_X, "renameat", |e| {
            int(e, "res") == 0
                && int(e, "olddirfd") == AT_FDCWD
                && s(e, "oldpath") == p3.as_bytes()
                && int(e, "newdirfd") == AT_FDCWD
                && s(e, "newpath") == p5.as_bytes()
        }),
        want(c::SYSCALL_RENAMEAT2_X, "renameat2", |e| {
            int(e, "res") == 0
                && s(e, "oldpath") == p5.as_bytes()
                && s(e, "newpath") == p3.as_bytes()
                && uint(e, "flags") == 1 // RENAME_NOREPLACE
        }),
        want(c::SYSCALL_UNLINKAT_2_X, "unlinkat", |e| {
            int(e, "res") == 0
                && int(e, "dirfd") == AT_FDCWD
                && s(e, "name") == p3.as_bytes()
                && uint(e, "flags") == 0
        }),
        want(c::SYSCALL_UNLINKAT_2_X, "unlinkat", |e| {
            int(e, "res") == 0 && s(e, "name") == p4.as_bytes()
        }),
        want(
            c::SYSCALL_UNLINKAT_2_X,
            "unlinkat AT_REMOVEDIR ENOENT",
            |e| {
                int(e, "res") == -2
                    && s(e, "name") == missing_dir.as_bytes()
                    && uint(e, "flags") == 512
            },
        ),
        want(c::SOCKET_ACCEPT_5_X, "accept", |e| {
            let t = param(e, "tuple");
            int(e, "fd") >= 3
                && t.len() == 13
                && t[..5] == [2, 127, 0, 0, 1]
                && t[7..11] == [127, 0, 0, 1]
                && uint(e, "queuemax") == 3
        }),
        want(c::SYSCALL_CLONE3_X, "clone3 (parent side)", |e| {
            gchild.set(int(e, "res"));
            int(e, "res") > 0 && int(e, "pid") == child && uint(e, "flags") == 0
        }),
    ];
    assert_in_order(&mine, &wants, "more_syscalls");
    let g = gchild.get();
    let theirs: Vec<&Event> = evs.iter().filter(|e| tid(e) == g).collect();
    let wants = vec![
        want(c::SYSCALL_CLONE3_X, "clone3 (child side)", |e| {
            int(e, "res") == 0 && int(e, "tid") == g && int(e, "ptid") == child
        }),
        want(c::SYSCALL_EXECVEAT_X, "execveat", |e| {
            int(e, "res") == 0
                && s(e, "exe") == b"true"
                && param(e, "args") == b"x\0"
                && s(e, "comm") == b"true"
                && int(e, "pid") == g
        }),
        want(c::PROCEXIT_1_E, "procexit", |e| int(e, "status") == 0),
    ];
    assert_in_order(&theirs, &wants, "clone3 child");
    let _ = std::fs::remove_dir_all(&dir);
}

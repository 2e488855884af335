//! Live capture end to end: a forked workload does known syscalls, the probe
//! captures them (filtered to the workload's process tree) and every expected
//! event must come out, in order, with exact arguments.
//!
//! Needs root and a BPF-capable kernel; otherwise it says why and passes.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use sonde_event::codes as c;
use sonde_probe::{Config, Event, Probe};

/// Parameter `name` of an event.
fn param<'a>(e: &'a Event, name: &str) -> &'a [u8] {
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

fn int(e: &Event, name: &str) -> i64 {
    sonde_event::le_int(param(e, name))
}

fn uint(e: &Event, name: &str) -> u64 {
    sonde_event::le_uint(param(e, name))
}

fn s<'a>(e: &'a Event, name: &str) -> &'a [u8] {
    sonde_event::cstr(param(e, name))
}

fn tid(e: &Event) -> i64 {
    e.raw().tid
}

/// Expected event: code, and a check of its parameters.
struct Want<'a> {
    code: u16,
    what: &'a str,
    check: Box<dyn Fn(&Event) -> bool + 'a>,
}

fn want<'a>(code: u16, what: &'a str, check: impl Fn(&Event) -> bool + 'a) -> Want<'a> {
    Want {
        code,
        what,
        check: Box::new(check),
    }
}

/// Every `wants` entry must match an event of `evs`, in order.
fn assert_in_order(evs: &[&Event], wants: &[Want<'_>], who: &str) {
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

const AT_FDCWD: i64 = -100;
// PPM_O_* values of the event table
const PPM_O_RDONLY: u64 = 1;
const PPM_O_WRONLY: u64 = 2;
const PPM_O_CREAT: u64 = 4;
const PPM_O_TRUNC: u64 = 256;
const PPM_O_F_CREATED: u64 = 16384;

#[test]
fn live_workload() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("live_workload: skipped: live capture needs root");
        return;
    }
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("live_workload: skipped: {e}");
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
    let cwd = std::env::current_dir().unwrap();
    let me = std::process::id() as i64;

    // the workload waits for one byte on `go` before doing anything
    let mut go = [0i32; 2];
    // SAFETY: valid array of two ints.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes raw system calls and _exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: raw syscalls on memory prepared before fork.
        unsafe {
            let mut b = [0u8; 1];
            libc::read(go[0], b.as_mut_ptr().cast(), 1);
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
            libc::_exit(3);
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(go[0]) };

    let cfg = Config {
        pids: vec![child as u32],
        ..Config::default()
    };
    let mut probe = Probe::open(&cfg).expect("probe loads");
    // SAFETY: writing one byte from a valid buffer.
    assert_eq!(unsafe { libc::write(go[1], b"g".as_ptr().cast(), 1) }, 1);

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
            evs.extend(probe.poll(Duration::ZERO).unwrap());
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
                && int(e, "fd2") == int(e, "fd1") + 1
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
                && uint(e, "exe_ino") != 0
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

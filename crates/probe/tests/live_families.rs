//! Live capture end to end, the syscall families with handlers of their
//! own, and the optional tracepoints (context switches, page faults): a
//! forked workload does known syscalls and every expected event must come
//! out, in order, with exact arguments.
//!
//! Needs root and a BPF-capable kernel; otherwise it says why and passes.
// One workload per test, checked step by step: long by nature (tests are
// exempt from the 150-line rule for functions).
#![allow(clippy::too_many_lines)]

use std::ffi::CString;

use sonde_event::codes as c;
use sonde_probe::{Config, Event};

mod common;
use common::*;

/// The syscall families with handlers of their own beyond the basic ones:
/// vectored and positional I/O, sendfile/splice, fcntl, the special fds,
/// socketpair and datagram sockets (tuples from the socket and from the
/// user's address), socket options, directories, links, permissions,
/// memory, waits, ids, prctl, ptrace, mount, signals (sent and delivered).
/// Each event must come out in order with exact arguments.
#[test]
fn syscall_families() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 || sonde_probe::check_support().is_err() {
        eprintln!("syscall_families: skipped: live capture needs root and BPF support");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sonde-fam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (f, sub, sub2, lnk, lnk2, hard, hard2) = (
        p("f.txt"),
        p("sub"),
        p("sub2"),
        p("lnk"),
        p("lnk2"),
        p("hard"),
        p("hard2"),
    );
    let dirs = dir.to_str().unwrap().to_string();
    let cs = |s: &str| CString::new(s).unwrap();
    let (cf, csub, csub2, clnk, clnk2, chard, chard2, cdir) = (
        cs(&f),
        cs(&sub),
        cs(&sub2),
        cs(&lnk),
        cs(&lnk2),
        cs(&hard),
        cs(&hard2),
        cs(&dirs),
    );
    let (target_x, target_y) = (cs("target-x"), cs("target-y"));
    let (devnull, memfd_name, comm, root) =
        (cs("/dev/null"), cs("sonde-memfd"), cs("sonde-wl"), cs("/"));
    let (nomnt, none, tmpfs) = (cs("/nonexistent-sonde-mnt"), cs("none"), cs("tmpfs"));
    // buffers the child reads into and writes from
    let mut rbuf = [0u8; 100];
    let (mut r3, mut r4, mut r2) = ([0u8; 3], [0u8; 4], [0u8; 2]);
    let wiov = [iov(b"ab"), iov(b"cde")];
    let riov = [iov_mut(&mut r3), iov_mut(&mut r4)];
    let xy = [iov(b"XY")];
    let rxy = [iov_mut(&mut r2)];
    let mut off: i64 = 0;
    let zero_mask: u64 = 0;
    let mut evbuf = [0u8; 64];
    let mut pfd = [libc::pollfd {
        fd: -1,
        events: libc::POLLIN,
        revents: 0,
    }];
    let hello = [iov(b"hel"), iov(b"lo")];
    // SAFETY: all-zero is a valid msghdr / mmsghdr / sockaddr_in.
    let mut smsg: libc::msghdr = unsafe { std::mem::zeroed() };
    smsg.msg_iov = hello.as_ptr() as *mut libc::iovec;
    smsg.msg_iovlen = 2;
    let mut rbuf2 = [0u8; 16];
    let rhello = [iov_mut(&mut rbuf2)];
    // SAFETY: as above.
    let mut rmsg: libc::msghdr = unsafe { std::mem::zeroed() };
    rmsg.msg_iov = rhello.as_ptr() as *mut libc::iovec;
    rmsg.msg_iovlen = 1;
    // SAFETY: as above.
    let mut lo: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    lo.sin_family = libc::AF_INET as u16;
    lo.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let lo_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let mut bound = lo;
    let mut blen = lo_len;
    let (mut from, mut from2) = (lo, lo);
    let mut fromlen = lo_len;
    let rcvbuf: i32 = 4096;
    let tv = libc::timeval {
        tv_sec: 2,
        tv_usec: 500_000,
    };
    let mut so_type: i32 = 0;
    let mut so_len: libc::socklen_t = 4;
    let pong = [iov(b"pong!")];
    // SAFETY: as above.
    let mut smm: libc::mmsghdr = unsafe { std::mem::zeroed() };
    smm.msg_hdr.msg_name = (&mut bound as *mut libc::sockaddr_in).cast();
    smm.msg_hdr.msg_namelen = lo_len;
    smm.msg_hdr.msg_iov = pong.as_ptr() as *mut libc::iovec;
    smm.msg_hdr.msg_iovlen = 1;
    let mut rbuf3 = [0u8; 32];
    let rpong = [iov_mut(&mut rbuf3)];
    // SAFETY: as above.
    let mut rmm: libc::mmsghdr = unsafe { std::mem::zeroed() };
    rmm.msg_hdr.msg_name = (&mut from2 as *mut libc::sockaddr_in).cast();
    rmm.msg_hdr.msg_namelen = lo_len;
    rmm.msg_hdr.msg_iov = rpong.as_ptr() as *mut libc::iovec;
    rmm.msg_hdr.msg_iovlen = 1;
    let mut dents = [0u8; 4096];
    let ms = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    let tv0 = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let futex_word: u32 = 0;
    let mut peek: u64 = 0;

    let (child, evs) = capture_child(Config::default(), 4, || {
        // SAFETY: raw syscalls on memory prepared before fork.
        unsafe {
            use libc::syscall as sc;
            let fd = sc(
                libc::SYS_openat,
                AT_FDCWD,
                cf.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
                0o644,
            );
            sc(libc::SYS_pwrite64, fd, b"0123456789".as_ptr(), 10, 5);
            sc(libc::SYS_pread64, fd, rbuf.as_mut_ptr(), rbuf.len(), 5);
            sc(libc::SYS_writev, fd, wiov.as_ptr(), 2);
            sc(libc::SYS_readv, fd, riov.as_ptr(), 2);
            sc(libc::SYS_pwritev, fd, xy.as_ptr(), 1, 20, 0);
            sc(libc::SYS_preadv, fd, rxy.as_ptr(), 1, 20, 0);
            let mut pp = [0i32; 2];
            sc(libc::SYS_pipe2, pp.as_mut_ptr(), 0);
            sc(libc::SYS_sendfile, pp[1], fd, &mut off as *mut i64, 5);
            let nul = sc(
                libc::SYS_openat,
                AT_FDCWD,
                devnull.as_ptr(),
                libc::O_WRONLY,
                0,
            );
            // (a sixth variadic argument goes on the stack: pass it as 64 bits)
            sc(
                libc::SYS_splice,
                pp[0],
                0,
                nul,
                0,
                5,
                libc::SPLICE_F_MOVE as i64,
            );
            sc(libc::SYS_fcntl, fd, libc::F_DUPFD, 50);
            let efd = sc(
                libc::SYS_eventfd2,
                7,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            );
            pfd[0].fd = efd as i32;
            sc(libc::SYS_poll, pfd.as_mut_ptr(), 1, 0);
            sc(
                libc::SYS_memfd_create,
                memfd_name.as_ptr(),
                libc::MFD_CLOEXEC,
            );
            sc(
                libc::SYS_timerfd_create,
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK,
            );
            sc(libc::SYS_inotify_init1, libc::IN_CLOEXEC);
            sc(
                libc::SYS_signalfd4,
                -1,
                &zero_mask as *const u64,
                8,
                libc::SFD_CLOEXEC,
            );
            let epfd = sc(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC);
            sc(libc::SYS_epoll_wait, epfd, evbuf.as_mut_ptr(), 4, 0);
            let mut sv = [0i32; 2];
            sc(
                libc::SYS_socketpair,
                libc::AF_UNIX,
                libc::SOCK_STREAM,
                0,
                sv.as_mut_ptr(),
            );
            sc(libc::SYS_sendmsg, sv[0], &smsg as *const libc::msghdr, 0);
            sc(libc::SYS_recvmsg, sv[1], &mut rmsg as *mut libc::msghdr, 0);
            sc(libc::SYS_shutdown, sv[0], libc::SHUT_WR);
            let u1 = sc(libc::SYS_socket, libc::AF_INET, libc::SOCK_DGRAM, 0);
            sc(libc::SYS_bind, u1, &lo as *const libc::sockaddr_in, lo_len);
            sc(
                libc::SYS_getsockname,
                u1,
                &mut bound as *mut libc::sockaddr_in,
                &mut blen as *mut libc::socklen_t,
            );
            sc(
                libc::SYS_setsockopt,
                u1,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &rcvbuf as *const i32,
                4,
            );
            sc(
                libc::SYS_setsockopt,
                u1,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval,
                std::mem::size_of::<libc::timeval>(),
            );
            sc(
                libc::SYS_getsockopt,
                u1,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                &mut so_type as *mut i32,
                &mut so_len as *mut libc::socklen_t,
            );
            let u2 = sc(libc::SYS_socket, libc::AF_INET, libc::SOCK_DGRAM, 0);
            sc(
                libc::SYS_sendto,
                u2,
                b"ping".as_ptr(),
                4,
                0,
                &bound as *const libc::sockaddr_in,
                lo_len as i64,
            );
            sc(
                libc::SYS_recvfrom,
                u1,
                rbuf.as_mut_ptr(),
                rbuf.len(),
                0,
                &mut from as *mut libc::sockaddr_in,
                &mut fromlen as *mut libc::socklen_t,
            );
            sc(libc::SYS_sendmmsg, u2, &mut smm as *mut libc::mmsghdr, 1, 0);
            sc(
                libc::SYS_recvmmsg,
                u1,
                &mut rmm as *mut libc::mmsghdr,
                1,
                0,
                0usize,
            );
            sc(libc::SYS_mkdir, csub.as_ptr(), 0o755);
            sc(libc::SYS_rmdir, csub.as_ptr());
            sc(libc::SYS_mkdirat, AT_FDCWD, csub2.as_ptr(), 0o700);
            sc(libc::SYS_rmdir, csub2.as_ptr());
            sc(libc::SYS_symlink, target_x.as_ptr(), clnk.as_ptr());
            sc(
                libc::SYS_symlinkat,
                target_y.as_ptr(),
                AT_FDCWD,
                clnk2.as_ptr(),
            );
            sc(libc::SYS_link, cf.as_ptr(), chard.as_ptr());
            sc(
                libc::SYS_linkat,
                AT_FDCWD,
                cf.as_ptr(),
                AT_FDCWD,
                chard2.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            );
            sc(libc::SYS_chmod, cf.as_ptr(), 0o600);
            sc(libc::SYS_fchmod, fd, 0o640);
            sc(libc::SYS_fchmodat, AT_FDCWD, cf.as_ptr(), 0o604, 0);
            sc(libc::SYS_chown, cf.as_ptr(), 0, 0);
            sc(libc::SYS_lchown, clnk.as_ptr(), 0, 0);
            sc(libc::SYS_fchown, fd, 0, 0);
            sc(libc::SYS_fchownat, AT_FDCWD, cf.as_ptr(), 0, 0, 0);
            sc(libc::SYS_chdir, cdir.as_ptr());
            let dfd = sc(
                libc::SYS_openat,
                AT_FDCWD,
                cdir.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY,
                0,
            );
            sc(libc::SYS_getdents64, dfd, dents.as_mut_ptr(), dents.len());
            sc(libc::SYS_fchdir, dfd);
            let m = sc(
                libc::SYS_mmap,
                0,
                8192,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0i64,
            );
            sc(libc::SYS_munmap, m, 8192);
            let m = sc(
                libc::SYS_mmap,
                0,
                4096,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                4096i64,
            );
            sc(
                libc::SYS_mprotect,
                m,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
            );
            sc(libc::SYS_brk, 0);
            sc(libc::SYS_nanosleep, &ms as *const libc::timespec, 0);
            sc(
                libc::SYS_futex,
                &futex_word as *const u32,
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
                0,
            );
            sc(libc::SYS_select, 0, 0, 0, 0, &tv0 as *const libc::timeval);
            sc(libc::SYS_setuid, 0);
            sc(libc::SYS_setgid, 0);
            sc(libc::SYS_setreuid, -1, -1);
            sc(libc::SYS_setregid, -1, -1);
            sc(libc::SYS_setresuid, -1, -1, -1);
            sc(libc::SYS_setresgid, -1, -1, -1);
            sc(libc::SYS_setsid);
            sc(libc::SYS_setpgid, 0, 0);
            sc(libc::SYS_prctl, libc::PR_SET_NAME, comm.as_ptr(), 0, 0, 0);
            sc(libc::SYS_unshare, 0);
            sc(
                libc::SYS_ptrace,
                libc::PTRACE_PEEKDATA,
                0x7fff_fff0,
                0x1000,
                &mut peek as *mut u64,
            );
            sc(
                libc::SYS_mount,
                none.as_ptr(),
                nomnt.as_ptr(),
                tmpfs.as_ptr(),
                0xc0ed_0000u64 | libc::MS_RDONLY,
                0,
            );
            sc(libc::SYS_umount2, nomnt.as_ptr(), libc::MNT_DETACH);
            let me = sc(libc::SYS_getpid);
            sc(libc::SYS_tgkill, me, me, 0);
            sc(libc::SYS_tkill, me, 0);
            // a grandchild in a process group of its own (so that SIGTSTP
            // stops it), ready once it says so
            let mut sync = [0i32; 2];
            sc(libc::SYS_pipe2, sync.as_mut_ptr(), 0);
            let gc = sc(libc::SYS_fork);
            if gc == 0 {
                sc(libc::SYS_setpgid, 0, 0);
                sc(libc::SYS_write, sync[1], b"r".as_ptr(), 1);
                loop {
                    sc(libc::SYS_pause);
                }
            }
            let mut b = [0u8; 1];
            sc(libc::SYS_read, sync[0], b.as_mut_ptr(), 1);
            let mut st = 0i32;
            sc(libc::SYS_kill, gc, libc::SIGTSTP);
            sc(libc::SYS_wait4, gc, &mut st as *mut i32, libc::WUNTRACED, 0);
            sc(libc::SYS_kill, gc, libc::SIGKILL);
            sc(libc::SYS_wait4, gc, &mut st as *mut i32, 0, 0);
            sc(libc::SYS_close_range, 1000, 1001, 0);
            sc(libc::SYS_pidfd_open, me, 0);
            sc(libc::SYS_chroot, root.as_ptr());
        }
    });

    let mine: Vec<&Event> = evs.iter().filter(|e| tid(e) == child).collect();
    let fd = std::cell::Cell::new(-1i64);
    let pipe_r = std::cell::Cell::new(-1i64);
    let pipe_w = std::cell::Cell::new(-1i64);
    let nul = std::cell::Cell::new(-1i64);
    let efd = std::cell::Cell::new(-1i64);
    let sk = std::cell::Cell::new((0u64, 0u64));
    let sv = std::cell::Cell::new((-1i64, -1i64));
    let u1 = std::cell::Cell::new(-1i64);
    let u2 = std::cell::Cell::new(-1i64);
    let port = std::cell::Cell::new(0u16);
    let sport = std::cell::Cell::new(0u16);
    let dfd = std::cell::Cell::new(-1i64);
    let mapped = std::cell::Cell::new(0u64);
    let gchild = std::cell::Cell::new(-1i64);
    let lo4 = [127u8, 0, 0, 1];
    let le16 = |v: &[u8]| u16::from_le_bytes([v[0], v[1]]);
    // a datagram tuple: family, then source and destination ip:port
    let udp = |t: &[u8], sip: [u8; 4], sp: u16, dip: [u8; 4], dp: u16| {
        t.len() == 13
            && t[0] == 2
            && t[1..5] == sip
            && le16(&t[5..7]) == sp
            && t[7..11] == dip
            && le16(&t[11..13]) == dp
    };
    const PPM_O_RDWR: u64 = 3;
    const PPM_O_NONBLOCK: u64 = 64;
    const PPM_O_CLOEXEC: u64 = 4096;
    let wants = vec![
        want(c::SYSCALL_OPENAT_2_X, "openat", |e| {
            fd.set(int(e, "fd"));
            int(e, "fd") >= 3 && uint(e, "flags") & PPM_O_RDWR == PPM_O_RDWR
        }),
        want(c::SYSCALL_PWRITE_X, "pwrite64", |e| {
            int(e, "res") == 10
                && param(e, "data") == b"0123456789"
                && int(e, "fd") == fd.get()
                && uint(e, "size") == 10
                && uint(e, "pos") == 5
        }),
        want(c::SYSCALL_PREAD_X, "pread64", |e| {
            int(e, "res") == 10
                && param(e, "data") == b"0123456789"
                && int(e, "fd") == fd.get()
                && uint(e, "size") == 100
                && uint(e, "pos") == 5
        }),
        want(c::SYSCALL_WRITEV_X, "writev", |e| {
            int(e, "res") == 5
                && param(e, "data") == b"abcde"
                && int(e, "fd") == fd.get()
                && uint(e, "size") == 5
        }),
        want(c::SYSCALL_READV_X, "readv", |e| {
            int(e, "res") == 7
                && uint(e, "size") == 7
                && param(e, "data") == b"0123456"
                && int(e, "fd") == fd.get()
        }),
        want(c::SYSCALL_PWRITEV_X, "pwritev", |e| {
            int(e, "res") == 2
                && param(e, "data") == b"XY"
                && int(e, "fd") == fd.get()
                && uint(e, "size") == 2
                && uint(e, "pos") == 20
        }),
        want(c::SYSCALL_PREADV_X, "preadv", |e| {
            int(e, "res") == 2
                && uint(e, "size") == 2
                && param(e, "data") == b"XY"
                && int(e, "fd") == fd.get()
                && uint(e, "pos") == 20
        }),
        want(c::SYSCALL_PIPE2_X, "pipe2", |e| {
            pipe_r.set(int(e, "fd1"));
            pipe_w.set(int(e, "fd2"));
            int(e, "res") == 0
        }),
        want(c::SYSCALL_SENDFILE_X, "sendfile", |e| {
            int(e, "res") == 5
                && uint(e, "offset") == 5
                && int(e, "out_fd") == pipe_w.get()
                && int(e, "in_fd") == fd.get()
                && uint(e, "size") == 5
        }),
        want(c::SYSCALL_OPENAT_2_X, "openat /dev/null", |e| {
            nul.set(int(e, "fd"));
            s(e, "name") == b"/dev/null"
        }),
        want(c::SYSCALL_SPLICE_X, "splice", |e| {
            int(e, "res") == 5
                && int(e, "fd_in") == pipe_r.get()
                && int(e, "fd_out") == nul.get()
                && uint(e, "size") == 5
                && uint(e, "flags") == 1 // PPM_SPLICE_F_MOVE (the sixth argument)
        }),
        want(c::SYSCALL_FCNTL_X, "fcntl F_DUPFD", |e| {
            // the lowest free fd from 50 (the test process may hold some)
            int(e, "res") >= 50
                && int(e, "fd") == fd.get()
                && uint(e, "cmd") == 1 // PPM_FCNTL_F_DUPFD
                && uint(e, "arg") == 50
        }),
        want(c::SYSCALL_EVENTFD2_X, "eventfd2", |e| {
            efd.set(int(e, "res"));
            int(e, "res") >= 3
                && uint(e, "flags") == PPM_O_CLOEXEC | PPM_O_NONBLOCK
                && uint(e, "initval") == 7
        }),
        want(c::SYSCALL_POLL_X, "poll", |e| {
            let mut fds = vec![1u8, 0];
            fds.extend_from_slice(&efd.get().to_le_bytes());
            fds.extend_from_slice(&1u16.to_le_bytes()); // PPM_POLLIN
            int(e, "res") == 1 && param(e, "fds") == fds && int(e, "timeout") == 0
        }),
        want(c::SYSCALL_MEMFD_CREATE_X, "memfd_create", |e| {
            int(e, "fd") >= 3 && s(e, "name") == b"sonde-memfd" && uint(e, "flags") == 1
        }),
        want(c::SYSCALL_TIMERFD_CREATE_X, "timerfd_create", |e| {
            int(e, "res") >= 3
                && uint(e, "clockid") == libc::CLOCK_MONOTONIC as u64
                && uint(e, "flags") == PPM_O_NONBLOCK
        }),
        want(c::SYSCALL_INOTIFY_INIT1_X, "inotify_init1", |e| {
            int(e, "res") >= 3 && uint(e, "flags") == PPM_O_CLOEXEC
        }),
        want(c::SYSCALL_SIGNALFD4_X, "signalfd4", |e| {
            int(e, "res") >= 3
                && uint(e, "flags") == PPM_O_CLOEXEC
                && int(e, "fd") == -1
                && uint(e, "mask") == 0
        }),
        want(c::SYSCALL_EPOLL_CREATE1_X, "epoll_create1", |e| {
            int(e, "res") >= 3 && uint(e, "flags") == 1 // PPM_EPOLL_CLOEXEC
        }),
        want(c::SYSCALL_EPOLLWAIT_X, "epoll_wait", |e| {
            int(e, "res") == 0 && int(e, "maxevents") == 4
        }),
        want(c::SOCKET_SOCKETPAIR_X, "socketpair", |e| {
            sv.set((int(e, "fd1"), int(e, "fd2")));
            sk.set((uint(e, "source"), uint(e, "peer")));
            int(e, "res") == 0
                && int(e, "fd1") >= 3
                && int(e, "fd2") >= 3
                && uint(e, "source") != 0
                && uint(e, "peer") != 0
                && uint(e, "domain") == 1
                && uint(e, "type") == 1
                && uint(e, "proto") == 0
        }),
        want(c::SOCKET_SENDMSG_X, "sendmsg (unix)", |e| {
            // outbound unix tuple: the peer, this socket, the peer's path
            let (src, peer) = sk.get();
            let t = param(e, "tuple");
            int(e, "res") == 5
                && param(e, "data") == b"hello"
                && int(e, "fd") == sv.get().0
                && uint(e, "size") == 5
                && t.len() == 18
                && t[0] == 1
                && t[1..9] == peer.to_le_bytes()
                && t[9..17] == src.to_le_bytes()
                && t[17] == 0
        }),
        want(c::SOCKET_RECVMSG_X, "recvmsg (unix)", |e| {
            // inbound unix tuple: this socket, then the peer
            let (src, peer) = sk.get();
            let t = param(e, "tuple");
            int(e, "res") == 5
                && uint(e, "size") == 5
                && param(e, "data") == b"hello"
                && t.len() == 18
                && t[1..9] == peer.to_le_bytes()
                && t[9..17] == src.to_le_bytes()
                && param(e, "msgcontrol").is_empty()
                && int(e, "fd") == sv.get().1
        }),
        want(c::SOCKET_SHUTDOWN_X, "shutdown", |e| {
            int(e, "res") == 0 && int(e, "fd") == sv.get().0 && uint(e, "how") == 1
        }),
        want(c::SOCKET_SOCKET_X, "socket (udp 1)", |e| {
            u1.set(int(e, "fd"));
            uint(e, "type") == libc::SOCK_DGRAM as u64
        }),
        want(c::SOCKET_SETSOCKOPT_X, "setsockopt SO_RCVBUF", |e| {
            let mut val = vec![2u8]; // PPM_SOCKOPT_IDX_UINT32
            val.extend_from_slice(&4096u32.to_le_bytes());
            int(e, "res") == 0
                && int(e, "fd") == u1.get()
                && uint(e, "level") == 1
                && uint(e, "optname") == 8
                && param(e, "val") == val
                && uint(e, "optlen") == 4
        }),
        want(c::SOCKET_SETSOCKOPT_X, "setsockopt SO_RCVTIMEO", |e| {
            let mut val = vec![4u8]; // PPM_SOCKOPT_IDX_TIMEVAL, in ns
            val.extend_from_slice(&2_500_000_000u64.to_le_bytes());
            int(e, "res") == 0
                && uint(e, "optname") == 20
                && param(e, "val") == val
                && uint(e, "optlen") == 16
        }),
        want(c::SOCKET_GETSOCKOPT_X, "getsockopt SO_TYPE", |e| {
            let mut val = vec![2u8];
            val.extend_from_slice(&(libc::SOCK_DGRAM as u32).to_le_bytes());
            int(e, "res") == 0
                && int(e, "fd") == u1.get()
                && uint(e, "level") == 1
                && uint(e, "optname") == 3
                && param(e, "val") == val
                && uint(e, "optlen") == 4
        }),
        want(c::SOCKET_SOCKET_X, "socket (udp 2)", |e| {
            u2.set(int(e, "fd"));
            true
        }),
        want(c::SOCKET_SENDTO_X, "sendto (unconnected udp)", |e| {
            // the destination comes from the user's address
            let t = param(e, "tuple");
            port.set(le16(&t[11..13]));
            sport.set(le16(&t[5..7]));
            int(e, "res") == 4
                && param(e, "data") == b"ping"
                && int(e, "fd") == u2.get()
                && uint(e, "size") == 4
                && udp(t, [0; 4], sport.get(), lo4, port.get())
                && port.get() != 0
                && sport.get() != 0
        }),
        want(c::SOCKET_RECVFROM_X, "recvfrom", |e| {
            // inbound: the sender (from the address the kernel filled) first
            int(e, "res") == 4
                && param(e, "data") == b"ping"
                && udp(param(e, "tuple"), lo4, sport.get(), lo4, port.get())
                && int(e, "fd") == u1.get()
                && uint(e, "size") == 100
        }),
        want(c::SOCKET_SENDMMSG_X, "sendmmsg", |e| {
            int(e, "res") == 5
                && int(e, "fd") == u2.get()
                && uint(e, "size") == 5
                && param(e, "data") == b"pong!"
                && udp(param(e, "tuple"), [0; 4], sport.get(), lo4, port.get())
        }),
        want(c::SOCKET_RECVMMSG_X, "recvmmsg", |e| {
            int(e, "res") == 5
                && int(e, "fd") == u1.get()
                && uint(e, "size") == 5
                && param(e, "data") == b"pong!"
                && udp(param(e, "tuple"), lo4, sport.get(), lo4, port.get())
                && param(e, "msgcontrol").is_empty()
        }),
        want(c::SYSCALL_MKDIR_2_X, "mkdir", |e| {
            int(e, "res") == 0 && s(e, "path") == sub.as_bytes() && uint(e, "mode") == 0o755
        }),
        want(c::SYSCALL_RMDIR_2_X, "rmdir", |e| {
            int(e, "res") == 0 && s(e, "path") == sub.as_bytes()
        }),
        want(c::SYSCALL_MKDIRAT_X, "mkdirat", |e| {
            int(e, "res") == 0
                && int(e, "dirfd") == AT_FDCWD
                && s(e, "path") == sub2.as_bytes()
                && uint(e, "mode") == 0o700
        }),
        want(c::SYSCALL_RMDIR_2_X, "rmdir", |e| {
            s(e, "path") == sub2.as_bytes()
        }),
        want(c::SYSCALL_SYMLINK_X, "symlink", |e| {
            int(e, "res") == 0
                && s(e, "target") == b"target-x"
                && s(e, "linkpath") == lnk.as_bytes()
        }),
        want(c::SYSCALL_SYMLINKAT_X, "symlinkat", |e| {
            int(e, "res") == 0
                && s(e, "target") == b"target-y"
                && int(e, "linkdirfd") == AT_FDCWD
                && s(e, "linkpath") == lnk2.as_bytes()
        }),
        want(c::SYSCALL_LINK_2_X, "link", |e| {
            int(e, "res") == 0
                && s(e, "oldpath") == f.as_bytes()
                && s(e, "newpath") == hard.as_bytes()
        }),
        want(c::SYSCALL_LINKAT_2_X, "linkat", |e| {
            int(e, "res") == 0
                && int(e, "olddir") == AT_FDCWD
                && s(e, "oldpath") == f.as_bytes()
                && int(e, "newdir") == AT_FDCWD
                && s(e, "newpath") == hard2.as_bytes()
                && uint(e, "flags") == 1024 // PPM_AT_SYMLINK_FOLLOW
        }),
        want(c::SYSCALL_CHMOD_X, "chmod", |e| {
            int(e, "res") == 0 && s(e, "filename") == f.as_bytes() && uint(e, "mode") == 0o600
        }),
        want(c::SYSCALL_FCHMOD_X, "fchmod", |e| {
            int(e, "res") == 0 && int(e, "fd") == fd.get() && uint(e, "mode") == 0o640
        }),
        want(c::SYSCALL_FCHMODAT_X, "fchmodat", |e| {
            int(e, "res") == 0
                && int(e, "dirfd") == AT_FDCWD
                && s(e, "filename") == f.as_bytes()
                && uint(e, "mode") == 0o604
        }),
        want(c::SYSCALL_CHOWN_X, "chown", |e| {
            int(e, "res") == 0
                && s(e, "path") == f.as_bytes()
                && uint(e, "uid") == 0
                && uint(e, "gid") == 0
        }),
        want(c::SYSCALL_LCHOWN_X, "lchown", |e| {
            int(e, "res") == 0 && s(e, "path") == lnk.as_bytes()
        }),
        want(c::SYSCALL_FCHOWN_X, "fchown", |e| {
            int(e, "res") == 0 && int(e, "fd") == fd.get()
        }),
        want(c::SYSCALL_FCHOWNAT_X, "fchownat", |e| {
            int(e, "res") == 0
                && int(e, "dirfd") == AT_FDCWD
                && s(e, "pathname") == f.as_bytes()
                && uint(e, "flags") == 0
        }),
        want(c::SYSCALL_CHDIR_X, "chdir", |e| {
            int(e, "res") == 0 && s(e, "path") == dirs.as_bytes()
        }),
        want(c::SYSCALL_OPENAT_2_X, "openat dir", |e| {
            dfd.set(int(e, "fd"));
            s(e, "name") == dirs.as_bytes()
        }),
        want(c::SYSCALL_GETDENTS64_X, "getdents64", |e| {
            int(e, "res") > 0 && int(e, "fd") == dfd.get()
        }),
        want(c::SYSCALL_FCHDIR_X, "fchdir", |e| {
            int(e, "res") == 0 && int(e, "fd") == dfd.get()
        }),
        want(c::SYSCALL_MMAP_X, "mmap anonymous", |e| {
            mapped.set(int(e, "res") as u64);
            int(e, "res") > 0
                && uint(e, "vm_size") > 0
                && uint(e, "vm_rss") > 0
                && uint(e, "addr") == 0
                && uint(e, "length") == 8192
                && uint(e, "prot") == 3 // PPM_PROT_READ | PPM_PROT_WRITE
                && uint(e, "flags") == 2 | 8 // PPM_MAP_PRIVATE | PPM_MAP_ANONYMOUS
                && int(e, "fd") == -1
                && uint(e, "offset") == 0
        }),
        want(c::SYSCALL_MUNMAP_X, "munmap", |e| {
            int(e, "res") == 0
                && uint(e, "vm_size") > 0
                && uint(e, "addr") == mapped.get()
                && uint(e, "length") == 8192
        }),
        want(c::SYSCALL_MMAP_X, "mmap of the file at 4096", |e| {
            mapped.set(int(e, "res") as u64);
            int(e, "res") > 0
                && uint(e, "prot") == 1
                && uint(e, "flags") == 1 // PPM_MAP_SHARED
                && int(e, "fd") == fd.get()
                && uint(e, "offset") == 4096 // the sixth argument
        }),
        want(c::SYSCALL_MPROTECT_X, "mprotect", |e| {
            int(e, "res") == 0
                && uint(e, "addr") == mapped.get()
                && uint(e, "length") == 4096
                && uint(e, "prot") == 3
        }),
        want(c::SYSCALL_BRK_4_X, "brk", |e| {
            uint(e, "res") > 0 && uint(e, "vm_size") > 0 && uint(e, "addr") == 0
        }),
        want(c::SYSCALL_NANOSLEEP_X, "nanosleep", |e| {
            int(e, "res") == 0 && uint(e, "interval") == 1_000_000
        }),
        want(c::SYSCALL_FUTEX_X, "futex", |e| {
            int(e, "res") == 0
                && uint(e, "addr") == &futex_word as *const u32 as u64
                && uint(e, "op") == 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
                && uint(e, "val") == 1
        }),
        want(c::SYSCALL_SELECT_X, "select", |e| int(e, "res") == 0),
        want(c::SYSCALL_SETUID_X, "setuid", |e| {
            int(e, "res") == 0 && uint(e, "uid") == 0
        }),
        want(c::SYSCALL_SETGID_X, "setgid", |e| {
            int(e, "res") == 0 && uint(e, "gid") == 0
        }),
        want(c::SYSCALL_SETREUID_X, "setreuid", |e| {
            int(e, "res") == 0
                && uint(e, "ruid") == u32::MAX as u64
                && uint(e, "euid") == u32::MAX as u64
        }),
        want(c::SYSCALL_SETREGID_X, "setregid", |e| {
            int(e, "res") == 0 && uint(e, "rgid") == u32::MAX as u64
        }),
        want(c::SYSCALL_SETRESUID_X, "setresuid", |e| {
            int(e, "res") == 0 && uint(e, "suid") == u32::MAX as u64
        }),
        want(c::SYSCALL_SETRESGID_X, "setresgid", |e| {
            int(e, "res") == 0 && uint(e, "sgid") == u32::MAX as u64
        }),
        want(c::SYSCALL_SETSID_X, "setsid", |e| int(e, "res") == child),
        want(
            c::SYSCALL_SETPGID_X,
            "setpgid (EPERM: a session leader)",
            |e| int(e, "res") == -1 && int(e, "pid") == 0 && int(e, "pgid") == 0,
        ),
        want(c::SYSCALL_PRCTL_X, "prctl PR_SET_NAME", |e| {
            int(e, "res") == 0
                && uint(e, "option") == 15
                && s(e, "arg2_str") == b"sonde-wl"
                && int(e, "arg2_int") == 0
        }),
        want(c::SYSCALL_UNSHARE_X, "unshare", |e| {
            int(e, "res") == 0 && uint(e, "flags") == 0
        }),
        want(c::SYSCALL_PTRACE_X, "ptrace ESRCH", |e| {
            let zero = [0u8; 9]; // PPM_PTRACE_IDX_UINT64, 0 when the call fails
            int(e, "res") == -3
                && param(e, "addr") == zero
                && param(e, "data") == zero
                && uint(e, "request") == 3 // PPM_PTRACE_PEEKDATA
                && int(e, "pid") == 0x7fff_fff0
        }),
        want(c::SYSCALL_MOUNT_X, "mount ENOENT", |e| {
            int(e, "res") == -2
                && s(e, "dev") == b"none"
                && s(e, "dir") == b"/nonexistent-sonde-mnt"
                && s(e, "type") == b"tmpfs"
                && uint(e, "flags") == 1 // MS_RDONLY, the magic number dropped
        }),
        want(c::SYSCALL_UMOUNT2_X, "umount2 ENOENT", |e| {
            int(e, "res") == -2
                && s(e, "name") == b"/nonexistent-sonde-mnt"
                && uint(e, "flags") == 2 // PPM_MNT_DETACH
        }),
        want(c::SYSCALL_TGKILL_X, "tgkill", |e| {
            int(e, "res") == 0
                && int(e, "pid") == child
                && int(e, "tid") == child
                && uint(e, "sig") == 0
        }),
        want(c::SYSCALL_TKILL_X, "tkill", |e| {
            int(e, "res") == 0 && int(e, "tid") == child && uint(e, "sig") == 0
        }),
        want(c::SYSCALL_FORK_20_X, "fork", |e| {
            gchild.set(int(e, "res"));
            int(e, "res") > 0
        }),
        want(c::SYSCALL_KILL_X, "kill SIGTSTP", |e| {
            int(e, "res") == 0 && int(e, "pid") == gchild.get() && uint(e, "sig") == 20
        }),
        want(c::SYSCALL_KILL_X, "kill SIGKILL", |e| {
            int(e, "res") == 0 && int(e, "pid") == gchild.get() && uint(e, "sig") == 9
        }),
        want(c::SYSCALL_CLOSE_RANGE_X, "close_range", |e| {
            int(e, "res") == 0
                && uint(e, "first") == 1000
                && uint(e, "last") == 1001
                && uint(e, "flags") == 0
        }),
        want(c::SYSCALL_PIDFD_OPEN_X, "pidfd_open", |e| {
            int(e, "fd") >= 3 && int(e, "pid") == child && uint(e, "flags") == 0
        }),
        want(c::SYSCALL_CHROOT_X, "chroot", |e| {
            int(e, "res") == 0 && s(e, "path") == b"/"
        }),
        want(c::PROCEXIT_1_E, "procexit", |e| int(e, "ret") == 4),
    ];
    assert_in_order(&mine, &wants, "syscall_families");

    // the grandchild gets the signals its parent sent: SIGTSTP with its
    // sender, then SIGKILL (which the kernel delivers without a siginfo)
    let g = gchild.get();
    let theirs: Vec<&Event> = evs.iter().filter(|e| tid(e) == g).collect();
    let wants = vec![
        want(c::SIGNALDELIVER_E, "SIGTSTP delivered", |e| {
            int(e, "spid") == child && int(e, "dpid") == g && uint(e, "sig") == 20
        }),
        want(c::SIGNALDELIVER_E, "SIGKILL delivered", |e| {
            int(e, "spid") == 0 && int(e, "dpid") == g && uint(e, "sig") == 9
        }),
        want(c::PROCEXIT_1_E, "procexit by SIGKILL", |e| {
            uint(e, "sig") == 9
        }),
    ];
    assert_in_order(&theirs, &wants, "grandchild");
    // context switches and page faults only when asked for
    assert!(!evs
        .iter()
        .any(|e| matches!(e.raw().code, c::SCHEDSWITCH_6_E | c::PAGE_FAULT_E)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Context switches and user page faults, when the configuration asks for them.
#[test]
fn switches_and_page_faults() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 || sonde_probe::check_support().is_err() {
        eprintln!("switches_and_page_faults: skipped: live capture needs root and BPF support");
        return;
    }
    let ms = libc::timespec {
        tv_sec: 0,
        tv_nsec: 2_000_000,
    };
    let cfg = Config {
        sched_switch: true,
        page_faults: true,
        ..Config::default()
    };
    let (child, evs) = capture_child(cfg, 0, || {
        // SAFETY: raw syscalls; the mapping is written inside its bounds.
        unsafe {
            let m = libc::syscall(
                libc::SYS_mmap,
                0,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0i64,
            );
            std::ptr::write_volatile(m as *mut u8, 1);
            libc::syscall(libc::SYS_nanosleep, &ms as *const libc::timespec, 0);
        }
    });
    let mine: Vec<&Event> = evs.iter().filter(|e| tid(e) == child).collect();
    let mapped = std::cell::Cell::new(0u64);
    let wants = vec![
        want(c::SYSCALL_MMAP_X, "mmap", |e| {
            mapped.set(int(e, "res") as u64);
            int(e, "res") > 0
        }),
        want(c::PAGE_FAULT_E, "write fault on the new page", |e| {
            // PAGE_NOT_PRESENT | WRITE_ACCESS | USER_FAULT
            uint(e, "addr") == mapped.get() && uint(e, "ip") != 0 && uint(e, "error") == 2 | 4 | 16
        }),
        want(c::SCHEDSWITCH_6_E, "switch away while sleeping", |e| {
            int(e, "next") != child && uint(e, "vm_size") > 0 && uint(e, "pgft_min") > 0
        }),
        want(c::SYSCALL_NANOSLEEP_X, "nanosleep", |e| {
            uint(e, "interval") == 2_000_000
        }),
    ];
    assert_in_order(&mine, &wants, "switches_and_page_faults");
}

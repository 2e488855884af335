//! The fd lifecycle: the system calls that create file descriptors
//! (open family, pipes, eventfd, signalfd, timerfd, inotify, epoll,
//! userfaultfd, io_uring, bpf, pidfd, memfd), copy them (dup family,
//! `fcntl(F_DUPFD)`), close them (`close`, `close_range`, deferred to the
//! next event) and change the working directory (`chdir`, `fchdir`).
//! Sockets are in `sockets`.

use sonde_event::{codes as c, RawEvent};

use crate::fd::{Fd, FdType};
use crate::path::{concat_path, resolve_path};

use super::State;

const PPM_O_WRONLY: u32 = 2;
const PPM_O_CREAT: u32 = 4;
const PPM_O_TRUNC: u32 = 256;
const PPM_O_DIRECTORY: u32 = 1024;
/// The directory fd that means "the working directory".
pub(super) const PPM_AT_FDCWD: i64 = -100;
const F_DUPFD: u64 = 1;
const F_DUPFD_CLOEXEC: u64 = 26;

impl State {
    /// Adds fd `fd` to `tid`'s table (its owner's), within the limits.
    pub(super) fn add_fd(&mut self, tid: i64, fd: i64, f: Fd) {
        if fd < 0 {
            return;
        }
        // a new fd counts as renamed when it has a name (sysdig compares
        // with the empty name a fresh fd starts with)
        self.fd_name_changed = !f.name.is_empty();
        let max = self.limits.max_fds_per_thread;
        // the common case: a known thread that holds its own table, in
        // one lookup
        if let Some(t) = self.threads.get_mut(&tid) {
            if !t.shares_fds() {
                if t.fds.len() >= max && !t.fds.contains_key(&fd) {
                    return;
                }
                t.fds.insert(fd, f);
                t.last_fd = Some(fd);
                return;
            }
        }
        let owner = self.fd_owner_tid(tid);
        let t = self.thread_mut(owner);
        if t.fds.len() >= max && !t.fds.contains_key(&fd) {
            return;
        }
        t.fds.insert(fd, f);
        // the fd a creating syscall returns is the one it operates on
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_fd = Some(fd);
        }
    }

    /// `open`/`creat` exit: a file or directory named by the call.
    pub(super) fn on_open_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let name = ev.param_str(1).map(|s| s.to_vec()).or_else(|| {
            self.enter_param(tid, enter, 0)
                .map(|s| sonde_event::cstr(s).to_vec())
        });
        let flags = if ev.code == c::SYSCALL_OPEN_X {
            ev.param_u64(2)
                .or_else(|| self.enter_param(tid, enter, 1).map(sonde_event::le_uint))
                .unwrap_or(0) as u32
        } else {
            PPM_O_CREAT | PPM_O_WRONLY | PPM_O_TRUNC
        };
        if fd >= 0 {
            let raw = name.unwrap_or_default();
            let path = resolve_path(self.cwd(tid), &raw);
            let mut f = Fd::new(
                if flags & PPM_O_DIRECTORY != 0 {
                    FdType::Directory
                } else {
                    FdType::File
                },
                path,
            );
            f.flags = flags;
            f.dev = ev.param_u64(4).unwrap_or(0) as u32;
            f.ino = ev.param_u64(5).unwrap_or(0);
            f.set_raw_name(&raw);
            self.add_fd(tid, fd, f);
        }
    }

    /// `openat` exit (old layout: the arguments are in the enter event).
    pub(super) fn on_openat_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let dirfd = self.enter_i64(tid, enter, 0).unwrap_or(PPM_AT_FDCWD);
        let name = self
            .enter_param(tid, enter, 1)
            .map(|s| sonde_event::cstr(s).to_vec())
            .unwrap_or_default();
        let flags = self
            .enter_param(tid, enter, 2)
            .map(sonde_event::le_uint)
            .unwrap_or(0) as u32;
        self.open_at(tid, fd, dirfd, &name, flags, 0, 0);
    }

    /// `openat` (current layout) and `openat2` exits.
    pub(super) fn on_openat2_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let dirfd = ev.param_i64(1).unwrap_or(PPM_AT_FDCWD);
        let name = ev.param_str(2).unwrap_or_default();
        let flags = ev.param_u64(3).unwrap_or(0) as u32;
        let (dev_i, ino_i) = if ev.code == c::SYSCALL_OPENAT2_X {
            (6, 7)
        } else {
            (5, 6)
        };
        let dev = ev.param_u64(dev_i).unwrap_or(0) as u32;
        let ino = ev.param_u64(ino_i).unwrap_or(0);
        self.open_at(tid, fd, dirfd, name, flags, dev, ino);
    }

    /// `open_by_handle_at` exit: the driver names the file.
    pub(super) fn on_open_by_handle_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let flags = ev.param_u64(2).unwrap_or(0) as u32;
        let path = ev.param_str(3).unwrap_or_default().to_vec();
        let mut f = Fd::new(FdType::File, path);
        f.flags = flags;
        self.add_fd(tid, fd, f);
    }

    /// `pipe`/`pipe2` exit: two fifo ends sharing one inode.
    pub(super) fn on_pipe_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            let ino = ev.param_u64(3).unwrap_or(0);
            for i in [1, 2] {
                let fd = ev.param_i64(i).unwrap_or(-1);
                let mut f = Fd::new(FdType::Fifo, Vec::new());
                f.ino = ino;
                self.add_fd(tid, fd, f);
            }
        }
    }

    /// `memfd_create` exit: a memfd named `memfd:<name>`.
    pub(super) fn on_memfd_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        let fd = ev.param_i64(0).unwrap_or(-1);
        let mut name = b"memfd:".to_vec();
        name.extend_from_slice(ev.param_str(1).unwrap_or_default());
        self.add_fd(tid, fd, Fd::new(FdType::Memfd, name));
    }

    /// `dup` family exit: the new fd is a copy of the old one.
    pub(super) fn on_dup_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let newfd = ev.param_i64(0).unwrap_or(-1);
        let oldfd = self.exit_fd(ev, enter, 1);
        if newfd >= 0 && newfd != oldfd {
            self.copy_fd(tid, oldfd, newfd);
        }
    }

    /// Fd `to` of `tid` becomes a copy of its fd `from` (if known).
    fn copy_fd(&mut self, tid: i64, from: i64, to: i64) {
        if let Some(f) = self.fd(tid, from).cloned() {
            self.add_fd(tid, to, f);
            // a copy keeps the name it had
            self.fd_name_changed = false;
        }
    }

    /// `fcntl` exit: `F_DUPFD` and `F_DUPFD_CLOEXEC` copy an fd.
    pub(super) fn on_fcntl_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let res = ev.param_i64(0).unwrap_or(-1);
        let cmd = ev
            .param_u64(2)
            .or_else(|| self.enter_param(tid, enter, 1).map(sonde_event::le_uint));
        let fd = self.exit_fd(ev, enter, 1);
        if res >= 0 && matches!(cmd, Some(F_DUPFD) | Some(F_DUPFD_CLOEXEC)) {
            self.copy_fd(tid, fd, res);
        }
    }

    /// `close` exit: the fd goes at the start of the next event.
    pub(super) fn on_close_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        let res = ev.param_i64(0).unwrap_or(-1);
        let fd = self.exit_fd(ev, enter, 1);
        if res >= 0 && fd >= 0 {
            let owner = self.fd_owner_tid(tid);
            self.pending_close.push((owner, fd));
        }
    }

    /// `close_range` exit: the fds in the range go at the next event.
    pub(super) fn on_close_range_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            let first = ev.param_u64(1).unwrap_or(0) as i64;
            let last = ev.param_u64(2).unwrap_or(0) as i64;
            let owner = self.fd_owner_tid(tid);
            if let Some(t) = self.threads.get(&owner) {
                let gone: Vec<i64> = t
                    .fds
                    .keys()
                    .copied()
                    .filter(|f| *f >= first && *f <= last)
                    .collect();
                self.pending_close
                    .extend(gone.into_iter().map(|f| (owner, f)));
            }
        }
    }

    /// `chdir` exit: the process's new working directory.
    pub(super) fn on_chdir_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            if let Some(p) = ev.param_str(1) {
                let new = resolve_path(self.cwd(tid), p);
                self.set_cwd(tid, new);
            }
        }
    }

    /// `fchdir` exit: the directory the fd names becomes the cwd.
    pub(super) fn on_fchdir_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            let fd = self.exit_fd(ev, enter, 1);
            if let Some(f) = self.fd(tid, fd) {
                let new = f.name.clone();
                self.set_cwd(tid, new);
            }
        }
    }

    /// Sets the working directory of `tid`'s process (its main thread).
    pub(super) fn set_cwd(&mut self, tid: i64, mut cwd: Vec<u8>) {
        if !cwd.ends_with(b"/") {
            cwd.push(b'/');
        }
        let pid = self.threads.get(&tid).map(|t| t.pid).unwrap_or(tid);
        let target = if self.threads.contains_key(&pid) {
            pid
        } else {
            tid
        };
        self.thread_mut(target).cwd = cwd;
    }

    /// An fd-creating exit whose fd has no name (eventfd, epoll, ...).
    pub(super) fn simple_fd(&mut self, tid: i64, ev: &RawEvent<'_>, kind: FdType) {
        let fd = ev.param_i64(0).unwrap_or(-1);
        self.add_fd(tid, fd, Fd::new(kind, Vec::new()));
    }

    /// Adds the fd an `openat`-style call opened: `name` relative to
    /// `dirfd` (or the working directory).
    #[allow(clippy::too_many_arguments)]
    fn open_at(
        &mut self,
        tid: i64,
        fd: i64,
        dirfd: i64,
        name: &[u8],
        flags: u32,
        dev: u32,
        ino: u64,
    ) {
        if fd < 0 {
            return;
        }
        let base: &[u8] = if name.first() == Some(&b'/') {
            b""
        } else if dirfd == PPM_AT_FDCWD {
            self.cwd(tid)
        } else {
            // sysdig names the directory of an unknown dirfd "<UNKNOWN>"
            self.fd(tid, dirfd).map_or(b"<UNKNOWN>", |f| &f.name)
        };
        let path = if base.is_empty() {
            resolve_path(b"", name)
        } else if base == b"<UNKNOWN>" {
            // sysdig glues the name on without a separator
            [base, name].concat()
        } else {
            concat_path(base, name)
        };
        let mut f = Fd::new(
            if flags & PPM_O_DIRECTORY != 0 {
                FdType::Directory
            } else {
                FdType::File
            },
            path,
        );
        f.flags = flags;
        f.dev = dev;
        f.ino = ino;
        f.set_raw_name(name);
        self.add_fd(tid, fd, f);
    }
}

//! Threads and processes.

use rustc_hash::FxHashMap;

use sonde_event::meta::ThreadInfo;

use crate::fd::Fd;

/// Clone flags sonde interprets (`PPM_CL_*`).
pub mod clone_flags {
    /// The child shares the fd table.
    pub const CLONE_FILES: u32 = 1;
    /// The child shares cwd, root and umask.
    pub const CLONE_FS: u32 = 2;
    /// The child is a thread of the same process.
    pub const CLONE_THREAD: u32 = 8192;
    /// The child's own clone exit came before its parent's (sonde and
    /// libsinsp mark the thread so; the kernel has no such flag).
    pub const CLONE_INVERTED: u32 = 65_536;
    /// The parent waits until the child execs or exits.
    pub const CLONE_VFORK: u32 = 134_217_728;
    /// The thread has exited.
    pub const CLOSED: u32 = 262_144;
    /// The child lives in a new pid namespace (a container).
    pub const CHILD_IN_PIDNS: u32 = 536_870_912;
}

/// One thread. Threads of a process share the main thread's fd table and cwd.
///
/// What a process-list record says about a thread is kept as that record,
/// [`ThreadInfo`] (reachable directly: `t.comm`, `t.pid`, through `Deref`),
/// so the state and capture metadata share one definition; the rest is
/// what only the state engine knows. For a thread that is not its
/// process's main thread, `info.cwd` is empty (the process keeps it), and
/// a main thread's `cwd` always ends in `/`.
#[derive(Debug, Clone, Default)]
pub struct Thread {
    /// The fields a process-list record carries.
    pub info: ThreadInfo,
    /// When the thread was cloned (ns since epoch, 0: before the capture).
    pub clone_ts: u64,
    /// File descriptors (meaningful on the thread that owns the table).
    pub fds: FxHashMap<i64, Fd>,
    /// The last enter event of this thread: its code, timestamp and a copy
    /// of its parameters, so exit events can use what only the enter had.
    pub last_enter: LastEnter,
    /// The fd the current system call operates on, if any.
    pub last_fd: Option<i64>,
    /// Short id of the container the thread runs in (empty: the host).
    pub container_id: Vec<u8>,
    /// Time between the last enter event and the exit event that
    /// followed it (0 after an enter event), in ns.
    pub latency: u64,
    /// Timestamp of the last enter event (0: none yet).
    pub latency_enter_ts: u64,
    /// `clone_ts - exe_ino_ctime` as computed at execve (0: not known).
    pub exe_ino_ctime_duration_clone_ts: u64,
    /// `exe_ino_ctime - pidns_init_start_ts` as computed at execve (0: not
    /// known).
    pub exe_ino_ctime_duration_pidns_start: u64,
    /// Threads (other than the main one) this main thread has, counted as
    /// sysdig does: those met with `CLONE_THREAD` since the capture began
    /// plus those in the initial process table.
    pub nchilds: u32,
    /// What the thread runs as in its container: [`category`].
    pub category: u8,
    /// The thread epoch of its last memory update
    /// ([`State::thread_unchanged_since`](crate::State::thread_unchanged_since)).
    pub mem_epoch: u64,
}

impl std::ops::Deref for Thread {
    type Target = ThreadInfo;
    #[inline(always)]
    fn deref(&self) -> &ThreadInfo {
        &self.info
    }
}

impl std::ops::DerefMut for Thread {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut ThreadInfo {
        &mut self.info
    }
}

/// Thread categories (`sinsp_threadinfo::command_category`).
pub mod category {
    /// Nothing special.
    pub const NONE: u8 = 0;
    /// A container's init process (or one of its descendants).
    pub const CONTAINER: u8 = 1;
    /// A container health check.
    pub const HEALTHCHECK: u8 = 2;
    /// A Kubernetes liveness probe.
    pub const LIVENESS_PROBE: u8 = 3;
    /// A Kubernetes readiness probe.
    pub const READINESS_PROBE: u8 = 4;
}

/// A saved enter event.
#[derive(Debug, Clone, Default)]
pub struct LastEnter {
    /// Its event code.
    pub code: u16,
    /// Its timestamp.
    pub ts: u64,
    /// Whether it is still waiting for its exit.
    pub valid: bool,
    /// Parameter lengths.
    pub lens: Vec<u32>,
    /// Parameters, back to back.
    pub data: Vec<u8>,
}

impl LastEnter {
    /// Parameter `i` of the saved enter event.
    pub fn param(&self, i: usize) -> Option<&[u8]> {
        if !self.valid || i >= self.lens.len() {
            return None;
        }
        let start: usize = self.lens[..i].iter().map(|&l| l as usize).sum();
        self.data.get(start..start + self.lens[i] as usize)
    }
}

impl Thread {
    /// A thread known only by its id.
    pub fn new(tid: i64) -> Thread {
        Thread {
            info: ThreadInfo {
                tid,
                pid: tid,
                ptid: -1,
                sid: -1,
                vpgid: -1,
                pgid: -1,
                vtid: -1,
                vpid: -1,
                loginuid: u32::MAX,
                fdlimit: -1,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The placeholder sysdig creates for a thread it meets without
    /// knowing it: named `<NA>`, with unknown user and group.
    pub fn fake(tid: i64) -> Thread {
        let mut t = Thread::new(tid);
        t.comm = b"<NA>".to_vec();
        t.exe = b"<NA>".to_vec();
        t.uid = u32::MAX;
        t.gid = u32::MAX;
        t
    }

    /// A thread from a process-list record: the record as it is, except
    /// that only a process's main thread keeps a directory, normalized
    /// and ending in `/`.
    pub fn from_info(t: &ThreadInfo) -> Thread {
        let mut th = Thread {
            info: t.clone(),
            ..Default::default()
        };
        th.info.cwd = if t.tid == t.pid {
            let mut c = crate::path::normalize(&t.cwd);
            if c.last() != Some(&b'/') {
                c.push(b'/');
            }
            c
        } else {
            Vec::new()
        };
        th
    }

    /// The thread as a process-list record (what a capture file's
    /// process list stores; its `pgid` is the thread's `vpgid`, as
    /// sonde has always written it).
    pub fn to_info(&self) -> ThreadInfo {
        let mut i = self.info.clone();
        i.pgid = self.vpgid;
        i
    }

    /// Whether this thread is the main thread of its process.
    pub fn is_main(&self) -> bool {
        self.tid == self.pid
    }

    /// Whether this thread shares its fd table with the main thread.
    pub fn shares_fds(&self) -> bool {
        !self.is_main() && self.flags & clone_flags::CLONE_FILES != 0
    }

    /// Iterates the arguments.
    pub fn args_iter(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.args)
    }

    /// Iterates the environment entries.
    pub fn env_iter(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.env)
    }
}

/// Splits a NUL-terminated list (`a\0b\0`) into its items.
pub fn split_nul(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    let empty = b.is_empty();
    b.split(|&c| c == 0).filter(move |_| !empty)
}

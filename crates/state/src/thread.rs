//! Threads and processes.

use rustc_hash::FxHashMap;

use sonde_event::meta::ThreadInfo;
use sonde_event::RawEvent;

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
    /// The capture filter rejected it before the state applied it
    /// (`State::skip_enter`): nothing is saved but the first parameter
    /// as an fd, which its exit names (`skipped_fd`).
    pub skipped: bool,
    /// Its first parameter as an integer, when `skipped`.
    pub skipped_fd: Option<i64>,
    /// The event's length array (16 or 32 bits a parameter) and then its
    /// parameters, as they are in the event.
    body: Vec<u8>,
    /// How many parameters `body` has.
    nparams: u32,
    /// The lengths are 32-bit.
    large: bool,
}

impl LastEnter {
    /// The call is over: its exit was applied or passed by.
    #[inline]
    pub fn spend(&mut self) {
        self.valid = false;
        self.skipped = false;
    }

    /// Starts a call whose enter event was passed by unapplied
    /// (`State::skip_enter`): nothing saved but its first parameter as an
    /// integer (`first`), which its exit names as its fd.
    #[inline]
    pub fn skip(&mut self, code: u16, ts: u64, first: Option<i64>) {
        self.code = code;
        self.ts = ts;
        self.valid = false;
        self.skipped = true;
        self.skipped_fd = first;
    }

    /// Saves the parameters of an enter event: its length array and
    /// data, copied as they are (nothing decoded).
    #[inline]
    pub fn save(&mut self, lens: &[u8], data: &[u8], large: bool) {
        self.body.clear();
        self.body.extend_from_slice(lens);
        self.body.extend_from_slice(data);
        self.nparams = (lens.len() / if large { 4 } else { 2 }) as u32;
        self.large = large;
    }

    /// Parameter `i` of the saved enter event, read as the event's own
    /// parameters are ([`RawEvent::param`]).
    pub fn param(&self, i: usize) -> Option<&[u8]> {
        if !self.valid {
            return None;
        }
        let body = &self.body;
        RawEvent::from_checked_parts(self.ts, 0, self.code, self.nparams, body, self.large)?
            .param(i)
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

#[cfg(test)]
mod last_enter_tests {
    use super::LastEnter;

    #[test]
    fn saved_parameters_read_back_with_16_and_32_bit_lengths() {
        let data = b"abcdefgh";
        let mut le = LastEnter {
            valid: true,
            ..Default::default()
        };
        // lengths 3, 0, 5
        le.save(&[3, 0, 0, 0, 5, 0], data, false);
        assert_eq!(le.param(0), Some(&b"abc"[..]));
        assert_eq!(le.param(1), Some(&b""[..]));
        assert_eq!(le.param(2), Some(&b"defgh"[..]));
        assert_eq!(le.param(3), None);
        le.save(&[3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0], data, true);
        assert_eq!(le.param(2), Some(&b"defgh"[..]));
        // a length past the data: no value, not a panic
        le.save(&[9, 0], data, false);
        assert_eq!(le.param(0), None);
        le.valid = false;
        le.save(&[3, 0], data, false);
        assert_eq!(le.param(0), None);
    }
}

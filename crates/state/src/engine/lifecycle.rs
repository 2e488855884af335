//! Process lifecycle: threads and processes created by clone, fork, vfork
//! and clone3 exits, replaced by execve/execveat exits, categorized in
//! their containers, and the process attributes that other events update
//! (memory and page faults from brk/mmap/munmap and scheduler switches,
//! capabilities from capset). Exits (`procexit`) are reaped by the
//! dispatcher at the start of the next event.

use sonde_event::{codes as c, RawEvent};

use crate::thread::{clone_flags, LastEnter, Thread};

use super::fdlife::PPM_AT_FDCWD;
use super::{c_enter, MemoryUpdate, State, RECENT_EXIT_WINDOW_NS};

impl State {
    /// brk/mmap/munmap exits: the memory of the thread's process after the call.
    pub(super) fn on_memory_exit(&mut self, ev: &RawEvent<'_>) {
        // the memory of the thread's process after the call
        if let (Some(size), Some(rss), Some(swap)) =
            (ev.param_u64(1), ev.param_u64(2), ev.param_u64(3))
        {
            self.update_memory(MemoryUpdate {
                tid: ev.tid,
                vmsize_kb: size as u32,
                vmrss_kb: rss as u32,
                vmswap_kb: swap as u32,
            });
        }
    }

    /// `capset` exit: the thread's new capability sets.
    pub(super) fn on_capset_exit(&mut self, ev: &RawEvent<'_>) {
        let tid = ev.tid;
        if ev.param_i64(0).unwrap_or(-1) >= 0 {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.cap_inheritable = ev.param_u64(1).unwrap_or(0);
                t.cap_permitted = ev.param_u64(2).unwrap_or(0);
                t.cap_effective = ev.param_u64(3).unwrap_or(0);
            }
        }
    }

    /// A switch event carries the page faults of the thread switched out
    /// and the memory of its process (both deferred while a capture filter
    /// decides, as sysdig parses a switch only when its filter accepts it).
    pub(super) fn on_switch(&mut self, ev: &RawEvent<'_>) {
        let Some(t) = self.threads.get(&ev.tid) else {
            return;
        };
        let faults = (
            ev.tid,
            ev.param_u64(1).unwrap_or(t.pfmajor),
            ev.param_u64(2).unwrap_or(t.pfminor),
        );
        let pid = t.pid;
        self.update_faults(faults);
        if let (Some(size), Some(rss), Some(swap)) =
            (ev.param_u64(3), ev.param_u64(4), ev.param_u64(5))
        {
            self.update_memory(MemoryUpdate {
                tid: pid,
                vmsize_kb: size as u32,
                vmrss_kb: rss as u32,
                vmswap_kb: swap as u32,
            });
        }
    }

    pub(super) fn on_clone_exit(&mut self, ev: &RawEvent<'_>) {
        let info = match ev.info() {
            Some(i) => i,
            None => return,
        };
        let idx = |name: &str| info.params.iter().position(|p| p.name == name);
        let res = ev.param_i64(0).unwrap_or(-1);
        if res < 0 {
            return;
        }
        let get_i = |n: &str| idx(n).and_then(|i| ev.param_i64(i));
        let get_s = |n: &str| idx(n).and_then(|i| ev.param_str(i)).map(|s| s.to_vec());
        let get_b = |n: &str| idx(n).and_then(|i| ev.param(i)).map(|s| s.to_vec());
        let flags = get_i("flags").unwrap_or(0) as u32;
        let ev_vtid = get_i("vtid").unwrap_or(ev.tid);
        let in_container = flags & clone_flags::CHILD_IN_PIDNS != 0 || ev_vtid != ev.tid;
        let (child_tid, parent_tid) = if res == 0 {
            // in the child: a thread's parent is its process, a process's
            // parent is the ptid
            let p = if flags & clone_flags::CLONE_THREAD != 0 {
                get_i("pid")
            } else {
                get_i("ptid")
            };
            (ev.tid, p.unwrap_or(-1))
        } else {
            (res, ev.tid)
        };
        if res == 0 {
            // the parent's event created the child already (unless that
            // entry is a stale one left by a reused tid)
            const CLONE_STALE_TIME_NS: u64 = 2_000_000_000;
            let stale = self.threads.get(&child_tid).is_some_and(|t| {
                t.clone_ts != 0 && ev.ts.wrapping_sub(t.clone_ts) > CLONE_STALE_TIME_NS
            });
            if stale {
                self.remove_stale_thread(child_tid);
            } else if let Some(t) = self.threads.get_mut(&child_tid) {
                // in a pid namespace only the child knows its own ids
                if in_container {
                    t.vtid = ev_vtid;
                    t.vpid = get_i("vpid").unwrap_or(-1);
                }
                return;
            }
        } else if in_container {
            // the parent sees the namespaced child id: wait for the child
            return;
        }
        // The parent's exit finds the child already there. When the child's
        // own clone exit came first, that entry stands. Any other entry
        // (a placeholder made by the child's earlier events, a /proc entry
        // or a thread whose exit was missed, left under a reused tid) is
        // replaced, as sysdig does.
        if res > 0 {
            match self.threads.get(&child_tid) {
                Some(t) if t.flags & clone_flags::CLONE_INVERTED != 0 => return,
                Some(_) => self.remove_stale_thread(child_tid),
                None => {}
            }
        }
        // The child may already have run and exited before its parent's
        // clone returned. sysdig creates it again from the parent's event
        // (this event shows the child's name); so does sonde, but only for
        // this event: it is reaped again before the next one, so the table
        // keeps no thread that will never exit.
        let exited_child = res > 0
            && self
                .recent_exits
                .get(&child_tid)
                .is_some_and(|t| ev.ts.saturating_sub(*t) < RECENT_EXIT_WINDOW_NS);
        if res == 0 {
            self.recent_exits.remove(&child_tid);
        }
        let parent = self.threads.get(&parent_tid).cloned();
        let mut t = match self.threads.get(&child_tid) {
            Some(existing) if res == 0 => existing.clone(),
            _ => Thread::new(child_tid),
        };
        t.tid = child_tid;
        t.flags = flags;
        if res == 0 {
            // made by the child's own exit, before its parent's
            t.flags |= clone_flags::CLONE_INVERTED;
        }
        // the parent is the thread that called clone (also for threads)
        t.ptid = parent_tid;
        if res == 0 {
            t.pid = get_i("pid").unwrap_or(child_tid);
        } else if flags & clone_flags::CLONE_THREAD != 0 {
            t.pid = get_i("pid").unwrap_or(ev.tid);
        } else {
            t.pid = child_tid;
        }
        if let Some(e) = get_s("exe") {
            t.exe = e;
        }
        if let Some(a) = get_b("args") {
            t.args = a;
        }
        // a new process starts in its parent's working directory (sysdig
        // ignores the event's cwd unless it does not know the parent)
        match parent.as_ref() {
            Some(p) => t.cwd = self.cwd(p.tid).to_vec(),
            None => {
                if let Some(cwd) = get_s("cwd") {
                    t.cwd = cwd;
                }
            }
        }
        take_counters(&mut t, &get_i);
        t.uid = get_i("uid").map(|v| v as u32).unwrap_or(t.uid);
        t.gid = get_i("gid").map(|v| v as u32).unwrap_or(t.gid);
        if in_container {
            t.vtid = ev_vtid;
            t.vpid = get_i("vpid").unwrap_or(-1);
        } else {
            t.vtid = t.tid;
            t.vpid = t.pid;
        }
        if let Some(cg) = get_b("cgroups") {
            t.cgroups = cg;
        }
        let comm = get_s("comm");
        match (&comm, &parent) {
            (Some(c), _) => t.comm = c.clone(),
            (None, Some(p)) if t.comm.is_empty() => t.comm = p.comm.clone(),
            _ => {}
        }
        if let Some(p) = &parent {
            inherit(&mut t, p);
        }
        // the start of the pid namespace: the boot time on the host, the
        // namespace's own start (since boot) for a child in a new one
        let boot = self.machine.as_ref().map_or(0, |m| m.boot_ts_epoch);
        t.pidns_init_start_ts = boot;
        const CLONE_NEWPID: u32 = 1 << 14;
        if in_container || flags & CLONE_NEWPID != 0 {
            if let Some(ns) = get_i("pidns_init_start_ts") {
                t.pidns_init_start_ts = (ns as u64).wrapping_add(boot);
            }
        }
        t.clone_ts = ev.ts;
        t.last_enter = LastEnter::default();
        // fds: threads share the main thread's table, processes get a copy
        let shares =
            flags & clone_flags::CLONE_THREAD != 0 || flags & clone_flags::CLONE_FILES != 0;
        if !shares && t.fds.is_empty() {
            if let Some(owner) = self.fd_owner(parent_tid) {
                t.fds = owner.fds.clone();
            }
        }
        if shares && t.pid != t.tid {
            t.flags |= clone_flags::CLONE_FILES;
        }
        let child = t.tid;
        let (pid, thread, existed) = (
            t.pid,
            t.tid != t.pid && t.flags & clone_flags::CLONE_THREAD != 0,
            self.threads.contains_key(&child),
        );
        self.insert_thread(t);
        if get_b("cgroups").is_some() {
            self.resolve_container(child);
        }
        if thread && !existed {
            if let Some(m) = self.threads.get_mut(&pid) {
                m.nchilds += 1;
            }
        }
        self.identify_category(child);
        if exited_child {
            self.pending_exit = Some(child);
        }
    }

    /// The executable path of a successful execve: as sysdig 0.29 does,
    /// the file name of the enter event joined to the working directory
    /// (execveat: to its directory fd); without the enter event, the
    /// exit's trusted path (current drivers).
    fn execve_exepath(&self, ev: &RawEvent<'_>, trusted: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let tid = ev.tid;
        let enter = c_enter(ev.code);
        let na = |p: &[u8]| p.starts_with(b"<NA>");
        let from_enter = match ev.code {
            c::SYSCALL_EXECVE_18_X | c::SYSCALL_EXECVE_19_X => {
                self.enter_param(tid, enter, 0).map(|p| {
                    let p = sonde_event::cstr(p);
                    if na(p) {
                        b"<NA>".to_vec()
                    } else {
                        crate::path::sysdig_concat(self.cwd(tid), p)
                    }
                })
            }
            c::SYSCALL_EXECVEAT_X => self.enter_param(tid, enter, 1).map(|p| {
                let p = sonde_event::cstr(p);
                if na(p) {
                    return b"<NA>".to_vec();
                }
                let dirfd = self.enter_i64(tid, enter, 0).unwrap_or(PPM_AT_FDCWD);
                let flags = self.enter_i64(tid, enter, 2).unwrap_or(0);
                let dir: Vec<u8> = if p.first() == Some(&b'/') {
                    b".".to_vec()
                } else if dirfd == PPM_AT_FDCWD {
                    self.cwd(tid).to_vec()
                } else {
                    match self.fd(tid, dirfd) {
                        Some(f) => [&f.name[..], b"/"].concat(),
                        None => b"<UNKNOWN>".to_vec(),
                    }
                };
                // AT_EMPTY_PATH with no path: the fd is the executable
                const PPM_EXVAT_AT_EMPTY_PATH: i64 = 1;
                if flags & PPM_EXVAT_AT_EMPTY_PATH != 0 && p.is_empty() {
                    return crate::path::sysdig_concat(&dir, &dir);
                }
                crate::path::sysdig_concat(&dir, p)
            }),
            _ => None,
        };
        from_enter.or_else(|| trusted.filter(|t| !t.is_empty()))
    }

    /// Marks a thread of a container as its init process or as one of its
    /// health probes (sysdig's `identify_category`).
    fn identify_category(&mut self, tid: i64) {
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        if t.container_id.is_empty() {
            return;
        }
        use crate::thread::category as cat;
        if t.vpid == 1 {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.category = cat::CONTAINER;
            }
            return;
        }
        if let Some(p) = self.threads.get(&t.ptid) {
            if p.category != cat::NONE {
                let c = p.category;
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.category = c;
                }
                return;
            }
        }
        let Some(meta) = self
            .containers
            .get(&t.container_id)
            .filter(|c| c.successful)
            .and_then(|c| c.meta.as_ref())
        else {
            return;
        };
        let args: Vec<&[u8]> = t.args_iter().collect();
        let Some(kind) = meta
            .probes
            .iter()
            .find(|(_, exe, pargs)| {
                *exe == t.exe
                    && pargs.len() == args.len()
                    && pargs.iter().zip(&args).all(|(a, b)| a.as_slice() == *b)
            })
            .map(|p| p.0)
        else {
            return;
        };
        // the probe's first process: not under the container's init
        let mut cur = self.threads.get(&t.ptid);
        for _ in 0..512 {
            let Some(p) = cur else { break };
            if p.vpid == 1 && !p.container_id.is_empty() {
                return;
            }
            if p.ptid == p.tid {
                break;
            }
            cur = self.threads.get(&p.ptid);
        }
        let c = match kind {
            1 => cat::HEALTHCHECK,
            2 => cat::LIVENESS_PROBE,
            _ => cat::READINESS_PROBE,
        };
        if let Some(t) = self.threads.get_mut(&tid) {
            t.category = c;
        }
    }

    pub(super) fn on_execve_exit(&mut self, ev: &RawEvent<'_>) {
        let info = match ev.info() {
            Some(i) => i,
            None => return,
        };
        if ev.param_i64(0).unwrap_or(-1) != 0 {
            return;
        }
        let idx = |name: &str| info.params.iter().position(|p| p.name == name);
        let get_i = |n: &str| idx(n).and_then(|i| ev.param_i64(i));
        let get_s = |n: &str| idx(n).and_then(|i| ev.param_str(i)).map(|s| s.to_vec());
        let get_b = |n: &str| idx(n).and_then(|i| ev.param(i)).map(|s| s.to_vec());
        let tid = ev.tid;
        let sysdig_029 = self.sysdig_029;
        let exepath = self.execve_exepath(ev, get_s("trusted_exepath"));
        let t = self.thread_mut(tid);
        if let Some(p) = exepath {
            t.exepath = p;
        }
        if let Some(e) = get_s("exe") {
            t.exe = e;
        }
        if let Some(a) = get_b("args") {
            t.args = a;
        }
        if let Some(p) = get_i("pid") {
            t.pid = p;
        }
        if let Some(p) = get_i("ptid") {
            t.ptid = p;
        }
        // sysdig 0.29 takes the working directory from chdir/fchdir only
        take_counters(t, &get_i);
        match get_s("comm") {
            Some(c) => t.comm = c,
            None => {
                let exe = t.exe.clone();
                let base = exe.rsplit(|&b| b == b'/').next().unwrap_or(&exe).to_vec();
                t.comm = base;
            }
        }
        if let Some(cg) = get_b("cgroups") {
            t.cgroups = cg;
        }
        if let Some(env) = get_b("env") {
            t.env = env;
        }
        if let Some(tty) = get_i("tty") {
            t.tty = tty as u32;
        }
        if let Some(l) = get_i("loginuid") {
            t.loginuid = l as u32;
        }
        // (later libs added these; sysdig 0.29.3 keeps the thread's)
        if !sysdig_029 {
            if let Some(u) = get_i("uid") {
                t.uid = u as u32;
            }
            if let Some(g) = get_i("gid") {
                t.gid = g as u32;
            }
        }
        const PPM_EXE_WRITABLE: i64 = 1;
        const PPM_EXE_UPPER_LAYER: i64 = 2;
        const PPM_EXE_FROM_MEMFD: i64 = 4;
        const PPM_EXE_LOWER_LAYER: i64 = 8;
        if let Some(f) = get_i("flags") {
            t.exe_writable = f & PPM_EXE_WRITABLE != 0;
            t.exe_upper_layer = f & PPM_EXE_UPPER_LAYER != 0;
            t.exe_from_memfd = f & PPM_EXE_FROM_MEMFD != 0;
            t.exe_lower_layer = f & PPM_EXE_LOWER_LAYER != 0;
        }
        if let (Some(i), Some(p), Some(e)) = (
            get_i("cap_inheritable"),
            get_i("cap_permitted"),
            get_i("cap_effective"),
        ) {
            t.cap_inheritable = i as u64;
            t.cap_permitted = p as u64;
            t.cap_effective = e as u64;
        }
        if let (Some(ino), Some(ct), Some(mt)) = (
            get_i("exe_ino"),
            get_i("exe_ino_ctime"),
            get_i("exe_ino_mtime"),
        ) {
            t.exe_ino = ino as u64;
            t.exe_ino_ctime = ct as u64;
            t.exe_ino_mtime = mt as u64;
            if t.clone_ts != 0 {
                t.exe_ino_ctime_duration_clone_ts = t.clone_ts.wrapping_sub(t.exe_ino_ctime);
            }
            if t.pidns_init_start_ts != 0 && t.exe_ino_ctime > t.pidns_init_start_ts {
                t.exe_ino_ctime_duration_pidns_start = t.exe_ino_ctime - t.pidns_init_start_ts;
            }
        }
        if let Some(v) = get_i("vpgid") {
            t.vpgid = v;
        }
        // current libs: an execve without the parameter leaves no pgid
        if idx("pgid").is_some() || idx("vpgid").is_some() {
            t.pgid = get_i("pgid").unwrap_or(-1);
        }
        // an execve resets the thread to be a process's only thread
        t.flags &= !clone_flags::CLONE_FILES;
        if get_b("cgroups").is_some() {
            self.resolve_container(tid);
        }
        self.identify_category(tid);
    }
}

/// What a new thread or process takes from the thread that cloned it.
fn inherit(t: &mut Thread, p: &Thread) {
    if t.env.is_empty() {
        t.env = p.env.clone();
    }
    if t.cgroups.is_empty() {
        t.cgroups = p.cgroups.clone();
    }
    t.sid = p.sid;
    t.vpgid = p.vpgid;
    t.loginuid = p.loginuid;
    t.root = p.root.clone();
    t.exepath = p.exepath.clone();
    t.pgid = p.pgid;
    t.exe_writable = p.exe_writable;
    t.exe_upper_layer = p.exe_upper_layer;
    t.exe_lower_layer = p.exe_lower_layer;
    t.exe_from_memfd = p.exe_from_memfd;
    t.cap_inheritable = p.cap_inheritable;
    t.cap_permitted = p.cap_permitted;
    t.cap_effective = p.cap_effective;
    t.exe_ino = p.exe_ino;
    t.exe_ino_ctime = p.exe_ino_ctime;
    t.exe_ino_mtime = p.exe_ino_mtime;
    t.exe_ino_ctime_duration_clone_ts = p.exe_ino_ctime_duration_clone_ts;
    // categories pass from parent to child
    t.category = p.category;
}

/// The fd limit, page faults and memory a clone or execve exit reports for
/// the thread (each kept as it was when the event lacks it).
fn take_counters(t: &mut Thread, get_i: &impl Fn(&str) -> Option<i64>) {
    t.fdlimit = get_i("fdlimit").unwrap_or(t.fdlimit);
    t.pfmajor = get_i("pgft_maj").map(|v| v as u64).unwrap_or(t.pfmajor);
    t.pfminor = get_i("pgft_min").map(|v| v as u64).unwrap_or(t.pfminor);
    t.vmsize_kb = get_i("vm_size").map(|v| v as u32).unwrap_or(t.vmsize_kb);
    t.vmrss_kb = get_i("vm_rss").map(|v| v as u32).unwrap_or(t.vmrss_kb);
    t.vmswap_kb = get_i("vm_swap").map(|v| v as u32).unwrap_or(t.vmswap_kb);
}

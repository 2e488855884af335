//! # sonde-probe: live capture with a CO-RE eBPF probe
//!
//! Owns the live source of events: loading the eBPF programs of `bpf/`
//! (compiled by `build.rs` with clang, loaded with libbpf-rs), attaching them
//! (tp_btf `sys_enter`/`sys_exit`, `sched_process_fork`/`exec`/`exit`,
//! `signal_deliver`; `sched_switch` and `page_fault_user` when asked for),
//! draining their per-CPU rings on a ~1 ms timer, handing events out in
//! sonde's v2 event layout (what [`sonde_event::RawEvent::parse`] reads), the
//! kernel-side filters (syscall set, traced process tree, the capturing process
//! itself), the syscalls counted in the kernel instead of sent
//! ([`Config::counted`], [`Probe::take_counts`]), the drop counters, and
//! the initial state of the machine read from
//! `/proc` ([`proc::scan`], as the `sonde_event::meta` process and fd records
//! capture files carry).
//!
//! Does **not** own: what events mean (`sonde-event`), applying them
//! (`sonde-state`), filtering or printing (`sonde-fields`, `sonde-output`),
//! or the command line (`sonde`).
//!
//! The kernel side emits the current libs "exit-only" model: one exit event per
//! syscall carrying all its parameters, enter events only for the open family,
//! creat and connect; syscalls without a dedicated handler become
//! `PPME_GENERIC_X`. Each event's syscall latency (exit - enter) travels next to
//! it ([`Event::latency_ns`]).
//!
//! Transport: one ring per CPU inside an mmapped BPF array (`bpf/sonde.h`):
//! the probe copies each finished event into its CPU's ring and moves the
//! ring's head, with no helper call, lock or wakeup. Generic syscall events,
//! the most frequent, travel as 32-byte short records that user space writes
//! out in the v2 layout. [`Probe::fill`] drains every ring on a ~1 ms timer
//! into one queue per CPU (event bytes back to back, no allocation per
//! event); [`Probe::next_event`] merges the queues into timestamp order,
//! holding events back a few milliseconds so that none of another CPU can
//! still arrive before them. (A separate drain thread was tried: on two cores
//! it took CPU from the traced programs, 458 against 447 ns per getppid.)
//!
//! Latency ([`Config::latency`]) costs a clock read in sys_enter per syscall;
//! the CLI turns it on only when something reads it.
//!
//! Limits for now: x86_64 only; syscalls of 32-bit processes are skipped; some clone/execve parameters are not filled yet
//! (`pidns_init_start_ts`, execve `flags`, `creat_flags`, procexit
//! `reaper_tid`), `vm_rss`/`vm_swap` are the kernel's approximate counters,
//! cgroups are those of the unified (v2) hierarchy, the signalfd mask is not
//! read (as in libs), and sendmmsg/recvmmsg make one event per syscall (with
//! their first message; libs makes one per message).

#![warn(missing_docs)]

mod abi;
mod counts;
pub mod host;
pub mod proc;
mod queue;
mod ring;
mod syscalls;

use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::time::Duration;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, OpenObject};
use sonde_event::RawEvent;

pub use abi::Drops;
pub use counts::SyscallCount;
pub use syscalls::{syscall_exit_event, syscall_nr, syscall_table};

#[allow(clippy::all, clippy::pedantic, non_camel_case_types, dead_code)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/sonde.skel.rs"));
}
use skel::{SondeSkel, SondeSkelBuilder};

/// Why live capture cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not root, and without the capabilities.
    #[error("live capture needs root (or CAP_BPF and CAP_PERFMON): run sonde as root")]
    NotRoot,
    /// Root, but without the capabilities (an unprivileged container).
    #[error("live capture needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), which this process lacks (in a container: run it privileged)")]
    NoCaps,
    /// The kernel has no BTF.
    #[error("live capture needs a kernel with BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y)")]
    NoBtf,
    /// Not an x86_64 machine.
    #[error("live capture is only implemented for x86_64")]
    Arch,
    /// libbpf failed to open, load or attach the probe.
    #[error("cannot {what} the eBPF probe ({err}); live capture needs Linux >= 5.8 with BTF, tp_btf programs and BPF ring buffers")]
    Bpf {
        /// What failed (open, load, attach, ...).
        what: &'static str,
        /// libbpf's message.
        err: String,
    },
}

fn bpf_err(what: &'static str) -> impl FnOnce(libbpf_rs::Error) -> Error {
    move |e| Error::Bpf {
        what,
        err: format!("{e}"),
    }
}

/// What to capture.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bytes of read/write data kept per event.
    pub snaplen: u32,
    /// Size of each CPU's ring buffer in bytes (rounded up to a power of
    /// two, at least 64 KiB).
    pub ring_bytes: u32,
    /// Trace only these processes and their descendants (empty: everything).
    pub pids: Vec<u32>,
    /// Native syscall numbers to trace (None: all of them).
    pub syscalls: Option<Vec<u32>>,
    /// Do not trace the calling process (the capture itself).
    pub exclude_self: bool,
    /// Drop, in the kernel, the events of tasks with these names (sysdig's
    /// `-U COMM`; names longer than 15 bytes are cut as the kernel cuts them).
    pub suppress_comms: Vec<String>,
    /// Context switches (`switch` events, tracepoint `sched_switch`): one
    /// event per switch away from a traced task, so off unless asked for.
    pub sched_switch: bool,
    /// User page faults (`page_fault` events, tracepoint `page_fault_user`):
    /// off unless asked for.
    pub page_faults: bool,
    /// Measure each syscall's latency ([`Event::latency_ns`], `evt.latency`):
    /// the probe keeps every thread's enter timestamp. Costs a clock read in
    /// sys_enter per syscall (about 20 ns where measured); without it
    /// sys_enter returns at once for syscalls without an enter event, and
    /// latencies are 0.
    pub latency: bool,
    /// Native syscall numbers the kernel only counts, per process and
    /// result ([`Probe::take_counts`]), instead of sending their events:
    /// for a reader that only counts them (the metrics agent's waits).
    /// Only syscalls that are traced at all are counted.
    pub counted: Vec<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            snaplen: 80,
            ring_bytes: 16 << 20,
            pids: Vec::new(),
            syscalls: None,
            exclude_self: true,
            suppress_comms: Vec::new(),
            sched_switch: false,
            page_faults: false,
            latency: true,
            counted: Vec::new(),
        }
    }
}

/// One event, owned: the v2 event bytes plus what travels beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event in sonde's v2 layout (header, u16 lengths, parameters).
    pub bytes: Vec<u8>,
    /// CPU the event was generated on.
    pub cpu: u16,
    /// Syscall latency (exit - enter) in ns, 0 for enter and process events.
    pub latency_ns: u64,
}

impl Event {
    /// A view of the event, with its CPU set. Events are only built by
    /// `abi::decode`, which parses the record first and drops malformed
    /// ones, so parsing again cannot fail.
    pub fn raw(&self) -> RawEvent<'_> {
        let mut ev = RawEvent::parse(&self.bytes, false).expect("probe events are well formed");
        ev.cpu = self.cpu;
        ev
    }

    /// Timestamp (ns since the epoch).
    pub fn ts(&self) -> u64 {
        sonde_event::le_uint(self.bytes.get(0..8).unwrap_or_default())
    }
}

/// A loaded and attached probe.
pub struct Probe {
    rings: ring::Rings,
    /// Drained events not handed out yet.
    queues: queue::Queues,
    /// [`Probe::finish`] was called: every queued event is ready.
    finished: bool,
    clock_offset: u64,
    _links: Vec<Link>,
    skel: SondeSkel<'static>,
    ncpus: usize,
    latency: bool,
    /// What [`Probe::take_counts`] handed out so far.
    counts: counts::Counter,
}

/// How long an event is held back before it is handed out, so that events of
/// other CPUs with earlier timestamps still in flight can be merged before it.
/// (A record reaches the ring some microseconds after its timestamp is taken.)
const HOLD_NS: u64 = 5_000_000;

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `realtime - monotonic`, to turn the probe's clock (bpf_ktime_get_ns, the
/// cheapest precise one) into epoch ns. Time spent suspended during a capture
/// is not counted by that clock.
fn clock_offset() -> u64 {
    clock_ns(libc::CLOCK_REALTIME).saturating_sub(clock_ns(libc::CLOCK_MONOTONIC))
}

/// Checks what live capture needs, without loading anything.
pub fn check_support() -> Result<(), Error> {
    if !cfg!(target_arch = "x86_64") {
        return Err(Error::Arch);
    }
    if !has_bpf_caps() {
        // SAFETY: no preconditions.
        return Err(if unsafe { libc::geteuid() } != 0 {
            Error::NotRoot
        } else {
            Error::NoCaps
        });
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Err(Error::NoBtf);
    }
    Ok(())
}

/// Fills map `syscalls`: PPM_SC codes, the syscall filter, and which
/// syscalls sys_enter has work for (all traced ones when `latency` is on,
/// else only those with an enter event, and execveat).
/// Syscalls in `counted` are counted in the kernel instead (no enter
/// work, no event).
fn set_syscalls(
    skel: &SondeSkel<'_>,
    wanted: Option<&[u32]>,
    counted: &[u32],
    latency: bool,
) -> Result<(), Error> {
    for nr in 0..abi::MAX_SYSCALLS {
        let traced = wanted.is_none_or(|s| s.contains(&nr));
        let enter = latency || syscalls::enter_work(nr);
        // (the open family and connect have enter events: always sent)
        let count = counted.contains(&nr) && !syscalls::enter_work(nr);
        let conf = abi::SyscallConf {
            ppm_sc: syscalls::ppm_sc(nr),
            trace: match (traced, count, enter) {
                (false, _, _) => 0,
                (true, true, _) => abi::SC_COUNT,
                (true, false, false) => abi::SC_EXIT,
                (true, false, true) => abi::SC_EXIT | abi::SC_ENTER,
            },
            generic: u8::from(!syscalls::has_own_event(nr)),
        };
        skel.maps
            .syscalls
            .update(&nr.to_ne_bytes(), &conf.to_bytes(), MapFlags::ANY)
            .map_err(bpf_err("configure the syscall filter of"))?;
    }
    Ok(())
}

/// Whether the effective capabilities allow loading tracing programs.
/// The kernel's pid_max (`/proc/sys/kernel/pid_max`); 4M, the largest
/// allowed value, when unreadable.
fn pid_max() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 22)
}

/// Entries of the tid-indexed enter-timestamp array (8 bytes each), or None
/// to use task-local storage: above 1M pids the array would take more than
/// 8 MiB of kernel memory.
fn enter_slots_for(pid_max: u32) -> Option<u32> {
    (pid_max <= 1 << 20).then_some(pid_max.max(1))
}

fn has_bpf_caps() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return true; // cannot tell: let the kernel decide
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return true;
    };
    let has = |c: u32| eff & (1 << c) != 0;
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

impl Probe {
    /// Loads the probe, configures it and attaches its programs. Events flow
    /// from then on; call [`Probe::poll`] often (every ~1 ms) to drain them.
    pub fn open(cfg: &Config) -> Result<Probe, Error> {
        check_support()?;
        let ncpus = libbpf_rs::num_possible_cpus().map_err(bpf_err("count the CPUs for"))?;
        let enter_slots = enter_slots_for(pid_max());
        let ring_bytes = (cfg.ring_bytes as usize).next_power_of_two().max(1 << 16);
        // The skeleton borrows its object storage for its whole life; one small
        // allocation per probe is leaked to give it a 'static home.
        let storage: &'static mut MaybeUninit<OpenObject> =
            Box::leak(Box::new(MaybeUninit::uninit()));
        let mut open = SondeSkelBuilder::default()
            .open(storage)
            .map_err(bpf_err("open"))?;
        {
            let ro = open
                .maps
                .rodata_data
                .as_deref_mut()
                .expect("the probe has read-only config");
            ro.self_tgid = if cfg.exclude_self {
                std::process::id()
            } else {
                0
            };
            ro.snaplen = cfg.snaplen.min(32 << 10);
            ro.filter_tgids = u8::from(!cfg.pids.is_empty());
            ro.filter_comms = u8::from(!cfg.suppress_comms.is_empty());
            ro.enter_in_array = u8::from(enter_slots.is_some());
            ro.ring_mask = ring_bytes as u64 - 1;
            ro.want_latency = u8::from(cfg.latency);
        }
        if let Some(n) = enter_slots {
            open.maps
                .enter_slots
                .set_max_entries(n)
                .map_err(bpf_err("size the syscall enter table of"))?;
        }
        // the optional tracepoints are not loaded unless asked for
        open.progs.sched_switch.set_autoload(cfg.sched_switch);
        open.progs.page_fault_user.set_autoload(cfg.page_faults);
        open.maps
            .cpu_bufs
            .set_max_entries(ncpus as u32)
            .map_err(bpf_err("size the ring buffers of"))?;
        open.maps
            .cpu_bufs
            .set_value_size(ring::entry_size(ring_bytes) as u32)
            .map_err(bpf_err("size the ring buffers of"))?;
        let skel = open.load().map_err(bpf_err("load"))?;

        // kernel-side filters
        set_syscalls(&skel, cfg.syscalls.as_deref(), &cfg.counted, cfg.latency)?;
        for name in &cfg.suppress_comms {
            let mut key = [0u8; 16];
            let b = name.as_bytes();
            let n = b.len().min(15);
            key[..n].copy_from_slice(&b[..n]);
            skel.maps
                .comms
                .update(&key, &[1], MapFlags::ANY)
                .map_err(bpf_err("configure the suppressed names of"))?;
        }
        for &pid in &cfg.pids {
            skel.maps
                .tgids
                .update(&pid.to_ne_bytes(), &[1], MapFlags::ANY)
                .map_err(bpf_err("configure the process filter of"))?;
        }

        let offset = clock_offset();
        let rings =
            ring::Rings::map(skel.maps.cpu_bufs.as_fd(), ncpus, ring_bytes).map_err(|e| {
                Error::Bpf {
                    what: "map the ring buffers of",
                    err: e.to_string(),
                }
            })?;

        let mut links = Vec::new();
        for prog in [
            &skel.progs.sched_process_fork,
            &skel.progs.sched_process_exec,
            &skel.progs.sched_process_exit,
            &skel.progs.signal_deliver,
            &skel.progs.sys_exit,
            &skel.progs.sys_enter,
        ] {
            links.push(prog.attach().map_err(bpf_err("attach"))?);
        }
        if cfg.sched_switch {
            links.push(
                skel.progs
                    .sched_switch
                    .attach()
                    .map_err(bpf_err("attach"))?,
            );
        }
        if cfg.page_faults {
            links.push(
                skel.progs
                    .page_fault_user
                    .attach()
                    .map_err(bpf_err("attach"))?,
            );
        }
        Ok(Probe {
            rings,
            queues: queue::Queues::new(ncpus),
            finished: false,
            clock_offset: offset,
            _links: links,
            skel,
            ncpus,
            latency: cfg.latency,
            counts: counts::Counter::new(cfg.counted.clone()),
        })
    }

    /// Drains the rings, then lets out the events old enough that no event of
    /// another CPU can still arrive before them (see [`Probe::next_event`]).
    /// When none is ready, sleeps up to `wait` first and drains again (the
    /// probe sends no wakeups: this is the drain timer).
    pub fn fill(&mut self, wait: Duration) -> Result<(), Error> {
        self.drain();
        if !self.queues.has_ready() && !wait.is_zero() {
            std::thread::sleep(wait);
            self.drain();
        }
        Ok(())
    }

    /// At the end of a capture: drains the rings and lets every queued event
    /// out, ready or not.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.drain();
        self.finished = true;
        self.queues.set_limit(u64::MAX);
        Ok(())
    }

    /// The time (epoch ns) up to which events are ready: once
    /// [`Probe::has_ready`] is false, no event older than it is still to
    /// come (barring one held up longer than the hold-back time).
    pub fn watermark(&self) -> u64 {
        self.queues.limit()
    }

    /// Whether [`Probe::next_event`] has an event to hand out.
    pub fn has_ready(&self) -> bool {
        self.queues.has_ready()
    }

    /// The next ready event, in timestamp order across CPUs, with its CPU
    /// and latency set. Events are made ready by [`Probe::fill`] and
    /// [`Probe::finish`].
    pub fn next_event(&mut self) -> Option<RawEvent<'_>> {
        let out = self.queues.pop()?;
        // cannot fail: events are checked when they are queued
        let mut ev = RawEvent::parse(out.bytes, false).ok()?;
        ev.cpu = out.cpu;
        ev.latency = out.latency;
        Some(ev)
    }

    /// Drains the rings and returns the events that are ready, owned
    /// ([`Probe::fill`], then [`Probe::next_event`] until none is left).
    pub fn poll(&mut self, wait: Duration) -> Result<Vec<Event>, Error> {
        self.fill(wait)?;
        Ok(self.take_ready())
    }

    /// Everything drained so far, ready or not, owned (at the end of a
    /// capture).
    pub fn flush(&mut self) -> Result<Vec<Event>, Error> {
        self.finish()?;
        Ok(self.take_ready())
    }

    fn take_ready(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Some(ev) = self.next_event() {
            let mut bytes = Vec::with_capacity(ev.encoded_len(false));
            ev.encode_v2(false, &mut bytes);
            v.push(Event {
                bytes,
                cpu: ev.cpu,
                latency_ns: ev.latency,
            });
        }
        v
    }

    /// Moves what is in the rings now into the per-CPU queues, and moves
    /// the ready limit to now minus the hold-back time.
    fn drain(&mut self) {
        self.rings.consume(&mut self.queues, self.clock_offset);
        if !self.finished {
            let now = clock_ns(libc::CLOCK_MONOTONIC) + self.clock_offset;
            self.queues.set_limit(now.saturating_sub(HOLD_NS));
        }
    }

    /// Events lost because the ring buffer was full, per category, summed over CPUs.
    pub fn drops(&self) -> Drops {
        let mut d = Drops::default();
        for cat in 0..abi::DROP_CATEGORIES {
            let vals = self
                .skel
                .maps
                .drops
                .lookup_percpu(&cat.to_ne_bytes(), MapFlags::ANY)
                .ok()
                .flatten()
                .unwrap_or_default();
            let n: u64 = vals.iter().take(self.ncpus).map(|v| abi::le_u64(v)).sum();
            d.set(cat, n);
        }
        d
    }

    /// Calls of the [`Config::counted`] syscalls since the previous call
    /// (the first: since the probe started), per process, syscall and
    /// result. A few system calls per (process, syscall, result) active;
    /// call it about once a second.
    pub fn take_counts(&mut self) -> Vec<SyscallCount> {
        self.counts.take(&self.skel.maps.counts, self.ncpus)
    }

    /// Calls of counted syscalls that found map `counts` full (more
    /// distinct processes, syscalls and results than it holds) and were
    /// not counted.
    pub fn counts_lost(&self) -> u64 {
        self.skel
            .maps
            .counts_lost
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .unwrap_or_default()
            .iter()
            .take(self.ncpus)
            .map(|v| abi::le_u64(v))
            .sum()
    }

    /// Changes the traced syscalls (native numbers; `None`: all of them).
    /// Process events (procexit) are not affected.
    pub fn set_syscall_filter(&mut self, syscalls: Option<&[u32]>) -> Result<(), Error> {
        set_syscalls(&self.skel, syscalls, &self.counts.counted, self.latency)
    }

    /// Adds a process (and its future descendants) to the traced set; only
    /// meaningful when the probe was opened with a non-empty [`Config::pids`].
    pub fn trace_pid(&mut self, pid: u32) -> Result<(), Error> {
        self.skel
            .maps
            .tgids
            .update(&pid.to_ne_bytes(), &[1], MapFlags::ANY)
            .map_err(bpf_err("configure the process filter of"))
    }
}

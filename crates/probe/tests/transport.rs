//! The per-CPU rings between the probe and user space: every event arrives
//! whole and in order, small ones (word copies) and large ones (one
//! bpf_probe_read_kernel), also when the ring wraps many times and when a
//! record runs on into the slack after the ring's end.
//!
//! Needs root and a BPF-capable kernel; otherwise it says why and passes.

use std::sync::Mutex;
use std::time::Duration;

use sonde_event::codes as c;
use sonde_probe::{Config, Event, Probe};

const NR_GETPPID: u32 = 110;
const NR_WRITE: u32 = 1;

/// Each probe sees every thread of this process: the tests take turns, so
/// that one test's burst does not fill the other's small ring.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn supported(test: &str) -> bool {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{test}: skipped: live capture needs root");
        return false;
    }
    if let Err(e) = sonde_probe::check_support() {
        eprintln!("{test}: skipped: {e}");
        return false;
    }
    true
}

/// A probe tracing this process's getppid and write calls.
fn probe(ring: u32, snaplen: u32) -> Probe {
    let cfg = Config {
        snaplen,
        ring_bytes: ring,
        pids: vec![std::process::id()],
        syscalls: Some(vec![NR_GETPPID, NR_WRITE]),
        exclude_self: false,
        ..Config::default()
    };
    Probe::open(&cfg).expect("open the probe")
}

fn gettid() -> i64 {
    // SAFETY: no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

fn getppid() {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::syscall(libc::SYS_getppid) };
}

/// Writes `buf` to /dev/null with the raw syscall.
fn write_null(fd: i32, buf: &[u8]) {
    // SAFETY: valid fd and buffer.
    let n = unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) };
    assert_eq!(n, buf.len() as i64);
}

fn open_null() -> i32 {
    // SAFETY: valid NUL-terminated path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
    assert!(fd >= 0);
    fd
}

fn param(e: &Event, i: usize) -> Vec<u8> {
    e.raw().param(i).expect("parameter").to_vec()
}

/// This thread's events among `evs`.
fn mine(evs: Vec<Event>, tid: i64) -> Vec<Event> {
    evs.into_iter().filter(|e| e.raw().tid == tid).collect()
}

/// The pattern of the `i`-th big write.
fn pattern(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (k * 7 + i * 13) as u8).collect()
}

fn check_generic(e: &Event) {
    let want_sc = sonde_probe::syscall_table()
        .iter()
        .find(|s| s.0 == NR_GETPPID)
        .map(|s| s.2)
        .expect("getppid in the syscall table");
    assert_eq!(e.raw().code, c::GENERIC_X);
    assert_eq!(param(e, 0), want_sc.to_le_bytes(), "ID");
    assert_eq!(param(e, 1), (NR_GETPPID as u16).to_le_bytes(), "nativeID");
    assert!(e.latency_ns > 0, "latency from the enter timestamp");
}

#[test]
fn events_arrive_whole_and_in_order() {
    if !supported("events_arrive_whole_and_in_order") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = probe(8 << 20, 1024);
    let tid = gettid();
    let fd = open_null();
    const N: usize = 20_000;
    const BIG: usize = 700; // > 256 bytes with its header: the helper-copy path
    for _ in 0..N {
        getppid();
    }
    for i in 0..100 {
        write_null(fd, &pattern(i, BIG));
    }
    std::thread::sleep(Duration::from_millis(20));
    let evs = mine(p.flush().unwrap(), tid);
    assert_eq!(p.drops().total(), 0);

    let generic: Vec<&Event> = evs
        .iter()
        .filter(|e| e.raw().code == c::GENERIC_X)
        .collect();
    assert_eq!(generic.len(), N, "every getppid, once");
    generic.iter().for_each(|e| check_generic(e));
    let writes: Vec<&Event> = evs
        .iter()
        .filter(|e| e.raw().code == c::SYSCALL_WRITE_X)
        .collect();
    assert_eq!(writes.len(), 100);
    for (i, e) in writes.iter().enumerate() {
        assert_eq!(param(e, 0), (BIG as i64).to_le_bytes(), "res");
        assert_eq!(param(e, 1), pattern(i, BIG), "data of write #{i}");
    }
    assert!(
        evs.windows(2).all(|w| w[0].ts() <= w[1].ts()),
        "timestamp order"
    );
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
}

#[test]
fn a_small_ring_wraps_cleanly() {
    if !supported("a_small_ring_wraps_cleanly") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 64 KiB: a generic record takes 32 bytes, a 1000-byte write about 1.1 KiB,
    // so the rounds below go round the ring dozens of times, and big records
    // regularly start near its end and run on into the slack.
    let mut p = probe(64 << 10, 4096);
    let tid = gettid();
    let fd = open_null();
    let mut evs = Vec::new();
    const ROUNDS: usize = 300;
    for r in 0..ROUNDS {
        for _ in 0..100 {
            getppid();
        }
        write_null(fd, &pattern(r, 1000));
        // drain between rounds: a round (about 4.3 KiB) always fits
        evs.extend(mine(p.poll(Duration::ZERO).unwrap(), tid));
    }
    std::thread::sleep(Duration::from_millis(20));
    evs.extend(mine(p.flush().unwrap(), tid));
    assert_eq!(p.drops().total(), 0, "drained in time: nothing dropped");

    let generic = evs.iter().filter(|e| e.raw().code == c::GENERIC_X).count();
    assert_eq!(generic, ROUNDS * 100);
    evs.iter()
        .filter(|e| e.raw().code == c::GENERIC_X)
        .for_each(check_generic);
    let writes: Vec<&Event> = evs
        .iter()
        .filter(|e| e.raw().code == c::SYSCALL_WRITE_X)
        .collect();
    assert_eq!(writes.len(), ROUNDS);
    for (r, e) in writes.iter().enumerate() {
        assert_eq!(param(e, 1), pattern(r, 1000), "data of write #{r}");
    }
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
}

/// Without latency, sys_enter has nothing to do for most syscalls: generic
/// events come with latency 0, while the open family still has its enter
/// events (and their exits their parameters).
#[test]
fn latency_is_measured_only_when_asked_for() {
    if !supported("latency_is_measured_only_when_asked_for") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const NR_OPENAT: u32 = 257;
    let cfg = Config {
        pids: vec![std::process::id()],
        syscalls: Some(vec![NR_GETPPID, NR_OPENAT]),
        exclude_self: false,
        latency: false,
        ..Config::default()
    };
    let mut p = Probe::open(&cfg).expect("open the probe");
    let tid = gettid();
    for _ in 0..100 {
        getppid();
    }
    let path = format!("/nonexistent/sonde-latency-{}", std::process::id());
    let _ = std::fs::File::open(&path);
    std::thread::sleep(Duration::from_millis(20));
    let evs = mine(p.flush().unwrap(), tid);
    let generic: Vec<&Event> = evs
        .iter()
        .filter(|e| e.raw().code == c::GENERIC_X)
        .collect();
    assert_eq!(generic.len(), 100);
    assert!(generic.iter().all(|e| e.latency_ns == 0), "no latency");
    let name = |e: &Event, i| sonde_event::cstr(e.raw().param(i).unwrap()).to_vec();
    let enter = evs
        .iter()
        .position(|e| e.raw().code == c::SYSCALL_OPENAT_2_E && name(e, 1) == path.as_bytes())
        .expect("openat enter event");
    let exit = evs
        .iter()
        .position(|e| e.raw().code == c::SYSCALL_OPENAT_2_X && name(e, 2) == path.as_bytes())
        .expect("openat exit event");
    assert!(enter < exit);
    assert_eq!(evs[exit].raw().param_i64(0), Some(-2), "ENOENT");
}

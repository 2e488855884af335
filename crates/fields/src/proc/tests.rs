//! Unit tests of the `proc.*` and `thread.*` fields.

use super::{caps_to_string, env_value};
use crate::testutil::*;

#[test]
fn ancestors_args_and_environment() {
    let mut st = state();
    let (b, code, ts, tid) = brk(10_000, 301);
    let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("proc.aargs[0]").as_deref(), Some("-c a.c"));
    assert_eq!(f("proc.aargs[1]").as_deref(), Some("-x value"));
    assert_eq!(f("proc.aargs").as_deref(), Some("-x value -x value"));
    assert_eq!(f("proc.acmdline[2]").as_deref(), Some("bash -x value"));
    assert_eq!(f("proc.acmdline[9]"), None);
    assert_eq!(f("proc.cmdnargs").as_deref(), Some("2"));
    // the thread's own arguments
    assert_eq!(f("proc.cmdlenargs").as_deref(), Some("7"));
    assert_eq!(f("proc.aenv").as_deref(), Some("HOME=/root LANG= C "));
    assert_eq!(f("proc.aenv[1]").as_deref(), Some("X=parent"));
    assert_eq!(f("proc.aenv[LANG]").as_deref(), Some("C"));
    assert_eq!(f("proc.aenv[NOPE]").as_deref(), Some(""));
    assert_eq!(f("proc.pvpid").as_deref(), Some("200"));
}

#[test]
fn leaders_and_process_groups() {
    let mut st = state();
    let (b, code, ts, tid) = brk(10_000, 300);
    let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("proc.sid.exe").as_deref(), Some("bash"));
    assert_eq!(f("proc.sid.exepath").as_deref(), Some("/usr/bin/bash"));
    assert_eq!(f("proc.vpgid.name").as_deref(), Some("make"));
    assert_eq!(f("proc.vpgid.exe").as_deref(), Some("make"));
    assert_eq!(f("proc.pgid").as_deref(), Some("200"));
    assert_eq!(f("proc.pgid.name").as_deref(), Some("make"));
    assert_eq!(f("proc.pgid.exepath").as_deref(), Some("/usr/bin/make"));
    assert_eq!(f("proc.is_sid_leader").as_deref(), Some("false"));
    assert_eq!(f("proc.is_vpgid_leader").as_deref(), Some("false"));
    assert_eq!(f("proc.is_pgid_leader").as_deref(), Some("false"));
}

#[test]
fn executable_and_capabilities() {
    let mut st = state();
    let (b, code, ts, tid) = brk(10_000, 300);
    let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("proc.exe_ino").as_deref(), Some("4242"));
    assert_eq!(f("proc.exe_ino.ctime").as_deref(), Some("1000"));
    assert_eq!(f("proc.exe_ino.mtime").as_deref(), Some("2000"));
    assert_eq!(f("proc.exe_ino.ctime_duration_proc_start"), None);
    assert_eq!(f("proc.pidns_init_start_ts").as_deref(), Some("5000"));
    assert_eq!(f("proc.is_exe_upper_layer").as_deref(), Some("true"));
    assert_eq!(f("proc.is_exe_lower_layer").as_deref(), Some("false"));
    assert_eq!(f("proc.is_exe_from_memfd").as_deref(), Some("false"));
    assert_eq!(
        f("thread.cap_effective").as_deref(),
        Some("CAP_CHOWN CAP_SYS_ADMIN")
    );
    assert_eq!(f("thread.cap_permitted").as_deref(), Some(""));
    // unknown start times
    assert_eq!(f("proc.pid.ts"), None);
    assert_eq!(f("proc.ppid.ts").as_deref(), Some("0"));
    // no parent start time: current libs fall through to the fd count
    assert_eq!(f("proc.ppid.duration").as_deref(), Some("3"));
}

#[test]
fn process_threads_are_counted() {
    let mut st = state();
    let (b, code, ts, tid) = brk(10_000, 301);
    let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
    st.process(&ev);
    assert_eq!(get(&st, &ev, "proc.nthreads").as_deref(), Some("2"));
    assert_eq!(get(&st, &ev, "proc.nchilds").as_deref(), Some("0"));
    assert_eq!(get(&st, &ev, "proc.fdopencount").as_deref(), Some("3"));
    assert_eq!(get(&st, &ev, "proc.loginshellid").as_deref(), Some("100"));
}
#[test]
fn capabilities_by_name() {
    let mut o = Vec::new();
    caps_to_string((1 << 0) | (1 << 21) | (1 << 40), &mut o);
    assert_eq!(o, b"CAP_CHOWN CAP_SYS_ADMIN CAP_CHECKPOINT_RESTORE");
    o.clear();
    caps_to_string(0, &mut o);
    assert!(o.is_empty());
}

#[test]
fn environment_values() {
    let env = b"A=1\0PATH=/bin\0S=  x y \0E=\0";
    assert_eq!(env_value(env, b"PATH"), Some(&b"/bin"[..]));
    assert_eq!(env_value(env, b"S"), Some(&b"x y"[..]));
    assert_eq!(env_value(env, b"E"), None);
    assert_eq!(env_value(env, b"B"), None);
}

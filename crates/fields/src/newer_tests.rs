//! Unit tests for the fields sysdig 0.29.3 does not have (the golden
//! tests cannot compare them): they follow current libs.

use sonde_event::{codes as c, RawEvent};
use sonde_output::RenderOpts;
use sonde_scap::{Block, FdDetail, FdInfo, MachineInfo, ThreadInfo};
use sonde_state::State;

use crate::{Ctx, Field, TimeFmt};

/// Encodes parameters as an event body (16-bit lengths, then data).
fn body(params: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in params {
        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in params {
        b.extend_from_slice(p);
    }
    b
}

fn thread(tid: i64, pid: i64, ptid: i64, comm: &str) -> ThreadInfo {
    ThreadInfo {
        tid,
        pid,
        ptid,
        sid: 100,
        vpgid: 100,
        pgid: 100,
        comm: comm.as_bytes().to_vec(),
        exe: comm.as_bytes().to_vec(),
        exepath: format!("/usr/bin/{comm}").into_bytes(),
        args: b"-x\0value\0".to_vec(),
        env: b"HOME=/root\0LANG= C \0".to_vec(),
        cwd: b"/tmp/".to_vec(),
        fdlimit: 1024,
        vtid: tid,
        vpid: pid,
        uid: 0,
        gid: 0,
        loginuid: u32::MAX,
        cap_effective: 1 | (1 << 21),
        exe_ino: 4242,
        exe_ino_ctime: 1_000,
        exe_ino_mtime: 2_000,
        pidns_init_start_ts: 5_000,
        exe_upper_layer: true,
        ..Default::default()
    }
}

/// A state with a shell (100), its child (200) and grandchild (300,
/// with a thread 301), and fds 0, 1 and 3 in process 300.
fn state() -> State {
    let mut st = State::new();
    st.apply_block(&Block::Machine(MachineInfo {
        hostname: "box".into(),
        ..Default::default()
    }));
    st.add_thread_info(&thread(100, 100, 1, "bash"));
    let mut p = thread(200, 200, 100, "make");
    p.env = b"X=parent\0".to_vec();
    st.add_thread_info(&p);
    let mut g = thread(300, 300, 200, "cc");
    g.args = b"-c\0a.c\0".to_vec();
    g.pgid = 200;
    g.vpgid = 200;
    st.add_thread_info(&g);
    let mut t = thread(301, 300, 200, "cc");
    t.flags = sonde_state::clone_flags::CLONE_THREAD | sonde_state::clone_flags::CLONE_FILES;
    st.add_thread_info(&t);
    let file = |fd: i64, path: &str| FdInfo {
        fd,
        ino: 7,
        kind: 1,
        detail: FdDetail::File {
            open_flags: 1 | (1 << 15),
            path: path.as_bytes().to_vec(),
            dev: 0,
        },
    };
    let fds = vec![
        file(0, "/dev/null"),
        file(1, "/tmp/out.log"),
        FdInfo {
            fd: 3,
            ino: 0,
            kind: 8,
            detail: FdDetail::Unix {
                source: 1,
                dest: 2,
                path: b"/run/s".to_vec(),
            },
        },
    ];
    st.apply_block(&Block::Fds { tid: 300, fds });
    st
}

/// Extracts `field` for an event of thread `tid`.
fn get(st: &State, ev: &RawEvent<'_>, field: &str) -> Option<String> {
    let opts = RenderOpts::default();
    let ctx = Ctx {
        st,
        ev,
        num: 1,
        first_ts: 1,
        prev_ts: 0,
        opts: &opts,
        time_fmt: TimeFmt::Human,
        lookups: Default::default(),
    };
    let f = Field::parse(field).unwrap_or_else(|e| panic!("{field}: {e}"));
    let mut out = Vec::new();
    ctx.extract(&f, &mut out)
        .then(|| String::from_utf8(out).unwrap())
}

fn brk(ts: u64, tid: i64) -> (Vec<u8>, u16, u64, i64) {
    (body(&[&0u64.to_le_bytes()]), c::SYSCALL_BRK_4_E, ts, tid)
}

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
fn standard_fds_and_fd_fields() {
    let mut st = state();
    let (b, code, ts, tid) = brk(10_000, 301);
    let ev = RawEvent::from_parts(ts, tid, code, 1, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("proc.stdin.type").as_deref(), Some("file"));
    assert_eq!(f("proc.stdin.name").as_deref(), Some("/dev/null"));
    assert_eq!(f("proc.stdout.name").as_deref(), Some("/tmp/out.log"));
    assert_eq!(f("proc.stderr.type"), None);
    // an fd event: read on fd 1
    let b = body(&[&1i64.to_le_bytes(), &10u32.to_le_bytes()]);
    let ev = RawEvent::from_parts(20_000, 301, c::SYSCALL_READ_E, 2, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("fd.types").as_deref(), Some("(file,unix)"));
    assert_eq!(f("fd.types[3]").as_deref(), Some("file"));
    assert_eq!(f("fd.is_upper_layer").as_deref(), Some("true"));
    assert_eq!(f("fd.is_lower_layer").as_deref(), Some("false"));
    assert_eq!(f("fd.nameraw").as_deref(), Some("/tmp/out.log"));
}

#[test]
fn opens_keep_the_raw_path() {
    let mut st = state();
    // openat(AT_FDCWD, "sub//x.txt", O_CREAT|O_WRONLY) = 5, the file created
    let flags = (1u32 << 1) | (1 << 2) | (1 << 14);
    let b = body(&[
        &5i64.to_le_bytes(),
        &(-100i64).to_le_bytes(),
        b"sub//x.txt\0",
        &flags.to_le_bytes(),
        &0o644u32.to_le_bytes(),
        &0u32.to_le_bytes(),
        &0u64.to_le_bytes(),
    ]);
    let ev = RawEvent::from_parts(30_000, 300, c::SYSCALL_OPENAT_2_X, 7, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("fd.name").as_deref(), Some("/tmp/sub/x.txt"));
    assert_eq!(f("fd.nameraw").as_deref(), Some("sub/x.txt"));
    assert_eq!(f("evt.is_open_create").as_deref(), Some("true"));
    assert_eq!(f("fs.path.nameraw").as_deref(), Some("sub//x.txt"));
    assert_eq!(f("fs.path.name").as_deref(), Some("/tmp/sub/x.txt"));
    assert_eq!(f("fs.path.source"), None);
    assert_eq!(f("evt.source").as_deref(), Some("syscall"));
    assert_eq!(f("evt.is_async").as_deref(), Some("false"));
    assert_eq!(f("evt.asynctype"), None);
    assert_eq!(f("evt.hostname").as_deref(), Some("box"));
}

#[test]
fn paths_of_renames_and_unlinks() {
    let mut st = state();
    // renameat2(AT_FDCWD, "a", AT_FDCWD, "/x/../b") = 0
    let b = body(&[
        &0i64.to_le_bytes(),
        &(-100i64).to_le_bytes(),
        b"a\0",
        &(-100i64).to_le_bytes(),
        b"/x/../b\0",
        &0u32.to_le_bytes(),
    ]);
    let ev = RawEvent::from_parts(40_000, 300, c::SYSCALL_RENAMEAT2_X, 6, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("fs.path.source").as_deref(), Some("/tmp/a"));
    assert_eq!(f("fs.path.sourceraw").as_deref(), Some("a"));
    assert_eq!(f("fs.path.target").as_deref(), Some("/b"));
    assert_eq!(f("fs.path.targetraw").as_deref(), Some("/x/../b"));
    assert_eq!(f("fs.path.name"), None);
    // a failed unlinkat has no path
    let b = body(&[
        &(-2i64).to_le_bytes(),
        &(-100i64).to_le_bytes(),
        b"gone\0",
        &0u32.to_le_bytes(),
    ]);
    let ev = RawEvent::from_parts(50_000, 300, c::SYSCALL_UNLINKAT_2_X, 4, &b, false).unwrap();
    st.process(&ev);
    assert_eq!(get(&st, &ev, "fs.path.nameraw"), None);
    // a successful one relative to AT_FDCWD: current libs know no directory
    let b = body(&[
        &0i64.to_le_bytes(),
        &(-100i64).to_le_bytes(),
        b"f\0",
        &0u32.to_le_bytes(),
    ]);
    let ev = RawEvent::from_parts(60_000, 300, c::SYSCALL_UNLINKAT_2_X, 4, &b, false).unwrap();
    st.process(&ev);
    assert_eq!(get(&st, &ev, "fs.path.name").as_deref(), Some("<UNKNOWN>f"));
}

#[test]
fn k8s_fields_from_container_labels() {
    let mut st = State::new();
    let json = |s: &str| {
        let mut j = s.as_bytes().to_vec();
        j.push(0);
        j
    };
    let sandbox = json(
        r#"{"container":{"id":"aaaaaaaaaaaa","name":"pause","labels":{"app":"web","tier":"front","io.kubernetes.pod.name":"p"}}}"#,
    );
    let app = json(
        r#"{"container":{"id":"bbbbbbbbbbbb","name":"web","labels":{"io.kubernetes.pod.name":"web-1","io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.uid":"u-1","io.kubernetes.sandbox.id":"aaaaaaaaaaaaffff"}}}"#,
    );
    for j in [&sandbox, &app] {
        let b = body(&[j]);
        let ev = RawEvent::from_parts(1, -1, c::CONTAINER_JSON_E, 1, &b, false).unwrap();
        st.process(&ev);
    }
    let b = body(&[&app]);
    let ev = RawEvent::from_parts(2, -1, c::CONTAINER_JSON_E, 1, &b, false).unwrap();
    st.process(&ev);
    let f = |n: &str| get(&st, &ev, n);
    assert_eq!(f("k8s.pod.name").as_deref(), Some("web-1"));
    assert_eq!(f("k8s.ns.name").as_deref(), Some("prod"));
    assert_eq!(f("k8s.pod.id").as_deref(), Some("u-1"));
    assert_eq!(f("k8s.pod.label.app").as_deref(), Some("web"));
    assert_eq!(f("k8s.pod.label.nope"), None);
    assert_eq!(f("k8s.pod.labels").as_deref(), Some("app:web, tier:front"));
    assert_eq!(f("container.type").as_deref(), Some("docker"));
    assert_eq!(f("evt.is_async").as_deref(), Some("true"));
    assert_eq!(f("evt.asynctype").as_deref(), Some("container"));
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

//! Unit tests of the state engine.

use sonde_event::codes as c;
use sonde_event::meta::{FdDetail, FdInfo, ThreadInfo};
use sonde_event::RawEvent;

use super::{Scope, State};

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

fn event(ts: u64, tid: i64, code: u16, body: &[u8], n: u32) -> RawEvent<'_> {
    RawEvent::from_parts(ts, tid, code, n, body, false).unwrap()
}

/// A state that knows one process, `parent` (tid 100).
fn with_parent() -> State {
    let mut st = State::new();
    st.add_thread_info(&ThreadInfo {
        tid: 100,
        pid: 100,
        ptid: 1,
        comm: b"parent".to_vec(),
        ..Default::default()
    });
    st
}

#[test]
fn unknown_threads_are_named_na_and_keep_latency() {
    let mut st = State::new();
    let b = body(&[&0u64.to_le_bytes()]);
    st.process(&event(100, 7, c::SYSCALL_BRK_4_E, &b, 1));
    let t = st.thread(7).unwrap();
    assert_eq!(t.comm, b"<NA>");
    assert_eq!(t.latency, 0);
    let b = body(&[&0u64.to_le_bytes(), &1u32.to_le_bytes()]);
    st.process(&event(130, 7, c::SYSCALL_BRK_4_X, &b, 1));
    assert_eq!(st.thread(7).unwrap().latency, 30);
}

#[test]
fn container_events_fill_the_table() {
    let mut st = State::new();
    let json = br#"{"container":{"id":"9dbcbd0c435f","name":"epic_cray","type":0}}"#;
    let mut j = json.to_vec();
    j.push(0);
    let b = body(&[&j]);
    let ev = event(1, -1, c::CONTAINER_JSON_E, &b, 1);
    st.process(&ev);
    assert!(!st.suppressed());
    let t = st.event_thread(&ev).unwrap();
    assert_eq!(t.comm, b"container:9dbcbd0c435f");
    assert_eq!(t.container_id, b"9dbcbd0c435f");
    assert_eq!(st.containers[&b"9dbcbd0c435f"[..]].name, b"epic_cray");

    let failed = b"{\"container\":{\"id\":\"abc\",\"lookup_state\":2}}\0";
    let b = body(&[failed]);
    st.process(&event(2, -1, c::CONTAINER_JSON_E, &b, 1));
    assert!(st.suppressed());
}

#[test]
fn latency_measured_by_the_source_wins() {
    let mut st = State::new();
    let b = body(&[&0u64.to_le_bytes(), &1u32.to_le_bytes()]);
    let mut ev = event(500, 9, c::SYSCALL_BRK_4_X, &b, 1);
    ev.latency = 1234;
    st.process(&ev);
    assert_eq!(st.thread(9).unwrap().latency, 1234);
}

#[test]
fn unknown_threads_are_looked_up_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = Arc::clone(&calls);
    let mut st = State::new();
    st.set_resolver(Box::new(move |tid| {
        c2.fetch_add(1, Ordering::Relaxed);
        (tid == 4242).then(|| {
            let t = ThreadInfo {
                tid,
                pid: tid,
                ptid: 1,
                comm: b"late".to_vec(),
                cwd: b"/tmp/".to_vec(),
                ..Default::default()
            };
            let fd = FdInfo {
                fd: 3,
                ino: 0,
                kind: 16,
                detail: FdDetail::File {
                    open_flags: 1,
                    path: b"/etc/passwd".to_vec(),
                    dev: 0,
                },
            };
            (vec![t], vec![fd])
        })
    }));
    let b = body(&[&0u64.to_le_bytes()]);
    st.process(&event(1, 4242, c::SYSCALL_BRK_4_E, &b, 1));
    assert_eq!(st.thread(4242).unwrap().comm, b"late");
    assert_eq!(st.fd(4242, 3).unwrap().name, b"/etc/passwd");
    st.process(&event(2, 5151, c::SYSCALL_BRK_4_E, &b, 1));
    st.process(&event(3, 5151, c::SYSCALL_BRK_4_E, &b, 1));
    assert_eq!(calls.load(Ordering::Relaxed), 2, "a miss is remembered");
}

#[test]
fn a_parent_clone_exit_names_a_child_met_only_by_its_own_events() {
    let mut st = with_parent();
    // the new thread's events come before its parent's clone exit
    st.process(&event(
        10,
        200,
        c::SYSCALL_BRK_4_E,
        &body(&[&0u64.to_le_bytes()]),
        1,
    ));
    assert_eq!(
        st.thread(200).map(|t| t.comm.clone()),
        Some(b"<NA>".to_vec())
    );
    let parent_clone = body(&[&200i64.to_le_bytes()]);
    st.process(&event(30, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
    let t = st.thread(200).expect("the child");
    assert_eq!(t.comm, b"parent", "named from its parent, as in sysdig");
    assert_eq!(t.ptid, 100);
    // an entry a parent's exit made is no proof of a live child: a later
    // parent exit naming the same tid replaces it (the exit was missed)
    st.process(&event(40, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
    assert_eq!(st.thread(200).map(|t| t.clone_ts), Some(40));
}

#[test]
fn a_parent_clone_exit_replaces_a_scanned_thread_under_a_reused_tid() {
    let mut st = with_parent();
    // a kernel worker from the process list, gone since without an exit
    st.add_thread_info(&ThreadInfo {
        tid: 200,
        pid: 200,
        ptid: 2,
        comm: b"kworker/0:0".to_vec(),
        ..Default::default()
    });
    let parent_clone = body(&[&200i64.to_le_bytes()]);
    st.process(&event(30, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
    let t = st.thread(200).expect("the child");
    assert_eq!(t.comm, b"parent", "the new child, not the old worker");
    assert_eq!(t.ptid, 100);
}

#[test]
fn a_child_clone_exit_that_came_first_stands() {
    let mut st = with_parent();
    let child_clone = body(&[&0i64.to_le_bytes()]);
    st.process(&event(10, 200, c::SYSCALL_CLONE_20_X, &child_clone, 1));
    let parent_clone = body(&[&200i64.to_le_bytes()]);
    st.process(&event(30, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
    assert_eq!(
        st.thread(200).map(|t| t.clone_ts),
        Some(10),
        "the child's own entry is kept"
    );
}

#[test]
fn a_late_parent_clone_exit_names_an_exited_child_for_that_event_only() {
    let mut st = with_parent();
    // the child runs and exits before its parent's clone returns
    let child_clone = body(&[&0i64.to_le_bytes()]);
    st.process(&event(10, 200, c::SYSCALL_CLONE_20_X, &child_clone, 1));
    st.process(&event(20, 200, c::PROCEXIT_1_E, &[], 0));
    st.process(&event(
        25,
        100,
        c::SYSCALL_BRK_4_E,
        &body(&[&0u64.to_le_bytes()]),
        1,
    ));
    assert!(st.thread(200).is_none(), "the exited child is reaped");
    let parent_clone = body(&[&200i64.to_le_bytes()]);
    st.process(&event(30, 100, c::SYSCALL_CLONE_20_X, &parent_clone, 1));
    assert!(
        st.thread(200).is_some(),
        "the parent's late clone exit names it, as in sysdig"
    );
    st.process(&event(
        35,
        100,
        c::SYSCALL_BRK_4_E,
        &body(&[&0u64.to_le_bytes()]),
        1,
    ));
    assert!(
        st.thread(200).is_none(),
        "but only for that event: it is reaped before the next"
    );
    // a new child with that tid much later is created as usual
    st.process(&event(
        5_000_000_000,
        100,
        c::SYSCALL_CLONE_20_X,
        &parent_clone,
        1,
    ));
    assert!(st.thread(200).is_some());
}

#[test]
fn a_container_hook_attributes_threads_and_drops_the_container_after_its_last() {
    use std::sync::{Arc, Mutex};
    struct Hook(Arc<Mutex<Vec<String>>>);
    impl super::ContainerHook for Hook {
        fn identify(&mut self, cgroups: &[u8]) -> Option<super::ContainerIdent> {
            let s = String::from_utf8_lossy(cgroups);
            let id = s.strip_prefix("cpu=/libpod-")?.trim_end_matches('\0');
            Some(super::ContainerIdent {
                id: id.as_bytes().to_vec(),
                kind: 11,
                alias: Some(format!("sonde=/{id}").into_bytes()),
            })
        }
        fn first_seen(&mut self, id: &[u8]) {
            self.0
                .lock()
                .unwrap()
                .push(format!("new {}", String::from_utf8_lossy(id)));
        }
        fn gone(&mut self, id: &[u8]) {
            self.0
                .lock()
                .unwrap()
                .push(format!("gone {}", String::from_utf8_lossy(id)));
        }
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut st = State::new();
    st.set_container_hook(Box::new(Hook(Arc::clone(&log))));
    for tid in [100, 101] {
        st.add_thread_info(&ThreadInfo {
            tid,
            pid: tid,
            ptid: 1,
            comm: b"app".to_vec(),
            cgroups: b"cpu=/libpod-abc\0".to_vec(),
            ..Default::default()
        });
    }
    st.add_thread_info(&ThreadInfo {
        tid: 5,
        pid: 5,
        ptid: 1,
        comm: b"hostd".to_vec(),
        cgroups: b"cpu=/user.slice\0".to_vec(),
        ..Default::default()
    });
    assert_eq!(st.thread(100).unwrap().container_id, b"abc");
    assert!(st.thread(5).unwrap().container_id.is_empty());
    assert_eq!(
        st.containers[&b"abc"[..]].meta.as_ref().unwrap().kind,
        Some(11)
    );
    assert_eq!(
        st.thread(100).unwrap().info.cgroups,
        b"cpu=/libpod-abc\0sonde=/abc\0"
    );
    assert_eq!(*log.lock().unwrap(), ["new abc"]);
    let brk = body(&[&0u64.to_le_bytes()]);
    st.process(&event(10, 100, c::PROCEXIT_1_E, &[], 0));
    st.process(&event(11, 5, c::SYSCALL_BRK_4_E, &brk, 1));
    assert!(st.containers.contains_key(&b"abc"[..]), "one thread left");
    st.process(&event(20, 101, c::PROCEXIT_1_E, &[], 0));
    st.process(&event(21, 5, c::SYSCALL_BRK_4_E, &brk, 1));
    assert!(st.containers.is_empty(), "dropped after its last thread");
    assert_eq!(*log.lock().unwrap(), ["new abc", "gone abc"]);
}

/// A unix tuple: family, source and destination pointers, path.
fn unix_tuple(src: u64, dst: u64, path: &[u8]) -> Vec<u8> {
    let mut t = vec![1u8]; // PPM_AF_UNIX
    t.extend_from_slice(&src.to_le_bytes());
    t.extend_from_slice(&dst.to_le_bytes());
    t.extend_from_slice(path);
    t.push(0);
    t
}

#[test]
fn a_unix_socket_is_named_after_the_tuple_of_a_send() {
    let mut st = State::new();
    let b = body(&[
        &0i64.to_le_bytes(),
        &11i64.to_le_bytes(),
        &12i64.to_le_bytes(),
        &0xffff_0000_0000_2d00u64.to_le_bytes(),
        &0xffff_0000_0000_2880u64.to_le_bytes(),
    ]);
    st.process(&event(1, 7, c::SOCKET_SOCKETPAIR_X, &b, 5));
    assert_eq!(st.fd(7, 11).unwrap().name, b"");
    // sendto with the pair's tuple (no path): as sysdig 0.29.3, the fd is
    // named `src->dst ` for good, not after the empty path
    let t = unix_tuple(0xffff_0000_0000_2880, 0xffff_0000_0000_2d00, b"");
    let b = body(&[&11i64.to_le_bytes(), &1u32.to_le_bytes(), &t]);
    st.process(&event(2, 7, c::SOCKET_SENDTO_E, &b, 3));
    let b = body(&[&1i64.to_le_bytes(), b"u"]);
    st.process(&event(3, 7, c::SOCKET_SENDTO_X, &b, 2));
    assert_eq!(
        st.fd(7, 11).unwrap().name,
        b"ffff000000002880->ffff000000002d00 "
    );
}

#[test]
fn an_exit_whose_enter_has_no_fd_has_fd_minus_one() {
    let mut st = State::new();
    let sockopt = |fd: i64| {
        body(&[
            &0i64.to_le_bytes(),
            &fd.to_le_bytes(),
            &[1u8],
            &[2u8],
            &[0u8, 0, 0, 0, 0],
            &4u32.to_le_bytes(),
        ])
    };
    // setsockopt's enter carries no fd in sysdig 0.29.3's table: the
    // exit's fd is -1 there, whatever the exit says
    st.process(&event(1, 7, c::SOCKET_SETSOCKOPT_E, &[], 0));
    let b = sockopt(3);
    st.process(&event(2, 7, c::SOCKET_SETSOCKOPT_X, &b, 6));
    assert_eq!(st.thread(7).unwrap().last_fd, Some(-1));
    // an exit alone (its enter dropped or not captured) keeps its own fd
    let b = sockopt(4);
    st.process(&event(3, 7, c::SOCKET_SETSOCKOPT_X, &b, 6));
    assert_eq!(st.thread(7).unwrap().last_fd, Some(4));
}

#[test]
fn light_events_are_calls_that_change_only_their_thread() {
    use super::is_light;
    for code in [
        c::GENERIC_E,
        c::GENERIC_X,
        c::SYSCALL_MPROTECT_E,
        c::SYSCALL_MPROTECT_X,
        c::SYSCALL_FSTAT_E,
        c::SYSCALL_FSTAT_X,
        c::SYSCALL_POLL_E,
        c::SYSCALL_POLL_X,
    ] {
        assert!(is_light(code), "{code} is light");
    }
    for code in [
        c::SYSCALL_READ_E,
        c::SYSCALL_READ_X,
        c::SYSCALL_OPENAT_2_X,
        c::SYSCALL_CLOSE_E,
        c::SYSCALL_CLOSE_X,
        c::SYSCALL_MMAP_X,
        c::SYSCALL_BRK_4_X,
        c::SYSCALL_CLONE_20_E,
        c::SYSCALL_CLONE_20_X,
        c::SYSCALL_EXECVE_19_X,
        c::PROCEXIT_1_E,
        c::SOCKET_CONNECT_E,
        c::SOCKET_SENDTO_X,
        c::SCHEDSWITCH_6_E,
        c::PROCINFO_E,
        c::CONTAINER_JSON_E,
    ] {
        assert!(!is_light(code), "{code} is not light");
    }
}

#[test]
fn a_light_event_is_skipped_only_for_a_known_thread() {
    let mut st = State::new();
    let b = body(&[]);
    let ev = event(10, 300, c::SYSCALL_MPROTECT_E, &b, 0);
    assert!(
        !st.skip_light(&ev, Scope::All, || true),
        "an unknown thread is met by process"
    );
    st.process(&ev);
    assert!(st.thread(300).is_some());
    assert!(st.skip_light(
        &event(20, 300, c::SYSCALL_MPROTECT_E, &b, 0),
        Scope::All,
        || { true }
    ));
    let read = body(&[&3i64.to_le_bytes(), &10u32.to_le_bytes()]);
    assert!(!st.skip_light(
        &event(30, 300, c::SYSCALL_READ_E, &read, 2),
        Scope::All,
        || true
    ));
    // for readers of the thread table alone, a read leaves threads alone
    assert!(st.skip_light(
        &event(40, 300, c::SYSCALL_READ_E, &read, 2),
        Scope::Threads,
        || true
    ));
    // without memory sizes, a mmap changes nothing read
    let mmap = event(50, 300, c::SYSCALL_MMAP_E, &b, 0);
    assert!(!st.skip_light(&mmap, Scope::All, || true));
    assert!(st.skip_light(&mmap, Scope::NoMemory, || true));
    assert!(!st.skip_light(
        &event(60, 300, c::SYSCALL_READ_E, &read, 2),
        Scope::NoMemory,
        || true
    ));
}

#[test]
fn a_procinfo_event_passes_over_as_process_would_apply_it() {
    // the same thread, in the middle of a read, in two states
    let read = body(&[&3i64.to_le_bytes(), &10u32.to_le_bytes()]);
    let cpu = body(&[&5u64.to_le_bytes(), &7u64.to_le_bytes()]);
    let mut states = [State::new(), State::new()];
    for st in &mut states {
        st.process(&event(10, 300, c::SYSCALL_READ_E, &read, 2));
    }
    let info = event(20, 300, c::PROCINFO_E, &cpu, 2);
    states[0].process(&info);
    for scope in [Scope::All, Scope::NoMemory, Scope::Threads] {
        assert!(states[1].skip_light(&info, scope, || true), "{scope:?}");
    }
    assert!(!states[1].skip_light(&info, Scope::All, || false), "wanted");
    let [a, b] = &states;
    assert_eq!(
        format!("{:?}", a.thread(300)),
        format!("{:?}", b.thread(300))
    );
    assert_eq!(a.thread(300).map(|t| t.latency_enter_ts), Some(10));
    // an unknown thread's procinfo changes nothing either (process
    // creates no thread for it): it passes over too, and both states agree
    let other = event(30, 301, c::PROCINFO_E, &cpu, 2);
    let mut states = [State::new(), State::new()];
    for st in &mut states {
        st.process(&event(10, 300, c::SYSCALL_READ_E, &read, 2));
    }
    states[0].process(&other);
    assert!(states[1].skip_light(&other, Scope::All, || true));
    let [a, b] = &states;
    assert!(a.thread(301).is_none() && b.thread(301).is_none());
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn only_thread_changing_events_touch_threads() {
    use super::dispatch::leaves_threads;
    for code in [
        c::SYSCALL_READ_X,
        c::SYSCALL_OPEN_X,
        c::SYSCALL_CLOSE_E,
        c::SYSCALL_MMAP_X,
        c::SYSCALL_CHDIR_X,
        c::SOCKET_CONNECT_E,
        c::SYSCALL_MPROTECT_E,
    ] {
        assert!(leaves_threads(code), "{code} leaves threads alone");
    }
    for code in [
        c::SYSCALL_CLONE_20_E,
        c::SYSCALL_CLONE_20_X,
        c::SYSCALL_EXECVE_19_E,
        c::SYSCALL_EXECVE_19_X,
        c::SYSCALL_CAPSET_X,
        c::PROCEXIT_1_E,
        c::SCHEDSWITCH_6_E,
        c::PROCINFO_E,
        c::CONTAINER_JSON_E,
    ] {
        assert!(!leaves_threads(code), "{code} changes threads");
    }
}

#[test]
fn only_procinfo_with_nothing_deferred_leaves_the_state_unchanged() {
    let mut st = with_parent();
    let info = body(&[&5u64.to_le_bytes(), &7u64.to_le_bytes()]);
    let procinfo = event(10, 100, c::PROCINFO_E, &info, 2);
    assert!(
        !st.leaves_unchanged(&procinfo),
        "the tables are not ready yet"
    );
    let brk = body(&[&0u64.to_le_bytes()]);
    st.process(&event(5, 100, c::SYSCALL_BRK_4_E, &brk, 1));
    assert!(st.leaves_unchanged(&procinfo));
    assert!(!st.leaves_unchanged(&event(11, 100, c::SYSCALL_BRK_4_E, &brk, 1)));
    // an exit is reaped at the next event, whatever it is
    st.process(&event(12, 100, c::PROCEXIT_1_E, &[], 0));
    assert!(!st.leaves_unchanged(&procinfo), "the exit is still to reap");
    st.process(&procinfo);
    assert!(st.thread(100).is_none(), "reaped by the procinfo event");
    assert!(st.leaves_unchanged(&procinfo));
}

/// A read of fd 3 by thread 300 (enter, then exit with `res`).
fn read_pair(b_enter: &mut Vec<u8>, b_exit: &mut Vec<u8>, res: i64) {
    *b_enter = body(&[&3i64.to_le_bytes(), &10u32.to_le_bytes()]);
    *b_exit = body(&[&res.to_le_bytes(), b"data"]);
}

#[test]
fn a_passed_by_enter_leaves_its_fd_to_its_exit() {
    let (mut e, mut x) = (Vec::new(), Vec::new());
    read_pair(&mut e, &mut x, 4);
    // applied: the exit names the enter's fd
    let mut applied = State::new();
    applied.process(&event(5, 300, c::SYSCALL_MPROTECT_E, &body(&[]), 0));
    applied.process(&event(10, 300, c::SYSCALL_READ_E, &e, 2));
    applied.process(&event(30, 300, c::SYSCALL_READ_X, &x, 2));
    // passed by: the same fd, the same latency, the call over
    let mut st = State::new();
    st.process(&event(5, 300, c::SYSCALL_MPROTECT_E, &body(&[]), 0));
    let enter = event(10, 300, c::SYSCALL_READ_E, &e, 2);
    assert!(st.may_pass_by(&enter));
    let (_, fd) = st.fd_after(&enter).expect("a known thread");
    assert_eq!(fd, Some(3));
    st.skip_enter(&enter, fd);
    let exit = event(30, 300, c::SYSCALL_READ_X, &x, 2);
    assert!(st.may_pass_by(&exit));
    let (_, fd) = st.fd_after(&exit).unwrap();
    assert_eq!(fd, Some(3), "the exit names the passed-by enter's fd");
    st.skip_exit(&exit, fd);
    for s in [&applied, &st] {
        let t = s.thread(300).unwrap();
        assert_eq!(t.last_fd, Some(3));
        assert_eq!(t.latency, 20);
        assert!(!t.last_enter.valid && !t.last_enter.skipped);
    }
    // a second exit with no enter names no fd, as when applied
    let (_, fd) = st.fd_after(&exit).unwrap();
    assert_eq!(fd, None);
}

#[test]
fn an_applied_exit_after_a_passed_by_enter_names_the_enter_fd() {
    let (mut e, mut x) = (Vec::new(), Vec::new());
    read_pair(&mut e, &mut x, 4);
    let mut st = State::new();
    st.process(&event(5, 300, c::SYSCALL_MPROTECT_E, &body(&[]), 0));
    let enter = event(10, 300, c::SYSCALL_READ_E, &e, 2);
    assert!(st.may_pass_by(&enter));
    let (_, fd) = st.fd_after(&enter).unwrap();
    st.skip_enter(&enter, fd);
    st.process(&event(30, 300, c::SYSCALL_READ_X, &x, 2));
    let t = st.thread(300).unwrap();
    assert_eq!(t.last_fd, Some(3));
    assert_eq!(t.latency, 20);
    // (nothing of it was saved for the exit's handlers)
    assert!(!t.last_enter.valid);
}

#[test]
fn events_of_unknown_threads_are_not_passed_by() {
    let (mut e, mut x) = (Vec::new(), Vec::new());
    read_pair(&mut e, &mut x, 4);
    let mut st = State::new();
    let enter = event(10, 300, c::SYSCALL_READ_E, &e, 2);
    // tables not loaded yet: nothing passes by
    assert!(!st.may_pass_by(&enter));
    st.process(&event(5, 100, c::SYSCALL_MPROTECT_E, &body(&[]), 0));
    assert!(st.may_pass_by(&enter));
    assert!(
        st.fd_after(&enter).is_none(),
        "the state meets thread 300 itself"
    );
    let before = st.changes();
    st.process(&enter);
    assert!(st.changes() > before);
}

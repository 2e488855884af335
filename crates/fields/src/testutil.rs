//! A small state and event builder for the unit tests of the class
//! modules (mostly of the fields sysdig 0.29.3 does not have, which the
//! golden tests cannot compare: they follow current libs).

pub(crate) use sonde_event::codes as c;
pub(crate) use sonde_event::RawEvent;
use sonde_output::RenderOpts;
use sonde_scap::{Block, FdDetail, FdInfo, MachineInfo, ThreadInfo};
pub(crate) use sonde_state::State;

use crate::{Ctx, Field, TimeFmt};

/// Encodes parameters as an event body (16-bit lengths, then data).
pub(crate) fn body(params: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in params {
        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in params {
        b.extend_from_slice(p);
    }
    b
}

pub(crate) fn thread(tid: i64, pid: i64, ptid: i64, comm: &str) -> ThreadInfo {
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
pub(crate) fn state() -> State {
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
pub(crate) fn get(st: &State, ev: &RawEvent<'_>, field: &str) -> Option<String> {
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

pub(crate) fn brk(ts: u64, tid: i64) -> (Vec<u8>, u16, u64, i64) {
    (body(&[&0u64.to_le_bytes()]), c::SYSCALL_BRK_4_E, ts, tid)
}

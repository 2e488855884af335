//! How much of the state a field reads ([`Scope`]): the thread table
//! only (ids, names, arguments, parents, users, containers, CPU times),
//! everything but memory sizes, or all of it.
//!
//! A consumer whose fields all read less than everything lets the engine
//! pass over the events that change only the rest (`sonde-state`'s
//! `State::skip_light`). The narrow scopes are allowlists: a field put in
//! a wider scope than it needs only costs speed; an unknown name reads
//! everything.

use sonde_state::Scope;

/// Fields of `evt.*` read from the event alone (or from the times the
/// engine keeps).
const EVT: &[&str] = &[
    "evt.num",
    "evt.time",
    "evt.time.s",
    "evt.time.iso8601",
    "evt.datetime",
    "evt.datetime.s",
    "evt.rawtime",
    "evt.rawtime.s",
    "evt.rawtime.ns",
    "evt.reltime",
    "evt.reltime.s",
    "evt.reltime.ns",
    "evt.deltatime",
    "evt.deltatime.s",
    "evt.deltatime.ns",
    "evt.type",
    "evt.dir",
    "evt.cpu",
    "evt.rawres",
    "evt.failed",
    "evt.is_io",
    "evt.is_io_read",
    "evt.is_io_write",
    "evt.is_wait",
    "evt.count",
];

/// Fields of the thread table: set by clone, execve, process exits,
/// scheduler switches, procinfo and container events.
const THREAD: &[&str] = &[
    "proc.pid",
    "proc.exe",
    "proc.name",
    "proc.args",
    "proc.env",
    "proc.cmdline",
    "proc.exeline",
    "proc.exepath",
    "proc.ppid",
    "proc.pname",
    "proc.pcmdline",
    "proc.apid",
    "proc.aname",
    "proc.vpid",
    "proc.sid",
    "proc.sname",
    "proc.vpgid",
    "proc.tty",
    "proc.nthreads",
    "proc.nchilds",
    "proc.duration",
    "thread.tid",
    "thread.vtid",
    "thread.ismain",
    "thread.cpu",
    "thread.cpu.user",
    "thread.cpu.system",
    "thread.exectime",
    "thread.totexectime",
    "user.uid",
    "user.name",
    "user.homedir",
    "user.shell",
    "user.loginuid",
    "user.loginname",
    "group.gid",
    "group.name",
];

/// Fields that read the memory sizes of processes (changed by `brk`,
/// `mmap`, `munmap` and switches).
const MEMORY: &[&str] = &[
    "proc.vmsize",
    "proc.vmrss",
    "proc.vmswap",
    "thread.vmsize",
    "thread.vmrss",
];

/// The part of the state field `name` (as written: `proc.aname[2]`,
/// `evt.arg.fd`) reads; an unknown name reads all of it.
pub fn field_scope(name: &str) -> Scope {
    let base = name.split('[').next().unwrap_or(name);
    let Some((info, _)) = crate::registry::resolve(base) else {
        return Scope::All;
    };
    let n = info.name;
    if EVT.contains(&n)
        || THREAD.contains(&n)
        || n.starts_with("container.")
        || n.starts_with("k8s.")
    {
        Scope::Threads
    } else if MEMORY.contains(&n) || n.contains("latency") {
        // memory sizes; latencies (at events other than exits, the
        // thread's last call's, which any call may have set)
        Scope::All
    } else {
        Scope::NoMemory
    }
}

/// The widest [`field_scope`] of the fields a filter or `-p` format text
/// names: each dotted word of the text (as `evt.type`, `proc.name`, but
/// also a value such as `a.b`, which reads as unknown, so everything).
pub fn text_scope(text: &str) -> Scope {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']');
    text.split(|c: char| !word(c))
        .filter(|w| w.contains('.'))
        .map(field_scope)
        .max()
        .unwrap_or(Scope::Threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_field_is_in_the_registry() {
        for n in EVT.iter().chain(THREAD) {
            assert!(crate::registry::lookup(n).is_some(), "{n}");
            assert!(field_scope(n) == Scope::Threads, "{n}");
        }
    }

    #[test]
    fn fd_cwd_memory_and_latency_fields_read_more() {
        for n in [
            "fd.name",
            "fd.num",
            "proc.cwd",
            "proc.vmsize",
            "thread.vmrss",
            "proc.fdopencount",
            "evt.latency",
            "evt.arg.fd",
            "evt.args",
            "evt.info",
            "evt.category",
            "evt.rawarg.data",
            "nosuch.field",
        ] {
            assert!(field_scope(n) != Scope::Threads, "{n}");
        }
        assert!(field_scope("proc.aname[2]") == Scope::Threads);
        assert!(field_scope("container.name") == Scope::Threads);
    }

    #[test]
    fn memory_fields_and_unknown_names_read_everything() {
        for n in MEMORY.iter().chain(&["nosuch.field", "proc.vmsize[1]"]) {
            assert_eq!(field_scope(n), Scope::All, "{n}");
        }
        assert_eq!(field_scope("evt.latency.human"), Scope::All);
        for n in ["fd.name", "proc.cwd", "evt.arg.fd", "evt.rawarg.data"] {
            assert_eq!(field_scope(n), Scope::NoMemory, "{n}");
        }
    }

    #[test]
    fn texts_are_judged_by_every_dotted_word() {
        use Scope::*;
        assert_eq!(text_scope("evt.type=procinfo"), Threads);
        assert_eq!(
            text_scope("evt.type in (execve, clone) and proc.name!=bash"),
            Threads
        );
        assert_eq!(text_scope("%evt.num %proc.name %thread.tid"), Threads);
        assert_eq!(text_scope("evt.type=open and fd.name=/etc"), NoMemory);
        assert_eq!(text_scope("%evt.arg.data"), NoMemory);
        assert_eq!(text_scope("proc.name=a.out"), All);
        assert_eq!(text_scope("fd.type=file and proc.vmrss>10"), All);
    }
}

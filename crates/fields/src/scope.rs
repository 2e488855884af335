//! Which fields read only the thread table: a field of this set, given
//! an event and the state, reads the event itself and the thread-level
//! part of the state (ids, names, arguments, parents, users, containers,
//! CPU times), never a thread's fd table, cwd, memory sizes or the
//! bookkeeping of its calls (latency, saved enter events).
//!
//! A consumer whose fields are all in this set lets the engine pass over
//! the events that change only those other parts (`sonde-state`'s
//! `leaves_threads`). The set is an allowlist: a field missing from it
//! only costs speed.

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

/// Whether field `name` (as written: `proc.aname[2]` and
/// `container.label.x` too) reads only the event and the thread table.
/// Unknown names read more.
pub fn reads_only_threads(name: &str) -> bool {
    let base = name.split('[').next().unwrap_or(name);
    let Some((info, _)) = crate::registry::resolve(base) else {
        return false;
    };
    let n = info.name;
    EVT.contains(&n) || THREAD.contains(&n) || n.starts_with("container.") || n.starts_with("k8s.")
}

/// Whether every field a filter or `-p` format text names reads only the
/// event and the thread table: each dotted word of the text (as
/// `evt.type`, `proc.name`, but also a value such as `a.b`) must be such a
/// field. Conservative: a text naming anything else (or a dotted value)
/// says no.
pub fn text_reads_only_threads(text: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']');
    text.split(|c: char| !word(c))
        .filter(|w| w.contains('.'))
        .all(reads_only_threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_field_is_in_the_registry() {
        for n in EVT.iter().chain(THREAD) {
            assert!(crate::registry::lookup(n).is_some(), "{n}");
            assert!(reads_only_threads(n), "{n}");
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
            assert!(!reads_only_threads(n), "{n}");
        }
        assert!(reads_only_threads("proc.aname[2]"));
        assert!(reads_only_threads("container.name"));
    }

    #[test]
    fn texts_are_judged_by_every_dotted_word() {
        assert!(text_reads_only_threads("evt.type=procinfo"));
        assert!(text_reads_only_threads(
            "evt.type in (execve, clone) and proc.name!=bash"
        ));
        assert!(text_reads_only_threads("%evt.num %proc.name %thread.tid"));
        assert!(!text_reads_only_threads("evt.type=open and fd.name=/etc"));
        assert!(!text_reads_only_threads("proc.name=a.out"));
        assert!(!text_reads_only_threads("%evt.arg.data"));
    }
}

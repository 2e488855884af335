//! x86_64 syscall numbers, names and PPM_SC codes, from the event model's
//! `syscalls_x86_64.tsv` (the routing table of falcosecurity/libs).

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../event/data/syscalls_x86_64.tsv");

static TABLE_PARSED: OnceLock<Vec<(u32, &'static str, u16)>> = OnceLock::new();
static OWN_EVENT: OnceLock<Vec<u32>> = OnceLock::new();

/// Whether native syscall `nr` has an event of its own in the event model
/// (the routing table's exit event; otherwise it is a generic `syscall`
/// event, and the probe has no handler for it).
pub fn has_own_event(nr: u32) -> bool {
    OWN_EVENT
        .get_or_init(|| {
            TABLE
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| {
                    let f: Vec<&str> = l.split('\t').collect();
                    let exit = f.get(4)?;
                    (!exit.is_empty() && *exit != "-").then(|| f[0].parse().ok())?
                })
                .collect()
        })
        .contains(&nr)
}

/// Whether sys_enter has work for native syscall `nr` even when latency is
/// not measured: the syscalls with an enter event (the open family, creat,
/// connect: their arguments can change before the exit) and execveat (whose
/// successful exit carries execve's number). Keep in sync with
/// `has_enter_event` in `bpf/sonde.bpf.c`.
pub fn enter_work(nr: u32) -> bool {
    // open, connect, creat, openat, execveat, openat2
    matches!(nr, 2 | 42 | 85 | 257 | 322 | 437)
}

/// (native number, name, PPM_SC code) of every known x86_64 syscall.
pub fn syscall_table() -> &'static [(u32, &'static str, u16)] {
    TABLE_PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                Some((
                    f.first()?.parse().ok()?,
                    *f.get(1)?,
                    f.get(5)?.parse().unwrap_or(0),
                ))
            })
            .collect()
    })
}

/// The PPM_SC code of native syscall `nr` (0: unknown).
pub fn ppm_sc(nr: u32) -> u16 {
    syscall_table()
        .iter()
        .find(|e| e.0 == nr)
        .map(|e| e.2)
        .unwrap_or(0)
}

static EXIT_EVENTS: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();

/// The exit event (its `PPME_*` enum name) of native syscall `nr`, as the
/// libs routing table has it; None for a syscall that makes generic events.
pub fn syscall_exit_event(nr: u32) -> Option<&'static str> {
    let events = EXIT_EVENTS.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let exit = *f.get(4)?;
                (exit != "-").then_some((f.first()?.parse().ok()?, exit))
            })
            .collect()
    });
    events.iter().find(|e| e.0 == nr).map(|e| e.1)
}

/// The native number of the syscall called `name`.
pub fn syscall_nr(name: &str) -> Option<u32> {
    syscall_table().iter().find(|e| e.1 == name).map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_says_which_syscalls_have_events() {
        assert!(has_own_event(0), "read");
        assert!(!has_own_event(110), "getppid is a generic event");
    }

    /// The probe takes the generic fast path for syscalls without an event
    /// of their own: none of them may have a handler in `bpf/`.
    #[test]
    fn every_handled_syscall_has_its_own_event() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            for l in text.lines() {
                let Some(rest) = l.strip_prefix("#define NR_") else {
                    continue;
                };
                let mut it = rest.split_whitespace();
                let (Some(name), Some(nr)) = (it.next(), it.next().and_then(|x| x.parse().ok()))
                else {
                    continue;
                };
                assert!(has_own_event(nr), "NR_{name} ({nr}) is handled but generic");
                n += 1;
            }
        }
        assert!(n > 50, "found the probe's syscall numbers ({n})");
    }

    /// sys_enter's work without latency: the syscalls `has_enter_event` in
    /// `bpf/sonde.bpf.c` names, and execveat.
    #[test]
    fn enter_work_is_the_probes_enter_events() {
        let src = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf/sonde.bpf.c"),
        )
        .unwrap();
        let body = src
            .split("bool has_enter_event(long id)")
            .nth(1)
            .and_then(|b| b.split('}').next())
            .expect("has_enter_event in sonde.bpf.c");
        let mut want: Vec<u32> = body
            .split("NR_")
            .skip(1)
            .map(|w| {
                let name: String = w
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                syscall_nr(&name).unwrap_or_else(|| panic!("unknown syscall {name}"))
            })
            .collect();
        want.push(syscall_nr("execveat").unwrap());
        want.sort_unstable();
        let got: Vec<u32> = (0..512).filter(|&nr| enter_work(nr)).collect();
        assert_eq!(got, want);
    }
}

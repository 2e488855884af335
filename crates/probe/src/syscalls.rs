//! x86_64 syscall numbers, names and PPM_SC codes, from the event model's
//! `syscalls_x86_64.tsv` (the routing table of falcosecurity/libs).

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../event/data/syscalls_x86_64.tsv");

static TABLE_PARSED: OnceLock<Vec<(u32, &'static str, u16)>> = OnceLock::new();

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

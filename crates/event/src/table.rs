//! The static event table, generated at build time from `data/events.tsv`.

use crate::types::{ParamType, PrintFmt};

/// Whether an event marks the entry into or the exit from a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Entry into a system call (or a one-shot event).
    Enter,
    /// Exit from a system call.
    Exit,
}

impl Direction {
    /// `>` for enter, `<` for exit, as sysdig prints `evt.dir`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Enter => ">",
            Direction::Exit => "<",
        }
    }
}

/// A named table of flag or enumeration symbols, in the driver's order.
#[derive(Debug)]
pub struct FlagTable {
    /// The table's name in the driver.
    pub name: &'static str,
    /// Symbols and their values.
    pub entries: &'static [(&'static str, u64)],
}

/// The possible encodings of a `PT_DYN` parameter, selected by its first byte.
#[derive(Debug)]
pub struct DynTable {
    /// The table's name in the driver.
    pub name: &'static str,
    /// The alternatives, by the value of the selecting byte.
    pub entries: &'static [ParamInfo],
}

/// One parameter of an event.
#[derive(Debug)]
pub struct ParamInfo {
    /// Parameter name (`fd`, `res`, ...).
    pub name: &'static str,
    /// How it is encoded.
    pub ptype: ParamType,
    /// How it is printed.
    pub fmt: PrintFmt,
    /// Flag or enum symbols for `FLAGS*`, `ENUMFLAGS*` and `MODE` parameters.
    pub symbols: Option<&'static FlagTable>,
    /// Alternatives for `DYN` parameters.
    pub dyn_types: Option<&'static DynTable>,
    /// For `FSRELPATH` parameters: the index of the dirfd parameter.
    pub dirfd: Option<u8>,
}

/// Everything known about one event code.
#[derive(Debug)]
pub struct EventInfo {
    /// The event code (`PPME_*` value).
    pub code: u16,
    /// The driver's enum name (`SYSCALL_OPEN_E`, ...).
    pub enum_name: &'static str,
    /// The event name as `evt.type` shows it.
    pub name: &'static str,
    /// Enter or exit.
    pub dir: Direction,
    /// `EC_*` bits, see [`crate::category`].
    pub category: u32,
    /// `EF_*` bits, see [`crate::flags`].
    pub flags: u32,
    /// Parameters as the current driver writes them.
    pub params: &'static [ParamInfo],
    /// Name in the 2022 driver generation (libs 0.1.x, sysdig 0.29.x).
    pub old_name: &'static str,
    /// Parameters in the 2022 driver generation. Files written then carry at
    /// most these, and sysdig 0.29.x renders them with these formats.
    pub old_params: &'static [ParamInfo],
    /// `EC_*` bits in the 2022 driver generation (sysdig 0.29 hides
    /// `EC_INTERNAL` events by these).
    pub old_category: u32,
    /// `EF_*` bits in the 2022 driver generation.
    pub old_flags: u32,
    /// Index of the parameter named `fd` in `params`, if any (looked up
    /// on every fd-using event, so resolved at build time).
    pub fd_param: Option<u8>,
}

include!(concat!(env!("OUT_DIR"), "/table.rs"));

/// Number of event codes known.
pub const EVENT_COUNT: usize = EVENTS.len();

/// Looks up an event code.
#[inline]
pub fn event_info(code: u16) -> Option<&'static EventInfo> {
    EVENTS.get(code as usize)
}

/// All event codes whose name is `name` (both directions, all versions).
pub fn codes_named(name: &str) -> impl Iterator<Item = u16> + '_ {
    EVENTS
        .iter()
        .filter(move |e| e.name == name)
        .map(|e| e.code)
}

/// The symbolic name of an errno value (positive), as sysdig prints it.
#[inline]
pub fn errno_name(errno: i64) -> Option<&'static str> {
    let i = usize::try_from(errno).ok()?;
    ERRNO_NAME_BY_VALUE.get(i).copied().flatten()
}

/// The name of a syscall id as carried by the generic `syscall` event.
#[inline]
pub fn syscall_name(id: u32) -> Option<&'static str> {
    SYSCALL_NAME_BY_ID.get(id as usize).copied().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_names_match_the_lists() {
        for id in 0..SYSCALL_NAME_BY_ID.len() as u32 + 10 {
            let listed = SYSCALL_NAMES
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, n)| *n);
            assert_eq!(syscall_name(id), listed, "syscall {id}");
        }
        assert_eq!(syscall_name(u32::MAX), None);
        for v in -5..ERRNO_NAME_BY_VALUE.len() as i64 + 10 {
            let listed = ERRNO_NAMES.iter().find(|(e, _)| *e == v).map(|(_, n)| *n);
            assert_eq!(errno_name(v), listed, "errno {v}");
        }
        assert_eq!(errno_name(i64::MIN), None);
        assert_eq!(errno_name(i64::MAX), None);
        assert_eq!(errno_name(2), Some("ENOENT"));
    }
}

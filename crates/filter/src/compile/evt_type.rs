//! `evt.type`: checking the names a filter uses, precomputing a check per
//! event code, and the sets of event codes and names a filter can accept
//! (what the live probe asks the kernel for).

use std::collections::BTreeSet;

use sonde_fields::Field;

use super::compare::cmp_const;
use super::node::{Cmp, Leaf, Node, Src, StrCmp};
use super::strmatch::str_match;

/// The names of `cands` the tree can accept (see [`super::Filter::event_type_names`]).
pub(super) fn names<'a>(n: &Node, cands: &[&'a str]) -> Option<BTreeSet<&'a str>> {
    match n {
        Node::And(v) => {
            let mut acc: Option<BTreeSet<&'a str>> = None;
            for c in v {
                if let Some(s) = names(c, cands) {
                    acc = Some(match acc {
                        None => s,
                        Some(a) => a.intersection(&s).copied().collect(),
                    });
                }
            }
            acc
        }
        Node::Or(v) => {
            let mut acc = BTreeSet::new();
            for c in v {
                acc.extend(names(c, cands)?);
            }
            Some(acc)
        }
        Node::Not(_) => None,
        Node::Codes(_, x) => names(x, cands),
        Node::Leaf(l) => match (&l.cmp, &l.src) {
            (Cmp::EvtType { fallback, .. }, Src::Field(Field::EvtType)) => {
                match fallback.as_ref() {
                    Cmp::Str(s) => Some(
                        cands
                            .iter()
                            .copied()
                            .filter(|c| str_match(s, c.as_bytes()))
                            .collect(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        },
    }
}

/// Whose names and flags a set of event codes follows: the current event
/// table's, sysdig 0.29's (`Ctx`'s `compat_029`), or either.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Table {
    Either,
    Current,
    Compat,
}

/// The event codes the tree can accept (see [`super::Filter::event_types`]).
pub(super) fn types(n: &Node) -> Option<BTreeSet<u16>> {
    types_in(n, Table::Either)
}

/// The event codes the tree can accept when events are read by `table`:
/// on any other code it is false. None when it may accept any code.
pub(super) fn types_in(n: &Node, table: Table) -> Option<BTreeSet<u16>> {
    match n {
        Node::And(v) => {
            let mut acc: Option<BTreeSet<u16>> = None;
            for c in v {
                if let Some(s) = types_in(c, table) {
                    acc = Some(match acc {
                        None => s,
                        Some(a) => a.intersection(&s).copied().collect(),
                    });
                }
            }
            acc
        }
        Node::Or(v) => {
            let mut acc = BTreeSet::new();
            for c in v {
                acc.extend(types_in(c, table)?);
            }
            Some(acc)
        }
        Node::Not(_) => None,
        Node::Codes(_, x) => types_in(x, table),
        Node::Leaf(l) => leaf_types(l, table),
    }
}

/// [`types_in`] of one comparison.
fn leaf_types(l: &Leaf, table: Table) -> Option<BTreeSet<u16>> {
    match &l.cmp {
        Cmp::Code { table: t, .. } => {
            Some((0..t.len()).filter(|&c| t[c]).map(|c| c as u16).collect())
        }
        Cmp::EvtType { new, old, .. } if matches!(l.src, Src::Field(Field::EvtType)) => {
            let mut s: BTreeSet<u16> = (0..new.len())
                .filter(|&c| match table {
                    Table::Either => new[c] || old[c],
                    Table::Current => new[c],
                    Table::Compat => old[c],
                })
                .map(|c| c as u16)
                .collect();
            s.insert(sonde_event::codes::GENERIC_E);
            s.insert(sonde_event::codes::GENERIC_X);
            Some(s)
        }
        // `evt.failed` is false on events without a result: a comparison
        // that false fails passes only events that have one
        Cmp::Bool(..)
            if matches!(l.src, Src::Field(Field::EvtFailed))
                && cmp_const(&l.cmp, sonde_fields::Value::Bool(false)) == Some(false) =>
        {
            Some(codes_where(sonde_fields::has_result, table))
        }
        _ => fd_only(&l.src).then(|| fd_codes(table)),
    }
}

/// Whether `src` has a value only on events that work on an fd: the fields
/// of the event's fd (`Ctx::event_fd`, `Ctx::fd_num`), which have none on
/// other events, and a comparison without a value is false.
fn fd_only(src: &Src) -> bool {
    match src {
        Src::Field(f) => f.only_on_fd_events(),
        // `fd.ip`, `fd.port`, ...: only for a valid fd of the event
        Src::Any(v) => v.iter().all(Field::only_on_fd_events),
        _ => false,
    }
}

/// The codes of events that work on an fd (in the current table, in
/// sysdig 0.29's, or in either).
fn fd_codes(table: Table) -> BTreeSet<u16> {
    use sonde_event::flags::{CREATES_FD, DESTROYS_FD, USES_FD};
    let events = &sonde_event::EVENTS;
    codes_where(
        |code, compat| {
            let i = &events[code as usize];
            let flags = if compat { i.old_flags } else { i.flags };
            flags & (USES_FD | CREATES_FD | DESTROYS_FD) != 0
        },
        table,
    )
}

/// The codes of the event table for which `pred(code, compat)` holds by
/// `table` (by either table: for one of them).
fn codes_where(pred: impl Fn(u16, bool) -> bool, table: Table) -> BTreeSet<u16> {
    (0..sonde_event::EVENTS.len() as u16)
        .filter(|&c| match table {
            Table::Either => pred(c, false) || pred(c, true),
            Table::Current => pred(c, false),
            Table::Compat => pred(c, true),
        })
        .collect()
}

/// The verdicts of a filter made of `evt.type` comparisons only (one, or
/// several joined by `or`), per event code: what evaluating the tree gives
/// for every event but generic ones, whose type is their syscall's name.
pub(super) struct TypeOnly {
    new: Vec<bool>,
    old: Vec<bool>,
}

impl TypeOnly {
    /// The filter's verdict on the event, None for a generic event (the
    /// tree decides those).
    #[inline]
    pub(super) fn verdict(&self, ctx: &sonde_fields::Ctx<'_, '_>) -> Option<bool> {
        use sonde_event::codes::{GENERIC_E, GENERIC_X};
        let code = ctx.ev.code;
        if code == GENERIC_E || code == GENERIC_X {
            return None;
        }
        if ctx.ev.info().is_none() {
            return Some(false);
        }
        let t = if ctx.opts.compat_029 {
            &self.old
        } else {
            &self.new
        };
        Some(t.get(code as usize).copied().unwrap_or(false))
    }
}

/// The [`TypeOnly`] tables of the tree, if it is made of `evt.type`
/// comparisons joined by `or` and nothing else.
pub(super) fn type_only(n: &Node) -> Option<TypeOnly> {
    let leaves: Vec<&Node> = match n {
        Node::Or(v) => v.iter().collect(),
        leaf => vec![leaf],
    };
    let mut acc = TypeOnly {
        new: vec![false; sonde_event::EVENTS.len()],
        old: vec![false; sonde_event::EVENTS.len()],
    };
    for leaf in leaves {
        let Node::Leaf(l) = leaf else { return None };
        let (Cmp::EvtType { new, old, .. }, Src::Field(Field::EvtType)) = (&l.cmp, &l.src) else {
            return None;
        };
        for (a, b) in acc.new.iter_mut().zip(new) {
            *a |= *b;
        }
        for (a, b) in acc.old.iter_mut().zip(old) {
            *a |= *b;
        }
    }
    Some(acc)
}

/// `cmp` of `f` as a [`Cmp::Code`] table when `f` depends on nothing
/// but the event code and the comparison on its text needs no event;
/// `cmp` unchanged otherwise.
pub(super) fn code_cmp(f: &Field, cmp: Cmp) -> Cmp {
    if sonde_fields::code_value(f, sonde_event::codes::GENERIC_E).is_none() {
        return cmp;
    }
    let mut table = Vec::with_capacity(sonde_event::EVENTS.len());
    for code in 0..sonde_event::EVENTS.len() as u16 {
        let pass = match sonde_fields::code_value(f, code) {
            // no value for the code: the field does not pass
            None => false,
            Some(v) => match cmp_const(&cmp, sonde_fields::Value::Str(v.as_bytes())) {
                Some(p) => p,
                None => return cmp,
            },
        };
        table.push(pass);
    }
    Cmp::Code {
        table,
        fallback: Box::new(cmp),
    }
}

/// Whether `name` is an event or syscall name.
pub(super) fn known_event_type(name: &str) -> bool {
    sonde_event::EVENTS
        .iter()
        .any(|e| e.name == name || e.old_name == name)
        || sonde_event::SYSCALL_NAMES.iter().any(|(_, n)| *n == name)
}

/// Precomputes an evt.type comparison over every event code.
pub(super) fn evt_type_cmp(s: StrCmp) -> Cmp {
    let n = sonde_event::EVENTS.len();
    let mut new = vec![false; n];
    let mut old = vec![false; n];
    for (i, e) in sonde_event::EVENTS.iter().enumerate() {
        new[i] = str_match(&s, e.name.as_bytes());
        old[i] = str_match(&s, e.old_name.as_bytes());
    }
    // generic events are named after their syscall (`event_name`)
    let ids = sonde_event::SYSCALL_NAMES
        .iter()
        .map(|&(id, _)| id as usize + 1)
        .max()
        .unwrap_or(0);
    let unknown = str_match(&s, b"<unknown>");
    let by_id = (0..ids)
        .map(|id| match sonde_event::syscall_name(id as u32) {
            Some(n) => str_match(&s, n.as_bytes()),
            None => unknown,
        })
        .collect();
    Cmp::EvtType {
        new,
        old,
        by_id,
        unknown,
        fallback: Box::new(Cmp::Str(s)),
    }
}

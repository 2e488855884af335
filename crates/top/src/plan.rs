//! Which value columns an event may change in a row that already exists,
//! by event type: a table visits only those. A column is left out when
//! its aggregation keeps the first value and no missing value can drop
//! the event, when every event of the type has no value and a missing
//! value changes nothing, and (rows keyed by thread, at an unchanged
//! thread epoch) when it is a thread-level value the row already took.
//! New rows take every column; this is only about combining.

use crate::view::Aggregation;

/// What the plan needs to know of one value column.
pub(crate) struct ColFacts<'c> {
    /// The column's aggregation.
    pub ag: Aggregation,
    /// A missing value stands for the type's default (not a drop).
    pub def: bool,
    /// A thread-level value kept as first, largest or smallest.
    pub fixed: bool,
    /// Whether every event of a type has no value.
    pub none_for: Box<dyn Fn(u16) -> bool + 'c>,
}

/// The columns to visit, per event type and thread epoch.
pub(crate) struct Plan {
    /// `[code * 2 + same_epoch]`: value column indices, in order.
    by_code: Vec<Box<[u16]>>,
    /// Every column that may change a row (types beyond the table).
    all: Box<[u16]>,
}

impl Plan {
    /// The plan for value columns `cols` (`defaults`: the view's
    /// `use_defaults`).
    pub(crate) fn new(cols: &[ColFacts<'_>], defaults: bool) -> Plan {
        let pick = |code: Option<u16>, same: bool| -> Box<[u16]> {
            (0..cols.len())
                .filter(|&j| visits(&cols[j], code, same, defaults))
                .map(|j| j as u16)
                .collect()
        };
        let n = sonde_event::EVENTS.len() as u16;
        let by_code = (0..n)
            .flat_map(|code| [pick(Some(code), false), pick(Some(code), true)])
            .collect();
        Plan {
            by_code,
            all: pick(None, false),
        }
    }

    /// The value columns an event of `code` may change in an existing
    /// row (`same_epoch`: the row took its thread-level values at the
    /// thread epoch this event sees).
    #[inline]
    pub(crate) fn cols(&self, code: u16, same_epoch: bool) -> &[u16] {
        match self.by_code.get(code as usize * 2 + same_epoch as usize) {
            Some(c) => c,
            None => &self.all,
        }
    }
}

/// Whether an event (of type `code`, when known) may change column `c`
/// of an existing row, or drop the event.
fn visits(c: &ColFacts<'_>, code: Option<u16>, same: bool, defaults: bool) -> bool {
    // the first value is kept, and nothing is missing that would drop
    if c.ag == Aggregation::None && c.def {
        return false;
    }
    if same && c.fixed {
        return false;
    }
    // no value: a default, which changes no sum, average or minimum
    let skipped_none = defaults && c.def && c.ag != Aggregation::Max;
    !(skipped_none && code.is_some_and(|k| (c.none_for)(k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ag: Aggregation, def: bool, fixed: bool, none: fn(u16) -> bool) -> ColFacts<'static> {
        ColFacts {
            ag,
            def,
            fixed,
            none_for: Box::new(none),
        }
    }

    #[test]
    fn columns_left_out_are_those_an_event_cannot_change() {
        let never: fn(u16) -> bool = |_| false;
        let only_7: fn(u16) -> bool = |k| k != 7;
        let cols = [
            // kept first value with a default: never visited
            facts(Aggregation::None, true, false, never),
            // kept first value that may be missing: visited (drops)
            facts(Aggregation::None, false, true, never),
            // a sum with a value only on type 7
            facts(Aggregation::Sum, true, false, only_7),
            // a largest value on type 7 only: a default still counts
            facts(Aggregation::Max, true, false, only_7),
            // a thread-level largest value
            facts(Aggregation::Max, true, true, never),
        ];
        let p = Plan::new(&cols, true);
        assert_eq!(p.cols(7, false), &[1, 2, 3, 4]);
        assert_eq!(p.cols(8, false), &[1, 3, 4]);
        assert_eq!(p.cols(8, true), &[3]);
        assert_eq!(p.cols(7, true), &[2, 3]);
        assert_eq!(p.cols(u16::MAX, true), &[1, 2, 3, 4]);
        // without defaults a missing value drops the event: visited
        let p = Plan::new(&cols, false);
        assert_eq!(p.cols(8, false), &[1, 2, 3, 4]);
    }
}

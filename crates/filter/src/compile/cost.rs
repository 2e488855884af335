//! The relative cost of evaluating a node, by the fields it extracts:
//! `and`/`or` operands run cheapest first.

use sonde_fields::Field;

use super::node::{Node, Src};

/// The cost of a node: its most expensive leaf, plus one per nesting.
pub(super) fn cost(n: &Node) -> u8 {
    match n {
        Node::Leaf(l) => l.cost,
        Node::Not(x) | Node::Codes(_, x) => cost(x),
        Node::And(v) | Node::Or(v) => v.iter().map(cost).max().unwrap_or(0).saturating_add(1),
    }
}

/// The cost of extracting a field: 0 from the event header, 3 for
/// whole argument lists and buffers.
fn field_cost(f: &Field) -> u8 {
    match f {
        Field::EvtType | Field::EvtDir | Field::EvtNum | Field::ThreadTid | Field::EvtCpu => 0,
        Field::EvtRawtime | Field::EvtCategory | Field::EvtIsIo => 0,
        Field::EvtArgs
        | Field::EvtInfo
        | Field::EvtBuffer
        | Field::EvtArgName(_)
        | Field::EvtArgIdx(_)
        | Field::EvtRawargName(_)
        | Field::ProcEnv
        | Field::ProcCmdline
        | Field::ProcArgs => 3,
        Field::FdName | Field::FdType | Field::FdNum | Field::FdSip | Field::FdCip => 2,
        _ => 1,
    }
}

/// The cost of extracting a source.
pub(super) fn src_cost(s: &Src) -> u8 {
    match s {
        Src::Field(f) => field_cost(f),
        Src::Any(v) => v.iter().map(field_cost).max().unwrap_or(0) + 1,
        Src::Missing => 0,
        Src::Ancestors(_) => 2,
        Src::EnvVar(_) => 2,
        Src::Around(_) | Src::Delta(..) => 0,
        Src::Transform(_, s) => src_cost(s) + 1,
    }
}

//! Merging the or-ed equalities on one field into one `in` list.

use sonde_fields::Field;

use super::node::{Cmp, Node, Src};
use crate::ast::Op;

/// `f = a or f = b or f in (c, d)` becomes `f in (a, b, c, d)`: one
/// extraction of `f` instead of one per value. The same result: a field
/// without a value fails every one of them, and nothing has side effects.
pub(super) fn merge_equalities(nodes: Vec<Node>) -> Vec<Node> {
    /// The field and the list of a plain string or integer equality.
    fn eq_parts(n: &mut Node) -> Option<(&Field, &mut Cmp)> {
        let Node::Leaf(l) = n else { return None };
        let Src::Field(f) = &l.src else { return None };
        let ok = match &l.cmp {
            Cmp::Str(s) => matches!(s.op, Op::Eq | Op::In) && s.regex.is_none(),
            Cmp::Int(op, _) => matches!(op, Op::Eq | Op::In),
            _ => false,
        };
        ok.then_some((f, &mut l.cmp))
    }
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    'nodes: for mut n in nodes {
        if let Some((f, cmp)) = eq_parts(&mut n) {
            for m in out.iter_mut() {
                let Some((g, into)) = eq_parts(m) else {
                    continue;
                };
                if g != f {
                    continue;
                }
                match (into, &mut *cmp) {
                    (Cmp::Str(a), Cmp::Str(b)) => {
                        a.op = Op::In;
                        a.vals.append(&mut b.vals);
                        a.set = (a.vals.len() > 8).then(|| a.vals.iter().cloned().collect());
                    }
                    (Cmp::Int(aop, a), Cmp::Int(_, b)) => {
                        *aop = Op::In;
                        a.append(b);
                    }
                    _ => continue,
                }
                continue 'nodes;
            }
        }
        out.push(n);
    }
    out
}

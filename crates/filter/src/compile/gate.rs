//! Code gates: an operand of `and`/`or` that can pass only events of some
//! codes ([`types_in`]) is skipped on every other code with one bit test,
//! so a clause whose event type cannot match is never evaluated.
//!
//! A gated operand gives exactly what the operand gives (false on the
//! codes its gate shuts), so gates change no verdict, under `not` too.
//! Trees that remember earlier evaluations (`evt.deltatime`) get none:
//! their leaves must see every event sysdig's evaluation shows them.

use sonde_fields::Ctx;

use super::evt_type::{types_in, Table};
use super::node::Node;

/// The codes an operand can pass, one bit per event code, by the current
/// event table and by sysdig 0.29's (the table `Ctx` reads by). Codes
/// past the event table pass.
pub(super) struct CodeMask {
    current: Vec<u64>,
    compat: Vec<u64>,
}

impl CodeMask {
    /// The mask of `n`, None when it may pass every code by both tables.
    fn of(n: &Node) -> Option<CodeMask> {
        let current = bits(&types_in(n, Table::Current)?);
        let compat = bits(&types_in(n, Table::Compat)?);
        let full = |b: &[u64]| b.iter().all(|&w| w == u64::MAX);
        (!full(&current) || !full(&compat)).then_some(CodeMask { current, compat })
    }

    /// Whether the event's code may pass.
    #[inline(always)]
    pub(super) fn may_pass(&self, ctx: &Ctx<'_, '_>) -> bool {
        let c = ctx.ev.code as usize;
        let bits = if ctx.opts.compat_029 {
            &self.compat
        } else {
            &self.current
        };
        bits.get(c >> 6).is_none_or(|w| w >> (c & 63) & 1 != 0)
    }
}

/// One bit per code of the event table; the bits past its end are set.
fn bits(codes: &std::collections::BTreeSet<u16>) -> Vec<u64> {
    let n = sonde_event::EVENTS.len();
    let mut b = vec![0u64; n.div_ceil(64)];
    for &c in codes {
        if let Some(w) = b.get_mut(c as usize >> 6) {
            *w |= 1 << (c & 63);
        }
    }
    for c in n..b.len() * 64 {
        b[c >> 6] |= 1 << (c & 63);
    }
    b
}

/// `n` with a gate on every operand of its `and`s and `or`s that can
/// pass only some codes and is not itself decided by the code (a table
/// lookup costs what the gate would). The root keeps none: the engine
/// leaves out events of codes the whole filter cannot pass.
pub(super) fn gate_operands(n: Node) -> Node {
    if n.is_stateful() {
        return n;
    }
    walk(n)
}

fn walk(n: Node) -> Node {
    let operand = |c: Node| {
        let c = walk(c);
        if matches!(&c, Node::Leaf(l) if l.decided_by_code()) {
            return c;
        }
        match CodeMask::of(&c) {
            Some(m) => Node::Codes(Box::new(m), Box::new(c)),
            None => c,
        }
    };
    match n {
        Node::And(v) => Node::And(v.into_iter().map(operand).collect()),
        Node::Or(v) => Node::Or(v.into_iter().map(operand).collect()),
        Node::Not(x) => Node::Not(Box::new(walk(*x))),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::{eval, Env};
    use super::*;
    use sonde_event::{codes, RawEvent};

    /// An event of `code` whose every parameter is the 8 bytes of `v`.
    fn body(code: u16, v: i64, compat: bool) -> (u32, Vec<u8>) {
        let info = &sonde_event::EVENTS[code as usize];
        let n = if compat { info.old_params } else { info.params }.len();
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend_from_slice(&8u16.to_le_bytes());
        }
        for _ in 0..n {
            b.extend_from_slice(&v.to_le_bytes());
        }
        (n as u32, b)
    }

    /// Gates change no verdict: for every event code, by both tables, with
    /// a failed and a successful result, a thread whose last fd is a file
    /// in the table, the gated tree and the plain one agree.
    #[test]
    fn gated_operands_give_the_verdicts_of_the_plain_tree() {
        let mut st = sonde_state::State::new();
        // thread 100 opens /lib/x.so as fd 3 (open exit: fd, name, flags, mode, dev, ino)
        let mut open = Vec::new();
        let params: [&[u8]; 6] = [
            &3i64.to_le_bytes(),
            b"/lib/x.so\0",
            &[1, 0, 0, 0],
            &[0; 4],
            &[0; 4],
            &[0; 8],
        ];
        for p in params {
            open.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
        for p in params {
            open.extend_from_slice(p);
        }
        let ev = RawEvent::from_parts(1, 100, codes::SYSCALL_OPEN_X, 6, &open, false).unwrap();
        st.process(&ev);
        let texts = [
            "evt.type=connect or fd.sport=80 or fd.sport=18089 or proc.name=cat or evt.failed=true",
            "fd.name contains .so or evt.failed=true",
            "not (fd.name contains x.so or evt.failed=true) and evt.dir=<",
            "proc.name!=curl and (fd.typechar=f or evt.failed=false)",
            "(evt.type=open and fd.num=3) or (evt.failed=true and evt.dir=<)",
            "fd.num=3 or evt.failed=true or fd.directory=/lib",
        ];
        let (mut pass, mut fail, mut gated) = (0, 0, 0);
        for text in texts {
            let ast = crate::parse::parse(text).unwrap();
            let plain = super::super::compile(&ast, text, &mut Vec::new()).unwrap();
            let with = gate_operands(super::super::compile(&ast, text, &mut Vec::new()).unwrap());
            gated += with_gates(&with);
            for compat_029 in [false, true] {
                let opts = sonde_output::RenderOpts {
                    compat_029,
                    ..Default::default()
                };
                for code in 0..sonde_event::EVENTS.len() as u16 {
                    for res in [-2i64, 3] {
                        let (n, b) = body(code, res, compat_029);
                        let Ok(ev) = RawEvent::from_parts(2, 100, code, n, &b, false) else {
                            continue;
                        };
                        let ctx = sonde_fields::Ctx {
                            st: &st,
                            ev: &ev,
                            num: 2,
                            first_ts: 1,
                            prev_ts: 1,
                            opts: &opts,
                            time_fmt: Default::default(),
                            lookups: Default::default(),
                        };
                        let env = Env { no_event_fd: false };
                        let (a, b) = (&mut Vec::new(), &mut Vec::new());
                        let want = eval(&plain, &ctx, &env, a, b);
                        assert_eq!(
                            eval(&with, &ctx, &env, a, b),
                            want,
                            "{text}: code {code}, compat {compat_029}, res {res}"
                        );
                        if want {
                            pass += 1;
                        } else {
                            fail += 1;
                        }
                    }
                }
            }
        }
        assert!(pass > 1000 && fail > 1000, "{pass} passed, {fail} failed");
        assert!(gated >= texts.len(), "only {gated} gates");
    }

    fn with_gates(n: &Node) -> usize {
        match n {
            Node::Codes(_, x) => 1 + with_gates(x),
            Node::And(v) | Node::Or(v) => v.iter().map(with_gates).sum(),
            Node::Not(x) => with_gates(x),
            Node::Leaf(_) => 0,
        }
    }

    /// Codes past the event table pass every gate (the tree decides them).
    #[test]
    fn codes_past_the_table_pass() {
        let b = bits(&[codes::SYSCALL_READ_X].into_iter().collect());
        let n = sonde_event::EVENTS.len();
        let bit = |c: usize| b.get(c >> 6).is_none_or(|w| w >> (c & 63) & 1 != 0);
        assert!(bit(codes::SYSCALL_READ_X as usize));
        assert!(!bit(codes::SYSCALL_READ_E as usize));
        assert!((n..n + 200).all(bit));
    }
}

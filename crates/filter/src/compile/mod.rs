//! Compiling an AST into a typed evaluator, and running it per event.
//!
//! Values in the filter are converted once, by the type of the field they
//! are compared with (numbers as numbers, addresses and networks as
//! addresses, strings as bytes). A comparison whose field has no value for
//! the event is false, whatever the operator (sysdig's rule); `not` then
//! makes it true. `and`/`or` operands are reordered cheapest first, which
//! cannot change the result: evaluation has no side effects.
//!
//! This module owns [`Filter`] (its public face) and the walk from an
//! [`Expr`] to a tree of [`node::Node`]s. The parts live beside it:
//!
//! | module | owns |
//! |---|---|
//! | `node` | the compiled tree: nodes, value sources, comparisons |
//! | `check` | one comparison: resolving its field, checking its operator |
//! | `literal` | converting the compared values by field type |
//! | `merge` | merging or-ed equalities on one field into one list |
//! | `cost` | the cost order of `and`/`or` operands |
//! | `evt_type` | `evt.type` checks and the event-type sets they allow |
//! | `eval` | running the tree per event, extracting each source's value |
//! | `compare` | comparing an extracted value, per type |
//! | `strmatch` | the string operators (`contains`, `pmatch`, ...) |

mod check;
mod compare;
mod cost;
mod domain;
mod eval;
mod evt_type;
mod gate;
mod literal;
mod merge;
mod node;
mod strmatch;

use std::cell::RefCell;
use std::collections::BTreeSet;

use sonde_fields::Ctx;

use crate::ast::{Expr, Op, Rhs};
use crate::error::FilterError;

use check::compile_check;
use cost::cost;
use eval::{eval, Env};
use evt_type::{names, type_only, types, TypeOnly};
use gate::gate_operands;
use merge::merge_equalities;
use node::Node;

/// A compiled filter.
pub struct Filter {
    root: Node,
    /// The part of the filter that reads only the event's thread (see
    /// [`Filter::thread_gate`]).
    gate: Gate,
    /// The verdict per event code when the filter is nothing but
    /// `evt.type` comparisons (see [`TypeOnly`]).
    type_only: Option<TypeOnly>,
    text: String,
    scratch: RefCell<(Vec<u8>, Vec<u8>)>,
    warnings: Vec<FilterError>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("text", &self.text).finish()
    }
}

/// A filter error at byte `pos` of `text`.
fn err(text: &str, pos: usize, msg: impl Into<String>) -> FilterError {
    FilterError::new(text, pos, msg)
}

impl Filter {
    /// Parses and compiles `text`.
    pub fn new(text: &str) -> Result<Filter, FilterError> {
        let ast = crate::parse::parse(text)?;
        Filter::from_ast(&ast, text)
    }

    /// Compiles a parsed filter. `text` is the source the positions refer to.
    pub fn from_ast(ast: &Expr, text: &str) -> Result<Filter, FilterError> {
        let mut warnings = Vec::new();
        let root = compile(ast, text, &mut warnings)?;
        Ok(Filter {
            gate: thread_gate(&root),
            type_only: type_only(&root),
            // (after the thread gate: gates keep the operands' places)
            root: gate_operands(root),
            text: text.to_string(),
            scratch: RefCell::new((Vec::new(), Vec::new())),
            warnings,
        })
    }

    /// What the filter accepted but is probably not what was meant (an
    /// `evt.type` value no event has, e.g. one newer than the event table):
    /// such a value selects nothing. Front ends print these on stderr, as
    /// Falco does for its rules, and go on.
    pub fn warnings(&self) -> &[FilterError] {
        &self.warnings
    }

    /// The filter text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the event in `ctx` passes the filter.
    pub fn matches(&self, ctx: &Ctx<'_, '_>) -> bool {
        self.matches_with(ctx, false)
    }

    /// As [`Filter::matches`]; `no_event_fd` says the event has no fd of
    /// its own (sysdig's `m_fdinfo`): what libsinsp gives an exit event
    /// after its enter event was rejected by the capture filter. Then
    /// `evt.buflen` has no value and I/O events have category "unknown";
    /// `fd.*` fields still find the thread's last fd.
    pub fn matches_with(&self, ctx: &Ctx<'_, '_>, no_event_fd: bool) -> bool {
        if let Some(verdict) = self.type_only.as_ref().and_then(|t| t.verdict(ctx)) {
            return verdict;
        }
        let mut s = self.scratch.borrow_mut();
        let (a, b) = &mut *s;
        let env = Env { no_event_fd };
        eval(&self.root, ctx, &env, a, b)
    }

    /// Whether the filter remembers earlier evaluations (`evt.deltatime`):
    /// it must then run on every event, not only those of its types.
    pub fn is_stateful(&self) -> bool {
        self.root.is_stateful()
    }

    /// How much of the filter reads nothing but the event's thread (its
    /// name, ids, executable and arguments, and its parent's): a verdict on
    /// that part holds for every event of the thread until an event that
    /// modifies state (clone, execve, exit, ...) changes the thread table.
    pub fn thread_gate(&self) -> Gate {
        self.gate.clone()
    }

    /// The verdict of the part [`Filter::thread_gate`] names: for
    /// [`Gate::Whole`] the filter's own, for [`Gate::Part`] that of the
    /// conjuncts that read only the thread (false: the filter rejects the
    /// event). Always true for [`Gate::None`].
    pub fn thread_verdict(&self, ctx: &Ctx<'_, '_>) -> bool {
        let mut s = self.scratch.borrow_mut();
        let (a, b) = &mut *s;
        let env = Env { no_event_fd: false };
        match (&self.gate, &self.root) {
            (Gate::None, _) => true,
            (Gate::Whole, root) => eval(root, ctx, &env, a, b),
            (Gate::Part(idx), Node::And(v)) => idx
                .iter()
                .filter_map(|&i| v.get(i))
                .all(|n| eval(n, ctx, &env, a, b)),
            (Gate::Part(_), _) => true,
        }
    }

    /// Whether the filter reads nothing the state changes when it applies
    /// an event that modifies no state and changes no thread: only the
    /// event's code, its thread and its fd's entry. Its verdict on such
    /// an event can then be taken before the state applies it, given the
    /// fd the event will name (`Ctx::assume_event_fd`).
    pub fn reads_before_state(&self) -> bool {
        !self.root.is_stateful() && self.root.before_state()
    }

    /// Whether the filter reads only the event's thread and its fd's entry
    /// (a [`Filter::reads_before_state`] filter that reads nothing of the
    /// event itself): events of one thread naming the same fd get the
    /// same verdict while the tables stay the same.
    pub fn reads_thread_and_fd(&self) -> bool {
        !self.root.is_stateful() && self.root.thread_or_fd_only()
    }

    /// Whether the filter reads an event's latency (`evt.latency*`), which
    /// a switch or procinfo event takes from its thread's last call.
    pub fn reads_latency(&self) -> bool {
        self.root.reads_latency()
    }

    /// The event codes this filter can accept, or None when it may accept
    /// any event (no usable `evt.type` restriction).
    pub fn event_types(&self) -> Option<BTreeSet<u16>> {
        types(&self.root)
    }

    /// Of `candidates` (event or syscall names), those this filter's
    /// `evt.type` checks can accept, or None when it may accept any event.
    /// The live probe uses it to choose the syscalls the kernel passes on,
    /// including those that arrive as generic `syscall` events.
    pub fn event_type_names<'a>(&self, candidates: &[&'a str]) -> Option<BTreeSet<&'a str>> {
        names(&self.root, candidates)
    }
}

/// How much of a filter reads only the event's thread
/// ([`Filter::thread_gate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The verdict depends on more than the thread.
    None,
    /// The whole filter reads only the thread.
    Whole,
    /// These conjuncts of the top-level `and` read only the thread.
    Part(Vec<usize>),
}

fn thread_gate(root: &Node) -> Gate {
    if root.is_stateful() {
        return Gate::None;
    }
    if root.thread_only() {
        return Gate::Whole;
    }
    match root {
        Node::And(v) => {
            let idx: Vec<usize> = (0..v.len()).filter(|&i| v[i].thread_only()).collect();
            if idx.is_empty() {
                Gate::None
            } else {
                Gate::Part(idx)
            }
        }
        _ => Gate::None,
    }
}

/// Compiles an expression: operands of `or` merged where they can be,
/// operands of `and`/`or` ordered cheapest first.
fn compile(e: &Expr, text: &str, warnings: &mut Vec<FilterError>) -> Result<Node, FilterError> {
    Ok(match e {
        Expr::And(v) | Expr::Or(v) => {
            let mut nodes = v
                .iter()
                .map(|x| compile(x, text, warnings))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(e, Expr::Or(_)) {
                nodes = merge_equalities(nodes);
            }
            // a stateful leaf must see exactly the events sysdig's
            // left-to-right evaluation shows it: no reordering around it
            if !nodes.iter().any(Node::is_stateful) {
                nodes.sort_by_key(cost);
            }
            if matches!(e, Expr::And(_)) {
                Node::And(nodes)
            } else {
                Node::Or(nodes)
            }
        }
        Expr::Not(x) => Node::Not(Box::new(compile(x, text, warnings)?)),
        Expr::Macro { name, pos } => {
            return Err(err(
                text,
                *pos,
                format!("'{name}' is not a field: expected a field name such as evt.type (or an undefined macro)"),
            ))
        }
        Expr::Check(c) => {
            let leaf = compile_check(c, text, warnings)?;
            match (&c.rhs, c.op) {
                (Rhs::List(vals), Op::In | Op::Intersects) if vals.len() > 1 && leaf.src.is_stateful() => {
                    stateful_list(c, vals, text, warnings)?
                }
                _ => Node::Leaf(Box::new(leaf)),
            }
        }
    })
}

/// `f in (a, b)` over a field that remembers earlier evaluations
/// (`evt.deltatime`): sysdig compiles it as `f = a or f = b`, each check
/// with its own memory and evaluated only while the ones before it fail.
fn stateful_list(
    c: &crate::ast::Check,
    vals: &[crate::ast::Lit],
    text: &str,
    warnings: &mut Vec<FilterError>,
) -> Result<Node, FilterError> {
    let mut nodes = Vec::with_capacity(vals.len());
    for v in vals {
        let one = crate::ast::Check {
            op: Op::Eq,
            rhs: Rhs::Value(v.clone()),
            ..c.clone()
        };
        nodes.push(Node::Leaf(Box::new(compile_check(&one, text, warnings)?)));
    }
    Ok(Node::Or(nodes))
}

#[cfg(test)]
mod tests {
    use super::{Filter, Gate};
    use sonde_fields::Ctx;

    /// Event number 1 of a capture that started at time 1.
    fn ctx_of<'a, 'e>(
        st: &'a sonde_state::State,
        ev: &'a sonde_event::RawEvent<'e>,
        opts: &'a sonde_output::RenderOpts,
    ) -> Ctx<'a, 'e> {
        Ctx {
            st,
            ev,
            num: 1,
            first_ts: 1,
            prev_ts: 0,
            opts,
            time_fmt: Default::default(),
            lookups: Default::default(),
        }
    }

    fn gate(f: &str) -> Gate {
        Filter::new(f).unwrap().thread_gate()
    }

    #[test]
    fn thread_gate_covers_only_thread_fields() {
        assert_eq!(gate("proc.name=curl"), Gate::Whole);
        assert_eq!(
            gate("proc.name in (curl, nginx) or not thread.tid=3"),
            Gate::Whole
        );
        assert_eq!(gate("tolower(proc.exe)=curl"), Gate::Whole);
        // the event, its fd and its time are not the thread's
        assert_eq!(gate("fd.name contains /etc"), Gate::None);
        assert_eq!(gate("proc.name=curl or evt.type=open"), Gate::None);
        assert_eq!(gate("evt.deltatime>0 and proc.name=curl"), Gate::None);
        match gate("evt.type=open and proc.name=curl and fd.num>2") {
            Gate::Part(idx) => assert_eq!(idx.len(), 1),
            g => panic!("expected a part, got {g:?}"),
        }
    }

    #[test]
    fn checks_that_remember_switches_are_stateful() {
        for f in [
            "thread.exectime > 0",
            "proc.name=x and thread.totexectime < 5",
            "thread.cpu > 0",
        ] {
            let flt = Filter::new(f).unwrap();
            assert!(flt.is_stateful() && !flt.reads_before_state(), "{f}");
        }
        assert!(!Filter::new("thread.tid > 0").unwrap().is_stateful());
    }

    #[test]
    fn latency_readers_are_found_under_any_operator_and_transform() {
        let reads = |f: &str| Filter::new(f).unwrap().reads_latency();
        for f in [
            "evt.latency > 0",
            "evt.type=switch and not evt.latency.s = 0",
            "proc.name=x or evt.latency.ns in (1, 2)",
            "evt.latency.human exists",
        ] {
            assert!(reads(f), "{f}");
        }
        for f in [
            "evt.type=switch",
            "evt.deltatime > 0",
            "evt.wait_latency > 0",
        ] {
            assert!(!reads(f), "{f}");
        }
    }

    #[test]
    fn early_verdicts_only_for_code_thread_and_fd_entry_fields() {
        let early = |f: &str| Filter::new(f).unwrap().reads_before_state();
        let memo = |f: &str| Filter::new(f).unwrap().reads_thread_and_fd();
        for f in [
            "fd.name contains .so",
            "not fd.directory=/etc and proc.name=curl",
            "fd.sport=80 or fd.typechar=4 or fd.l4proto=tcp",
            "tolower(fd.filename)=x",
        ] {
            assert!(early(f) && memo(f), "{f}");
        }
        // the event's code and result: early, but not the same for the
        // enter and the exit of one call
        for f in [
            "evt.type=connect or fd.sport=80 or evt.failed=true",
            "evt.dir=< and fd.name contains /etc",
        ] {
            assert!(early(f) && !memo(f), "{f}");
        }
        // the fd's number, the event's parameters, its time, memories of
        // earlier events: read only once the state applied the event
        for f in [
            "fd.num=3",
            "fd.name contains .so and evt.num>0",
            "fd.name contains .so or evt.buflen>10",
            "evt.arg.fd=3",
            "fd.connected=true",
            "evt.deltatime>0 and fd.name=x",
            "evt.latency>0",
        ] {
            assert!(!early(f) && !memo(f), "{f}");
        }
    }

    #[test]
    fn gate_part_is_a_necessary_condition() {
        use sonde_event::RawEvent;
        use sonde_state::State;
        let f = Filter::new("evt.type=open and proc.name=curl").unwrap();
        let mut st = State::new();
        // a read exit (res 0) of a thread the state meets as a placeholder
        let body = [8u8, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let ev = RawEvent::from_parts(1, 7, sonde_event::codes::SYSCALL_READ_X, 1, &body, false)
            .unwrap();
        st.process(&ev);
        let opts = sonde_output::RenderOpts::default();
        let ctx = ctx_of(&st, &ev, &opts);
        assert!(!f.thread_verdict(&ctx));
        assert!(!f.matches(&ctx));
        let any = Filter::new("evt.type=read and not proc.name=curl").unwrap();
        assert!(any.thread_verdict(&ctx));
        assert!(any.matches(&ctx));
    }

    /// Filters of `evt.type` comparisons alone are decided by their
    /// per-code tables: the same verdict as the tree on every event code,
    /// with both name sets; anything else is left to the tree.
    #[test]
    fn type_only_filters_agree_with_the_tree() {
        use super::eval::{eval, Env};
        use sonde_event::RawEvent;
        let st = sonde_state::State::new();
        let texts = [
            "evt.type=open",
            "evt.type in (open, read, procinfo)",
            "evt.type=procinfo or evt.type=switch or evt.type=execve",
            "evt.type!=open",
            "evt.type contains at",
            "evt.type startswith s or evt.type=close",
            "evt.type=openat3",
            "evt.type=syscall",
        ];
        let mut decided = 0;
        for text in texts {
            let f = Filter::new(text).unwrap();
            assert!(f.type_only.is_some(), "{text}");
            for compat_029 in [false, true] {
                let opts = sonde_output::RenderOpts {
                    compat_029,
                    ..Default::default()
                };
                for code in 0..sonde_event::EVENTS.len() as u16 {
                    let Ok(ev) = RawEvent::from_parts(1, 7, code, 0, &[], false) else {
                        continue;
                    };
                    let ctx = ctx_of(&st, &ev, &opts);
                    let env = Env { no_event_fd: false };
                    let tree = eval(&f.root, &ctx, &env, &mut Vec::new(), &mut Vec::new());
                    assert_eq!(f.matches(&ctx), tree, "{text} on code {code}");
                    decided += f.type_only.as_ref().unwrap().verdict(&ctx).is_some() as usize;
                }
            }
        }
        assert!(decided > 1000, "the tables decided {decided} events");
        for text in [
            "evt.type=open and proc.name=cat",
            "not evt.type=open",
            "evt.type=open or fd.num=3",
            "proc.name=cat",
        ] {
            assert!(Filter::new(text).unwrap().type_only.is_none(), "{text}");
        }
    }
}

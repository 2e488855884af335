//! The compiled filter tree: `and`/`or`/`not` nodes over leaves, each leaf
//! a value source ([`Src`]) and a comparison ([`Cmp`]) whose values were
//! converted once, at compile time, to the type of the field.

use std::collections::HashSet;
use std::net::IpAddr;

use sonde_fields::registry::FieldType;
use sonde_fields::Field;

use crate::ast::{Op, Transformer};

/// A node of the compiled tree.
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Box<Leaf>),
    /// A node that can pass only events of the codes of its mask, which
    /// fails the others unevaluated (see `gate`).
    Codes(Box<super::gate::CodeMask>, Box<Node>),
}

/// Where a compared value comes from.
pub(super) enum Src {
    /// One field.
    Field(Field),
    /// Any of these fields (`fd.ip`: client or server address).
    Any(Vec<Field>),
    /// A registry field sonde does not extract yet: never has a value.
    Missing,
    /// `proc.aname` / `proc.apid` without an index: matches when any
    /// ancestor of the process (parent, grandparent, ...) matches.
    Ancestors(Ancestor),
    /// `proc.env[NAME]`: the value of one environment variable.
    EnvVar(Vec<u8>),
    /// `evt.around[T]`: compared with a window in milliseconds.
    Around(u64),
    /// A transformer (`tolower(...)`, ...) applied to another source.
    Transform(Transformer, Box<Src>),
    /// `evt.deltatime[.s|.ns]`: as in sysdig, each use in a filter keeps
    /// the time of the last event it was evaluated on (0 the first time).
    Delta(DeltaKind, std::cell::Cell<u64>),
}

/// Which part of the time since the last evaluation `Src::Delta` gives.
#[derive(Clone, Copy)]
pub(super) enum DeltaKind {
    /// Nanoseconds.
    Full,
    /// Whole seconds.
    Secs,
    /// The nanoseconds within the second.
    Nanos,
}

impl Src {
    /// Whether the source remembers earlier evaluations (its result
    /// depends on which events it was evaluated on).
    pub(super) fn is_stateful(&self) -> bool {
        match self {
            Src::Delta(..) => true,
            Src::Field(f) => f.depends_on_evaluations(),
            Src::Transform(_, s) => s.is_stateful(),
            _ => false,
        }
    }

    /// Whether the value read depends only on the event's thread, its
    /// process and its parent, which only events that modify state change
    /// (clone, fork, execve, exit): not on the event, its fd, memory,
    /// latency or time.
    pub(super) fn thread_only(&self) -> bool {
        match self {
            Src::Field(f) => matches!(
                f,
                Field::ProcName
                    | Field::ProcPid
                    | Field::ThreadTid
                    | Field::ProcExe
                    | Field::ProcArgs
                    | Field::ProcCmdline
                    | Field::ProcPpid
                    | Field::ProcPname
            ),
            Src::Transform(_, s) => s.thread_only(),
            _ => false,
        }
    }

    /// Whether the value read is the event's latency (`evt.latency*`).
    pub(super) fn reads_latency(&self) -> bool {
        use sonde_fields::EvtX;
        match self {
            Src::Field(f) => matches!(
                f,
                Field::EvtLatency
                    | Field::Evt(EvtX::LatencyS | EvtX::LatencyNs | EvtX::LatencyHuman(_))
            ),
            Src::Transform(_, s) => s.reads_latency(),
            _ => false,
        }
    }

    /// Whether the value read depends only on the entry of the event's fd
    /// in its thread's table (or, without one, on the event's code), which
    /// events that modify no state leave alone: not on the fd's number,
    /// the thread or the event's parameters.
    pub(super) fn fd_entry_only(&self) -> bool {
        match self {
            Src::Field(f) => f.reads_fd_entry(),
            Src::Transform(_, s) => s.fd_entry_only(),
            _ => false,
        }
    }
}

impl Node {
    /// Whether `pred` holds for every leaf below.
    fn all_leaves(&self, pred: &impl Fn(&Leaf) -> bool) -> bool {
        match self {
            Node::Leaf(l) => pred(l),
            Node::Not(x) | Node::Codes(_, x) => x.all_leaves(pred),
            Node::And(v) | Node::Or(v) => v.iter().all(|n| n.all_leaves(pred)),
        }
    }

    /// Whether every leaf below reads only what the state leaves alone
    /// when it applies an event that modifies no state and changes no
    /// thread: the event's code ([`Cmp::Code`], `evt.type`) and result
    /// (`evt.failed`), its thread ([`Src::thread_only`]) and its fd's
    /// entry ([`Src::fd_entry_only`]).
    pub(super) fn before_state(&self) -> bool {
        self.all_leaves(&|l| {
            l.src.thread_only()
                || l.src.fd_entry_only()
                // the event's own result
                || matches!(l.src, Src::Field(Field::EvtFailed))
                || l.decided_by_code()
        })
    }

    /// Whether every leaf below reads only the event's thread and its fd's
    /// entry: not the event's code or parameters.
    pub(super) fn thread_or_fd_only(&self) -> bool {
        self.all_leaves(&|l| l.src.thread_only() || l.src.fd_entry_only())
    }

    /// Whether any leaf below reads the event's latency.
    pub(super) fn reads_latency(&self) -> bool {
        !self.all_leaves(&|l| !l.src.reads_latency())
    }

    /// Whether any leaf below remembers earlier evaluations.
    pub(super) fn is_stateful(&self) -> bool {
        !self.all_leaves(&|l| !l.src.is_stateful())
    }

    /// Whether every leaf below reads only the event's thread
    /// ([`Src::thread_only`]).
    pub(super) fn thread_only(&self) -> bool {
        self.all_leaves(&|l| l.src.thread_only())
    }
}

/// What of an ancestor `proc.a*` compares.
#[derive(Clone, Copy)]
pub(super) enum Ancestor {
    Name,
    Pid,
    Exe,
    Exepath,
}

/// One comparison: a source, what it is compared with, and its cost.
pub(super) struct Leaf {
    pub(super) src: Src,
    pub(super) cmp: Cmp,
    /// Relative cost of extracting the source (see `cost`).
    pub(super) cost: u8,
}

impl Leaf {
    /// Whether the event's code decides the comparison in one table
    /// lookup ([`Cmp::Code`], `evt.type`).
    pub(super) fn decided_by_code(&self) -> bool {
        matches!(self.cmp, Cmp::Code { .. })
            || matches!(
                (&self.cmp, &self.src),
                (Cmp::EvtType { .. }, Src::Field(Field::EvtType))
            )
    }
}

/// An address with a prefix length (a plain address has the full length).
#[derive(Clone, Copy)]
pub(super) struct Net {
    pub(super) addr: IpAddr,
    pub(super) prefix: u8,
    /// An IPv6 value of a network field (`fd.snet=2607:f8b0::`), which
    /// sysdig 0.29.3 takes without a prefix length and matches its own way
    /// (see [`Net::contains`]).
    pub(super) v6_net: bool,
}

/// sysdig 0.29.3's match of an IPv6 network value `n` (16 bytes, no
/// prefix): an IPv6 address is in it when their first 64 bits agree
/// (libsinsp `ipv6addr::in_subnet`); an IPv4 address is compared with the
/// value's bytes read as an IPv4 network (`ipv4net`: address = bytes 0..4,
/// netmask = bytes 4..8, both in network order), which is what its
/// comparison does with an IPv6 operand on an IPv4 fd. So `fd.snet=::1`
/// selects every IPv4 socket.
fn v6_net_contains(n: &[u8; 16], ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(a) => a.octets()[..8] == n[..8],
        IpAddr::V4(a) => {
            let a = a.octets();
            (0..4).all(|i| a[i] & n[4 + i] == n[i] & n[4 + i])
        }
    }
}

impl Net {
    /// Whether `ip` is in this network (never across address families,
    /// except for an IPv6 network value, as sysdig 0.29.3 compares it).
    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        if self.v6_net {
            if let IpAddr::V6(n) = self.addr {
                return v6_net_contains(&n.octets(), ip);
            }
        }
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                u32::from(n) & m == u32::from(a) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                u128::from(n) & m == u128::from(a) & m
            }
            _ => false,
        }
    }
}

/// A comparison, with its values converted to the field's type.
pub(super) enum Cmp {
    /// `exists`: any value passes.
    Exists,
    /// evt.type, decided per event code; generic events use `fallback`.
    EvtType {
        /// Per event code: whether its current name passes.
        new: Vec<bool>,
        /// Per event code: whether its sysdig 0.29 name passes.
        old: Vec<bool>,
        /// Per syscall id: whether the name of a generic event of that
        /// syscall passes (ids past the end: `unknown`).
        by_id: Vec<bool>,
        /// Whether a generic event without a known syscall (`<unknown>`)
        /// passes.
        unknown: bool,
        /// The string comparison itself.
        fallback: Box<Cmp>,
    },
    /// A field that depends on nothing but the event code (`evt.is_io`,
    /// `evt.dir`, ...), decided per code once; `fallback` for codes
    /// outside the table.
    Code {
        /// Per event code: whether the comparison passes.
        table: Vec<bool>,
        /// The comparison itself.
        fallback: Box<Cmp>,
    },
    /// Integers (and times) against integers.
    Int(Op, Vec<i128>),
    /// Doubles against doubles.
    Float(Op, Vec<f64>),
    /// Booleans against booleans.
    Bool(Op, Vec<bool>),
    /// Addresses against addresses or networks.
    Ip(Op, Vec<Net>),
    /// Bytes against bytes.
    Str(StrCmp),
    /// `evt.rawarg.*`: numeric when both sides read as numbers.
    Dynamic(Option<Box<Cmp>>, Box<Cmp>),
    /// Against another field (`val(...)`), compared as `ty`.
    Field(Op, Box<Src>, FieldType),
    /// `fd.*ip.name` against names, resolved (see `domain`).
    Domain(Box<super::domain::Domain>),
}

/// A string comparison.
pub(super) struct StrCmp {
    pub(super) op: Op,
    /// The values (lowercased for `icontains`, decoded for `bcontains`).
    pub(super) vals: Vec<Vec<u8>>,
    /// The values as a set, for `in` lists longer than eight.
    pub(super) set: Option<HashSet<Vec<u8>>>,
    /// The compiled pattern of `regex`, anchored at both ends.
    pub(super) regex: Option<regex_lite::Regex>,
    /// The compiled substring searcher of `contains`/`bcontains`.
    pub(super) finder: Option<Box<memchr::memmem::Finder<'static>>>,
}

impl StrCmp {
    /// A comparison of `op` with `vals`, with its searchers compiled.
    pub(super) fn new(
        op: Op,
        vals: Vec<Vec<u8>>,
        set: Option<HashSet<Vec<u8>>>,
        regex: Option<regex_lite::Regex>,
    ) -> StrCmp {
        let finder = match (op, vals.first()) {
            (Op::Contains | Op::BContains, Some(v)) => Some(Box::new(
                memchr::memmem::Finder::new(v.as_slice()).into_owned(),
            )),
            _ => None,
        };
        StrCmp {
            op,
            vals,
            set,
            regex,
            finder,
        }
    }
}

//! The filter AST, with byte positions for error messages.

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Check(Check),
    /// A bare identifier: a Falco macro reference, to be expanded.
    Macro {
        name: String,
        pos: usize,
    },
}

/// One comparison: `lhs op rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub lhs: Operand,
    pub op: Op,
    /// Position of the operator.
    pub op_pos: usize,
    pub rhs: Rhs,
}

/// A field, possibly wrapped in transformers.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(FieldRef),
    Transform {
        t: Transformer,
        arg: Box<Operand>,
        pos: usize,
    },
}

impl Operand {
    pub fn pos(&self) -> usize {
        match self {
            Operand::Field(f) => f.pos,
            Operand::Transform { pos, .. } => *pos,
        }
    }
}

/// A field reference as written: `proc.aname[2]`, `evt.arg.fd`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    /// The name without the bracket argument (`evt.arg.fd`, `proc.aname`).
    pub name: String,
    /// The bracket argument, if any.
    pub arg: Option<String>,
    pub pos: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

impl Transformer {
    pub fn from_name(s: &str) -> Option<Transformer> {
        Some(match s {
            "tolower" => Transformer::ToLower,
            "toupper" => Transformer::ToUpper,
            "b64" => Transformer::B64,
            "basename" => Transformer::Basename,
            "len" => Transformer::Len,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    PMatch,
    Exists,
}

impl Op {
    /// Word operators, longest first where one is a prefix of another.
    pub const WORDS: &'static [(&'static str, Op)] = &[
        ("contains", Op::Contains),
        ("icontains", Op::IContains),
        ("bcontains", Op::BContains),
        ("startswith", Op::StartsWith),
        ("bstartswith", Op::BStartsWith),
        ("endswith", Op::EndsWith),
        ("glob", Op::Glob),
        ("iglob", Op::IGlob),
        ("regex", Op::Regex),
        ("intersects", Op::Intersects),
        ("in", Op::In),
        ("pmatch", Op::PMatch),
        ("exists", Op::Exists),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            _ => Op::WORDS
                .iter()
                .find(|(_, o)| *o == self)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
        }
    }

    /// Takes a list of values.
    pub fn is_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// `exists`.
    None,
    Value(Lit),
    List(Vec<Lit>),
    /// `in some_list` (a Falco list name, to be expanded).
    ListRef {
        name: String,
        pos: usize,
    },
    /// `val(field)` or a transformer.
    Operand(Operand),
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Lit {
    /// The value, unescaped.
    pub text: String,
    pub quoted: bool,
    pub pos: usize,
}

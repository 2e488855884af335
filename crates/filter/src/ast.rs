//! The filter AST, with byte positions for error messages.

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of the operands hold.
    And(Vec<Expr>),
    /// Any of the operands holds.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// One comparison.
    Check(Check),
    /// A bare identifier: a Falco macro reference, to be expanded.
    Macro {
        /// The identifier.
        name: String,
        /// Its byte position.
        pos: usize,
    },
}

/// One comparison: `lhs op rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The compared field (maybe transformed).
    pub lhs: Operand,
    /// The operator.
    pub op: Op,
    /// Position of the operator.
    pub op_pos: usize,
    /// What the field is compared with.
    pub rhs: Rhs,
}

/// A field, possibly wrapped in transformers.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field.
    Field(FieldRef),
    /// A transformer applied to an operand: `tolower(proc.name)`.
    Transform {
        /// The transformer.
        t: Transformer,
        /// Its argument.
        arg: Box<Operand>,
        /// The byte position of the transformer's name.
        pos: usize,
    },
}

impl Operand {
    /// The byte position where the operand starts.
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
    /// The byte position of the name.
    pub pos: usize,
}

/// A transformer: a function applied to a field's value before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// `tolower`: ASCII lowercase.
    ToLower,
    /// `toupper`: ASCII uppercase.
    ToUpper,
    /// `b64`: base64-decoded.
    B64,
    /// `basename`: the part after the last `/`.
    Basename,
    /// `len`: the length in bytes.
    Len,
}

impl Transformer {
    /// The transformer of this name, if any.
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

    /// The transformer's name as written.
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
    /// `=` (also `==`).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`: a substring.
    Contains,
    /// `icontains`: a substring, ASCII case-insensitively.
    IContains,
    /// `bcontains`: bytes given in hex.
    BContains,
    /// `startswith`: a prefix.
    StartsWith,
    /// `bstartswith`: a prefix given in hex.
    BStartsWith,
    /// `endswith`: a suffix.
    EndsWith,
    /// `glob`: a shell pattern.
    Glob,
    /// `iglob`: a shell pattern, ASCII case-insensitively.
    IGlob,
    /// `regex`: a regular expression matching the whole value.
    Regex,
    /// `in`: equal to one of a list.
    In,
    /// `intersects`: shares a value with a list.
    Intersects,
    /// `pmatch`: equal to or under one of a list of paths.
    PMatch,
    /// `exists`: the field has a value.
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

    /// The operator as written.
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
    /// One value.
    Value(Lit),
    /// A parenthesized list of values.
    List(Vec<Lit>),
    /// `in some_list` (a Falco list name, to be expanded).
    ListRef {
        /// The list name.
        name: String,
        /// Its byte position.
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
    /// Whether it was written in quotes.
    pub quoted: bool,
    /// The byte position where it starts.
    pub pos: usize,
}

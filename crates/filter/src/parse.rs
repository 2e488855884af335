//! The filter parser: text to [`Expr`], with positions.
//!
//! Grammar (the current libs grammar; `and` binds tighter than `or`):
//!
//! ```text
//! Expr      ::= And ('or' And)*
//! And       ::= Not ('and' Not)*
//! Not       ::= 'not' Not | Check
//! Check     ::= '(' Expr ')' | Operand Condition | Identifier
//! Operand   ::= Field | Transformer '(' Operand ')'
//! Field     ::= Name ('[' (QuotedStr | BareArg) ']')?
//! Condition ::= 'exists'
//!             | CmpOp (Value | 'val(' Field ')' | Transformer '(' Operand ')')
//!             | ListOp ('(' (Value (',' Value)*)? ')' | Identifier | 'val(' Field ')')
//! Value     ::= QuotedStr | BareStr
//! ```

use crate::ast::{Check, Expr, FieldRef, Lit, Op, Operand, Rhs, Transformer};
use crate::error::FilterError;

/// Nesting deeper than this is refused (keeps the recursion bounded).
const MAX_DEPTH: usize = 200;

/// Parses a filter into its AST. Macro and list names are kept as
/// [`Expr::Macro`] and [`Rhs::ListRef`] for the rules loader to expand.
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    let mut p = Parser {
        s: input,
        b: input.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.i >= p.b.len() {
        return Err(p.err(p.i, "empty filter"));
    }
    let e = p.or()?;
    p.ws();
    if p.i < p.b.len() {
        let msg = if p.b[p.i] == b')' {
            "unbalanced ')': no '(' to close"
        } else {
            "unexpected text: expected 'and', 'or' or the end of the filter"
        };
        return Err(p.err(p.i, msg));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x08)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Parser<'a> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> FilterError {
        FilterError::new(self.s, pos, msg)
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && is_ws(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Consumes `kw` if it is a whole word here.
    fn keyword(&mut self, kw: &str) -> bool {
        let end = self.i + kw.len();
        if self.b.len() >= end
            && &self.b[self.i..end] == kw.as_bytes()
            && !self
                .b
                .get(end)
                .is_some_and(|&c| is_ident(c) || c == b'.' || c == b'[')
        {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(self.i, "filter nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        self.enter()?;
        let mut v = vec![self.and()?];
        loop {
            self.ws();
            if self.keyword("or") {
                v.push(self.and()?);
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut v = vec![self.not()?];
        loop {
            self.ws();
            if self.keyword("and") {
                v.push(self.not()?);
            } else {
                break;
            }
        }
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Expr::And(v)
        })
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        self.ws();
        if self.keyword("not") {
            self.enter()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.check()
    }

    fn name(&mut self) -> &'a str {
        let start = self.i;
        while self.i < self.b.len() && (is_ident(self.b[self.i]) || self.b[self.i] == b'.') {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn check(&mut self) -> Result<Expr, FilterError> {
        self.ws();
        let start = self.i;
        match self.peek() {
            None => {
                return Err(self.err(start, "expected a condition, found the end of the filter"))
            }
            Some(b'(') => {
                self.i += 1;
                let e = self.or()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(start, "unbalanced '(': missing ')'"));
                }
                self.i += 1;
                return Ok(e);
            }
            Some(b')') => return Err(self.err(start, "expected a condition, found ')'")),
            Some(c) if !c.is_ascii_alphabetic() && c != b'_' => {
                return Err(self.err(start, "expected a field, a macro or '('"))
            }
            _ => {}
        }
        let name = self.name();
        if !name.contains('.') {
            if self.peek() == Some(b'(') {
                if let Some(t) = Transformer::from_name(name) {
                    let lhs = self.transformer(t, start)?;
                    return self.condition(lhs);
                }
                return Err(self.err(start, format!("unknown transformer '{name}'")));
            }
            if matches!(name, "and" | "or") {
                return Err(self.err(start, format!("expected a condition, found '{name}'")));
            }
            return Ok(Expr::Macro {
                name: name.to_string(),
                pos: start,
            });
        }
        let f = self.field_rest(name, start)?;
        self.condition(Operand::Field(f))
    }

    /// The optional `[arg]` after a field name.
    fn field_rest(&mut self, name: &str, start: usize) -> Result<FieldRef, FilterError> {
        if name.ends_with('.') || name.starts_with('.') || name.contains("..") {
            return Err(self.err(start, format!("invalid field name '{name}'")));
        }
        let mut arg = None;
        if self.peek() == Some(b'[') {
            let open = self.i;
            self.i += 1;
            let a = if matches!(self.peek(), Some(b'"') | Some(b'\'')) {
                self.quoted()?.text
            } else {
                let s = self.i;
                while self.i < self.b.len()
                    && !is_ws(self.b[self.i])
                    && !matches!(self.b[self.i], b'[' | b']' | b'"' | b'\'')
                {
                    self.i += 1;
                }
                self.s[s..self.i].to_string()
            };
            if self.peek() != Some(b']') {
                return Err(self.err(open, "unbalanced '[': missing ']' after the field argument"));
            }
            self.i += 1;
            arg = Some(a);
        }
        Ok(FieldRef {
            name: name.to_string(),
            arg,
            pos: start,
        })
    }

    /// `name(` was seen (at `start`); parses the argument and `)`.
    fn transformer(&mut self, t: Transformer, start: usize) -> Result<Operand, FilterError> {
        self.enter()?;
        self.i += 1; // '('
        self.ws();
        let arg = self.operand()?;
        self.ws();
        if self.peek() != Some(b')') {
            return Err(self.err(
                start,
                format!("unbalanced '(': missing ')' after {}()", t.name()),
            ));
        }
        self.i += 1;
        self.depth -= 1;
        Ok(Operand::Transform {
            t,
            arg: Box::new(arg),
            pos: start,
        })
    }

    /// A field or a transformer applied to an operand.
    fn operand(&mut self) -> Result<Operand, FilterError> {
        let start = self.i;
        if !self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            return Err(self.err(start, "expected a field"));
        }
        let name = self.name();
        if self.peek() == Some(b'(') && !name.contains('.') {
            return match Transformer::from_name(name) {
                Some(t) => self.transformer(t, start),
                None => Err(self.err(start, format!("unknown transformer '{name}'"))),
            };
        }
        if !name.contains('.') {
            return Err(self.err(start, format!("expected a field, found '{name}'")));
        }
        Ok(Operand::Field(self.field_rest(name, start)?))
    }

    fn condition(&mut self, lhs: Operand) -> Result<Expr, FilterError> {
        self.ws();
        let op_pos = self.i;
        let rest = &self.b[self.i..];
        let sym = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find(|(s, _)| rest.starts_with(s.as_bytes()))
        .copied();
        let op = if let Some((s, op)) = sym {
            self.i += s.len();
            op
        } else if let Some(&(_, op)) = Op::WORDS.iter().find(|(w, _)| {
            let end = self.i + w.len();
            self.b.len() >= end
                && &self.b[self.i..end] == w.as_bytes()
                && !self.b.get(end).is_some_and(|&c| is_ident(c))
        }) {
            self.i += op.name().len();
            op
        } else {
            let msg = if self.i >= self.b.len() {
                "expected an operator after the field, found the end of the filter".to_string()
            } else {
                "expected an operator (=, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, glob, iglob, regex, in, intersects, pmatch, exists)".to_string()
            };
            return Err(self.err(op_pos, msg));
        };
        let rhs = if op == Op::Exists {
            Rhs::None
        } else {
            self.ws();
            self.rhs(op)?
        };
        Ok(Expr::Check(Check {
            lhs,
            op,
            op_pos,
            rhs,
        }))
    }

    fn rhs(&mut self, op: Op) -> Result<Rhs, FilterError> {
        let start = self.i;
        // val(field) or a transformer
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            let save = self.i;
            let name = self.name();
            if self.peek() == Some(b'(') {
                if name == "val" {
                    self.i += 1;
                    self.ws();
                    let f = self.operand()?;
                    if !matches!(f, Operand::Field(_)) {
                        return Err(self.err(start, "val() takes a field"));
                    }
                    self.ws();
                    if self.peek() != Some(b')') {
                        return Err(self.err(start, "unbalanced '(': missing ')' after val()"));
                    }
                    self.i += 1;
                    return Ok(Rhs::Operand(f));
                }
                if let Some(t) = Transformer::from_name(name) {
                    return Ok(Rhs::Operand(self.transformer(t, start)?));
                }
            }
            if op.is_list() && !name.is_empty() && !name.contains('.') {
                return Ok(Rhs::ListRef {
                    name: name.to_string(),
                    pos: start,
                });
            }
            self.i = save;
        }
        if op.is_list() {
            if self.peek() != Some(b'(') {
                return Err(self.err(
                    start,
                    format!("'{}' expects a list of values in parentheses", op.name()),
                ));
            }
            self.i += 1;
            let mut items = Vec::new();
            self.ws();
            if self.peek() == Some(b')') {
                self.i += 1;
                return Ok(Rhs::List(items));
            }
            loop {
                self.ws();
                items.push(self.value()?);
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => {
                        return Err(self.err(start, "unbalanced '(': missing ')' to close the list"))
                    }
                }
            }
            return Ok(Rhs::List(items));
        }
        Ok(Rhs::Value(self.value()?))
    }

    fn quoted(&mut self) -> Result<Lit, FilterError> {
        let start = self.i;
        let q = self.b[self.i];
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(start, "unterminated quoted string"));
            };
            self.i += 1;
            if c == q {
                break;
            }
            if c == b'\\' {
                let Some(e) = self.peek() else {
                    return Err(self.err(start, "unterminated quoted string"));
                };
                self.i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'\\' | b'"' | b'\'' | b'/' => out.push(e),
                    _ => {
                        out.push(b'\\');
                        out.push(e);
                    }
                }
            } else {
                out.push(c);
            }
        }
        Ok(Lit {
            text: String::from_utf8_lossy(&out).into_owned(),
            quoted: true,
            pos: start,
        })
    }

    fn value(&mut self) -> Result<Lit, FilterError> {
        let start = self.i;
        match self.peek() {
            Some(b'"') | Some(b'\'') => return self.quoted(),
            None => return Err(self.err(start, "expected a value, found the end of the filter")),
            _ => {}
        }
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if is_ws(c) || matches!(c, b'(' | b')' | b',' | b'"' | b'\'') {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err(start, "expected a value"));
        }
        Ok(Lit {
            text: self.s[start..self.i].to_string(),
            quoted: false,
            pos: start,
        })
    }
}

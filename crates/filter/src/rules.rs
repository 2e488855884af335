//! A Falco-style rules loader: lists, macros and rules from YAML, with
//! list and macro appends (`append: true` or `override: {items: append}`),
//! expanded into self-contained conditions.
//!
//! Lists are expanded where a list name appears as an item of a `(...)`
//! value list, or as the whole right-hand side (`in shell_binaries`).
//! Macros are expanded where their name appears as a condition.

use std::collections::HashMap;

use yaml_rust2::{Yaml, YamlLoader};

use crate::ast::{Check, Expr, Lit, Rhs};
use crate::compile::Filter;
use crate::error::FilterError;
use crate::parse::parse;

/// Why a rules file could not be loaded or a rule did not compile.
#[derive(Debug)]
pub enum RulesError {
    /// The file is not valid YAML.
    Yaml(String),
    /// `(item kind, item name, error)`.
    Item(String, String, FilterError),
    /// `(item kind, item name, message)`: expanding its macros failed (an
    /// undefined macro, one that does not parse, or nesting too deep).
    Undefined(String, String, String),
}

impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesError::Yaml(e) => write!(f, "invalid rules file: {e}"),
            RulesError::Item(kind, name, e) => write!(f, "{kind} '{name}':\n{e}"),
            RulesError::Undefined(kind, name, what) => write!(f, "{kind} '{name}': {what}"),
        }
    }
}

impl std::error::Error for RulesError {}

/// One rule, its condition expanded.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// The condition as written.
    pub condition: String,
    /// The output format as written.
    pub output: String,
    /// The priority as written (`WARNING`, ...).
    pub priority: String,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// The condition with macros and lists substituted.
    pub expanded: Expr,
}

/// Lists, macros and rules, in load order.
#[derive(Debug, Default)]
pub struct Rules {
    /// Lists by name: their items, appends included.
    pub lists: HashMap<String, Vec<String>>,
    /// Macros by name: their conditions as written, appends included.
    pub macros: HashMap<String, String>,
    macro_order: Vec<String>,
    rules: Vec<(String, HashMap<String, String>, bool)>,
}

fn s(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_append(item: &Yaml, key: &str) -> bool {
    if item["append"].as_bool() == Some(true) {
        return true;
    }
    s(&item["override"][key]).as_deref() == Some("append")
}

impl Rules {
    /// No lists, macros or rules.
    pub fn new() -> Rules {
        Rules::default()
    }

    /// Loads one YAML document of lists, macros and rules (in addition to
    /// what is already loaded: later files may append to earlier ones).
    pub fn load_str(&mut self, text: &str) -> Result<(), RulesError> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| RulesError::Yaml(e.to_string()))?;
        for doc in docs {
            let Some(items) = doc.as_vec() else { continue };
            for item in items {
                if let Some(name) = s(&item["list"]) {
                    let vals: Vec<String> = item["items"]
                        .as_vec()
                        .map(|v| v.iter().filter_map(s).collect())
                        .unwrap_or_default();
                    if is_append(item, "items") {
                        self.lists.entry(name).or_default().extend(vals);
                    } else {
                        self.lists.insert(name, vals);
                    }
                } else if let Some(name) = s(&item["macro"]) {
                    let cond = s(&item["condition"]).unwrap_or_default();
                    if is_append(item, "condition") {
                        let old = self.macros.get(&name).cloned().unwrap_or_default();
                        self.macros.insert(name, format!("{old} {cond}"));
                    } else {
                        if !self.macros.contains_key(&name) {
                            self.macro_order.push(name.clone());
                        }
                        self.macros.insert(name, cond);
                    }
                } else if let Some(name) = s(&item["rule"]) {
                    let mut fields = HashMap::new();
                    for k in ["condition", "output", "priority"] {
                        if let Some(v) = s(&item[k]) {
                            fields.insert(k.to_string(), v);
                        }
                    }
                    let enabled = item["enabled"].as_bool().unwrap_or(true);
                    if is_append(item, "condition") {
                        if let Some(r) = self.rules.iter_mut().find(|r| r.0 == name) {
                            let c = fields.get("condition").cloned().unwrap_or_default();
                            let old = r.1.get("condition").cloned().unwrap_or_default();
                            r.1.insert("condition".into(), format!("{old} {c}"));
                        }
                        continue;
                    }
                    if let Some(r) = self.rules.iter_mut().find(|r| r.0 == name) {
                        r.1.extend(fields);
                        r.2 = enabled;
                    } else {
                        self.rules.push((name, fields, enabled));
                    }
                }
            }
        }
        Ok(())
    }

    /// A list's items with nested list names expanded.
    fn list_items(&self, name: &str, depth: usize, out: &mut Vec<String>) {
        let Some(items) = self.lists.get(name) else {
            return;
        };
        for it in items {
            if depth < 32 && self.lists.contains_key(it) {
                self.list_items(it, depth + 1, out);
            } else {
                out.push(it.clone());
            }
        }
    }

    fn expand(&self, e: &Expr, depth: usize) -> Result<Expr, String> {
        self.expand_with(e, depth, false)
    }

    /// `shallow`: macros are not expanded but replaced by an always-valid
    /// check, to compile a condition's own text on its own.
    fn expand_with(&self, e: &Expr, depth: usize, shallow: bool) -> Result<Expr, String> {
        if depth > 64 {
            return Err("macros nested too deeply (a macro refers to itself?)".into());
        }
        Ok(match e {
            Expr::And(v) => Expr::And(
                v.iter()
                    .map(|x| self.expand_with(x, depth, shallow))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(v) => Expr::Or(
                v.iter()
                    .map(|x| self.expand_with(x, depth, shallow))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(x) => Expr::Not(Box::new(self.expand_with(x, depth, shallow)?)),
            Expr::Macro { .. } if shallow => parse("evt.num exists").map_err(|e| e.to_string())?,
            Expr::Macro { name, .. } => {
                let Some(cond) = self.macros.get(name) else {
                    return Err(format!("undefined macro '{name}'"));
                };
                let ast = parse(cond).map_err(|e| format!("in macro '{name}':\n{e}"))?;
                self.expand(&ast, depth + 1)?
            }
            Expr::Check(c) => {
                let rhs = match &c.rhs {
                    Rhs::List(items) => {
                        let mut out = Vec::new();
                        for it in items {
                            if !it.quoted && self.lists.contains_key(&it.text) {
                                let mut v = Vec::new();
                                self.list_items(&it.text, 0, &mut v);
                                out.extend(v.into_iter().map(|t| lit(t, it.pos)));
                            } else {
                                out.push(it.clone());
                            }
                        }
                        Rhs::List(out)
                    }
                    Rhs::ListRef { name, pos } => {
                        if !self.lists.contains_key(name) {
                            return Err(format!("undefined list '{name}'"));
                        }
                        let mut v = Vec::new();
                        self.list_items(name, 0, &mut v);
                        Rhs::List(v.into_iter().map(|t| lit(t, *pos)).collect())
                    }
                    other => other.clone(),
                };
                Expr::Check(Check {
                    lhs: c.lhs.clone(),
                    op: c.op,
                    op_pos: c.op_pos,
                    rhs,
                })
            }
        })
    }

    /// Expands a condition (macros and lists) into a self-contained AST.
    pub fn expand_condition(&self, cond: &str) -> Result<Expr, RulesError> {
        let ast = parse(cond).map_err(|e| RulesError::Item("condition".into(), cond.into(), e))?;
        self.expand(&ast, 0)
            .map_err(|m| RulesError::Undefined("condition".into(), cond.into(), m))
    }

    /// Every rule with its condition expanded.
    pub fn rules(&self) -> Result<Vec<Rule>, RulesError> {
        let mut out = Vec::new();
        for (name, f, enabled) in &self.rules {
            let condition = f.get("condition").cloned().unwrap_or_default();
            let ast =
                parse(&condition).map_err(|e| RulesError::Item("rule".into(), name.clone(), e))?;
            let expanded = self
                .expand(&ast, 0)
                .map_err(|m| RulesError::Undefined("rule".into(), name.clone(), m))?;
            out.push(Rule {
                name: name.clone(),
                condition,
                output: f.get("output").cloned().unwrap_or_default(),
                priority: f.get("priority").cloned().unwrap_or_default(),
                enabled: *enabled,
                expanded,
            });
        }
        Ok(out)
    }

    /// Macro names, in load order.
    pub fn macro_names(&self) -> &[String] {
        &self.macro_order
    }

    /// Compiles a rule's expanded condition. An error is reported in the
    /// text it is in: the rule's condition or the macro at fault.
    pub fn compile(&self, rule: &Rule) -> Result<Filter, RulesError> {
        Filter::from_ast(&rule.expanded, &rule.condition).map_err(|e| {
            match self.culprit("rule", &rule.name, &rule.condition, 0) {
                Some(err) => err,
                None => RulesError::Item("rule".into(), rule.name.clone(), e),
            }
        })
    }

    /// The first compile error in `cond` itself, else in the macros it uses.
    fn culprit(&self, kind: &str, name: &str, cond: &str, depth: usize) -> Option<RulesError> {
        if depth > 64 {
            return None;
        }
        let ast = match parse(cond) {
            Ok(a) => a,
            Err(e) => return Some(RulesError::Item(kind.into(), name.into(), e)),
        };
        if let Ok(own) = self.expand_with(&ast, 0, true) {
            if let Err(e) = Filter::from_ast(&own, cond) {
                return Some(RulesError::Item(kind.into(), name.into(), e));
            }
        }
        let mut macros = Vec::new();
        collect_macros(&ast, &mut macros);
        macros.into_iter().find_map(|m| {
            let c = self.macros.get(&m)?;
            self.culprit("macro", &m, c, depth + 1)
        })
    }
}

fn collect_macros(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| collect_macros(x, out)),
        Expr::Not(x) => collect_macros(x, out),
        Expr::Macro { name, .. } => out.push(name.clone()),
        Expr::Check(_) => {}
    }
}

/// A list item as a value: items are filter text, so `"a b"` is quoted.
fn lit(text: String, pos: usize) -> Lit {
    let t = text.trim();
    let b = t.as_bytes();
    let unquoted = if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &t[1..t.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some(e @ ('"' | '\'' | '\\')) => out.push(e),
                    Some(e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        t.to_string()
    };
    Lit {
        text: unquoted,
        quoted: true,
        pos,
    }
}

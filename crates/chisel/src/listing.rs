//! `-cl` (the chisels along the search path, by category) and `-i NAME`
//! (one chisel's description and arguments), in sysdig's layout.

use std::collections::BTreeMap;
use std::io::Write;

use crate::{Chisel, ChiselError, Env, Meta, SearchPath};

/// Width of the name column.
const NAME_COL: usize = 16;
/// Text after the name column is cut into pieces this long.
const TEXT_COL: usize = 63;
/// A long description is cut into lines this long.
const DESC_COL: usize = 79;

/// Every chisel along `search` that sysdig would list.
fn all(search: &SearchPath) -> Vec<Meta> {
    search
        .all_files()
        .iter()
        .filter_map(|p| {
            let name = crate::runtime::stem(p);
            Chisel::load_file(p, &name, search, Env::default()).ok()
        })
        .map(|c| c.meta().clone())
        .filter(Meta::listed)
        .collect()
}

/// Cuts `s` into pieces of `n` characters.
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// Text after the name column, continued on lines indented to it.
fn column_text(s: &str) -> String {
    pieces(s, TEXT_COL).join(&format!("\n{}", " ".repeat(NAME_COL)))
}

fn category_header(out: &mut impl Write, cat: &str) -> std::io::Result<()> {
    let title = format!("Category: {cat}");
    writeln!(out, "\n{title}\n{}", "-".repeat(title.chars().count()))
}

fn name_line(out: &mut impl Write, m: &Meta) -> std::io::Result<()> {
    let short = column_text(m.short_description.as_deref().unwrap_or(""));
    if m.name.chars().count() >= NAME_COL {
        writeln!(out, "{}\n{}{short}", m.name, " ".repeat(NAME_COL))
    } else {
        writeln!(out, "{:<w$}{short}", m.name, w = NAME_COL)
    }
}

/// `-cl`: the chisels by category.
pub fn write_list(out: &mut impl Write, search: &SearchPath) -> std::io::Result<()> {
    let mut by_cat: BTreeMap<String, Vec<Meta>> = BTreeMap::new();
    for m in all(search) {
        by_cat.entry(m.category.clone()).or_default().push(m);
    }
    for (cat, mut list) in by_cat {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        category_header(out, &cat)?;
        for m in &list {
            name_line(out, m)?;
        }
    }
    writeln!(
        out,
        "\nUse the -i flag to get detailed information about a specific chisel"
    )
}

/// `-i NAME`: one chisel's description and arguments.
pub fn write_info(
    out: &mut impl Write,
    search: &SearchPath,
    name: &str,
) -> Result<(), std::io::Error> {
    let found = all(search).into_iter().find(|m| m.name == name);
    let Some(m) = found else {
        return Err(std::io::Error::other(ChiselError::NotFound(
            name.to_string(),
        )));
    };
    category_header(out, &m.category)?;
    name_line(out, &m)?;
    writeln!(out)?;
    for line in pieces(m.description.as_deref().unwrap_or(""), DESC_COL) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "Args:")?;
    let args = m.args.as_deref().unwrap_or(&[]);
    if args.is_empty() {
        writeln!(out, "(None)")?;
        return Ok(());
    }
    for a in args {
        let text = format!("[{}] {} - {}", a.argtype, a.name, a.description);
        writeln!(out, "{}", column_text(&text))?;
    }
    writeln!(out)
}

//! Generates the event table from `data/*.tsv`.
//!
//! The data files are the single source of truth for event codes, names,
//! directions, categories, flags, parameters, print formats and flag symbols.
//! This script turns them into static Rust tables (see `src/table.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

fn rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(|s| s.trim().to_string()).collect())
        .collect()
}

fn ident(prefix: &str, name: &str) -> String {
    let mut s = String::from(prefix);
    for c in name.chars() {
        s.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    s
}

fn type_variant(t: &str) -> String {
    // UINT32 -> Uint32, CHARBUF_PAIR_ARRAY -> CharbufPairArray
    t.split('_')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn fmt_variant(f: &str) -> &'static str {
    match f {
        "NA" => "Na",
        "DEC" => "Dec",
        "HEX" => "Hex",
        "10_PADDED_DEC" => "PaddedDec",
        "ID" => "Id",
        "DIR" => "Dir",
        "OCT" => "Oct",
        other => panic!("unknown print format {other}"),
    }
}

struct Tables {
    prefix: &'static str,
    flags: BTreeMap<String, String>,
    dyns: BTreeMap<String, String>,
}

fn emit_flag_tables(
    out: &mut String,
    path: &Path,
    prefix: &'static str,
) -> BTreeMap<String, String> {
    let mut order: Vec<String> = Vec::new();
    let mut entries: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for r in rows(path) {
        if r.len() < 3 {
            continue;
        }
        let v: u64 = r[2]
            .parse()
            .unwrap_or_else(|_| panic!("bad flag value {:?}", r));
        if !entries.contains_key(&r[0]) {
            order.push(r[0].clone());
        }
        entries
            .entry(r[0].clone())
            .or_default()
            .push((r[1].clone(), v));
    }
    let mut names = BTreeMap::new();
    for t in order {
        let id = ident(prefix, &t);
        let _ = write!(
            out,
            "pub static {id}: FlagTable = FlagTable {{ name: {t:?}, entries: &["
        );
        for (s, v) in &entries[&t] {
            let _ = write!(out, "({s:?}, {v}),");
        }
        out.push_str("] };\n");
        names.insert(t, id);
    }
    names
}

fn emit_dyn_tables(
    out: &mut String,
    path: &Path,
    prefix: &'static str,
) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    if !path.exists() {
        return names;
    }
    let mut order: Vec<String> = Vec::new();
    let mut entries: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for r in rows(path) {
        if r.len() < 5 {
            continue;
        }
        if !entries.contains_key(&r[0]) {
            order.push(r[0].clone());
        }
        entries.entry(r[0].clone()).or_default().push(r);
    }
    for t in order {
        let id = ident(prefix, &t);
        let _ = write!(
            out,
            "pub static {id}: DynTable = DynTable {{ name: {t:?}, entries: &["
        );
        for r in &entries[&t] {
            let _ = write!(
                out,
                "ParamInfo {{ name: {:?}, ptype: ParamType::{}, fmt: PrintFmt::{}, symbols: None, dyn_types: None, dirfd: None }},",
                r[2],
                type_variant(&r[3]),
                fmt_variant(&r[4])
            );
        }
        out.push_str("] };\n");
        names.insert(t, id);
    }
    names
}

fn params(spec: &str, tables: &Tables) -> String {
    let mut s = String::from("&[");
    if !spec.is_empty() && spec != "-" {
        for p in spec.split(',') {
            let parts: Vec<&str> = p.split(':').collect();
            assert!(parts.len() >= 3, "bad param spec {p:?}");
            let (name, ty, fmt) = (parts[0], parts[1], parts[2]);
            let mut symbols = "None".to_string();
            let mut dyn_types = "None".to_string();
            let mut dirfd = "None".to_string();
            if let Some(t) = parts.get(3) {
                if let Some(n) = t
                    .strip_prefix("DIRFD_PARAM(")
                    .and_then(|r| r.strip_suffix(')'))
                {
                    dirfd = format!("Some({n})");
                } else if ty == "DYN" {
                    if let Some(id) = tables.dyns.get(*t) {
                        dyn_types = format!("Some(&{id})");
                    }
                } else if let Some(id) = tables.flags.get(*t) {
                    symbols = format!("Some(&{id})");
                } else {
                    println!("cargo:warning=no symbol table {t} ({})", tables.prefix);
                }
            }
            let _ = write!(
                s,
                "ParamInfo {{ name: {name:?}, ptype: ParamType::{}, fmt: PrintFmt::{}, symbols: {symbols}, dyn_types: {dyn_types}, dirfd: {dirfd} }},",
                type_variant(ty),
                fmt_variant(fmt)
            );
        }
    }
    s.push(']');
    s
}

fn bits(spec: &str, f: fn(&str) -> Option<u32>) -> u32 {
    spec.split('|')
        .filter(|s| !s.is_empty())
        .map(|s| f(s).unwrap_or_else(|| panic!("unknown name {s}")))
        .fold(0, |a, b| a | b)
}

#[allow(dead_code)]
#[path = "src/types.rs"]
mod types;

fn category_bits(s: &str) -> Option<u32> {
    types::category::from_name(s)
}

fn flag_bits(s: &str) -> Option<u32> {
    types::flags::from_name(s)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for f in [
        "events.tsv",
        "flags.tsv",
        "flags_old.tsv",
        "dynparams.tsv",
        "dynparams_old.tsv",
        "errno.tsv",
        "syscalls.tsv",
    ] {
        println!("cargo:rerun-if-changed=data/{f}");
    }
    println!("cargo:rerun-if-changed=src/types.rs");
    let mut out = String::new();
    let new = Tables {
        prefix: "FT_",
        flags: emit_flag_tables(&mut out, &dir.join("flags.tsv"), "FT_"),
        dyns: emit_dyn_tables(&mut out, &dir.join("dynparams.tsv"), "DT_"),
    };
    let old = Tables {
        prefix: "FTO_",
        flags: emit_flag_tables(&mut out, &dir.join("flags_old.tsv"), "FTO_"),
        dyns: emit_dyn_tables(&mut out, &dir.join("dynparams_old.tsv"), "DTO_"),
    };
    out.push_str(
        "/// Every symbol table of the current driver.\npub static FLAG_TABLES: &[&FlagTable] = &[",
    );
    for id in new.flags.values() {
        let _ = write!(out, "&{id},");
    }
    out.push_str("];\n/// Every symbol table of the 2022 driver.\npub static FLAG_TABLES_OLD: &[&FlagTable] = &[");
    for id in old.flags.values() {
        let _ = write!(out, "&{id},");
    }
    out.push_str("];\n");
    let events = rows(&dir.join("events.tsv"));
    let _ = writeln!(out, "/// Every event, indexed by code.");
    let _ = writeln!(out, "pub static EVENTS: [EventInfo; {}] = [", events.len());
    for (i, r) in events.iter().enumerate() {
        let code: usize = r[0].parse().expect("event code");
        assert_eq!(code, i, "events.tsv must list codes in order");
        let dir = if r[3] == ">" {
            "Direction::Enter"
        } else {
            "Direction::Exit"
        };
        let get = |i: usize| r.get(i).map(String::as_str).unwrap_or("");
        let old_name = get(8);
        let old_params = get(9);
        let (old_name, old_params) = if old_name.is_empty() || old_name == "-" {
            (r[2].as_str(), None)
        } else {
            (old_name, Some(old_params))
        };
        let old_p = match old_params {
            Some(p) => params(p, &old),
            None => params(get(7), &new),
        };
        let old_cat = match get(10) {
            "" | "-" => bits(&r[4], category_bits),
            s => bits(s, category_bits),
        };
        let old_flags = match get(11) {
            "" | "-" => bits(&r[5], flag_bits),
            s => bits(s, flag_bits),
        };
        let fd_param = match get(7)
            .split(',')
            .position(|p| p.split(':').next() == Some("fd"))
        {
            Some(i) if !get(7).is_empty() => format!("Some({i})"),
            _ => "None".to_string(),
        };
        let _ = writeln!(
            out,
            "EventInfo {{ code: {code}, enum_name: {:?}, name: {:?}, dir: {dir}, category: {}, flags: {}, params: {}, old_name: {old_name:?}, old_params: {old_p}, old_category: {old_cat}, old_flags: {old_flags}, fd_param: {fd_param} }},",
            r[1],
            r[2],
            bits(&r[4], category_bits),
            bits(&r[5], flag_bits),
            params(get(7), &new),
        );
    }
    out.push_str("];\n");

    // errno names and syscall names, if present.
    // Each also as a table indexed by the number (looked up per event).
    let pairs = |file: &str| -> Vec<(usize, String)> {
        if !dir.join(file).exists() {
            return Vec::new();
        }
        rows(&dir.join(file))
            .into_iter()
            .filter(|r| r.len() >= 2)
            .map(|r| {
                let v = r[0]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad number {} in {file}", r[0]));
                (v, r[1].clone())
            })
            .collect()
    };
    let dense = |out: &mut String, name: &str, pairs: &[(usize, String)]| {
        let len = pairs.iter().map(|(v, _)| v + 1).max().unwrap_or(0);
        let mut names: Vec<Option<&str>> = vec![None; len];
        for (v, n) in pairs {
            // the first entry for a number wins, as a linear search finds it
            names[*v].get_or_insert(n.as_str());
        }
        let _ = write!(out, "pub static {name}: &[Option<&str>] = &[");
        for n in names {
            let _ = write!(out, "{n:?},");
        }
        out.push_str("];\n");
    };
    let errnos = pairs("errno.tsv");
    let _ = writeln!(out, "/// Errno names by number.");
    let _ = write!(out, "pub static ERRNO_NAMES: &[(i64, &str)] = &[");
    for (v, n) in &errnos {
        let _ = write!(out, "({v}, {n:?}),");
    }
    out.push_str("];\n");
    dense(&mut out, "ERRNO_NAME_BY_VALUE", &errnos);
    let syscalls = pairs("syscalls.tsv");
    let _ = writeln!(out, "/// System call names by the driver's syscall id.");
    let _ = write!(out, "pub static SYSCALL_NAMES: &[(u32, &str)] = &[");
    for (v, n) in &syscalls {
        let _ = write!(out, "({v}, {n:?}),");
    }
    out.push_str("];\n");
    dense(&mut out, "SYSCALL_NAME_BY_ID", &syscalls);

    let mut codes = String::new();
    for r in &events {
        let name = r[1].trim_start_matches("PPME_");
        let _ = writeln!(codes, "pub const {name}: u16 = {};", r[0]);
    }
    let out_dir = std::env::var("OUT_DIR").unwrap();
    std::fs::write(Path::new(&out_dir).join("codes.rs"), codes).expect("write codes.rs");
    let dest = Path::new(&out_dir).join("table.rs");
    std::fs::write(dest, out).expect("write table.rs");
}

//! The OpenAPI document against the code: every `.route(..)` call in the
//! server's sources (path and methods) is in the route table and the
//! table has nothing else, and `docs/openapi.json` is exactly what the
//! table generates (`SONDE_WRITE_OPENAPI=1` rewrites it first).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sonde_server::openapi::{document, ROUTES};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text of each `.route(...)` call (parentheses balanced).
fn route_calls(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(".route(") {
        let start = i + ".route(".len();
        let mut depth = 1;
        let mut end = start;
        for (j, c) in text[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + j;
                break;
            }
        }
        out.push(&text[start..end]);
    }
    out
}

/// (method, path) of every route the sources declare.
fn declared() -> BTreeSet<(String, String)> {
    let consts = [
        ("sonde_transport::INGEST_PATH", sonde_transport::INGEST_PATH),
        ("WRITE_PATH", sonde_server::remote::receive::WRITE_PATH),
    ];
    let path_re = regex::Regex::new(r#"^\s*"([^"]+)""#).unwrap();
    // a method router: `get(` at the start of the chain or `).post(` after one
    let method_re = regex::Regex::new(r"(?:^|[\s:(]|\)\.)(get|post|put|delete)\(").unwrap();
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for call in route_calls(&text) {
            let path = match path_re.captures(call) {
                Some(c) => c[1].to_string(),
                None => consts
                    .iter()
                    .find(|(name, _)| call.trim_start().starts_with(name))
                    .unwrap_or_else(|| {
                        panic!("{}: a route path the test cannot read: {call}", f.display())
                    })
                    .1
                    .to_string(),
            };
            let rest = &call[call.find(',').unwrap()..];
            let methods: Vec<String> = method_re
                .captures_iter(rest)
                .map(|c| c[1].to_uppercase())
                .collect();
            assert!(!methods.is_empty(), "{}: no method in {call}", f.display());
            for m in methods {
                out.insert((m, path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_matches_the_routes() {
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "a route twice in the table");
    let code = declared();
    let missing: Vec<_> = code.difference(&table).collect();
    let extra: Vec<_> = table.difference(&code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes in the code but not in openapi::ROUTES: {missing:?}; in the table but not the code: {extra:?}"
    );
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let doc = document();
    if std::env::var_os("SONDE_WRITE_OPENAPI").is_some() {
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&file)
        .expect("docs/openapi.json (SONDE_WRITE_OPENAPI=1 writes it)");
    let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        checked_in == doc,
        "docs/openapi.json differs from what the route table generates: rerun with SONDE_WRITE_OPENAPI=1"
    );
}

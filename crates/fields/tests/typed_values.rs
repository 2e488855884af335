//! `Ctx::extract_value` against `Ctx::extract` on real captures: for
//! every field of the registry and every event of the first part of every
//! shared trace, a typed value (what filters compare, what chisels and
//! `sonde top` read as numbers) is the value of the field's text, and the
//! two agree on which events have no value. The field list comes from the
//! registry, so a class module that starts answering with typed values is
//! checked without touching this test.

use std::path::{Path, PathBuf};

use sonde_fields::{registry, Ctx, Field, TimeFmt, Value};
use sonde_output::RenderOpts;
use sonde_scap::{Block, FileReader};
use sonde_state::State;

/// Events read from each trace.
const EVENTS: usize = 4000;

fn traces() -> Vec<PathBuf> {
    let dir = std::env::var_os("SONDE_TRACES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"),
        PathBuf::from,
    );
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    out.sort();
    out
}

/// Whether the typed value `v` of field `name` is what the text `t` says.
fn same(name: &str, v: &Value<'_>, t: &[u8]) -> bool {
    let t = std::str::from_utf8(t).unwrap_or("");
    match (name, *v) {
        // printed in hex, compared as the number
        ("fd.dev", Value::Uint(u)) => return u64::from_str_radix(t, 16) == Ok(u),
        // sysdig notes a name change after its filters ran: to a filter
        // the name never changed (the text shows it for output)
        ("fd.name_changed", Value::Bool(b)) => return !b,
        _ => {}
    }
    match *v {
        Value::Int(i) => t == i.to_string(),
        Value::Uint(u) => t == u.to_string(),
        // doubles render with one decimal
        Value::Double(d) => t.parse::<f64>().is_ok_and(|x| (x - d).abs() <= 0.05 + 1e-9),
        Value::Bool(b) => t == if b { "true" } else { "false" },
        Value::Ip(ip) => t.parse::<std::net::IpAddr>().is_ok_and(|x| x == ip),
        Value::Str(_) => true,
    }
}

#[test]
fn typed_values_are_the_values_of_the_text() {
    // two instances of each field: the ones that remember earlier events
    // (`thread.cpu`, the exec times) keep their own memory per instance
    let fields: Vec<(&str, Field, Field)> = registry::fields()
        .iter()
        .filter_map(|f| {
            Some((
                f.name,
                Field::parse(f.name).ok()?,
                Field::parse(f.name).ok()?,
            ))
        })
        .collect();
    assert!(fields.len() > 200, "registry too small: {}", fields.len());
    let traces = traces();
    assert!(!traces.is_empty(), "no shared traces");
    let opts = RenderOpts::default();
    let (mut typed, mut none) = (0usize, 0usize);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for trace in &traces {
        // traces sonde cannot open are the damage tests' business
        let Ok(mut r) = FileReader::open(trace) else {
            continue;
        };
        let mut st = State::new();
        let (mut n, mut first) = (0usize, 0u64);
        while let Ok(Some(block)) = r.next_block() {
            let ev = match block {
                Block::Event(ev) => ev,
                other => {
                    st.apply_block(&other);
                    continue;
                }
            };
            st.process(&ev);
            n += 1;
            if first == 0 {
                first = ev.ts;
            }
            for (name, f, g) in &fields {
                let ctx = Ctx {
                    st: &st,
                    ev: &ev,
                    num: n as u64,
                    first_ts: first,
                    prev_ts: first,
                    opts: &opts,
                    time_fmt: TimeFmt::Human,
                    lookups: Default::default(),
                };
                let v = ctx.extract_value(f, &mut a);
                b.clear();
                let has_text = ctx.extract(g, &mut b);
                let at = format!("{name}, {} event {n}", trace.display());
                match v {
                    None => {
                        assert!(!has_text, "{at}: no typed value, text {:?}", lossy(&b));
                        none += 1;
                    }
                    Some(Value::Str(_)) => assert!(has_text, "{at}: text value, no text"),
                    Some(v) => {
                        assert!(has_text, "{at}: typed {v:?}, no text");
                        assert!(
                            same(name, &v, &b),
                            "{at}: typed {v:?}, text {:?}",
                            lossy(&b)
                        );
                        typed += 1;
                    }
                }
            }
            if n >= EVENTS {
                break;
            }
        }
    }
    assert!(typed > 10_000 && none > 1_000, "typed {typed}, none {none}");
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

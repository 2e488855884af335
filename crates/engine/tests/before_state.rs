//! A capture filter that reads only the event's code, thread and fd entry
//! (`Filter::reads_before_state`) is judged before the state applies an
//! event that modifies nothing, and the events it rejects are passed by
//! (`State::skip_enter`/`skip_exit`). That path must select and show
//! exactly what the ordinary path (state first, then the filter) does.
//! Here filters drawn (seeded) from values each shared trace holds run
//! both ways: as they are, and joined with `evt.num > 0` (always true, and
//! a field the early path does not read, so the ordinary path runs).

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use common::traces;
use sonde_engine::{Config, Engine, Flow, Handed, Needs, Sink, SinkResult, Source};
use sonde_fields::{Ctx, Field};
use sonde_filter::Filter;

/// What is compared of every event handed out.
const SHOWN: &[&str] = &[
    "evt.num",
    "evt.type",
    "evt.dir",
    "evt.args",
    "evt.latency",
    "fd.num",
    "fd.name",
    "fd.connected",
    "proc.name",
    "thread.tid",
];

/// Values seen in a trace, to draw filters from.
#[derive(Default)]
struct Seen {
    names: BTreeSet<String>,
    comms: BTreeSet<String>,
    types: BTreeSet<String>,
    ports: BTreeSet<String>,
}

struct Collect {
    fields: Vec<Field>,
    lines: Rc<RefCell<Vec<String>>>,
    seen: Option<Rc<RefCell<Seen>>>,
}

impl Sink for Collect {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        let mut line = String::new();
        let mut v = Vec::new();
        let mut vals = Vec::new();
        for f in &self.fields {
            v.clear();
            let got = ctx.extract(f, &mut v);
            let s = String::from_utf8_lossy(&v).into_owned();
            line.push_str(if got { "|" } else { "|-" });
            line.push_str(&s);
            vals.push(got.then_some(s));
        }
        if let Some(seen) = &self.seen {
            let mut s = seen.borrow_mut();
            let usable = |x: &str| !x.is_empty() && !x.contains(['"', '\\', '\n']);
            if let Some(n) = vals[6].as_deref().filter(|x| usable(x)) {
                s.names.insert(n.to_string());
            }
            if let Some(n) = vals[8].as_deref().filter(|x| usable(x)) {
                s.comms.insert(n.to_string());
            }
            if let Some(n) = vals[10].as_deref().filter(|x| usable(x)) {
                s.types.insert(n.to_string());
            }
            if let Some(n) = vals[11].as_deref().filter(|x| usable(x)) {
                s.ports.insert(n.to_string());
            }
        }
        self.lines.borrow_mut().push(line);
        Ok(Flow::Continue)
    }
}

/// The lines of the events `filter` selects in `trace`.
fn run(trace: &Path, filter: Option<&str>, seen: Option<Rc<RefCell<Seen>>>) -> Vec<String> {
    let mut names: Vec<&str> = SHOWN.to_vec();
    names.extend(["fd.type", "fd.sport"]);
    let fields = names
        .iter()
        .map(|n| Field::parse(n).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let cfg = Config {
        filter: filter.map(|f| Filter::new(f).unwrap_or_else(|e| panic!("{f}: {e}"))),
        ..Config::default()
    };
    let mut e = Engine::new(cfg);
    e.add_sink(Box::new(Collect {
        fields,
        lines: lines.clone(),
        seen,
    }));
    e.run(Source::open_file(trace).unwrap()).unwrap();
    let v = lines.borrow().clone();
    v
}

/// A small seeded generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, v: &'a [String]) -> &'a str {
        &v[self.below(v.len())]
    }
}

/// A piece of `s` of 2 to 5 characters (whole characters).
fn piece(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = (2 + rng.below(4)).min(chars.len());
    let at = rng.below(chars.len() - len + 1);
    chars[at..at + len].iter().collect()
}

/// One comparison on the fd entry, the thread or the event's code.
fn comparison(rng: &mut Rng, seen: &Seen) -> String {
    let names: Vec<String> = seen.names.iter().cloned().collect();
    let comms: Vec<String> = seen.comms.iter().cloned().collect();
    let types: Vec<String> = seen.types.iter().cloned().collect();
    let ports: Vec<String> = seen.ports.iter().cloned().collect();
    let name = || !names.is_empty();
    match rng.below(12) {
        0 if name() => format!("fd.name = \"{}\"", rng.pick(&names)),
        1 | 2 if name() => {
            let n = rng_pick(rng, &names);
            format!("fd.name contains \"{}\"", piece(rng, &n))
        }
        3 if name() => {
            let n = rng_pick(rng, &names);
            let k = 1 + rng.below(n.len().min(8));
            let p: String = n.chars().take(k).collect();
            format!("fd.name startswith \"{p}\"")
        }
        4 if !types.is_empty() => format!("fd.type = {}", rng.pick(&types)),
        5 => [
            "fd.typechar = f",
            "fd.typechar = 4",
            "fd.typechar = u",
            "fd.l4proto = tcp",
        ][rng.below(4)]
        .to_string(),
        6 if !comms.is_empty() => format!("proc.name = \"{}\"", rng.pick(&comms)),
        7 if !ports.is_empty() => format!("fd.sport = {}", rng.pick(&ports)),
        8 => [
            "evt.type = close",
            "evt.type in (read, write)",
            "evt.dir = <",
        ][rng.below(3)]
        .to_string(),
        9 => "evt.failed = true".to_string(),
        10 if name() => {
            let n = rng_pick(rng, &names);
            let dir = n.rsplit_once('/').map(|(d, _)| d).unwrap_or("/");
            format!(
                "fd.directory = \"{}\"",
                if dir.is_empty() { "/" } else { dir }
            )
        }
        _ => "fd.name exists".to_string(),
    }
}

fn rng_pick(rng: &mut Rng, v: &[String]) -> String {
    rng.pick(v).to_string()
}

/// A filter of one to three comparisons, some negated.
fn filter(rng: &mut Rng, seen: &Seen) -> String {
    let mut f = comparison(rng, seen);
    for _ in 0..rng.below(3) {
        let c = comparison(rng, seen);
        let op = ["and", "or"][rng.below(2)];
        f = format!("{f} {op} {c}");
    }
    if rng.below(4) == 0 {
        f = format!("not ({f})");
    }
    f
}

#[test]
fn filters_judged_before_the_state_select_and_show_the_same() {
    let all = traces();
    assert!(all.len() >= 5, "{} traces", all.len());
    let mut rng = Rng(std::env::var("SONDE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_be40));
    let (mut checked, mut selected) = (0, 0);
    for path in &all {
        let seen = Rc::new(RefCell::new(Seen::default()));
        run(path, None, Some(seen.clone()));
        let seen = seen.borrow();
        let per = std::env::var("SONDE_PER_TRACE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        for _ in 0..per {
            let f = filter(&mut rng, &seen);
            let early = Filter::new(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(early.reads_before_state(), "{f}: not judged early");
            let plain = format!("({f}) and evt.num > 0");
            assert!(!Filter::new(&plain).unwrap().reads_before_state());
            let a = run(path, Some(&f), None);
            let b = run(path, Some(&plain), None);
            if a != b {
                let at = a
                    .iter()
                    .zip(&b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                panic!(
                    "{}: '{f}': {} events early, {} as usual; first difference:\n  early {:?}\n  usual {:?}",
                    path.display(),
                    a.len(),
                    b.len(),
                    a.get(at),
                    b.get(at)
                );
            }
            checked += 1;
            selected += a.len();
        }
    }
    // the filters drawn select something (the comparison is not of nothing)
    assert!(
        selected > checked * 5,
        "{selected} events in {checked} runs"
    );
}

//! Sinks that read less than the whole state (`Needs::scope`) let the
//! engine pass over the events that change only the rest; what they read
//! must not change. For each narrow scope, every field of the registry in
//! it (`sonde_fields::field_scope`) is read at every event such a sink
//! takes, on every shared trace, and compared with a run where nothing
//! passes over.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::traces;
use sonde_engine::{Config, Engine, Flow, Handed, Needs, Sink, SinkResult, Source};
use sonde_event::codes as c;
use sonde_fields::{Ctx, Field};
use sonde_state::Scope;

/// The fields of the registry in `scope` that parse without an argument,
/// and a few with one.
fn fields_in(scope: Scope) -> Vec<Field> {
    let mut names: Vec<String> = sonde_fields::registry::fields()
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    names.extend(
        [
            "proc.aname[2]",
            "proc.apid[1]",
            "evt.arg.fd",
            "evt.rawarg.res",
            "fd.cip",
        ]
        .map(String::from),
    );
    names
        .iter()
        .filter(|n| sonde_fields::field_scope(n) <= scope)
        .filter_map(|n| Field::parse(n).ok())
        .collect()
}

type Log = Rc<RefCell<Vec<String>>>;

/// Logs the fields of a scope at the events it takes.
struct Reader {
    fields: Vec<Field>,
    log: Log,
    /// Says it reads only `scope`, and takes only `taken` events.
    picky: bool,
    scope: Scope,
    passed: Rc<RefCell<u64>>,
}

/// The events the picky reader takes: none that changes threads (those
/// must apply all the same).
fn taken(code: u16) -> bool {
    matches!(
        code,
        c::PROCINFO_E | c::SYSCALL_READ_X | c::SYSCALL_OPEN_X | c::SCHEDSWITCH_6_E
    )
}

impl Sink for Reader {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            scope: if self.picky { self.scope } else { Scope::All },
            ..Needs::default()
        }
    }

    fn wants(&self, ev: &sonde_event::RawEvent<'_>) -> bool {
        !self.picky || taken(ev.code) || taken(ev.code + 1)
    }

    fn passed(&mut self, _ts: u64, _first_ts: u64) -> SinkResult {
        *self.passed.borrow_mut() += 1;
        Ok(())
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        if !taken(ctx.ev.code) {
            return Ok(Flow::Continue);
        }
        let mut line = format!("{} {}", ctx.num, ctx.ev.code);
        let mut v = Vec::new();
        for f in self.fields.iter() {
            v.clear();
            ctx.extract(f, &mut v);
            line.push('|');
            line.push_str(&String::from_utf8_lossy(&v));
        }
        self.log.borrow_mut().push(line);
        Ok(Flow::Continue)
    }
}

/// One run; fields are parsed afresh (some keep memos across events).
fn run(path: &std::path::Path, scope: Scope, picky: bool) -> (Vec<String>, u64, u64) {
    let fields = fields_in(scope);
    let (log, passed) = (Log::default(), Rc::new(RefCell::new(0)));
    let mut e = Engine::new(Config::default());
    e.add_sink(Box::new(Reader {
        fields,
        log: log.clone(),
        picky,
        scope,
        passed: passed.clone(),
    }));
    let report = e.run(Source::open_file(path).unwrap()).unwrap();
    let lines = log.borrow().clone();
    let n = *passed.borrow();
    (lines, n, report.handed_out)
}

/// Compares the picky runs in `scope` with full runs on every trace;
/// returns (events passed over, events read).
fn compare(scope: Scope) -> (u64, usize) {
    let n = fields_in(scope).len();
    assert!(n > 40, "{n} fields in {scope:?}");
    let (mut passed_over, mut lines) = (0, 0);
    let all = traces();
    assert!(all.len() >= 5, "{} traces", all.len());
    for path in all {
        let (full, _, full_out) = run(&path, scope, false);
        let (picky, passed, picky_out) = run(&path, scope, true);
        let name = path.display();
        assert_eq!(picky_out, full_out, "{name}: all counted");
        assert_eq!(picky.len(), full.len(), "{name}: the same events");
        for (a, b) in picky.iter().zip(&full) {
            assert_eq!(a, b, "{name} {scope:?}");
        }
        passed_over += passed;
        lines += full.len();
    }
    (passed_over, lines)
}

#[test]
fn thread_readers_read_the_same_when_fd_events_pass_over() {
    let (passed, lines) = compare(Scope::Threads);
    assert!(
        passed > 1000 && lines > 1000,
        "{passed} passed over, {lines} events read"
    );
}

#[test]
fn readers_of_all_but_memory_read_the_same_when_memory_calls_pass_over() {
    let (passed, lines) = compare(Scope::NoMemory);
    let light = passed_over_light();
    assert!(
        passed > light + 500 && lines > 1000,
        "{passed} passed over (light only: {light}), {lines} events read"
    );
}

/// Events passed over for a reader of everything: the light ones.
fn passed_over_light() -> u64 {
    traces().iter().map(|p| run(p, Scope::All, true).1).sum()
}

//! Sinks that read only the thread table (`Needs::threads_only`) let the
//! engine pass over every event that leaves threads alone; what they read
//! must not change. Every field of `sonde_fields::reads_only_threads`
//! (drawn from the registry) is read at every event such a sink takes, on
//! every shared trace, and compared with a run where nothing passes over.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use sonde_engine::{Config, Engine, Flow, Handed, Needs, Sink, SinkResult, Source};
use sonde_event::codes as c;
use sonde_fields::{Ctx, Field};

fn traces() -> Vec<PathBuf> {
    let dir = match std::env::var("SONDE_TRACES") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"),
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    v
}

/// The thread-level fields of the registry that parse without an
/// argument, and a few with one.
fn thread_fields() -> Vec<Field> {
    let mut names: Vec<String> = sonde_fields::registry::fields()
        .iter()
        .map(|f| f.name.to_string())
        .filter(|n| sonde_fields::reads_only_threads(n))
        .collect();
    names.extend(["proc.aname[2]".into(), "proc.apid[1]".into()]);
    names.iter().filter_map(|n| Field::parse(n).ok()).collect()
}

type Log = Rc<RefCell<Vec<String>>>;

/// Logs the thread-level fields at the events it takes.
struct Reader {
    fields: Rc<Vec<Field>>,
    log: Log,
    /// Says it reads only threads, and takes only `taken` events.
    picky: bool,
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
            threads_only: self.picky,
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
fn run(path: &std::path::Path, picky: bool) -> (Vec<String>, u64, u64) {
    let fields = Rc::new(thread_fields());
    let (log, passed) = (Log::default(), Rc::new(RefCell::new(0)));
    let mut e = Engine::new(Config::default());
    e.add_sink(Box::new(Reader {
        fields,
        log: log.clone(),
        picky,
        passed: passed.clone(),
    }));
    let report = e.run(Source::open_file(path).unwrap()).unwrap();
    let lines = log.borrow().clone();
    let n = *passed.borrow();
    (lines, n, report.handed_out)
}

#[test]
fn thread_readers_read_the_same_when_fd_events_pass_over() {
    let n = thread_fields().len();
    assert!(n > 40, "{n} thread-level fields");
    let (mut passed_over, mut lines) = (0, 0);
    let all = traces();
    assert!(all.len() >= 5, "{} traces", all.len());
    for path in all {
        let (full, _, full_out) = run(&path, false);
        let (picky, passed, picky_out) = run(&path, true);
        let name = path.display();
        assert_eq!(picky_out, full_out, "{name}: all counted");
        assert_eq!(picky.len(), full.len(), "{name}: the same events");
        for (a, b) in picky.iter().zip(&full) {
            assert_eq!(a, b, "{name}");
        }
        passed_over += passed;
        lines += full.len();
    }
    assert!(
        passed_over > 1000 && lines > 1000,
        "{passed_over} passed over, {lines} events read"
    );
}

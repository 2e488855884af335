//! `State::thread_epoch` and `State::thread_unchanged_since` promise
//! that an event of a thread, of a type that keeps threads
//! (`sonde_state::keeps_threads`), sees the thread-level values an earlier
//! such event of that thread saw at epoch E whenever the thread is
//! unchanged since E (in particular when the epoch is still E). Readers
//! (a `sonde top` row keyed by thread) skip re-reading them on that
//! promise. Here every thread-level field is read at every such event of
//! every shared trace and compared with what the thread's previous such
//! event read, whenever the thread is unchanged since.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use common::traces;
use sonde_engine::{Config, Engine, Flow, Handed, Needs, Sink, SinkResult, Source};
use sonde_fields::{Ctx, Field};

/// The thread-level fields: what a thread, its process, its ancestors,
/// its user and its container are, never what the event is.
const THREAD_FIELDS: &[&str] = &[
    "thread.tid",
    "thread.vtid",
    "proc.pid",
    "proc.vpid",
    "proc.ppid",
    "proc.name",
    "proc.exe",
    "proc.exepath",
    "proc.args",
    "proc.cmdline",
    "proc.exeline",
    "proc.nthreads",
    "proc.nchilds",
    "proc.pname",
    "proc.pcmdline",
    "proc.aname[2]",
    "proc.apid[2]",
    "proc.sid",
    "proc.vpgid",
    "proc.tty",
    "proc.loginshellid",
    "proc.vmsize",
    "proc.vmrss",
    "proc.vmswap",
    "thread.vmsize",
    "thread.vmrss",
    "thread.ismain",
    "user.uid",
    "user.name",
    "user.homedir",
    "group.gid",
    "group.name",
    "container.id",
    "container.name",
    "container.image",
];

#[derive(Default)]
struct Tally {
    /// Pairs of events of one thread with the thread unchanged between.
    same: u64,
    /// Pairs at different epochs whose values differed.
    moved: u64,
    epochs: std::collections::HashSet<u64>,
    bad: Vec<String>,
}

struct Reader {
    fields: Vec<Field>,
    last: HashMap<i64, (u64, String)>,
    tally: Rc<RefCell<Tally>>,
    name: String,
}

impl Sink for Reader {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        if !sonde_state::keeps_threads(ctx.ev.code) || ctx.ev.tid < 0 {
            return Ok(Flow::Continue);
        }
        let epoch = ctx.st.thread_epoch();
        let Some(thread) = ctx.st.event_thread(ctx.ev) else {
            return Ok(Flow::Continue);
        };
        let mut line = String::new();
        let mut v = Vec::new();
        for f in &self.fields {
            v.clear();
            let got = ctx.extract(f, &mut v);
            line.push_str(if got { "|" } else { "|-" });
            line.push_str(&String::from_utf8_lossy(&v));
        }
        let mut t = self.tally.borrow_mut();
        t.epochs.insert(epoch);
        if let Some((e, before)) = self.last.get(&ctx.ev.tid) {
            if ctx.st.thread_unchanged_since(thread, *e) {
                t.same += 1;
                if *before != line && t.bad.len() < 5 {
                    t.bad.push(format!(
                        "{} event {} (tid {}, epoch {e} then {epoch}):\n  before {before}\n  now    {line}",
                        self.name, ctx.num, ctx.ev.tid
                    ));
                }
            } else if *before != line {
                t.moved += 1;
            }
        }
        self.last.insert(ctx.ev.tid, (epoch, line));
        Ok(Flow::Continue)
    }
}

#[test]
fn the_same_thread_epoch_means_the_same_thread_level_values() {
    let fields: Vec<Field> = THREAD_FIELDS
        .iter()
        .map(|n| Field::parse(n).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect();
    let tally = Rc::new(RefCell::new(Tally::default()));
    let all = traces();
    assert!(all.len() >= 5, "{} traces", all.len());
    for path in all {
        let mut e = Engine::new(Config::default());
        e.add_sink(Box::new(Reader {
            fields: fields.clone(),
            last: HashMap::new(),
            tally: tally.clone(),
            name: path.display().to_string(),
        }));
        e.run(Source::open_file(&path).unwrap()).unwrap();
    }
    let t = tally.borrow();
    assert!(t.bad.is_empty(), "{}", t.bad.join("\n"));
    // the comparison ran, and epochs moved where values did
    assert!(
        t.same > 4_000 && t.moved > 200 && t.epochs.len() > 100,
        "{} pairs with the thread unchanged, {} changed, {} epochs",
        t.same,
        t.moved,
        t.epochs.len()
    );
}

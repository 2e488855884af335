//! The engine serves several sinks in one pass: each sees what it would
//! see alone; ticks follow event time; a quitting sink and a stop handle
//! end the run.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use sonde_engine::{Config, Engine, Flow, Handed, Needs, Sink, SinkResult, Source};
use sonde_fields::Ctx;
use sonde_filter::Filter;
use sonde_state::State;

fn trace(name: &str) -> PathBuf {
    let dir = match std::env::var("SONDE_TRACES") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"),
    };
    dir.join(name)
}

type Log = Rc<RefCell<Vec<String>>>;

/// Records what it is handed: number, type, thread name, shown.
struct Recorder {
    log: Log,
    quit_after: Option<usize>,
    tick_ns: Option<u64>,
}

impl Sink for Recorder {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            tick_ns: self.tick_ns,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, how: Handed) -> SinkResult<Flow> {
        let comm = ctx
            .st
            .thread(ctx.ev.tid)
            .map(|t| String::from_utf8_lossy(&t.comm).into_owned())
            .unwrap_or_default();
        let mut log = self.log.borrow_mut();
        log.push(format!("{} {} {comm} {}", ctx.num, ctx.ev.code, how.shown));
        if self.quit_after.is_some_and(|n| log.len() >= n) {
            return Ok(Flow::Quit);
        }
        Ok(Flow::Continue)
    }

    fn tick(&mut self, ts: u64, _st: &State) -> SinkResult {
        self.log.borrow_mut().push(format!("tick {ts}"));
        Ok(())
    }

    fn finish(&mut self, _st: &State) -> SinkResult {
        self.log.borrow_mut().push("finish".into());
        Ok(())
    }
}

fn recorder(quit_after: Option<usize>, tick_ns: Option<u64>) -> (Log, Box<Recorder>) {
    let log = Log::default();
    let r = Recorder {
        log: log.clone(),
        quit_after,
        tick_ns,
    };
    (log, Box::new(r))
}

fn config(filter: Option<&str>) -> Config {
    Config {
        filter: filter.map(|f| Filter::new(f).unwrap()),
        ..Config::default()
    }
}

fn run_alone(name: &str, filter: Option<&str>) -> Vec<String> {
    let (log, r) = recorder(None, None);
    let mut e = Engine::new(config(filter));
    e.add_sink(r);
    let report = e.run(Source::open_file(&trace(name)).unwrap()).unwrap();
    assert!(report.error.is_none() && !report.quit);
    let v = log.borrow().clone();
    v
}

#[test]
fn two_sinks_see_what_each_sees_alone() {
    for (name, filter) in [
        ("curl_google.scap", None),
        (
            "curl_google.scap",
            Some("evt.type in (open, connect) or proc.name=curl"),
        ),
        ("falco_connect_localhost.scap", None),
        ("test_ipv6_client.scap", Some("fd.type=ipv6")),
    ] {
        let alone = run_alone(name, filter);
        assert!(alone.len() > 10, "{name}: {} events", alone.len());
        let (a, ra) = recorder(None, None);
        let (b, rb) = recorder(None, None);
        let mut e = Engine::new(config(filter));
        e.add_sink(ra);
        e.add_sink(rb);
        let report = e.run(Source::open_file(&trace(name)).unwrap()).unwrap();
        assert_eq!(*a.borrow(), alone, "{name} {filter:?}");
        assert_eq!(*b.borrow(), alone, "{name} {filter:?}");
        assert_eq!(
            report.handed_out as usize + 1,
            alone.len(),
            "finish is last"
        );
    }
}

#[test]
fn ticks_follow_event_time() {
    let (log, r) = recorder(None, Some(100_000_000));
    let mut e = Engine::new(config(None));
    e.add_sink(r);
    e.run(Source::open_file(&trace("curl_google.scap")).unwrap())
        .unwrap();
    let log = log.borrow();
    let ticks: Vec<u64> = log
        .iter()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert!(ticks.len() >= 2, "{} ticks", ticks.len());
    for w in ticks.windows(2) {
        assert_eq!(w[1] - w[0], 100_000_000);
    }
    assert!(ticks.iter().all(|t| t % 100_000_000 == 0));
}

#[test]
fn a_quitting_sink_ends_the_run_without_finishing() {
    let (log, r) = recorder(Some(5), None);
    let (other, r2) = recorder(None, None);
    let mut e = Engine::new(config(None));
    e.add_sink(r);
    e.add_sink(r2);
    let report = e
        .run(Source::open_file(&trace("curl_google.scap")).unwrap())
        .unwrap();
    assert!(report.quit);
    assert_eq!(log.borrow().len(), 5);
    assert_eq!(
        other.borrow().len(),
        4,
        "the later sink missed the 5th event"
    );
    assert!(!other.borrow().iter().any(|l| l == "finish"));
}

#[test]
fn a_stop_handle_ends_the_run_cleanly() {
    let (log, r) = recorder(None, None);
    let mut e = Engine::new(config(None));
    e.add_sink(r);
    e.stop_handle().stop();
    let report = e
        .run(Source::open_file(&trace("curl_google.scap")).unwrap())
        .unwrap();
    assert!(!report.quit);
    assert_eq!(report.handed_out, 1);
    assert_eq!(log.borrow().last().map(String::as_str), Some("finish"));
}

#[test]
fn max_events_counts_handed_out_events() {
    let (log, r) = recorder(None, None);
    let mut e = Engine::new(Config {
        max_events: Some(7),
        ..config(Some("evt.dir=<"))
    });
    e.add_sink(r);
    let report = e
        .run(Source::open_file(&trace("curl_google.scap")).unwrap())
        .unwrap();
    assert_eq!(report.handed_out, 7);
    assert_eq!(log.borrow().len(), 8);
}

/// Wants only `read` events; logs them with their fd, counts the rest.
struct Picky {
    log: Log,
    passed: Rc<RefCell<u64>>,
}

fn read_line(ctx: &Ctx<'_, '_>) -> String {
    let mut fd = Vec::new();
    ctx.extract(&sonde_fields::Field::parse("fd.name").unwrap(), &mut fd);
    format!(
        "{} {} {} {}",
        ctx.num,
        ctx.ev.code,
        String::from_utf8_lossy(&fd),
        ctx.st.thread(ctx.ev.tid).map_or(0, |t| t.latency)
    )
}

impl Sink for Picky {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            ..Needs::default()
        }
    }

    fn wants(&self, ev: &sonde_event::RawEvent<'_>) -> bool {
        use sonde_event::codes as c;
        matches!(ev.code, c::SYSCALL_READ_E | c::SYSCALL_READ_X)
    }

    fn passed(&mut self, _ts: u64, _first_ts: u64) -> SinkResult {
        *self.passed.borrow_mut() += 1;
        Ok(())
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        if self.wants(ctx.ev) {
            self.log.borrow_mut().push(read_line(ctx));
        }
        Ok(Flow::Continue)
    }
}

/// Logs every `read` event like [`Picky`], wanting every event.
struct AllReads(Log);

impl Sink for AllReads {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        use sonde_event::codes as c;
        if matches!(ctx.ev.code, c::SYSCALL_READ_E | c::SYSCALL_READ_X) {
            self.0.borrow_mut().push(read_line(ctx));
        }
        Ok(Flow::Continue)
    }
}

#[test]
fn light_events_no_sink_wants_pass_by_and_change_nothing_read() {
    let (mut passed_over, mut reads) = (0, 0);
    for name in [
        "curl_google.scap",
        "falco_test_empty.scap",
        "falco_connect_localhost.scap",
    ] {
        let all = Log::default();
        let mut e = Engine::new(config(None));
        e.add_sink(Box::new(AllReads(all.clone())));
        let full = e.run(Source::open_file(&trace(name)).unwrap()).unwrap();

        let (log, passed) = (Log::default(), Rc::new(RefCell::new(0)));
        let mut e = Engine::new(config(None));
        e.add_sink(Box::new(Picky {
            log: log.clone(),
            passed: passed.clone(),
        }));
        let picky = e.run(Source::open_file(&trace(name)).unwrap()).unwrap();
        passed_over += *passed.borrow();
        assert_eq!(picky.handed_out, full.handed_out, "{name}: all counted");
        reads += all.borrow().len();
        assert_eq!(*log.borrow(), *all.borrow(), "{name}: reads read the same");
    }
    assert!(
        passed_over > 100 && reads > 10,
        "{passed_over} passed over, {reads} reads"
    );
}

/// Logs the events it is handed that sysdig shows: number, type, thread
/// and the event's fd name; says whether it takes only those.
struct Shown {
    log: Log,
    only: bool,
    fd_name: sonde_fields::Field,
}

impl Shown {
    fn boxed(log: &Log, only: bool) -> Box<Shown> {
        Box::new(Shown {
            log: log.clone(),
            only,
            fd_name: sonde_fields::Field::parse("fd.name").unwrap(),
        })
    }
}

impl Sink for Shown {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            shown_only: self.only,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, how: Handed) -> SinkResult<Flow> {
        if how.shown {
            let mut v = Vec::new();
            ctx.extract(&self.fd_name, &mut v);
            let comm = ctx.st.thread(ctx.ev.tid).map(|t| t.comm.clone());
            let line = format!(
                "{} {} {comm:?} {}",
                ctx.num,
                ctx.ev.code,
                String::from_utf8_lossy(&v)
            );
            self.log.borrow_mut().push(line);
        }
        Ok(Flow::Continue)
    }
}

/// One run with a [`Shown`] sink: what it logged and the report.
fn run_shown(name: &str, cfg: Config, only: bool) -> (Vec<String>, sonde_engine::Report) {
    let log = Log::default();
    let mut e = Engine::new(cfg);
    e.add_sink(Shown::boxed(&log, only));
    let report = e.run(Source::open_file(&trace(name)).unwrap()).unwrap();
    let lines = log.borrow().clone();
    (lines, report)
}

#[test]
fn events_no_sink_shows_are_left_out_unread_and_change_nothing_shown() {
    let mut left_out = 0;
    for name in [
        "falco_open-multiple-files.scap",
        "curl_google.scap",
        "falco_psp_privileged.scap",
        "test_ipv6_client.scap",
    ] {
        for filter in [None, Some("proc.name=curl"), Some("fd.name contains /etc")] {
            let (all, full) = run_shown(name, config(filter), false);
            let (shown, only) = run_shown(name, config(filter), true);
            assert_eq!(shown, all, "{name} {filter:?}: the same events shown");
            assert_eq!(only.events, full.events, "{name} {filter:?}: all counted");
            left_out += full.handed_out - only.handed_out;
        }
        // -n counts the hidden events too, -D shows them: none left out
        for cfg in [
            Config {
                max_events: Some(500),
                ..config(None)
            },
            Config {
                debug: true,
                ..config(None)
            },
        ] {
            let what = format!("{name} -n {:?} -D {}", cfg.max_events, cfg.debug);
            let again = Config {
                max_events: cfg.max_events,
                debug: cfg.debug,
                ..config(None)
            };
            let (all, full) = run_shown(name, cfg, false);
            let (shown, only) = run_shown(name, again, true);
            assert_eq!(shown, all, "{what}: the same events shown");
            assert_eq!(only.handed_out, full.handed_out, "{what}: all handed out");
        }
    }
    // (the procinfo events of these traces, 3,810 when this was written)
    assert!(left_out > 3_000, "{left_out} events left out");
}

#[test]
fn a_thread_part_rejects_what_the_whole_filter_rejects() {
    // filters whose top-level `and` has conjuncts that read only the
    // thread (per-thread verdicts), against the same filter with an `or`
    // that keeps every event in the filter's hands
    let filters = [
        "proc.name=curl and evt.dir=< and fd.typechar=4",
        "evt.type in (read, write, openat, close) and proc.name!=sh and fd.name contains /",
        "thread.tid>1 and evt.dir=> and not proc.name in (bash, node) and evt.type!=switch",
        "proc.pid!=0 and evt.failed=true",
    ];
    let mut shown = 0;
    for name in [
        "curl_google.scap",
        "falco_psp_privileged.scap",
        "test_ipv6_client.scap",
        "falco_test_empty.scap",
    ] {
        for f in filters {
            let plain = format!("({f}) or evt.num=0");
            let (gated, _) = run_shown(name, config(Some(f)), false);
            let (all, _) = run_shown(name, config(Some(&plain)), false);
            assert_eq!(gated, all, "{name}: {f}");
            shown += all.len();
        }
    }
    assert!(shown > 500, "{shown} events shown");
}

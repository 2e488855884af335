//! Checks run for real through /bin/sh: statuses, output and perfdata, a
//! hung check killed with its children at the timeout, keepalives and the
//! leaving keepalive, subscriptions.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sonde_checks::{run_check, AgentEvent, CheckConfig, Scheduler, SchedulerConfig, Status};

fn check(name: &str, command: &str, timeout_s: f64) -> CheckConfig {
    CheckConfig {
        name: name.into(),
        command: command.into(),
        interval_s: 0.2,
        timeout_s,
        subscriptions: vec![],
    }
}

#[test]
fn exit_2_is_critical_with_output_and_perfdata() {
    let r = run_check(&check(
        "disk",
        "echo 'DISK CRITICAL - /data at 95% | used=95%;80;90;0;100 free=5.5GB;;;0'; echo 'detail'; exit 2",
        5.0,
    ));
    assert_eq!(r.status, Status::Critical, "{r:?}");
    assert_eq!(r.exit_code, Some(2));
    assert_eq!(r.output, "DISK CRITICAL - /data at 95%");
    assert_eq!(r.long_output, "detail");
    assert!(!r.timed_out);
    assert_eq!(r.perfdata.len(), 2);
    assert_eq!(r.perfdata[0].label, "used");
    assert_eq!(r.perfdata[0].value, Some(95.0));
    assert_eq!(r.perfdata[0].uom, "%");
    assert_eq!(r.perfdata[0].warn.as_deref(), Some("80"));
    assert_eq!(r.perfdata[0].crit.as_deref(), Some("90"));
    assert_eq!(r.perfdata[0].max, Some(100.0));
    assert_eq!(
        (r.perfdata[1].value, r.perfdata[1].uom.as_str()),
        (Some(5.5), "GB")
    );
    // as the event that travels
    let json = serde_json::to_value(AgentEvent::Check(r)).unwrap();
    assert_eq!(json["kind"], "check");
    assert_eq!(json["status"], "critical");
    assert_eq!(json["perfdata"][0]["label"], "used");
}

#[test]
fn exit_codes_map_to_statuses() {
    for (code, want) in [
        (0, Status::Ok),
        (1, Status::Warning),
        (2, Status::Critical),
        (3, Status::Unknown),
        (7, Status::Unknown),
    ] {
        let r = run_check(&check("c", &format!("echo hi; exit {code}"), 5.0));
        assert_eq!((r.status, r.exit_code), (want, Some(code)), "{r:?}");
        assert_eq!(r.output, "hi");
    }
    let r = run_check(&check("c", "kill -9 $$", 5.0));
    assert_eq!((r.status, r.exit_code), (Status::Unknown, None));
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // a zombie waiting for its reaper is gone as far as running goes
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn hung_check_is_killed_at_its_timeout_with_its_children() {
    let dir = std::env::temp_dir().join(format!("sonde-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("child.pid");
    let cmd = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let t0 = Instant::now();
    let r = run_check(&check("hang", &cmd, 1.0));
    let took = t0.elapsed();
    assert!(r.timed_out, "{r:?}");
    assert_eq!(r.status, Status::Critical);
    assert!(r.output.contains("timed out"), "{}", r.output);
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(3000),
        "took {took:?}"
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(2);
    while alive(pid) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "the check's child {pid} still runs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_perfdata_does_not_panic() {
    let r = run_check(&check(
        "junk",
        "printf 'WARN | =5 a=x b=5zz ;;; \\047bad=1 good=3ms;1;2\\n'; exit 1",
        5.0,
    ));
    assert_eq!(r.status, Status::Warning);
    assert_eq!(r.output, "WARN");
    // only the well-formed item survives; nothing panicked
    assert!(
        r.perfdata.iter().all(|m| m.label != "a" && m.label != "b"),
        "{r:?}"
    );
    let r = run_check(&check("bin", "head -c 3000 /dev/urandom; exit 0", 5.0));
    assert_eq!(r.status, Status::Ok);
}

#[test]
fn scheduler_runs_subscribed_checks_and_says_it_leaves() {
    let (tx, rx) = mpsc::channel();
    let mut web = check("web-ok", "echo OK | rt=0.01s", 5.0);
    web.subscriptions = vec!["web".into()];
    let mut db = check("db-ok", "echo OK", 5.0);
    db.subscriptions = vec!["db".into()];
    let sched = Scheduler::start(
        SchedulerConfig {
            agent: "host-1".into(),
            subscriptions: vec!["web".into()],
            checks: vec![web, db, check("any", "exit 1", 5.0)],
            keepalive: Duration::from_millis(200),
        },
        tx,
    );
    assert_eq!(sched.running(), ["web-ok", "any"]);
    std::thread::sleep(Duration::from_millis(1100));
    sched.shutdown();
    let evs: Vec<AgentEvent> = rx.try_iter().collect();
    let runs = |n: &str| {
        evs.iter()
            .filter(|e| matches!(e, AgentEvent::Check(r) if r.check == n))
            .count()
    };
    assert!(runs("web-ok") >= 3, "{evs:?}");
    assert!(runs("any") >= 3);
    assert_eq!(runs("db-ok"), 0, "a check of another subscription ran");
    let kas: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Keepalive(k) => Some(k),
            _ => None,
        })
        .collect();
    assert!(kas.len() >= 4, "{kas:?}");
    assert!(kas[..kas.len() - 1]
        .iter()
        .all(|k| !k.leaving && k.agent == "host-1"));
    let last = evs.last().unwrap();
    assert!(
        matches!(last, AgentEvent::Keepalive(k) if k.leaving && k.interval_ms == 200),
        "{last:?}"
    );
}

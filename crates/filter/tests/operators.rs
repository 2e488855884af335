//! Every operator and transformer on synthetic events, `event_types`, and
//! the error messages.

use std::collections::BTreeSet;

use sonde_event::{codes, RawEvent};
use sonde_fields::{Ctx, TimeFmt};
use sonde_filter::Filter;
use sonde_output::RenderOpts;
use sonde_state::State;

/// An open exit event (`fd`, `name`, flags, mode, dev, ino).
fn open_x(fd: i64, name: &str) -> Vec<u8> {
    let mut name = name.as_bytes().to_vec();
    name.push(0);
    let params: Vec<Vec<u8>> = vec![
        fd.to_le_bytes().to_vec(),
        name,
        1u32.to_le_bytes().to_vec(),
        0o644u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        42u64.to_le_bytes().to_vec(),
    ];
    let mut body = Vec::new();
    for p in &params {
        body.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in &params {
        body.extend_from_slice(p);
    }
    body
}

/// The view of event number `num` at time 1,000 (the capture's first).
fn ctx_of<'a, 'e>(
    st: &'a State,
    ev: &'a RawEvent<'e>,
    opts: &'a RenderOpts,
    num: u64,
) -> Ctx<'a, 'e> {
    Ctx {
        st,
        ev,
        num,
        first_ts: 1_000,
        prev_ts: 1_000,
        opts,
        time_fmt: TimeFmt::Human,
        lookups: Default::default(),
    }
}

/// Runs `filter` on an open exit of `name` returning `fd`, as event number 7.
fn run_on(filter: &str, fd: i64, name: &str) -> bool {
    let f = Filter::new(filter).unwrap_or_else(|e| panic!("{e}"));
    let body = open_x(fd, name);
    let ev = RawEvent::from_parts(1_000, 100, codes::SYSCALL_OPEN_X, 6, &body, false).unwrap();
    let mut st = State::new();
    st.process(&ev);
    let opts = RenderOpts::default();
    let ctx = ctx_of(&st, &ev, &opts, 7);
    f.matches(&ctx)
}

fn run(filter: &str) -> bool {
    run_on(filter, 3, "/etc/passwd")
}

#[test]
fn event_fields_and_comparisons() {
    for (f, want) in [
        ("evt.type=open", true),
        ("evt.type==open", true),
        ("evt.type!=open", false),
        ("evt.type=read", false),
        ("evt.type in (read, open)", true),
        ("evt.type in (read, write)", false),
        ("evt.type intersects (open)", true),
        ("evt.type startswith op", true),
        ("evt.type contains pe", true),
        ("evt.dir='<'", true),
        ("evt.dir=>", false),
        ("evt.num=7", true),
        ("evt.num!=7", false),
        ("evt.num<8", true),
        ("evt.num<7", false),
        ("evt.num<=7", true),
        ("evt.num>6", true),
        ("evt.num>7", false),
        ("evt.num>=7", true),
        ("evt.num=0x7", true),
        ("evt.num in (1, 2, 7)", true),
        ("evt.num in (1, 2)", false),
        ("evt.rawres=3", true),
        ("evt.rawres<0", false),
        ("evt.rawres>=-1", true),
        ("evt.failed=false", true),
        ("evt.failed=true", false),
        ("evt.arg.name=/etc/passwd", true),
        ("evt.arg[1]=/etc/passwd", true),
        ("evt.rawarg.fd=3", true),
        ("evt.arg.fd contains /etc/passwd", true),
    ] {
        assert_eq!(run(f), want, "{f}");
    }
}

#[test]
fn string_operators() {
    for (f, want) in [
        ("fd.name=/etc/passwd", true),
        ("fd.name=\"/etc/passwd\"", true),
        ("fd.name='/etc/passwd'", true),
        ("fd.name!=/etc/passwd", false),
        ("fd.name contains etc/pa", true),
        ("fd.name contains shadow", false),
        ("fd.name icontains ETC/PA", true),
        ("fd.name bcontains 706173", true),
        ("fd.name bcontains 787878", false),
        ("fd.name startswith /etc/", true),
        ("fd.name startswith /usr", false),
        ("fd.name bstartswith 2f6574", true),
        ("fd.name endswith passwd", true),
        ("fd.name endswith shadow", false),
        ("fd.name glob /etc/*", true),
        ("fd.name glob /etc/?asswd", true),
        ("fd.name glob /usr/*", false),
        ("fd.name iglob /ETC/*", true),
        ("fd.name regex '/etc/p.*'", true),
        // regex is a full match, as in libs
        ("fd.name regex 'etc'", false),
        ("fd.name in (/etc/shadow, /etc/passwd)", true),
        ("fd.name in (/etc/shadow)", false),
        ("fd.name intersects (/etc/passwd)", true),
        ("fd.name pmatch (/etc)", true),
        ("fd.name pmatch (/etc/)", true),
        ("fd.name pmatch (/et)", false),
        ("fd.name pmatch (/usr, /etc/passwd)", true),
        ("fd.name > /a", true),
        ("fd.name < /a", false),
        ("fd.name exists", true),
        ("fd.directory=/etc", true),
        ("fd.filename=passwd", true),
        ("fd.typechar=f", true),
        ("fd.num=3", true),
    ] {
        assert_eq!(run(f), want, "{f}");
    }
    let big: Vec<String> = (0..50).map(|i| format!("/x/{i}")).collect();
    let f = format!("fd.name in ({}, /etc/passwd)", big.join(", "));
    assert!(run(&f));
    let f = format!("fd.name in ({})", big.join(", "));
    assert!(!run(&f));
}

#[test]
fn missing_values_and_logic() {
    // the thread has no name: every comparison on it is false
    for (f, want) in [
        ("user.name exists", false),
        ("user.name=x", false),
        ("user.name!=x", false),
        ("not user.name=x", true),
        ("not user.name exists", true),
        ("container.image exists", false),
        ("span.id=1", false),
        ("evt.type=open and fd.num=3", true),
        ("evt.type=open and fd.num=4", false),
        ("evt.type=read or fd.num=3", true),
        ("evt.type=read or fd.num=4", false),
        ("not (evt.type=read or fd.num=4)", true),
        ("not evt.type=read and not fd.num=4", true),
        ("(evt.type=open)", true),
        ("((evt.type=open) and (fd.num=3))", true),
        ("not(evt.type=open)", false),
        ("evt.type=read or evt.type=open and fd.num=4", false),
        ("evt.type=open or evt.type=read and fd.num=4", true),
    ] {
        assert_eq!(run(f), want, "{f}");
    }
}

#[test]
fn transformers_and_val() {
    for (f, want) in [
        ("toupper(fd.name)=/ETC/PASSWD", true),
        ("tolower(toupper(fd.name))=/etc/passwd", true),
        ("tolower(fd.name) contains PASS", false),
        ("basename(fd.name)=passwd", true),
        ("len(fd.name)=11", true),
        ("len(fd.name)>20", false),
        ("len(basename(fd.name)) in (6, 7)", true),
        ("fd.name = val(evt.arg.name)", true),
        ("fd.name != val(evt.arg.name)", false),
        ("fd.num = val(evt.rawres)", true),
        ("fd.num < val(evt.num)", true),
        ("basename(fd.name) = basename(evt.arg.name)", true),
    ] {
        assert_eq!(run(f), want, "{f}");
    }
    assert!(run_on("b64(fd.name)=hello", 3, "aGVsbG8="));
    assert!(!run_on("b64(fd.name)=hello", 3, "/not base64"));
}

#[test]
fn event_types() {
    let open: BTreeSet<u16> = Filter::new("evt.type=open").unwrap().event_types().unwrap();
    assert!(open.contains(&codes::SYSCALL_OPEN_E) && open.contains(&codes::SYSCALL_OPEN_X));
    assert!(!open.contains(&codes::SYSCALL_READ_X));
    let both = Filter::new("evt.type in (open, read) and proc.name=cat")
        .unwrap()
        .event_types()
        .unwrap();
    assert!(both.contains(&codes::SYSCALL_READ_X) && both.contains(&codes::SYSCALL_OPEN_X));
    let narrowed = Filter::new("evt.type in (open, read) and evt.type=read")
        .unwrap()
        .event_types()
        .unwrap();
    assert!(!narrowed.contains(&codes::SYSCALL_OPEN_X));
    assert!(Filter::new("evt.type=open or proc.name=cat")
        .unwrap()
        .event_types()
        .is_none());
    assert!(Filter::new("not evt.type=open")
        .unwrap()
        .event_types()
        .is_none());
    assert!(Filter::new("proc.name=cat")
        .unwrap()
        .event_types()
        .is_none());
}

/// Runs `f` on a parameterless event of every code of the table, with
/// an empty state.
fn each_code(mut f: impl FnMut(u16, &Ctx<'_, '_>)) {
    let st = State::new();
    let opts = RenderOpts::default();
    for code in 0..sonde_event::EVENTS.len() as u16 {
        let Ok(ev) = RawEvent::from_parts(1_000, 100, code, 0, &[], false) else {
            continue;
        };
        let ctx = ctx_of(&st, &ev, &opts, 1);
        f(code, &ctx);
    }
}

/// Filters on fields that depend only on the event code get their codes
/// from the same values the evaluation reads: for every code of the table,
/// the code is in `event_types` exactly when an event of it passes.
#[test]
fn code_only_fields_decide_event_types_per_code() {
    for text in [
        "evt.is_io=true",
        "evt.is_io=false",
        "evt.is_io in (true)",
        "evt.is_io_read=true",
        "evt.is_io_write!=true",
        "evt.dir=<",
        "evt.dir in (>)",
        "evt.dir!=<",
        "evt.is_io=true and evt.dir=<",
        "evt.is_io_read=true and evt.type in (read, readv, pread)",
    ] {
        let f = Filter::new(text).unwrap();
        let set = f
            .event_types()
            .unwrap_or_else(|| panic!("{text}: no code set"));
        let mut passed = 0;
        each_code(|code, ctx| {
            let pass = f.matches(ctx);
            passed += pass as usize;
            let generic = code == codes::GENERIC_E || code == codes::GENERIC_X;
            // generic events stay in evt.type sets whatever their syscall
            if !(generic && text.contains("evt.type")) {
                assert_eq!(set.contains(&code), pass, "{text}: code {code}");
            }
        });
        assert!(passed > 0, "{text}: no event passes");
    }
    let read_x = Filter::new("evt.is_io=true and evt.dir=<")
        .unwrap()
        .event_types()
        .unwrap();
    assert!(read_x.contains(&codes::SYSCALL_READ_X) && !read_x.contains(&codes::SYSCALL_READ_E));
    assert!(!read_x.contains(&codes::SYSCALL_OPEN_X));
    for text in [
        "not evt.is_io=true",
        "evt.is_io exists",
        "evt.is_io=true or proc.name=cat",
    ] {
        assert!(Filter::new(text).unwrap().event_types().is_none(), "{text}");
    }
}

/// The fields of the event's fd have a value only on events that work on
/// an fd: a filter that needs one of them accepts only those codes, and
/// nothing narrows under `not` or beside a clause that may take any event.
#[test]
fn fd_fields_narrow_event_types_to_fd_events() {
    use sonde_event::flags::{CREATES_FD, DESTROYS_FD, USES_FD};
    let fd_event = |c: u16| {
        let i = &sonde_event::EVENTS[c as usize];
        (i.flags | i.old_flags) & (USES_FD | CREATES_FD | DESTROYS_FD) != 0
    };
    for text in [
        "fd.name contains .so",
        "fd.num=3",
        "fd.typechar=f",
        "fd.sport=80 or fd.cport=53",
        "fd.port=443",
        "fd.ip=127.0.0.1",
        "fd.directory exists",
        "fd.name != /etc/passwd",
    ] {
        let set = Filter::new(text).unwrap().event_types().unwrap();
        let all: Vec<u16> = (0..sonde_event::EVENTS.len() as u16).collect();
        assert!(
            all.iter().all(|&c| set.contains(&c) == fd_event(c)),
            "{text}"
        );
        assert!(set.contains(&codes::SYSCALL_READ_X), "{text}");
        assert!(!set.contains(&codes::PROCINFO_E), "{text}");
    }
    let narrowed = Filter::new("fd.name contains .so and evt.type in (read, execve)")
        .unwrap()
        .event_types()
        .unwrap();
    assert!(narrowed.contains(&codes::SYSCALL_READ_X));
    assert!(!narrowed
        .iter()
        .any(|&c| sonde_event::EVENTS[c as usize].name == "execve"));
    for text in [
        "not fd.name contains .so",
        "fd.name contains .so or proc.name=cat",
        "tolower(fd.name) contains .so",
    ] {
        let f = Filter::new(text);
        assert!(f.is_err() || f.unwrap().event_types().is_none(), "{text}");
    }
}

/// Comparisons of code-only fields are decided per code from a table
/// built at compile time: for every code, every such field, operator and
/// value, the verdict equals the comparison of the field's extracted text.
#[test]
fn code_only_comparisons_agree_with_extracted_text() {
    let cases = [
        ("evt.is_io", ["true", "false"]),
        ("evt.is_io_read", ["true", "false"]),
        ("evt.is_io_write", ["true", "false"]),
        ("evt.dir", ["<", ">"]),
    ];
    let mut checked = 0;
    for (name, vals) in cases {
        let field = sonde_fields::Field::parse(name).unwrap();
        for v in vals {
            for op in ["=", "!="] {
                let f = Filter::new(&format!("{name}{op}{v}")).unwrap();
                each_code(|code, ctx| {
                    let mut text = Vec::new();
                    let want =
                        ctx.extract(&field, &mut text) && ((text == v.as_bytes()) == (op == "="));
                    assert_eq!(f.matches(ctx), want, "{name}{op}{v}: code {code}");
                    checked += 1;
                });
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn typed_literals() {
    for f in [
        "fd.sip=10.0.0.1",
        "fd.net=10.0.0.0/8",
        "fd.sip in (10.0.0.0/8, ::1, 2001:db8::/32)",
        "fd.sport=80",
        "fd.port in (80, 443)",
        "evt.num>0x10",
        "evt.rawres>-5",
        "thread.ismain=true",
        "evt.latency>=1000",
        "proc.aname[2]=bash",
        "proc.apid[1]>0",
        "thread.cgroup[memory] contains docker",
        "k8s.pod.label.app=nginx",
        "container.mount.dest[/var] exists",
        "evt.rawarg.flags>0",
        "evt.type.is.open=1",
        "proc.env contains HOME",
        "proc.env[HOME] startswith /home",
        "fd.types intersects (ipv4, ipv6)",
        "proc.aexe[1] endswith sh",
    ] {
        Filter::new(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

/// (filter, byte position, message fragment)
#[test]
fn error_messages() {
    for (f, pos, msg) in [
        ("proc.nme=cat", 0, "unknown field 'proc.nme'"),
        ("evt.type=open and foo.bar=1", 18, "unknown field 'foo.bar'"),
        (
            "evt.num contains 3",
            8,
            "'contains' operator not supported for numeric",
        ),
        ("evt.failed glob t*", 11, "not supported for boolean"),
        ("fd.sip startswith 10", 7, "not supported for ip address"),
        ("evt.buffer icontains x", 11, "not supported for buffer"),
        ("(evt.type=open", 0, "unbalanced '('"),
        ("evt.type=open)", 13, "unbalanced ')'"),
        ("(evt.type=open and (fd.num=3)", 0, "unbalanced '('"),
        ("fd.name in (a, b", 11, "missing ')'"),
        ("evt.num=abc", 8, "bad value 'abc': expected an integer"),
        ("evt.num=1.5", 8, "expected an integer"),
        ("fd.sip=1.2.3", 7, "expected an IP address"),
        ("fd.net=10.0.0.0/33", 7, "expected an IP address"),
        ("thread.ismain=maybe", 14, "expected true or false"),
        ("fd.sport=-70000", 9, "in range"),
        ("fd.name bcontains xyz", 18, "hexadecimal"),
        ("fd.name regex '('", 14, "bad regular expression"),
        ("fd.name='abc", 8, "unterminated"),
        ("fd.name=", 8, "expected a value"),
        ("fd.name", 7, "expected an operator"),
        ("fd.name ~ x", 8, "expected an operator"),
        ("evt.type=open and", 17, "expected a condition"),
        (
            "evt.type=open or or x",
            17,
            "expected a condition, found 'or'",
        ),
        ("", 0, "empty filter"),
        ("my_macro", 0, "'my_macro' is not a field"),
        ("proc.name in my_list", 13, "unknown list 'my_list'"),
        ("evt.arg exists", 0, "requires an argument"),
        ("proc.name[1]=x", 0, "does not take an argument"),
        ("proc.aname[x]=bash", 0, "numeric index"),
        ("proc.aname[2=bash", 10, "missing ']'"),
        ("upper(proc.name)=X", 0, "unknown transformer 'upper'"),
        ("len(evt.num)=1", 0, "not supported for type"),
        ("toupper(proc.name=X", 0, "missing ')'"),
        ("fd.name=val(fd.name", 8, "missing ')'"),
        ("evt.type=open foo", 14, "unexpected text"),
        ("evt.num>1 ?", 10, "unexpected text"),
    ] {
        let e = match Filter::new(f) {
            Ok(_) => panic!("'{f}' should be rejected"),
            Err(e) => e,
        };
        assert_eq!(e.pos, pos, "{f}: {e}");
        assert!(e.msg.contains(msg), "{f}: got '{}', want '{msg}'", e.msg);
        // three lines: the filter, the caret under the fault, the message
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        assert_eq!(lines[0], f);
        assert_eq!(lines[1], format!("{}^", " ".repeat(pos)));
        assert!(lines[2].contains(&format!("position {pos}")), "{shown}");
    }
}

#[test]
fn equalities_of_one_field_merged_into_a_list_keep_their_meaning() {
    // `not not x` is never merged: the reference for each merged form
    let cases = [
        (
            "fd.typechar=4 or fd.typechar=6",
            "not not fd.typechar=4 or not not fd.typechar=6",
        ),
        (
            "fd.typechar=4 or fd.typechar=f",
            "not not fd.typechar=4 or not not fd.typechar=f",
        ),
        (
            "fd.name=/tmp/x or fd.name in (/a, /etc/passwd)",
            "not not fd.name=/tmp/x or not not fd.name in (/a, /etc/passwd)",
        ),
        (
            "fd.num=4 or fd.num=3",
            "not not fd.num=4 or not not fd.num=3",
        ),
        (
            "fd.num=4 or fd.num in (5, 6)",
            "not not fd.num=4 or not not fd.num in (5, 6)",
        ),
        (
            "fd.num=4 or proc.name=x or fd.num=3",
            "not not fd.num=4 or proc.name=x or not not fd.num=3",
        ),
        (
            "fd.name=/a or fd.name contains passwd",
            "not not fd.name=/a or fd.name contains passwd",
        ),
        (
            "fd.sport=1 or fd.sport=2",
            "not not fd.sport=1 or not not fd.sport=2",
        ),
        (
            "fd.name in (a1, a2, a3, a4, a5, a6, a7, a8) or fd.name=/etc/passwd",
            "not not fd.name in (a1, a2, a3, a4, a5, a6, a7, a8) or not not fd.name=/etc/passwd",
        ),
    ];
    for (merged, reference) in cases {
        for (fd, name) in [(3, "/etc/passwd"), (4, "/tmp/x"), (-2, "/a"), (5, "/b")] {
            assert_eq!(
                run_on(merged, fd, name),
                run_on(reference, fd, name),
                "{merged} on fd {fd} {name}"
            );
        }
    }
}

#[test]
fn unknown_event_types_warn_and_select_nothing() {
    for (f, pos, name) in [
        ("evt.type=opne", 9, "opne"),
        ("evt.type in (open, reed)", 19, "reed"),
        ("evt.type=openat3 or evt.type=open", 9, "openat3"),
    ] {
        let filter = Filter::new(f).unwrap_or_else(|e| panic!("'{f}' refused: {e}"));
        let w = filter.warnings();
        assert_eq!(w.len(), 1, "{f}");
        assert_eq!(w[0].pos, pos, "{f}");
        assert!(
            w[0].msg.contains(&format!("unknown event type '{name}'")),
            "{}",
            w[0].msg
        );
    }
    assert!(Filter::new("evt.type=open").unwrap().warnings().is_empty());
}

/// `evt.type` of a generic `syscall` event is its syscall's name, decided
/// per syscall id once: for every id (and ids no syscall has), every
/// filter agrees with the comparison done here on the extracted name.
#[test]
fn evt_type_of_generic_events_follows_their_syscall_name() {
    let ty = sonde_fields::Field::parse("evt.type").unwrap();
    type Check = (&'static str, fn(&str) -> bool);
    let checks: [Check; 5] = [
        ("evt.type=getppid", |n| n == "getppid"),
        ("evt.type contains time", |n| n.contains("time")),
        ("evt.type startswith clock", |n| n.starts_with("clock")),
        ("evt.type in (mmap, <unknown>, epoll_ctl)", |n| {
            ["mmap", "<unknown>", "epoll_ctl"].contains(&n)
        }),
        ("evt.type!=brk", |n| n != "brk"),
    ];
    let filters: Vec<Filter> = checks
        .iter()
        .map(|(t, _)| Filter::new(t).unwrap())
        .collect();
    let max = sonde_event::SYSCALL_NAMES
        .iter()
        .map(|&(id, _)| id)
        .max()
        .unwrap();
    let (st, opts) = (State::new(), RenderOpts::default());
    let mut seen = BTreeSet::new();
    for id in (0..=max as u64 + 3).chain([70_000, u64::from(u32::MAX) + 2]) {
        for code in [codes::GENERIC_E, codes::GENERIC_X] {
            let mut body = vec![8, 0, 2, 0];
            body.extend_from_slice(&id.to_le_bytes());
            body.extend_from_slice(&[0, 0]);
            let ev = RawEvent::from_parts(1_000, 100, code, 2, &body, false).unwrap();
            let ctx = ctx_of(&st, &ev, &opts, 1);
            let mut name = Vec::new();
            ctx.extract(&ty, &mut name);
            let name = String::from_utf8(name).unwrap();
            for ((text, want), f) in checks.iter().zip(&filters) {
                assert_eq!(
                    f.matches(&ctx),
                    want(&name),
                    "{text} on syscall {id} ({name})"
                );
            }
            seen.insert(name);
        }
    }
    assert!(seen.contains("getppid") && seen.contains("<unknown>") && seen.len() > 200);
}

/// `evt.failed` is false on events without a result: comparisons that
/// `false` fails narrow a filter to the codes that have one (by either
/// table), the others to nothing; each code's verdict agrees.
#[test]
fn evt_failed_narrows_event_types_to_codes_with_a_result() {
    let result = |c: u16| sonde_fields::has_result(c, false) || sonde_fields::has_result(c, true);
    for text in [
        "evt.failed=true",
        "evt.failed in (true)",
        "evt.failed!=false",
    ] {
        let f = Filter::new(text).unwrap();
        let set = f.event_types().unwrap_or_else(|| panic!("{text}"));
        let all = 0..sonde_event::EVENTS.len() as u16;
        assert!(all.clone().all(|c| set.contains(&c) == result(c)), "{text}");
        assert!(set.contains(&codes::SYSCALL_READ_X) && !set.contains(&codes::SYSCALL_READ_E));
        // no parameters: nothing fails
        each_code(|code, ctx| assert!(!f.matches(ctx), "{text}: code {code}"));
    }
    for text in ["evt.failed=false", "evt.failed!=true", "evt.failed exists"] {
        assert!(Filter::new(text).unwrap().event_types().is_none(), "{text}");
    }
}

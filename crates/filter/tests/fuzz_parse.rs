//! A stable fuzz run: thousands of random and mutated filter strings must
//! be accepted or rejected with an error, never panic.

use sonde_filter::rules::Rules;
use sonde_filter::{parse, Filter};
use sonde_fuzzkit::Rng;

const SEEDS: &[&str] = &[
    "evt.type=open and fd.name contains /etc",
    "not (proc.name in (bash, sh) or proc.aname[2]=sshd)",
    "fd.sip=10.0.0.0/8 and fd.sport>=1024",
    "tolower(proc.name) glob 'ba*' and len(fd.name) > 3",
    "fd.name = val(evt.arg.name) or evt.buffer bcontains 0a0b",
    "evt.rawres<0 and evt.type in (\"open\", 'openat')",
    "thread.cgroup[memory] exists and k8s.pod.label.app=x",
    "proc.cmdline regex '^a.*b$' and fd.name pmatch (/etc, /usr)",
];

const TOKENS: &[&str] = &[
    " ",
    "(",
    ")",
    "[",
    "]",
    ",",
    "'",
    "\"",
    "\\",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "in",
    "exists",
    "contains",
    "icontains",
    "bcontains",
    "glob",
    "iglob",
    "regex",
    "pmatch",
    "intersects",
    "startswith",
    "endswith",
    "val(",
    "tolower(",
    "len(",
    "b64(",
    "basename(",
    "evt.type",
    "evt.arg.",
    "evt.arg[",
    "proc.aname[",
    "fd.name",
    "fd.sip",
    "evt.num",
    "thread.ismain",
    "0x",
    "-1",
    "1.5",
    "::1",
    "10.0.0.0/8",
    "/",
    "é",
    "\u{0}",
    "\t",
    "open",
    "macro_x",
];

fn check(s: &str) {
    let _ = parse(s);
    if let Err(e) = Filter::new(s) {
        // rendering the error must not panic either
        let _ = e.to_string();
        assert!(e.pos <= s.len());
    }
}

#[test]
fn random_filters_never_panic() {
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);
    for _ in 0..3000 {
        let n = 1 + rng.below(12);
        let s: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        check(&s);
    }
}

#[test]
fn mutated_filters_never_panic() {
    let mut rng = Rng::new(0xfeed_5678_0000_0002);
    for _ in 0..3000 {
        let mut b: Vec<u8> = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len() + 1);
            match rng.below(4) {
                0 if i < b.len() => {
                    b.remove(i);
                }
                1 => b.insert(i, rng.next() as u8),
                2 => {
                    let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    b.splice(i..i, t.iter().copied());
                }
                _ => b.truncate(i),
            }
        }
        check(&String::from_utf8_lossy(&b));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}evt.num=1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Filter::new(&deep).is_err());
    let nots = format!("{}evt.num=1", "not ".repeat(5000));
    assert!(Filter::new(&nots).is_err());
    let t = format!("{}proc.name{}=x", "tolower(".repeat(5000), ")".repeat(5000));
    assert!(Filter::new(&t).is_err());
}

#[test]
fn rules_files_never_panic() {
    for text in [
        "- macro: a\n  condition: a\n- rule: r\n  condition: a\n",
        "- list: l\n  items: [l]\n- rule: r\n  condition: proc.name in (l)\n",
        "- rule: r\n  condition: proc.name in nolist\n",
        "not yaml: [",
        "- macro: m\n  condition: evt.type=open\n- macro: m\n  condition: or evt.type=read\n  append: true\n",
    ] {
        let mut r = Rules::new();
        if r.load_str(text).is_ok() {
            if let Ok(rules) = r.rules() {
                for rule in &rules {
                    let _ = r.compile(rule);
                }
            }
        }
    }
}

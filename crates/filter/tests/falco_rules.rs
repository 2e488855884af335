//! Every condition of the real Falco rules files, with macros and lists
//! expanded, parses and compiles.

use std::path::PathBuf;

use sonde_filter::rules::Rules;
use sonde_filter::Filter;

fn reference(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference")
        .join(name);
    p.exists().then_some(p)
}

#[test]
fn falco_rules_compile() {
    let mut total_rules = 0;
    let mut total_macros = 0;
    let mut failures = Vec::new();
    for file in ["falco_rules.yaml", "falco-incubating_rules.yaml"] {
        let Some(path) = reference(file) else {
            eprintln!("skipping {file}: not found");
            continue;
        };
        let mut rules = Rules::new();
        // the incubating file builds on the stable one's macros and lists
        if file != "falco_rules.yaml" {
            if let Some(base) = reference("falco_rules.yaml") {
                rules
                    .load_str(&std::fs::read_to_string(base).unwrap())
                    .unwrap();
            }
        }
        let before = rules.rules().unwrap().len();
        rules
            .load_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap();
        // this file's macros on their own
        let mut own = Rules::new();
        own.load_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap();
        for name in own.macro_names().to_vec() {
            let cond = rules.macros[&name].clone();
            total_macros += 1;
            match rules.expand_condition(&cond) {
                Ok(ast) => {
                    if let Err(e) = Filter::from_ast(&ast, &cond) {
                        failures.push(format!("{file}: macro {name}:\n{e}"));
                    }
                }
                Err(e) => failures.push(format!("{file}: macro {name}: {e}")),
            }
        }
        match rules.rules() {
            Ok(list) => {
                for r in list.iter().skip(before) {
                    total_rules += 1;
                    match rules.compile(r) {
                        Ok(f) => {
                            let _ = f.event_types();
                        }
                        Err(e) => failures.push(format!("{file}: {e}")),
                    }
                }
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    eprintln!("falco: {total_rules} rule conditions, {total_macros} macros compiled");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // 25 + 31 rules and 87 + 82 macros in the two files
    if reference("falco_rules.yaml").is_some() && reference("falco-incubating_rules.yaml").is_some()
    {
        assert_eq!((total_rules, total_macros), (56, 169));
    }
}

#[test]
fn errors_point_into_the_macro_at_fault() {
    let mut rules = Rules::new();
    rules
        .load_str(
            "- list: shells\n  items: [bash, sh]\n\
             - macro: spawned\n  condition: evt.type=execve and proc.nmae in (shells)\n\
             - rule: Shell\n  condition: spawned and proc.pname exists\n  output: x\n  priority: INFO\n",
        )
        .unwrap();
    let rule = &rules.rules().unwrap()[0];
    let err = rules.compile(rule).unwrap_err().to_string();
    assert!(err.starts_with("macro 'spawned':"), "{err}");
    assert!(
        err.contains("evt.type=execve and proc.nmae in (shells)\n                    ^"),
        "{err}"
    );
    assert!(err.contains("unknown field 'proc.nmae'"), "{err}");
}

#[test]
fn lists_macros_and_appends_expand() {
    let mut rules = Rules::new();
    rules
        .load_str(
            "- list: a\n  items: [bash]\n\
             - list: b\n  items: [a, \"zsh\"]\n\
             - list: b\n  items: [fish]\n  append: true\n\
             - macro: m\n  condition: proc.name in (b)\n\
             - macro: m\n  condition: or proc.name=dash\n  override:\n    condition: append\n\
             - rule: R\n  condition: evt.type=execve and m\n  output: x\n  priority: INFO\n",
        )
        .unwrap();
    let rule = &rules.rules().unwrap()[0];
    let f = rules.compile(rule).unwrap();
    let types = f.event_types().unwrap();
    assert!(types.contains(&sonde_event::codes::SYSCALL_EXECVE_19_X));
    let printed = format!("{:?}", rule.expanded);
    for name in ["bash", "zsh", "fish", "dash"] {
        assert!(printed.contains(name), "{name} missing from {printed}");
    }
}

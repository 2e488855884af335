//! Several sinks on one pass of the engine (printing, `-w`, `-S`) produce
//! what each produces alone, on every shared trace, with and without a
//! capture filter.

mod trace_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trace_common::{scap_files, traces_dir};

fn traces() -> Vec<PathBuf> {
    let v = scap_files(&traces_dir()).expect("shared traces");
    assert!(!v.is_empty(), "no traces in {}", traces_dir().display());
    v
}

fn sonde(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .env("TZ", "UTC")
        .args(args)
        .output()
        .expect("run sonde")
}

/// What sonde prints when it reads `file` with `fmt`.
fn read_back(file: &Path, fmt: &str) -> Vec<u8> {
    let o = sonde(&["-r", file.to_str().unwrap(), "-p", fmt]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

const FMT: &str =
    "*%evt.num %evt.time %proc.name %thread.tid %evt.dir %evt.type %fd.name %evt.args";

#[test]
fn printing_and_writing_together_match_each_alone() {
    let dir = std::env::temp_dir().join(format!("sonde-two-sinks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for t in traces() {
        let tp = t.to_str().unwrap();
        for filter in [
            None,
            Some("evt.type in (open, openat, read, write, connect)"),
        ] {
            let both = dir.join("both.scap");
            let alone = dir.join("alone.scap");
            let mut args = vec!["-r", tp, "-p", FMT, "-w", both.to_str().unwrap()];
            let mut print_args = vec!["-r", tp, "-p", FMT];
            let mut write_args = vec!["-r", tp, "-w", alone.to_str().unwrap()];
            if let Some(f) = filter {
                args.push(f);
                print_args.push(f);
                write_args.push(f);
            }
            let together = sonde(&args);
            let printed = sonde(&print_args);
            if !printed.status.success() {
                // a damaged trace: both runs must fail the same way
                assert_eq!(together.status.code(), printed.status.code(), "{tp}");
                assert_eq!(together.stderr, printed.stderr, "{tp}");
                continue;
            }
            let written = sonde(&write_args);
            assert!(written.status.success(), "{tp}");
            assert!(together.status.success(), "{tp}");
            assert_eq!(together.stdout, printed.stdout, "{tp} {filter:?}: printed");
            assert_eq!(
                read_back(&both, FMT),
                read_back(&alone, FMT),
                "{tp} {filter:?}: written"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} runs checked");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn summary_and_printing_together_match_each_alone() {
    for t in traces() {
        let tp = t.to_str().unwrap();
        let both = sonde(&["-r", tp, "-S", "-p", "%evt.num %evt.type"]);
        let printed = sonde(&["-r", tp, "-p", "%evt.num %evt.type"]);
        let summary = sonde(&["-r", tp, "-q", "-S"]);
        if !printed.status.success() {
            continue;
        }
        let mut expected = printed.stdout.clone();
        expected.extend_from_slice(&summary.stdout);
        assert_eq!(
            String::from_utf8_lossy(&both.stdout),
            String::from_utf8_lossy(&expected),
            "{tp}"
        );
    }
}

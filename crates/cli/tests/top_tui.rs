//! The real `sonde top` UI driven inside tmux (send-keys, capture-pane) on
//! a shared trace: open Processes, sort by CPU, search a process and drill
//! into it (Threads), then into a thread (Files), pick Connections with
//! F2, filter with F4, go back twice, quit; a too-small terminal and a
//! resize. Each step asserts what the screen shows.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn trace() -> PathBuf {
    let dir = std::env::var_os("SONDE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces")
        });
    dir.join("curl_google.scap")
}

fn tmux_ready() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: tmux is required by this test");
    }
    ok
}

/// A tmux server of its own, killed at the end.
struct Tmux {
    sock: String,
}

impl Tmux {
    fn start(name: &str, w: u16, h: u16, cmd: &str) -> Tmux {
        let sock = format!("sonde-top-{name}-{}", std::process::id());
        let t = Tmux { sock };
        let ok = t
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                cmd,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", "t", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, s: &str) {
        self.cmd(&["send-keys", "-t", "t", "-l", s]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok`; fails with the screen.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "t"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The data rows (between the column header and the key bar).
fn rows(screen: &str) -> Vec<&str> {
    let l: Vec<&str> = screen.lines().collect();
    l.iter()
        .skip(2)
        .take(l.len().saturating_sub(3))
        .copied()
        .filter(|r| !r.trim().is_empty())
        .collect()
}

fn cpu_of(row: &str) -> f64 {
    row.split_whitespace()
        .nth(2)
        .and_then(|c| c.parse().ok())
        .unwrap_or(-1.0)
}

#[test]
fn drill_down_session_on_a_trace() {
    if !tmux_ready() {
        return;
    }
    let cmd = format!(
        "{} top -r {}",
        env!("CARGO_BIN_EXE_sonde"),
        trace().display()
    );
    let t = Tmux::start("drill", 120, 40, &cmd);
    // Processes, sorted by CPU (sysdig's own process used 0.22 of a CPU)
    let s = t.wait("the Processes view", |s| {
        s.contains("curl -6 http://www.google.com")
    });
    assert!(
        s.starts_with("Viewing: Processes For: whole machine"),
        "{s}"
    );
    assert!(s.contains("F2Views") && s.contains("F9Sort"), "{s}");
    assert!(rows(&s)[0].contains("sysdig -zw curl.scap"), "{s}");
    // shift+3 sorts by CPU: the same column again flips the direction
    t.keys(&["#"]);
    let s = t.wait("ascending CPU", |s| {
        cpu_of(rows(s)[0]) == 0.0 && s.contains("sorted by CPU")
    });
    assert!(rows(&s).last().unwrap().contains("sysdig -zw"), "{s}");
    t.keys(&["#"]);
    let s = t.wait("descending CPU", |s| rows(s)[0].contains("sysdig -zw"));
    let cpus: Vec<f64> = rows(&s).iter().map(|r| cpu_of(r)).collect();
    assert!(
        cpus.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {cpus:?}"
    );
    // search curl, drill into it: its two threads
    t.keys(&["/"]);
    t.text("curl -6");
    t.keys(&["Enter"]);
    t.wait("the search", |s| s.contains("found 'curl -6'"));
    t.keys(&["Enter"]);
    let s = t.wait("Threads", |s| {
        s.starts_with("Viewing: Threads For: proc.pid=17497") && s.contains("17498")
    });
    assert!(s.contains("17498") && rows(&s).len() == 2, "{s}");
    // into the resolver thread: its files
    t.keys(&["/"]);
    t.text("17498");
    t.keys(&["Enter", "Enter"]);
    t.wait("Files", |s| {
        s.starts_with("Viewing: Files For: proc.pid=17497 and thread.tid=17498")
            && s.contains("BYTES IN")
    });
    t.wait("file rows", |s| rows(s).iter().any(|r| r.contains(" /")));
    // F2: Connections for the same selection
    t.keys(&["F2"]);
    t.wait("the views picker", |s| s.contains("Select View"));
    t.keys(&["Home", "Enter"]);
    let s = t.wait("Connections", |s| {
        s.starts_with("Viewing: Connections For: proc.pid=17497 and thread.tid=1749")
            && s.contains("L4PROTO")
    });
    drop(s);
    let s = t.wait("connection rows", |s| {
        !rows(s).is_empty() && !s.contains("Loading")
    });
    let all = rows(&s).len();
    // F4: only rows containing the text
    t.keys(&["F4"]);
    t.text("udp");
    t.keys(&["Enter"]);
    let s = t.wait("the filter", |s| s.contains("Filter: udp"));
    let kept = rows(&s);
    // the thread resolved the name over UDP (port 53)
    assert!(
        kept.len() == 1 && kept[0].starts_with("udp") && kept[0].contains(" 53 "),
        "{s}"
    );
    assert!(kept.len() <= all, "{s}");
    t.keys(&["F4", "BSpace", "BSpace", "BSpace"]);
    t.text("tcp");
    t.keys(&["Enter"]);
    t.wait("no tcp rows", |s| {
        s.contains("Filter: tcp") && s.contains("No rows")
    });
    // back: Threads (the level of the thread), then Processes
    t.keys(&["BSpace"]);
    t.wait("back to Threads", |s| {
        s.starts_with("Viewing: Threads For: proc.pid=17497\n")
            || s.starts_with("Viewing: Threads For: proc.pid=17497 ")
    });
    t.keys(&["BSpace"]);
    t.wait("back to Processes", |s| {
        s.starts_with("Viewing: Processes For: whole machine")
    });
    t.keys(&["q"]);
    let t0 = Instant::now();
    while t.alive() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "q did not quit");
}

#[test]
fn too_small_terminal_and_resize() {
    if !tmux_ready() {
        return;
    }
    let cmd = format!(
        "{} top -r {}",
        env!("CARGO_BIN_EXE_sonde"),
        trace().display()
    );
    let t = Tmux::start("small", 40, 6, &cmd);
    t.wait("the too-small message", |s| {
        s.contains("Terminal too small: 40x6")
    });
    t.cmd(&["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
    let s = t.wait("the redrawn view", |s| {
        s.starts_with("Viewing: Processes") && s.contains("curl -6")
    });
    assert!(!s.contains("Terminal too small"), "{s}");
    // F7: the view's help page, any key closes it
    t.keys(&["F7"]);
    t.wait("help", |s| s.contains("Keys: Enter drill down"));
    t.keys(&["Escape"]);
    t.wait("the table again", |s| {
        s.contains("F1Help") && !s.contains("Keys: Enter")
    });
    t.keys(&["q"]);
}

/// The latency buckets `sonde top --raw` gives a spectrogram view (its
/// LATENCY column) on the trace.
fn raw_buckets(view: &str) -> Vec<usize> {
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["top", "--raw", "-v", view, "-r"])
        .arg(trace())
        .output()
        .expect("run sonde top --raw");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut b: Vec<usize> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    b.sort_unstable();
    b.dedup();
    b
}

/// A spectrogram view draws in the UI: one histogram line per sample
/// (newest on top) with a cell in exactly the columns of the latency
/// buckets the view's rows have (`--raw`), coloured, over a log axis of
/// latencies.
#[test]
fn spectrogram_draws_the_latency_histogram() {
    if !tmux_ready() {
        return;
    }
    let want = raw_buckets("spectro_all");
    assert!(want.len() > 5, "too few buckets: {want:?}");
    let cmd = format!(
        "{} top -v spectro_all -r {}",
        env!("CARGO_BIN_EXE_sonde"),
        trace().display()
    );
    let (w, h) = (120usize, 30usize);
    let t = Tmux::start("spectro", w as u16, h as u16, &cmd);
    let s = t.wait("the spectrogram", |s| {
        s.starts_with("Viewing: Spectrogram-All")
            && !s.contains("Loading")
            && s.lines().nth(2).is_some_and(|l| !l.trim().is_empty())
    });
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[1].contains("newest on top"), "{s}");
    // the axis above the key bar: decades left to right
    let axis = lines[h - 2];
    let at = |l: &str| axis.find(l).unwrap_or_else(|| panic!("no {l} in {axis:?}"));
    assert!(
        at("1ns") < at("1us") && at("1us") < at("1ms") && at("1ms") < at("1s "),
        "{axis}"
    );
    // the newest line: a cell where a bucket has calls, none elsewhere
    let cells: Vec<char> = lines[2].chars().collect();
    for x in 0..w {
        let bucket = x * 81 / w + 1;
        let drawn = cells.get(x).is_some_and(|c| *c != ' ');
        assert_eq!(
            drawn,
            want.contains(&bucket),
            "column {x} (bucket {bucket}): {:?}\n{s}",
            lines[2]
        );
    }
    // coloured: the cells carry a background colour
    let esc = t.cmd(&["capture-pane", "-p", "-e", "-t", "t"]).stdout;
    let esc = String::from_utf8_lossy(&esc);
    let line = esc.lines().nth(2).unwrap_or("");
    assert!(has_background(line), "no background colour: {line:?}");
    t.keys(&["q"]);
}

/// Whether a line captured with escapes sets a background colour (SGR
/// 40-47, 48;..., 100-107).
fn has_background(line: &str) -> bool {
    line.split("\u{1b}[").skip(1).any(|seq| {
        let params = seq.split('m').next().unwrap_or("");
        params.split(';').any(|p| {
            p.parse::<u32>()
                .is_ok_and(|n| (40..=48).contains(&n) || (100..=107).contains(&n))
        })
    })
}

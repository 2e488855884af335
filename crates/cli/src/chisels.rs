//! Chisels on the command line: `-c NAME [ARGS]` (several allowed),
//! `-cl` and `-i NAME` are taken out of the arguments before the other
//! flags are parsed (a chisel's arguments follow its name as the next
//! word, as in sysdig), and each chisel becomes a sink of the engine.

use std::ffi::OsString;

use anyhow::Result;
use sonde_chisel::{Chisel, ChiselError, ChiselSink, Env, SearchPath};
use sonde_engine::StopHandle;

use crate::args::Args;
use crate::UsageError;

/// One `-c`: the chisel and its argument string.
pub struct Spec {
    pub name: String,
    pub args: String,
    /// The chisel, loaded once when the command line named it (to learn
    /// how many arguments it takes); `load` gives it the rest of the line.
    pub chisel: Chisel,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

/// The chisel options of a command line.
#[derive(Debug, Default)]
pub struct Opts {
    pub chisels: Vec<Spec>,
    /// `-cl`.
    pub list: bool,
    /// `-i NAME`.
    pub info: Option<String>,
}

/// Takes the chisel options out of `argv`, leaving the rest in order.
pub fn extract(argv: Vec<OsString>) -> Result<(Vec<OsString>, Opts), UsageError> {
    let search = SearchPath::from_env();
    let mut opts = Opts::default();
    let mut rest = Vec::with_capacity(argv.len());
    let mut it = argv.into_iter().peekable();
    if let Some(a0) = it.next() {
        rest.push(a0);
    }
    while let Some(arg) = it.next() {
        let s = arg.to_string_lossy().into_owned();
        if s == "--" {
            rest.push(arg);
            rest.extend(it.by_ref());
            break;
        }
        let value = |flag: &str, it: &mut std::iter::Peekable<std::vec::IntoIter<OsString>>| {
            if let Some(v) = s.strip_prefix(&format!("{flag}=")) {
                return Ok(v.to_string());
            }
            match s
                .strip_prefix(flag)
                .filter(|v| !v.is_empty() && flag.len() == 2)
            {
                Some(v) => Ok(v.to_string()),
                None => it
                    .next()
                    .map(|v| v.to_string_lossy().into_owned())
                    .ok_or_else(|| UsageError(format!("option {flag} requires an argument"))),
            }
        };
        if s == "-cl" || s == "--list-chisels" {
            opts.list = true;
        } else if s.starts_with("-c")
            || s.starts_with("--chisel") && !s.starts_with("--chisel-info")
        {
            let flag = if s.starts_with("--") {
                "--chisel"
            } else {
                "-c"
            };
            let name = value(flag, &mut it)?;
            if name == "l" {
                opts.list = true;
                continue;
            }
            // what a chisel's top level sees, as in sysdig, which loads it
            // here too: no capture open yet, the terminal already known
            let early = Env {
                tty: stdout_is_tty(),
                ..Env::default()
            };
            let chisel = Chisel::load(&name, &search, early).map_err(chisel_error)?;
            let args = chisel_args(&chisel, &name, &mut it)?;
            opts.chisels.push(Spec { name, args, chisel });
        } else if s.starts_with("-i") || s.starts_with("--chisel-info") {
            let flag = if s.starts_with("--") {
                "--chisel-info"
            } else {
                "-i"
            };
            opts.info = Some(value(flag, &mut it)?);
        } else {
            rest.push(arg);
        }
    }
    Ok((rest, opts))
}

/// The argument string of chisel `name`: the next word when the chisel
/// has required arguments, or when it has optional ones and the next word
/// is no option (sysdig's rule).
fn chisel_args(
    ch: &Chisel,
    name: &str,
    it: &mut std::iter::Peekable<std::vec::IntoIter<OsString>>,
) -> Result<String, UsageError> {
    let meta = ch.meta();
    let next_is_word = it
        .peek()
        .is_some_and(|v| !v.to_string_lossy().starts_with('-'));
    if meta.required() > 0 {
        return match it.next() {
            Some(v) => Ok(v.to_string_lossy().into_owned()),
            None => Err(UsageError(format!("missing arguments for chisel {name}"))),
        };
    }
    if meta.optional() > 0 && next_is_word {
        return Ok(it
            .next()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default());
    }
    Ok(String::new())
}

/// Whether standard output is a terminal.
fn stdout_is_tty() -> bool {
    // SAFETY: isatty only reads the descriptor's state.
    unsafe { libc::isatty(1) == 1 }
}

/// A chisel error as a usage error (exit code 2).
pub fn chisel_error(e: ChiselError) -> UsageError {
    UsageError(e.to_string())
}

/// `-cl` / `-i NAME`.
pub fn list(opts: &Opts) -> Result<()> {
    let search = SearchPath::from_env();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(name) = &opts.info {
        return sonde_chisel::write_info(&mut out, &search, name).map_err(|e| {
            match e.into_inner().map(|x| x.downcast::<ChiselError>()) {
                Some(Ok(c)) => UsageError(c.to_string()).into(),
                Some(Err(x)) => anyhow::anyhow!("{x}"),
                None => anyhow::anyhow!("cannot write the chisel description"),
            }
        });
    }
    sonde_chisel::write_list(&mut out, &search)?;
    Ok(())
}

/// Configures and initialises the chisels the command line named, as
/// sinks (`sysdig.end_capture()` stops the run through `stop`), with the
/// capture filter a chisel set with `sysdig.set_filter`, if any.
pub fn load(
    chisels: Vec<Spec>,
    args: &Args,
    stop: &StopHandle,
) -> Result<(Vec<ChiselSink>, Option<String>)> {
    let env = Env {
        live: args.read.is_none(),
        json: args.json,
        print_container: matches!(args.print.as_deref(), Some("c" | "container")),
        filter: Some(args.filter.join(" ")).filter(|f| !f.is_empty()),
        tty: stdout_is_tty(),
        file: args.read.clone(),
        snaplen: args.snaplen,
        buf_fmt_forced: args.ascii || args.hex || args.hex_ascii || args.base64,
    };
    let mut capture = None;
    let mut sinks = Vec::new();
    for spec in chisels {
        let mut ch = spec.chisel;
        ch.set_env(env.clone());
        ch.set_args(&spec.args).map_err(chisel_error)?;
        let ch = ch.init().map_err(chisel_error)?;
        if let Some(f) = ch.capture_filter() {
            capture = Some(f);
        }
        sinks.push(ChiselSink::new(ch, stop.clone()));
    }
    Ok((sinks, capture))
}

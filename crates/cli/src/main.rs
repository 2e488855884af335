//! `sonde`: the command-line front end. Parses sysdig-style flags, turns
//! them into an engine configuration and sinks (`pipeline`), and runs it.

mod agent;
mod agent_cluster;
mod agent_live;
mod agent_ops;
mod agent_otlp;
mod agent_remote;
mod args;
mod chisels;
mod filtering;
mod listing;
mod options;
mod pipeline;
mod signals;
mod top;

use std::process::ExitCode;

use clap::Parser;

/// An error caused by what the user gave us (flags, files, filters): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `sonde server ARGS`: runs the `sonde-server` binary installed next to
/// this one (kept apart so the capture CLI never links the server's
/// storage engine).
fn server(rest: Vec<std::ffi::OsString>) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("sonde-server")));
    let Some(exe) = exe.filter(|p| p.is_file()) else {
        eprintln!(
            "sonde server: the sonde-server binary is not installed next to sonde (build it with `cargo build --release -p sonde-server`)"
        );
        return ExitCode::from(2);
    };
    let err = std::process::Command::new(&exe)
        .arg0("sonde server")
        .args(rest)
        .exec();
    eprintln!("sonde server: cannot run '{}': {err}", exe.display());
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "top") {
        let stop = sonde_engine::StopHandle::new();
        signals::install(stop.clone());
        let mut rest = vec![std::ffi::OsString::from("sonde top")];
        rest.extend(argv.into_iter().skip(2));
        return top::main(rest, stop);
    }
    if argv.get(1).is_some_and(|a| a == "agent") {
        let stop = sonde_engine::StopHandle::new();
        signals::install(stop.clone());
        let mut rest = vec![std::ffi::OsString::from("sonde agent")];
        rest.extend(argv.into_iter().skip(2));
        return agent::main(rest, stop);
    }
    if argv.get(1).is_some_and(|a| a == "server") {
        return server(argv.into_iter().skip(2).collect());
    }
    let (argv, chisels) = match chisels::extract(std::env::args_os().collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("sonde: {e}");
            return ExitCode::from(2);
        }
    };
    let argv = args::gnu_order(argv);
    let args = match args::Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let stop = sonde_engine::StopHandle::new();
    signals::install(stop.clone());
    match pipeline::run(&args, chisels, stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde: {e:#}");
            if e.downcast_ref::<UsageError>().is_some()
                || e.downcast_ref::<sonde_scap::Error>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

//! `sonde top`: csysdig's flags turned into a `sonde-top` run (views,
//! `--raw`/`-j` rows, or the terminal UI).

use std::process::ExitCode;

use clap::Parser;

/// `sonde top` flags (csysdig's).
#[derive(Parser, Debug)]
#[command(
    name = "sonde top",
    about = "Interactive views of the system (csysdig-style)"
)]
struct TopArgs {
    /// Read events from this capture file instead of live.
    #[arg(short = 'r', long = "read")]
    read: Option<String>,
    /// The view to start with (its id, as `--list` shows it).
    #[arg(short = 'v', long = "view", default_value = "procs")]
    view: String,
    /// Print the rows as plain text (one block per sample) instead of the UI.
    #[arg(long = "raw")]
    raw: bool,
    /// Print the rows as JSON instead of the UI.
    #[arg(short = 'j', long = "json")]
    json: bool,
    /// Refresh interval in milliseconds.
    #[arg(short = 'd', long = "delay", default_value_t = 2000)]
    delay: u64,
    /// Stop after this many events.
    #[arg(short = 'n', long = "numevents")]
    numevents: Option<u64>,
    /// Show container columns (csysdig's -pc).
    #[arg(long = "pc", alias = "pcontainer")]
    containers: bool,
    /// Load views from this directory (v_*.lua files) besides the bundled ones.
    #[arg(long = "views")]
    views: Vec<String>,
    /// List the views and exit.
    #[arg(long = "list")]
    list: bool,
    /// Kubernetes API server URL: the K8s views and k8s.* columns fill in
    /// live from its watches.
    #[arg(short = 'k', long = "k8s-api")]
    k8s_api: Option<String>,
    /// Credentials for the API server (as sonde's -K: a bearer token
    /// file, or `CERT:KEY[:CA]`).
    #[arg(short = 'K', long = "k8s-api-cert")]
    k8s_api_cert: Option<String>,
    /// A kubeconfig file for the API server.
    #[arg(long = "kubeconfig")]
    kubeconfig: Option<String>,
    /// Watch only this node's pods.
    #[arg(long = "node-name")]
    node_name: Option<String>,
    /// The filter (sysdig's filter language).
    filter: Vec<String>,
}

/// Runs `sonde top` with `argv` (after `top`).
pub fn main(argv: Vec<std::ffi::OsString>, stop: sonde_engine::StopHandle) -> ExitCode {
    // csysdig spells -pc as one short flag
    let argv: Vec<std::ffi::OsString> = argv
        .into_iter()
        .map(|a| match a.to_str() {
            Some("-pc") | Some("-pcontainer") => "--pc".into(),
            _ => a,
        })
        .collect();
    let args = match TopArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match run(&args, stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde top: {e}");
            match e {
                sonde_top::run::TopError::Other(_) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}

fn run(args: &TopArgs, stop: sonde_engine::StopHandle) -> Result<(), sonde_top::run::TopError> {
    use sonde_top::run::TopError;
    // one view, never switched: load only its file
    let one = (args.raw || args.json) && !args.list;
    let mut views = match one {
        true => sonde_top::bundled_one(&args.view),
        false => sonde_top::bundled(),
    }
    .map_err(|e| TopError::Other(e.to_string()))?;
    for dir in &args.views {
        let p = std::path::Path::new(dir);
        let more = if p.is_dir() {
            sonde_top::load_dir(p)
        } else {
            sonde_top::load_file(p)
        }
        .map_err(|e| TopError::Usage(e.to_string()))?;
        for v in more {
            // a loaded view replaces a bundled one of the same id
            views.retain(|o| o.id != v.id);
            views.push(v);
        }
    }
    let views = sonde_top::run::prepare_views(views, args.containers);
    if args.list {
        let _ = sonde_top::run::list_views(&views, &mut std::io::stdout().lock());
        return Ok(());
    }
    let k8s = crate::pipeline::K8sFlags {
        api: &args.k8s_api,
        auth: &args.k8s_api_cert,
        kubeconfig: &args.kubeconfig,
        node: &args.node_name,
    };
    #[cfg(feature = "k8s")]
    let watch = crate::pipeline::watch_kubernetes(k8s, args.read.is_some())
        .map_err(|e| TopError::Usage(format!("{e:#}")))?;
    #[cfg(not(feature = "k8s"))]
    if k8s.any() || args.node_name.is_some() {
        return Err(TopError::Usage(
            "Kubernetes support is not built in (feature `k8s`)".into(),
        ));
    }
    let opts = sonde_top::run::Options {
        #[cfg(feature = "k8s")]
        k8s: watch.as_ref().map(|w| w.shared()),
        read: args.read.clone(),
        view: args.view.clone(),
        delay_ms: args.delay,
        numevents: args.numevents,
        // csysdig joins the words of the filter with a space after each
        filter: args.filter.iter().map(|w| format!("{w} ")).collect(),
        containers: args.containers,
    };
    if args.raw || args.json {
        sonde_top::run::run_text(&opts, &views, args.json, stop)
    } else {
        sonde_top::ui::run(&opts, views, stop)
    }
}

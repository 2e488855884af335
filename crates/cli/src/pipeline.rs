//! Flags -> engine configuration -> sinks: the `sonde` command routes each
//! mode to the shared engine (`sonde-engine`) and the built-in sinks
//! (`sonde-sinks`).

use std::io::Write;

use anyhow::{Context, Result};
use sonde_engine::{Config, Engine, SinkError, Source, SourceError, StopHandle};
use sonde_sinks::{DumpOpts, Dumper, Printer, Summary};

use crate::args::Args;
use crate::options;
use crate::UsageError;

/// Runs `sonde` with `args` until the source ends or `stop` is triggered.
pub fn run(args: &Args, chisels: crate::chisels::Opts, stop: StopHandle) -> Result<()> {
    let stdout = std::io::stdout();
    if chisels.list || chisels.info.is_some() {
        return crate::chisels::list(&chisels);
    }
    let any_chisel = !chisels.chisels.is_empty();
    if args.list_events {
        crate::listing::list_events(&mut stdout.lock())?;
        return Ok(());
    }
    if args.list {
        sonde_fields::registry::write_list(&mut stdout.lock(), args.verbose)?;
        return Ok(());
    }
    let time_fmt = options::time_fmt(args)?;
    if args.print.as_deref() == Some("p") {
        // -pp: show the default format (to tweak it), as written
        writeln!(
            stdout.lock(),
            "{}",
            options::default_format().replace('\x1b', "\\e")
        )?;
        return Ok(());
    }
    let (format, reset_colors) = options::output_format(args)?;
    let filter = crate::filtering::compile(args)?;
    let layout = options::layout(args)?;
    // As in sysdig, writing a capture replaces printing unless asked for,
    // and chisels replace it altogether.
    let print =
        !args.quiet && !any_chisel && (args.write.is_none() || args.print.is_some() || args.json);
    if args.write.as_deref() == Some("-") && print {
        return Err(UsageError(
            "-w - writes the capture to standard output: add -q or drop -p/-j".into(),
        )
        .into());
    }
    // -d makes the filter a display filter: the printer's, not the engine's
    let (capture, display) = match args.displayflt {
        true => (None, filter),
        false => (filter, None),
    };
    let (chisel_sinks, chisel_filter) = match any_chisel {
        false => (Vec::new(), None),
        true => crate::chisels::load(chisels.chisels, args, &stop)?,
    };
    #[cfg(feature = "live")]
    let chisel_snaplen = chisel_sinks
        .iter()
        .filter_map(sonde_chisel::ChiselSink::requested_snaplen)
        .last();
    // a chisel's sysdig.set_filter replaces the capture filter
    let capture = match chisel_filter {
        Some(text) => Some(
            sonde_filter::Filter::new(&text)
                .map_err(|e| UsageError(format!("invalid filter in chisel:\n{e}")))?,
        ),
        None => capture,
    };
    let mut render = options::render_opts(args);
    if any_chisel {
        // sysdig cuts buffers at 80 bytes only when no chisel runs
        render.max_buf_len = 0;
    }
    let mut engine = Engine::new(Config {
        filter: capture,
        suppress_comm: args.suppress_comm.clone(),
        debug: args.debug,
        max_events: args.numevents,
        render,
        time_fmt,
        #[cfg(feature = "live")]
        live: sonde_engine::LiveOptions {
            // -s, else the last chisel's sysdig.set_snaplen (as sysdig)
            snaplen: args.snaplen.or(chisel_snaplen),
            ring_bytes: args.ring_size,
            max_seconds: args.max_seconds,
            // SONDE_NO_CONTAINERS=1: no container attribution (benchmarks)
            containers: std::env::var_os("SONDE_NO_CONTAINERS").is_none(),
        },
    });
    engine.set_stop_handle(stop);
    for sink in chisel_sinks {
        engine.add_sink(Box::new(sink));
    }
    if print {
        let p = Printer::new(stdout.lock(), format, args.json)
            .with_display_filter(display)
            .with_color_reset(reset_colors);
        engine.add_sink(Box::new(p));
    }
    if args.summary {
        engine.add_sink(Box::new(Summary::new(stdout.lock())));
    }
    if let Some(path) = &args.write {
        engine.add_sink(Box::new(Dumper::new(DumpOpts {
            path: path.clone(),
            gzip: args.compress,
            rollover_mb: args.file_size.unwrap_or(0),
            file_limit: args.file_limit.unwrap_or(0),
            seconds: args.seconds.unwrap_or(0),
            events_per_file: args.events_per_file.unwrap_or(0),
            filter_proclist: args.filter_proclist,
            layout,
            fatfile: args.fatfile,
        })));
    }
    let started = std::time::Instant::now();
    // the watches run until the end of the capture
    let k8s = K8sFlags {
        api: &args.k8s_api,
        auth: &args.k8s_auth,
        kubeconfig: &args.kubeconfig,
        node: &args.node_name,
    };
    let _k8s = start_kubernetes(k8s, args.read.is_some(), &mut engine)?;
    let (what, source) = open_source(args, &mut engine)?;
    let report = engine.run(source).map_err(sink_error)?;
    if report.quit {
        return Ok(());
    }
    if args.verbose {
        // sysdig's -v capture summary, on stderr
        let (driver, drops) = report.driver;
        let secs = started.elapsed().as_secs_f64();
        let num = report.events;
        let eps = if secs > 0.0 { num as f64 / secs } else { 0.0 };
        eprintln!("Driver Events:{driver}\nDriver Drops:{drops}\nSuppressed by Comm:0");
        eprintln!("Elapsed time: {secs:.3}, Captured Events: {num}, {eps:.2} eps");
        for n in &report.notes {
            eprintln!("{n}");
        }
    }
    if let Some(e) = report.error {
        return Err(source_error(e, &what));
    }
    let _ = std::io::stderr().flush();
    Ok(())
}

/// `-r FILE`, or live capture without it.
fn open_source(args: &Args, engine: &mut Engine<'_>) -> Result<(String, Source)> {
    match args.read.as_deref() {
        Some(path) => {
            let s = Source::open_file(path.as_ref())
                .with_context(|| format!("cannot read '{path}'"))?;
            Ok((path.to_string(), s))
        }
        #[cfg(feature = "live")]
        None => {
            let s = engine
                .open_live()
                .map_err(|e| source_error(e, "live capture"))?;
            Ok(("live capture".to_string(), s))
        }
        #[cfg(not(feature = "live"))]
        None => {
            let _ = engine;
            Err(
                UsageError("live capture is not built in (feature `live`): use -r FILE".into())
                    .into(),
            )
        }
    }
}

/// The Kubernetes flags every live front end takes (`-k`, `-K`,
/// `--kubeconfig`, `--node-name`).
pub(crate) struct K8sFlags<'a> {
    pub api: &'a Option<String>,
    pub auth: &'a Option<String>,
    pub kubeconfig: &'a Option<String>,
    pub node: &'a Option<String>,
}

impl K8sFlags<'_> {
    pub(crate) fn any(&self) -> bool {
        self.api.is_some() || self.kubeconfig.is_some() || self.auth.is_some()
    }
}

/// `-k`/`-K`/`--kubeconfig`/`--node-name`: starts the watches of the API
/// server for live capture (capture files carry their own metadata:
/// `reading_file` starts nothing).
#[cfg(feature = "k8s")]
pub(crate) fn start_kubernetes(
    f: K8sFlags<'_>,
    reading_file: bool,
    engine: &mut Engine<'_>,
) -> Result<Option<sonde_k8s::Watch>> {
    let w = watch_kubernetes(f, reading_file)?;
    if let Some(w) = &w {
        engine.set_k8s(w.shared());
    }
    Ok(w)
}

/// The watches of [`start_kubernetes`], for front ends that run several
/// engines over one capture (`sonde top`).
#[cfg(feature = "k8s")]
pub(crate) fn watch_kubernetes(
    f: K8sFlags<'_>,
    reading_file: bool,
) -> Result<Option<sonde_k8s::Watch>> {
    if !f.any() || reading_file {
        return Ok(None);
    }
    let opts = sonde_k8s::Options {
        url: f.api.clone(),
        auth: f.auth.clone(),
        kubeconfig: f.kubeconfig.as_ref().map(Into::into),
        node: f.node.clone(),
        ..sonde_k8s::Options::default()
    };
    let w = sonde_k8s::Watch::start(&opts).map_err(|e| UsageError(e.to_string()))?;
    Ok(Some(w))
}

/// Without the `k8s` feature, the Kubernetes flags are refused.
#[cfg(not(feature = "k8s"))]
pub(crate) fn start_kubernetes(
    f: K8sFlags<'_>,
    _reading_file: bool,
    _engine: &mut Engine<'_>,
) -> Result<Option<()>> {
    if f.any() || f.node.is_some() {
        return Err(UsageError("Kubernetes support is not built in (feature `k8s`)".into()).into());
    }
    Ok(None)
}

/// As an error for `main`, keeping capture-file errors downcastable.
fn source_error(e: SourceError, what: &str) -> anyhow::Error {
    match e {
        SourceError::File(e) => anyhow::Error::new(e).context(format!("error reading '{what}'")),
        #[cfg(feature = "live")]
        SourceError::Live(e) => anyhow::Error::new(e),
    }
}

fn sink_error(e: SinkError) -> anyhow::Error {
    if let Some(c) = e
        .source
        .get_ref()
        .and_then(|x| x.downcast_ref::<sonde_chisel::ChiselError>())
    {
        // a chisel's error (syntax, run time, arguments): exit code 2
        return UsageError(c.to_string()).into();
    }
    if e.context.is_empty() {
        anyhow::Error::new(e.source)
    } else {
        anyhow::Error::new(e.source).context(e.context)
    }
}

//! Running a view: the engine with one [`ViewSink`], on a file or live,
//! for scripts (`--raw`, `-j`) or under the UI (which restarts it when
//! the view or the drill-down changes). The engine stays the one event
//! loop; this module only configures it.

use std::io::Write;

use sonde_engine::{Config, Engine, Source, StopHandle};

use crate::output::{write_raw, JsonOut};
use crate::sink::{combine_filters, Publish, ViewSink};
use crate::table::Sample;
use crate::view::View;

/// What went wrong running `sonde top`.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// Bad input: a flag, a view, a filter (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The capture could not be read (exit code 2).
    #[error("{0}")]
    Capture(String),
    /// Anything else (exit code 1).
    #[error("{0}")]
    Other(String),
}

/// How `sonde top` runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-r FILE`; None: live.
    pub read: Option<String>,
    /// `-v ID`: the first view.
    pub view: String,
    /// `-d MS`: the refresh interval.
    pub delay_ms: u64,
    /// `-n`: stop after this many events.
    pub numevents: Option<u64>,
    /// The filter given on the command line.
    pub filter: String,
    /// `-pc`: container columns instead of the default ones.
    pub containers: bool,
    /// Live: the Kubernetes metadata the API server's watches keep (the
    /// watches outlive each view's engine run).
    #[cfg(feature = "k8s")]
    pub k8s: Option<std::sync::Arc<sonde_k8s::Shared>>,
}

/// The views, with the column tags of this run applied.
pub fn prepare_views(mut views: Vec<View>, containers: bool) -> Vec<View> {
    let tag = if containers { "containers" } else { "default" };
    for v in &mut views {
        v.apply_tag(tag);
    }
    views
}

/// The view `id` among `views`.
pub fn find_view<'v>(views: &'v [View], id: &str) -> Result<&'v View, TopError> {
    views.iter().find(|v| v.id == id).ok_or_else(|| {
        TopError::Usage(format!("unknown view '{id}' (sonde top --list lists them)"))
    })
}

/// One run of the engine for `view` with `filter` (the drill-down
/// filter; the command-line filter is in `opts`), samples to `publish`.
pub fn run_engine(
    opts: &Options,
    view: &View,
    depth: u32,
    drill_filter: &str,
    publish: Publish<'_>,
    stop: StopHandle,
) -> Result<(), TopError> {
    let complete = combine_filters(
        &combine_filters(&opts.filter, drill_filter),
        &view.filter_at(depth),
    );
    let refresh = opts.delay_ms.max(100) * 1_000_000;
    let mut sink = ViewSink::new(
        view,
        depth,
        &complete,
        opts.read.is_none(),
        refresh,
        publish,
    )
    .map_err(TopError::Usage)?;
    sink.set_max_events(opts.numevents);
    let mut engine = Engine::new(Config {
        #[cfg(feature = "live")]
        live: sonde_engine::LiveOptions {
            containers: std::env::var_os("SONDE_NO_CONTAINERS").is_none(),
            ..Default::default()
        },
        ..Config::default()
    });
    engine.set_stop_handle(stop);
    engine.add_sink(Box::new(sink));
    #[cfg(feature = "k8s")]
    if let (Some(k), None) = (&opts.k8s, &opts.read) {
        engine.set_k8s(k.clone());
    }
    let source = open_source(opts, &mut engine)?;
    let report = engine
        .run(source)
        .map_err(|e| TopError::Other(e.to_string()))?;
    if let Some(e) = report.error {
        return Err(TopError::Capture(format!("error reading capture: {e}")));
    }
    Ok(())
}

fn open_source(opts: &Options, engine: &mut Engine<'_>) -> Result<Source, TopError> {
    match &opts.read {
        Some(path) => Source::open_file(path.as_ref())
            .map_err(|e| TopError::Capture(format!("cannot read '{path}': {e}"))),
        #[cfg(feature = "live")]
        None => engine
            .open_live()
            .map_err(|e| TopError::Other(format!("live capture: {e}"))),
        #[cfg(not(feature = "live"))]
        None => {
            let _ = engine;
            Err(TopError::Usage(
                "live capture is not built in (feature `live`): use -r FILE".into(),
            ))
        }
    }
}

/// `--raw` or `-j`: samples as text on standard output.
pub fn run_text(
    opts: &Options,
    views: &[View],
    json: bool,
    stop: StopHandle,
) -> Result<(), TopError> {
    let view = find_view(views, &opts.view)?;
    let stdout = std::io::stdout();
    if json {
        let out = JsonOut::new(stdout.lock(), view).map_err(|e| TopError::Other(e.to_string()))?;
        let out = std::cell::RefCell::new(out);
        let publish: Publish<'_> = Box::new(|s: Sample| out.borrow_mut().sample(&s));
        run_engine(opts, view, 0, "", publish, stop)?;
        out.borrow_mut()
            .end()
            .map_err(|e| TopError::Other(e.to_string()))?;
    } else {
        let publish: Publish<'_> = Box::new(|s: Sample| write_raw(&mut stdout.lock(), &s));
        run_engine(opts, view, 0, "", publish, stop)?;
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

/// `--list`: the views, one per line (id, name, type).
pub fn list_views(views: &[View], out: &mut impl Write) -> std::io::Result<()> {
    let mut v: Vec<&View> = views.iter().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    for v in v {
        writeln!(out, "{:<24} {:<22} {:?}", v.id, v.name, v.view_type)?;
    }
    Ok(())
}

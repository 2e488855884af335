//! `sonde agent`: the metrics agent's flags turned into an engine run with
//! a `sonde-agent` metrics sink: live (probe, containers, Kubernetes with
//! `-k`/`--kubeconfig`) or `-r FILE` on the capture's clock; JSON lines on
//! stdout (`--stdout`), `/metrics` in the Prometheus text format
//! (`--prometheus ADDR`) and/or OTLP to an OpenTelemetry receiver
//! (`--otlp URL`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use clap::Parser;
use sonde_agent::{prom, CpuSource, MetricsSink, Options};
use sonde_engine::{Config, Engine, Source, StopHandle};

use crate::UsageError;

/// `sonde agent` flags.
#[derive(Parser, Debug)]
#[command(
    name = "sonde agent",
    about = "1-second metrics of every process, container and pod, with implicit tags"
)]
struct AgentArgs {
    /// Replay this capture file through the metrics pipeline, on its clock.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<String>,
    /// Print each second's series as JSON lines (the default without --prometheus or --otlp).
    #[arg(long = "stdout")]
    stdout: bool,
    /// Serve /metrics in the Prometheus text format on this address (HOST:PORT).
    #[arg(long = "prometheus", value_name = "ADDR")]
    prometheus: Option<String>,
    /// The configuration file (YAML: tags, limits, statsd, snaplen, http).
    #[arg(long = "config", value_name = "FILE")]
    config: Option<String>,
    /// A tag added to every series (repeatable).
    #[arg(long = "tag", value_name = "K=V")]
    tags: Vec<String>,
    /// Also receive statsd datagrams on this UDP address.
    #[arg(long = "statsd-listen", value_name = "ADDR")]
    statsd_listen: Option<String>,
    /// Scrape the Prometheus endpoints of the HTTP servers the agent
    /// discovers (live; the config's `scrape` section sets path and interval).
    #[arg(long = "scrape")]
    scrape: bool,
    /// Stop after this many seconds (live).
    #[arg(short = 'M', long = "seconds", value_name = "N")]
    max_seconds: Option<u64>,
    /// Stop after this many events.
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    numevents: Option<u64>,
    /// Bytes of each I/O buffer to capture live (default: the config's, 1024).
    #[arg(short = 's', long = "snaplen", value_name = "LEN")]
    snaplen: Option<u32>,
    /// Size of the probe's ring buffer per CPU, in bytes.
    #[arg(long = "ring-size", value_name = "BYTES")]
    ring_size: Option<u32>,
    /// Kubernetes API server URL.
    #[arg(short = 'k', long = "k8s-api", value_name = "URL")]
    k8s_api: Option<String>,
    /// Kubernetes API credentials (`CA[:cert:key]` or a token file).
    #[arg(short = 'K', long = "k8s-api-cert", value_name = "AUTH")]
    k8s_auth: Option<String>,
    /// Kubernetes: read the API server and credentials from this kubeconfig.
    #[arg(long = "kubeconfig", value_name = "FILE")]
    kubeconfig: Option<String>,
    /// Kubernetes: only this node's pods.
    #[arg(long = "node-name", value_name = "NODE")]
    node_name: Option<String>,
    /// Sidecar mode, for where BPF is not allowed: nothing is traced; the
    /// series (marked sonde.reduced=true) come from /proc, the cgroup and
    /// the network namespace's counters, every second.
    #[arg(long = "sidecar", conflicts_with = "read")]
    sidecar: bool,
    /// Server link, checks and flight recorder.
    #[command(flatten)]
    ops: crate::agent_ops::OpsArgs,
    /// OpenTelemetry export.
    #[command(flatten)]
    otlp: crate::agent_otlp::OtlpArgs,
    /// Kubernetes cluster state.
    #[command(flatten)]
    cluster: crate::agent_cluster::ClusterArgs,
}

/// Runs `sonde agent` with `argv` (after `agent`).
pub fn main(argv: Vec<std::ffi::OsString>, stop: StopHandle) -> ExitCode {
    if argv.get(1).is_some_and(|a| a == "capture") {
        return match crate::agent_ops::capture(argv[1..].to_vec()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sonde agent capture: {e:#}");
                let usage = e.downcast_ref::<UsageError>().is_some();
                ExitCode::from(if usage { 2 } else { 1 })
            }
        };
    }
    let args = match AgentArgs::try_parse_from(argv) {
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
            eprintln!("sonde agent: {e:#}");
            let usage = e.downcast_ref::<UsageError>().is_some()
                || e.downcast_ref::<sonde_agent::ConfigError>().is_some()
                || e.downcast_ref::<sonde_scap::Error>().is_some();
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn parse_tags(list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(UsageError(format!("--tag {t:?}: expected KEY=VALUE")).into()),
        })
        .collect()
}

/// Large blocks (the flight recorder's segments, megabytes each, made
/// and freed every second) are mapped on their own and go back to the
/// system when freed. glibc otherwise raises its mapping threshold after
/// the first such free, and later segments land in the heap, where freed
/// ones stay resident: 75 MiB for a 48 MiB ring under a saturated nginx.
fn fixed_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; 128 KiB is glibc's
    // own default, fixed here so that it no longer moves
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

fn run(args: &AgentArgs, stop: StopHandle) -> Result<()> {
    fixed_mmap_threshold();
    let config = match &args.config {
        Some(p) => sonde_agent::Config::load(p)?,
        None => sonde_agent::Config::default(),
    };
    let tags = parse_tags(&args.tags)?;
    let k8s = crate::pipeline::K8sFlags {
        api: &args.k8s_api,
        auth: &args.k8s_auth,
        kubeconfig: &args.kubeconfig,
        node: &args.node_name,
    };
    let external =
        crate::agent_cluster::start(&args.cluster, &config.kubernetes, k8s, args.read.is_some())?;
    let live = args.read.is_none();
    let (listener, scraper) = side_inputs(args, &config, live)?;
    let host = live.then(hostname).flatten();
    let registry = Arc::new(Mutex::new(prom::Registry::new(
        config.limits.max_series * 4,
    )));
    if let Some(addr) = &args.prometheus {
        let bound = prom::serve(addr, registry.clone())
            .map_err(|e| UsageError(format!("--prometheus {addr}: {e}")))?;
        eprintln!("sonde agent: serving http://{bound}/metrics");
    }
    let to_stdout = args.stdout || (args.prometheus.is_none() && !args.otlp.enabled());
    #[cfg(feature = "live")]
    let snaplen = args.snaplen.unwrap_or(config.snaplen);
    let opts = Options {
        config,
        tags,
        cpu: if live {
            CpuSource::Proc
        } else {
            CpuSource::Events
        },
        hostname: host.clone(),
        listener,
        self_metrics: live,
        scraper,
    };
    let mut engine = Engine::new(Config {
        max_events: args.numevents,
        #[cfg(feature = "live")]
        live: sonde_engine::LiveOptions {
            snaplen: Some(snaplen),
            ring_bytes: args.ring_size,
            max_seconds: args.max_seconds,
            containers: std::env::var_os("SONDE_NO_CONTAINERS").is_none(),
        },
        ..Config::default()
    });
    let ops = crate::agent_ops::Ops::start(
        &args.ops,
        live && !args.sidecar,
        &mut engine,
        host.or_else(hostname),
        to_stdout,
    )?;
    let link = ops.sender();
    let otlp = crate::agent_otlp::Otlp::start(&args.otlp, opts.hostname.as_deref())?.map(Arc::new);
    let otlp_out = otlp.clone();
    let reg = registry.clone();
    let publish = Box::new(move |b: &sonde_agent::Batch| -> std::io::Result<()> {
        if let Some(l) = &link {
            for s in &b.series {
                l.push(s.to_json(b.ts));
            }
        }
        if to_stdout {
            let mut out = std::io::stdout().lock();
            b.write_json(&mut out)?;
            out.flush()?;
        }
        if let Some(o) = &otlp_out {
            o.push(b);
        }
        if let Ok(mut r) = reg.lock() {
            r.add(b);
        }
        Ok(())
    });
    let finish_otlp = move || {
        if let Some(o) = otlp.and_then(|o| Arc::try_unwrap(o).ok()) {
            o.finish();
        }
    };
    if args.sidecar {
        let mut explicit: Vec<(String, String)> = opts
            .config
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        explicit.extend(opts.tags.iter().cloned());
        let r = sidecar(
            &explicit,
            opts.hostname.as_deref(),
            publish,
            &stop,
            args.max_seconds,
            external,
        );
        drop(engine);
        ops.finish();
        finish_otlp();
        return r;
    }
    let mut sink = MetricsSink::new(opts, publish);
    if live {
        sink.count_in_kernel(args.ops.kernel_counted());
    }
    if let Some(e) = external {
        sink.set_external(e);
    }
    let drops = Arc::new(std::sync::atomic::AtomicU64::new(0));
    if live {
        sink.set_drop_counter(drops.clone());
    }
    engine.set_stop_handle(stop);
    engine.add_sink(Box::new(sink));
    let k8s = crate::pipeline::K8sFlags {
        api: &args.k8s_api,
        auth: &args.k8s_auth,
        kubeconfig: &args.kubeconfig,
        node: &args.node_name,
    };
    let _k8s = crate::pipeline::start_kubernetes(k8s, args.read.is_some(), &mut engine)?;
    let source = open(args, &mut engine, drops)?;
    let report = engine.run(source);
    // the metrics sink holds the link too: drop it, so the link can flush
    drop(engine);
    ops.finish();
    finish_otlp();
    let report = match report {
        Ok(r) => r,
        // a closed pipe (`| head`) ends the agent quietly
        Err(e) if e.source.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    if let Some(e) = report.error {
        return Err(anyhow::anyhow!("{e}"));
    }
    Ok(())
}

/// The statsd listener (`--statsd-listen` or the config's) and, live, the
/// Prometheus scraper (`--scrape` or the config's).
fn side_inputs(
    args: &AgentArgs,
    config: &sonde_agent::Config,
    live: bool,
) -> Result<(
    Option<sonde_agent::statsd::Listener>,
    Option<sonde_agent::scrape::Scraper>,
)> {
    let listener = match config.statsd.listen.clone().or(args.statsd_listen.clone()) {
        Some(a) => Some(
            sonde_agent::statsd::Listener::start(&a)
                .map_err(|e| UsageError(format!("cannot listen for statsd on '{a}': {e}")))?,
        ),
        None => None,
    };
    let scraper = if live && (args.scrape || config.scrape.enabled) {
        let s = &config.scrape;
        Some(
            sonde_agent::scrape::Scraper::start(
                &s.path,
                s.interval_s,
                std::time::Duration::from_millis(s.timeout_ms.max(1)),
            )
            .context("cannot start the scraper")?,
        )
    } else {
        None
    };
    Ok((listener, scraper))
}

/// Sidecar mode: one reduced batch per wall-clock second until stopped.
fn sidecar(
    explicit: &[(String, String)],
    hostname: Option<&str>,
    mut publish: sonde_agent::Publish<'_>,
    stop: &StopHandle,
    max_seconds: Option<u64>,
    mut external: Option<sonde_agent::External>,
) -> Result<()> {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    };
    eprintln!("sonde agent: sidecar mode (no BPF): reduced series from /proc and cgroup files");
    let mut sc = sonde_agent::sidecar::Sidecar::new(hostname, explicit);
    let start = now();
    sc.start(start);
    let mut next = start + 1_000_000_000;
    loop {
        while now() < next {
            if stop.is_stopped() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut b = sc.sample(next);
        if let Some(e) = external.as_mut() {
            let mut host = explicit.to_vec();
            if let Some(h) = hostname {
                host.push(("host.hostname".into(), h.to_string()));
            }
            crate::agent_cluster::add_to(&mut b, e, &host, explicit);
        }
        match publish(&b) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.context("sidecar output")?,
        }
        next += 1_000_000_000;
        if max_seconds.is_some_and(|m| next - start > m * 1_000_000_000) {
            return Ok(());
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn open(
    args: &AgentArgs,
    engine: &mut Engine<'_>,
    drops: Arc<std::sync::atomic::AtomicU64>,
) -> Result<Source> {
    if let Some(path) = &args.read {
        return Source::open_file(path.as_ref()).with_context(|| format!("cannot read '{path}'"));
    }
    #[cfg(feature = "live")]
    {
        let mut s = engine.open_live().map_err(|e| {
            anyhow::anyhow!(
                "live capture: {e} (where BPF is not allowed, \
                     `sonde agent --sidecar` reports reduced series from /proc)"
            )
        })?;
        if let Source::Live(l) = &mut s {
            l.set_drop_counter(drops);
        }
        Ok(s)
    }
    #[cfg(not(feature = "live"))]
    {
        let _ = (engine, drops);
        Err(UsageError("live capture is not built in (feature `live`): use -r FILE".into()).into())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        // duplicate ids between flattened groups (e.g. two `ca`) fail here
        super::AgentArgs::command().debug_assert();
    }
}

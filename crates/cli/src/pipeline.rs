//! The pipeline: a source of events (capture file or the live probe),
//! the state engine, the filter, and the sinks.

use std::io::Write;

use anyhow::{Context, Result};
use sonde_event::{category, codes};
use sonde_fields::{
    unescape_format, Ctx, Format, TimeFmt, CONTAINER_FORMAT, DEFAULT_FORMAT, K8S_FORMAT,
    MESOS_FORMAT, TTY_FORMAT,
};
use sonde_output::{BufFmt, RenderOpts};
use sonde_scap::layout::Layout;
use sonde_scap::{Block, FileReader};

#[cfg(feature = "live")]
use crate::live::Live;
use crate::live::Source;
use sonde_state::State;

use crate::args::Args;
use crate::dump::{DumpOpts, Dumper};
use crate::printer::Printer;
use crate::UsageError;

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

pub fn run(args: &Args) -> Result<()> {
    let stdout = std::io::stdout();
    if args.list_events {
        let mut out = stdout.lock();
        crate::listing::list_events(&mut out)?;
        return Ok(());
    }
    if args.list {
        let mut out = stdout.lock();
        sonde_fields::registry::write_list(&mut out, args.verbose)?;
        return Ok(());
    }
    let time_fmt = match args.timetype.as_deref() {
        None | Some("h") => TimeFmt::Human,
        Some("a") => TimeFmt::Absolute,
        Some("r") => TimeFmt::Relative,
        Some("d") => TimeFmt::Delta,
        Some("D") => TimeFmt::DeltaPrev,
        Some(other) => {
            return Err(usage(format!(
                "invalid time type '{other}': expected h, a, r, d or D"
            )))
        }
    };
    let buf_fmt = if args.base64 {
        BufFmt::Base64
    } else if args.hex_ascii {
        BufFmt::HexAscii
    } else if args.hex {
        BufFmt::Hex
    } else if args.ascii {
        BufFmt::Ascii
    } else if args.json {
        BufFmt::Json
    } else {
        BufFmt::Normal
    };
    let opts = RenderOpts {
        buf_fmt,
        max_buf_len: if args.verbose { 0 } else { 80 },
        // Files render as sysdig 0.29 does. Live events follow the current
        // (exit-only) event model, whose exit events carry the fd, size,
        // ... that sysdig 0.29 showed on enter events: they render with the
        // current parameter lists.
        compat_029: args.read.is_some(),
    };
    // on a terminal sysdig's default format is coloured
    let tty = std::io::IsTerminal::is_terminal(&stdout);
    let default_format = if tty { TTY_FORMAT } else { DEFAULT_FORMAT };
    let fmt_str = match args.print.as_deref() {
        None => default_format,
        Some("c") | Some("container") => CONTAINER_FORMAT,
        Some("k") | Some("kubernetes") => K8S_FORMAT,
        Some("m") | Some("mesos") => MESOS_FORMAT,
        Some("p") => {
            // -pp: show the default format (to tweak it) and stop
            let mut out = stdout.lock();
            // as written, before escapes are interpreted
            writeln!(out, "{}", default_format.replace('\x1b', "\\e"))?;
            return Ok(());
        }
        Some(f) => f,
    };
    // \n, \t, \e and \\ in the format are escapes
    let fmt_owned = unescape_format(fmt_str);
    let fmt_str = fmt_owned.as_str();
    // a format with colours gets them reset when the capture ends
    let reset_colors = fmt_str.contains('\x1b');
    let format = Format::parse(fmt_str)
        .map_err(|e| usage(format!("invalid output format '{fmt_str}': {e}")))?;
    let filter = crate::filtering::compile(args)?;
    #[cfg(feature = "live")]
    let tracepoints = crate::filtering::kernel_tracepoints(filter.as_ref());
    // without -r: live capture with the eBPF probe
    let started = std::time::Instant::now();
    let (path, mut reader) = match args.read.as_deref() {
        Some(path) => (
            path,
            Source::File(
                FileReader::open(path.as_ref()).with_context(|| format!("cannot read '{path}'"))?,
            ),
        ),
        #[cfg(not(feature = "live"))]
        None => {
            return Err(usage(
                "live capture is not built in (built without the `live` feature): read a capture with -r FILE",
            ))
        }
        #[cfg(feature = "live")]
        None => (
            "live capture",
            Source::Live(Box::new(Live::start(
                sonde_probe::Config {
                    snaplen: args.snaplen.unwrap_or(80),
                    syscalls: crate::filtering::kernel_syscalls(filter.as_ref()),
                    sched_switch: tracepoints.sched_switch,
                    page_faults: tracepoints.page_faults,
                    ring_bytes: args
                        .ring_size
                        .unwrap_or(sonde_probe::Config::default().ring_bytes),
                    suppress_comms: args.suppress_comm.clone(),
                    latency: crate::filtering::needs_latency(args, filter.as_ref(), &format),
                    ..sonde_probe::Config::default()
                },
                args.max_seconds,
            )?)),
        ),
    };
    let mut st = State::new();
    #[cfg(feature = "live")]
    if args.read.is_none() {
        // threads that started while /proc was being scanned: look them up
        st.set_resolver(Box::new(|tid| {
            sonde_probe::proc::read_process_at(std::path::Path::new("/proc"), tid)
                .map(|p| (p.threads, p.fds))
        }));
    }
    let layout = match args.layout.as_deref() {
        // live events are exit-only: write the classic layout, with the
        // enter events derived, unless asked otherwise (sysdig 0.29 needs it)
        None if args.read.is_none() => Some(Layout::Classic),
        None => None,
        Some("classic") => Some(Layout::Classic),
        Some("exit-only") => Some(Layout::ExitOnly),
        Some(other) => {
            return Err(usage(format!(
                "invalid layout '{other}': expected classic or exit-only"
            )))
        }
    };
    let mut dumper = args.write.as_ref().map(|path| {
        Dumper::new(DumpOpts {
            path: path.clone(),
            gzip: args.compress,
            rollover_mb: args.file_size.unwrap_or(0),
            file_limit: args.file_limit.unwrap_or(0),
            seconds: args.seconds.unwrap_or(0),
            events_per_file: args.events_per_file.unwrap_or(0),
            filter_proclist: args.filter_proclist,
            layout,
        })
    });
    // As in sysdig, writing a capture replaces printing unless asked for.
    let print = !args.quiet && (dumper.is_none() || args.print.is_some() || args.json);
    // The state engine runs only when something reads it after the first
    // file header: printing, a filter, rotation (each file starts with the
    // state of its moment), --filter-proclist, layout conversion or -F.
    let needs_state = print
        || filter.is_some()
        || args.file_size.is_some()
        || args.seconds.is_some()
        || args.events_per_file.is_some()
        || args.filter_proclist
        || args.layout.is_some()
        || args.fatfile
        || args.summary;
    if args.write.as_deref() == Some("-") && print {
        return Err(usage(
            "-w - writes the capture to standard output: add -q or drop -p/-j",
        ));
    }
    // (the printer buffers its output itself)
    let mut printer = Printer::new(stdout.lock(), format, args.json);
    let (mut num, mut first_ts, mut prev_ts) = (0u64, 0u64, 0u64);
    // events that passed the filter (all of them without one): what -n counts
    let mut passed = 0u64;
    let mut last_types = crate::filtering::LastEventTypes::default();
    // Events whose type the filter cannot accept and that do not modify
    // state are rejected before the state engine sees them, as sysdig's
    // parser does.
    let types = if args.displayflt {
        None
    } else {
        crate::filtering::type_table(filter.as_ref())
    };
    // container events at the very start of a capture describe the
    // containers that existed; sysdig consumes them while opening the file
    let mut opening = true;
    let mut summary = args.summary.then(crate::summary::Summary::new);
    let max = args.numevents.unwrap_or(u64::MAX);
    // Plain copy (-w with nothing reading the state after each file's
    // header): v2 event blocks go out as they came in, undecoded.
    let raw_copy = !needs_state && dumper.is_some() && args.suppress_comm.is_empty();
    let result = if let (true, Source::File(r), Some(d)) = (raw_copy, &mut reader, dumper.as_mut())
    {
        let mut v2 = Vec::with_capacity(1 << 12);
        loop {
            let at = r.offset();
            let (bt, body) = match r.next_raw_block() {
                Ok(Some(x)) => x,
                Ok(None) => break Ok(()),
                Err(e) => break Err(crate::live::SourceError::File(e)),
            };
            use sonde_scap::blocks as b;
            match bt {
                b::EV_V2 | b::EVF_V2 | b::EV_V2_LARGE | b::EVF_V2_LARGE => {
                    if !sonde_scap::event_block_known(body, bt) {
                        continue;
                    }
                    let pre = if matches!(bt, b::EVF_V2 | b::EVF_V2_LARGE) {
                        6
                    } else {
                        2
                    };
                    let ts = body
                        .get(pre..pre + 8)
                        .map(|x| u64::from_le_bytes(x.try_into().unwrap_or_default()))
                        .unwrap_or(0);
                    num += 1;
                    d.raw_event(&st, bt, body, ts).with_context(|| {
                        format!("cannot write '{}'", args.write.as_deref().unwrap_or(""))
                    })?;
                }
                b::EV | b::EV_INT | b::EVF
                    if sonde_scap::event_block_known(body, bt)
                        && sonde_scap::v1_event_to_v2(body, bt, &mut v2).is_some() =>
                {
                    // old blocks: the same bytes with the parameter count added
                    let nbt = if bt == b::EVF { b::EVF_V2 } else { b::EV_V2 };
                    let pre = if bt == b::EVF { 6 } else { 2 };
                    let ts = v2
                        .get(pre..pre + 8)
                        .map(|x| u64::from_le_bytes(x.try_into().unwrap_or_default()))
                        .unwrap_or(0);
                    num += 1;
                    d.raw_event(&st, nbt, &v2, ts).with_context(|| {
                        format!("cannot write '{}'", args.write.as_deref().unwrap_or(""))
                    })?;
                }
                b::SHB => {}
                _ => {
                    let block = sonde_scap::decode_block(body, bt).map_err(|m| {
                        crate::live::SourceError::File(sonde_scap::Error::new(
                            at,
                            sonde_scap::ErrorKind::Corrupt(m),
                        ))
                    });
                    match block {
                        Ok(Some(Block::Event(ev))) => {
                            // old (v1) event blocks are rewritten in the v2 layout
                            num += 1;
                            d.event(&st, &ev, false).with_context(|| {
                                format!("cannot write '{}'", args.write.as_deref().unwrap_or(""))
                            })?;
                        }
                        Ok(Some(other)) => st.apply_block(&other),
                        Ok(None) => {}
                        Err(e) => break Err(e),
                    }
                }
            }
            if num >= max || crate::signals::stop_requested() {
                break Ok(());
            }
        }
    } else {
        // decoding moves to a helper thread: this one keeps state, filter
        // and output
        if let Source::File(r) = reader {
            reader = Source::Decoded(sonde_scap::DecodeAhead::new(r));
        }
        loop {
            let next = reader.next_block();
            let ev = match next {
                Ok(Some(Block::Event(ev))) => {
                    // an event view owns nothing: no drop glue to run
                    std::mem::forget(next);
                    ev
                }
                Ok(Some(other)) => {
                    st.apply_block(&other);
                    continue;
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            num += 1;
            let container_json =
                matches!(ev.code, codes::CONTAINER_JSON_E | codes::CONTAINER_JSON_2_E);
            opening = opening && (container_json || ev.code == codes::CONTAINER_E);
            if first_ts == 0 && !container_json {
                first_ts = ev.ts;
            }
            if let Some(d) = dumper.as_mut() {
                d.before(&st, &ev).with_context(|| {
                    format!("cannot write '{}'", args.write.as_deref().unwrap_or(""))
                })?;
            }
            if let Some(t) = &types {
                if !t.may_accept(&ev) && !crate::filtering::modifies_state(&ev) {
                    last_types.note_rejected(&ev);
                    if crate::signals::stop_requested() {
                        break Ok(());
                    }
                    continue;
                }
            }
            if needs_state || !args.suppress_comm.is_empty() {
                st.process(&ev);
            }
            // -U: events of processes with these names are ignored altogether
            if !args.suppress_comm.is_empty()
                && st.thread(ev.tid).is_some_and(|t| {
                    args.suppress_comm.iter().any(|c| {
                        let c = c.as_bytes();
                        t.comm == c[..c.len().min(15)]
                    })
                })
            {
                continue;
            }
            // sysdig's capture filter: events it rejects are not counted,
            // written or shown (-d makes it a display filter: shown only)
            let pass = match &filter {
                Some(f) if !args.displayflt => {
                    let ctx = Ctx {
                        st: &st,
                        ev: &ev,
                        num,
                        first_ts,
                        prev_ts,
                        opts: &opts,
                        time_fmt,
                        lookups: Default::default(),
                    };
                    last_types.check(f, &ctx)
                }
                _ => true,
            };
            if let Some(d) = dumper.as_mut() {
                let state_only = !pass && args.fatfile && crate::filtering::modifies_state(&ev);
                if pass || state_only {
                    d.event(&st, &ev, state_only).with_context(|| {
                        format!("cannot write '{}'", args.write.as_deref().unwrap_or(""))
                    })?;
                }
            }
            if !pass {
                if crate::signals::stop_requested() {
                    break Ok(());
                }
                continue;
            }
            // state-only events of fatfile captures are applied, never shown
            let state_only = ev.dump_flags & sonde_scap::DF_STATE_ONLY != 0;
            let internal = ev
                .info()
                .map(|i| i.old_category & category::INTERNAL != 0)
                .unwrap_or(true);
            // events the engine filters out (state-only, failed container
            // lookups) still show with -D when they are internal ones
            let shown = if state_only || st.suppressed() {
                args.debug && internal
            } else {
                !internal || args.debug
            };
            // what sysdig's engine hands out: -n and -S count these
            let handed_out = !opening && (shown || !(state_only || st.suppressed()));
            if handed_out {
                passed += 1;
                if let Some(s) = summary.as_mut() {
                    s.count(&ev);
                }
            }
            if print && shown && !opening {
                let ctx = Ctx {
                    st: &st,
                    ev: &ev,
                    num,
                    first_ts,
                    prev_ts,
                    opts: &opts,
                    time_fmt,
                    lookups: Default::default(),
                };
                let display_ok = match &filter {
                    Some(f) if args.displayflt => f.matches(&ctx),
                    _ => true,
                };
                if display_ok {
                    if let Err(e) = printer.event(&ctx) {
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            return Ok(());
                        }
                        return Err(e.into());
                    }
                }
                // `-t D` is relative to the previous event that was formatted
                // (sysdig formats before it applies the display filter)
                prev_ts = ev.ts;
            }
            if passed >= max || crate::signals::stop_requested() {
                break Ok(());
            }
        }
    };
    if reset_colors && print {
        let _ = printer.write_raw(b"\x1b[00m");
    }
    match printer.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    if let Some(s) = summary {
        let mut out = stdout.lock();
        match s.print(&mut out).and_then(|_| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => {}
        }
    }
    if let Some(d) = dumper.as_mut() {
        d.finish(&st)
            .with_context(|| format!("cannot write '{}'", args.write.as_deref().unwrap_or("")))?;
    }
    if args.verbose {
        // sysdig's -v capture summary, on stderr
        let (driver, drops) = reader.driver_stats();
        let secs = started.elapsed().as_secs_f64();
        let eps = if secs > 0.0 { num as f64 / secs } else { 0.0 };
        eprintln!("Driver Events:{driver}\nDriver Drops:{drops}\nSuppressed by Comm:0");
        eprintln!("Elapsed time: {secs:.3}, Captured Events: {num}, {eps:.2} eps");
    }
    result.map_err(|e| e.into_anyhow(path))?;
    let _ = std::io::stderr().flush();
    Ok(())
}

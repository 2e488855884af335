//! sysdig's flags turned into what the engine and the sinks take: time
//! and buffer formats, the output format, the written layout.

use anyhow::Result;
use sonde_fields::{
    unescape_format, Format, TimeFmt, CONTAINER_FORMAT, DEFAULT_FORMAT, K8S_FORMAT, MESOS_FORMAT,
    TTY_FORMAT,
};
use sonde_output::{BufFmt, RenderOpts};
use sonde_scap::layout::Layout;

use crate::args::Args;
use crate::UsageError;

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// `-t`.
pub fn time_fmt(args: &Args) -> Result<TimeFmt> {
    Ok(match args.timetype.as_deref() {
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
    })
}

/// `-b`, `-X`, `-x`, `-A`, `-j`, `-v`: how parameters render.
pub fn render_opts(args: &Args) -> RenderOpts {
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
    RenderOpts {
        buf_fmt,
        max_buf_len: if args.verbose { 0 } else { 80 },
        // Files render as sysdig 0.29 does. Live events follow the current
        // (exit-only) event model, whose exit events carry the fd, size,
        // ... that sysdig 0.29 showed on enter events: they render with the
        // current parameter lists.
        compat_029: args.read.is_some(),
    }
}

/// The default format: coloured on a terminal, as sysdig's.
pub fn default_format() -> &'static str {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        TTY_FORMAT
    } else {
        DEFAULT_FORMAT
    }
}

/// `-p`: the output format, and whether it has colours to reset at the end.
pub fn output_format(args: &Args) -> Result<(Format, bool)> {
    let fmt_str = match args.print.as_deref() {
        None => default_format(),
        Some("c") | Some("container") => CONTAINER_FORMAT,
        Some("k") | Some("kubernetes") => K8S_FORMAT,
        Some("m") | Some("mesos") => MESOS_FORMAT,
        Some(f) => f,
    };
    // \n, \t, \e and \\ in the format are escapes
    let fmt = unescape_format(fmt_str);
    let format =
        Format::parse(&fmt).map_err(|e| usage(format!("invalid output format '{fmt}': {e}")))?;
    Ok((format, fmt.contains('\x1b')))
}

/// `--layout`: live events are exit-only; files get the classic layout
/// (with enter events derived) unless asked otherwise (sysdig 0.29 needs it).
pub fn layout(args: &Args) -> Result<Option<Layout>> {
    Ok(match args.layout.as_deref() {
        None if args.read.is_none() => Some(Layout::Classic),
        None => None,
        Some("classic") => Some(Layout::Classic),
        Some("exit-only") => Some(Layout::ExitOnly),
        Some(other) => {
            return Err(usage(format!(
                "invalid layout '{other}': expected classic or exit-only"
            )))
        }
    })
}

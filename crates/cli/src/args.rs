//! Command-line flags, named and meaning what they mean in sysdig.

use clap::{ArgAction, Parser};

#[derive(Parser, Debug, Default)]
#[command(
    name = "sonde",
    version,
    about = "System visibility for Linux: capture, inspect and replay system calls (sysdig-compatible)",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Args {
    /// Print this help.
    #[arg(short = 'h', long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Print the version.
    #[arg(long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,

    /// Read the events from this capture file (plain or gzip).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<String>,

    /// Live capture: stop after SEC seconds.
    #[arg(short = 'M', value_name = "SEC")]
    pub max_seconds: Option<u64>,

    /// Stop after this many events.
    #[arg(short = 'n', long = "numevents", value_name = "NUM")]
    pub numevents: Option<u64>,

    /// Output format: a format string, or c/container, k/kubernetes.
    #[arg(
        short = 'p',
        long = "print",
        value_name = "FORMAT",
        allow_hyphen_values = true
    )]
    pub print: Option<String>,

    /// Emit JSON, one object per event.
    #[arg(short = 'j', long = "json")]
    pub json: bool,

    /// Time format: h (human), a (absolute), r (relative), d (delta enter/exit), D (delta from previous).
    #[arg(short = 't', long = "timetype", value_name = "TYPE")]
    pub timetype: Option<String>,

    /// Print only the text of data buffers, keeping end-of-lines.
    #[arg(short = 'A', long = "print-ascii")]
    pub ascii: bool,

    /// Print data buffers in hex.
    #[arg(short = 'x', long = "print-hex")]
    pub hex: bool,

    /// Print data buffers in hex and ASCII.
    #[arg(short = 'X', long = "print-hex-ascii")]
    pub hex_ascii: bool,

    /// Print data buffers in base64.
    #[arg(short = 'b', long = "print-base64")]
    pub base64: bool,

    /// Capture the first LEN bytes of each I/O buffer (default 80).
    #[arg(short = 's', long = "snaplen", value_name = "LEN")]
    pub snaplen: Option<u32>,

    /// Print a summary of the top events at the end.
    #[arg(short = 'S', long = "summary")]
    pub summary: bool,

    /// Verbose: full buffers, and a capture summary at the end.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Show internal events too, and log more on stderr.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,

    /// Apply the filter after the state update (a display filter).
    #[arg(short = 'd', long = "displayflt")]
    pub displayflt: bool,

    /// List the fields usable in filters and formats (-lv: with types).
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    /// List the events sonde knows.
    #[arg(short = 'L', long = "list-events")]
    pub list_events: bool,

    /// Write the events to this capture file (`-` for standard output).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,

    /// Compress the capture written with -w (gzip).
    #[arg(short = 'z', long = "compress")]
    pub compress: bool,

    /// Don't print events (useful with -w).
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// With -w: start a new file when the current one exceeds SIZE million bytes.
    #[arg(short = 'C', long = "file-size", value_name = "SIZE")]
    pub file_size: Option<u64>,

    /// With -C/-G/-e: keep at most NUM files, reusing them as a ring.
    #[arg(short = 'W', long = "limit", value_name = "NUM")]
    pub file_limit: Option<u32>,

    /// With -w: start a new file every SEC seconds; the name may hold strftime(3) patterns.
    #[arg(short = 'G', long = "seconds", value_name = "SEC")]
    pub seconds: Option<u64>,

    /// With -w: start a new file every NUM events.
    #[arg(short = 'e', long = "events", value_name = "NUM")]
    pub events_per_file: Option<u64>,

    /// Fatfile mode: also write the events the filter rejects but state needs (hidden on read).
    #[arg(short = 'F', long = "fatfile")]
    pub fatfile: bool,

    /// With -w: the process and fd lists in the file hold only what the written events refer to.
    #[arg(long = "filter-proclist")]
    pub filter_proclist: bool,

    /// With -w: the event layout to write: `classic` (enter and exit events; enter events
    /// are derived when the source has only exits) or `exit-only` (current libs' compact
    /// layout). Without it, events are written as they come.
    #[arg(long = "layout", value_name = "LAYOUT")]
    pub layout: Option<String>,

    /// Filter expression (sysdig syntax).
    // No `allow_hyphen_values` here: with it, clap takes short options
    // with attached values (`-pc`, `-n5`) for filter words.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

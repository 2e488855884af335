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

    /// Kubernetes API server URL (`https://host:port`): live events get
    /// their pod's metadata (`k8s.*` fields).
    #[arg(short = 'k', long = "k8s-api", value_name = "URL")]
    pub k8s_api: Option<String>,

    /// Kubernetes credentials: a bearer token file, or
    /// `cert_file:key_file[:ca_cert_file]`.
    #[arg(short = 'K', long = "k8s-api-cert", value_name = "AUTH")]
    pub k8s_auth: Option<String>,

    /// Kubernetes: read the API server and credentials from this kubeconfig.
    #[arg(long = "kubeconfig", value_name = "FILE")]
    pub kubeconfig: Option<String>,

    /// Kubernetes: the node whose pods are watched (default: the host name).
    #[arg(long = "node-name", value_name = "NAME")]
    pub node_name: Option<String>,

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

    /// Ignore all events of processes with this name (repeatable); in live
    /// capture they are dropped in the kernel.
    #[arg(short = 'U', long = "suppress-comm", value_name = "COMM")]
    pub suppress_comm: Vec<String>,

    /// Live capture: size of each CPU's kernel ring buffer, in bytes (suffixes
    /// K, M, G; rounded up to a power of two, at least 64K). Default 16M.
    #[arg(long = "ring-size", value_name = "SIZE", value_parser = parse_size)]
    pub ring_size: Option<u32>,

    /// Filter expression (sysdig syntax).
    // No `allow_hyphen_values` here: with it, clap takes short options
    // with attached values (`-pc`, `-n5`) for filter words.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// Reorders the command line the way GNU `getopt` (and so sysdig) reads
/// it: options may follow the filter words (`sonde -r f evt.type=open -j`),
/// so options and their values move in front of the other words, which
/// keep their order. A `--` ends the options.
pub fn gnu_order(argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let cmd = Args::command();
    let takes_value = |a: &clap::Arg| a.get_action().takes_values();
    let short_value = |c: char| {
        cmd.get_arguments()
            .any(|a| a.get_short() == Some(c) && takes_value(a))
    };
    let long_value = |name: &str| {
        cmd.get_arguments()
            .any(|a| a.get_long() == Some(name) && takes_value(a))
    };
    let mut it = argv.into_iter();
    let mut opts: Vec<std::ffi::OsString> = it.next().into_iter().collect();
    let mut words = Vec::new();
    while let Some(arg) = it.next() {
        let s = arg.to_string_lossy().into_owned();
        if s == "--" {
            words.extend(it.by_ref());
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            let needs_next = !long.contains('=') && long_value(long);
            opts.push(arg);
            if needs_next {
                opts.extend(it.next());
            }
        } else if s.len() > 1 && s.starts_with('-') {
            // a cluster of short flags; the first that takes a value takes
            // the rest of the word, or the next word
            let mut needs_next = false;
            for (i, c) in s.char_indices().skip(1) {
                if short_value(c) {
                    needs_next = i + c.len_utf8() == s.len();
                    break;
                }
            }
            opts.push(arg);
            if needs_next {
                opts.extend(it.next());
            }
        } else {
            words.push(arg);
        }
    }
    if !words.is_empty() {
        // keep the filter words apart from anything clap might read as
        // options
        opts.push("--".into());
        opts.extend(words);
    }
    opts
}

/// Parses a byte size with an optional K, M or G suffix.
fn parse_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 65536, 256K, 16M)"))?;
    let v = n
        .checked_mul(mult)
        .filter(|v| *v <= 1 << 31)
        .ok_or_else(|| format!("'{s}' is too large (at most 2G)"))?;
    Ok(v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(a: &[&str]) -> Vec<String> {
        gnu_order(a.iter().map(|s| s.into()).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn options_after_the_filter_move_first() {
        assert_eq!(
            order(&[
                "sonde",
                "-r",
                "f",
                "evt.type=open",
                "-j",
                "-p",
                "%evt.num",
                "and",
                "x"
            ]),
            [
                "sonde",
                "-r",
                "f",
                "-j",
                "-p",
                "%evt.num",
                "--",
                "evt.type=open",
                "and",
                "x"
            ]
        );
        assert_eq!(order(&["sonde", "-pc", "-rf"]), ["sonde", "-pc", "-rf"]);
        assert_eq!(
            order(&["sonde", "--read", "f", "a", "--", "-b"]),
            ["sonde", "--read", "f", "--", "a", "-b"]
        );
        let a = Args::try_parse_from(gnu_order(
            ["sonde", "-r", "f", "proc.name=cat", "-j"]
                .iter()
                .map(|s| s.into())
                .collect(),
        ))
        .unwrap();
        assert!(a.json);
        assert_eq!(a.filter, ["proc.name=cat"]);
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(super::parse_size("65536"), Ok(65536));
        assert_eq!(super::parse_size("64K"), Ok(65536));
        assert_eq!(super::parse_size("16m"), Ok(16 << 20));
        assert!(super::parse_size("3X").is_err());
        assert!(super::parse_size("8G").is_err());
    }
}

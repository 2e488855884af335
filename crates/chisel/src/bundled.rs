//! The chisels sonde bundles (written for sonde, embedded in the binary):
//! they sit on the search path as the directory `<bundled>`, after the
//! user's directories and before sysdig's, and their helper modules
//! (`common`, `ansiterminal`, `dkjson`, and sonde's own `sonde_*`) are what any chisel,
//! sysdig's own included, gets when it `require`s those names.

/// (name, source) of `chisels/NAME.lua`.
macro_rules! bundle {
    ($name:literal) => {
        ($name, include_str!(concat!("../chisels/", $name, ".lua")))
    };
}

/// The name the bundled directory goes by on the search path and in
/// messages (`<bundled>/topprocs_cpu.lua:12: ...`).
pub const DIR: &str = "<bundled>";

/// The bundled chisels: (name, source).
pub const CHISELS: &[(&str, &str)] = &[
    bundle!("echo_fds"),
    bundle!("fdbytes_by"),
    bundle!("fdcount_by"),
    bundle!("fdtime_by"),
    bundle!("iobytes"),
    bundle!("iobytes_file"),
    bundle!("iobytes_net"),
    bundle!("spectrogram"),
    bundle!("spy_file"),
    bundle!("spy_ip"),
    bundle!("spy_port"),
    bundle!("spy_users"),
    bundle!("stderr"),
    bundle!("stdin"),
    bundle!("stdout"),
    bundle!("subsecoffset"),
    bundle!("table_generator"),
    bundle!("topconns"),
    bundle!("topcontainers_cpu"),
    bundle!("topcontainers_error"),
    bundle!("topcontainers_file"),
    bundle!("topcontainers_net"),
    bundle!("topfiles_bytes"),
    bundle!("topfiles_errors"),
    bundle!("topfiles_time"),
    bundle!("topports_server"),
    bundle!("topprocs_cpu"),
    bundle!("topprocs_errors"),
    bundle!("topprocs_file"),
    bundle!("topprocs_net"),
    bundle!("udp_extract"),
];

/// The bundled modules chisels may `require`: (name, source).
pub const MODULES: &[(&str, &str)] = &[
    bundle!("sonde_top"),
    bundle!("common"),
    bundle!("ansiterminal"),
    bundle!("dkjson"),
    bundle!("sonde_std"),
    bundle!("sonde_spy"),
    bundle!("sonde_heat"),
];

/// Every bundled chisel: [`CHISELS`] and the system, performance,
/// security, log and tracer chisels (listed in `bundled_sys.rs`).
pub fn chisels() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    CHISELS.iter().chain(crate::bundled_sys::CHISELS)
}

/// Every bundled module: [`MODULES`] and those listed in `bundled_sys.rs`.
pub fn modules() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    MODULES.iter().chain(crate::bundled_sys::MODULES)
}

/// The source of a bundled chisel, by the path the search path gives it.
pub fn source(path: &std::path::Path) -> Option<&'static str> {
    let rest = path.strip_prefix(DIR).ok()?;
    let name = rest.to_str()?.strip_suffix(".lua")?;
    chisels().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

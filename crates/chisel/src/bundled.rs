//! The chisels sonde bundles (written for sonde, embedded in the binary):
//! they sit on the search path as the directory `<bundled>`, after the
//! user's directories and before sysdig's, and their helper modules
//! (`common`, `ansiterminal`, `dkjson`, `sonde_top`) are what any chisel,
//! sysdig's own included, gets when it `require`s those names.

/// The name the bundled directory goes by on the search path and in
/// messages (`<bundled>/topprocs_cpu.lua:12: ...`).
pub const DIR: &str = "<bundled>";

/// The bundled chisels: (name, source).
pub const CHISELS: &[(&str, &str)] = &[
    ("echo_fds", include_str!("../chisels/echo_fds.lua")),
    ("fdbytes_by", include_str!("../chisels/fdbytes_by.lua")),
    ("spy_users", include_str!("../chisels/spy_users.lua")),
    (
        "topfiles_bytes",
        include_str!("../chisels/topfiles_bytes.lua"),
    ),
    ("topprocs_cpu", include_str!("../chisels/topprocs_cpu.lua")),
    (
        "table_generator",
        include_str!("../chisels/table_generator.lua"),
    ),
];

/// The bundled modules chisels may `require`: (name, source).
pub const MODULES: &[(&str, &str)] = &[
    ("sonde_top", include_str!("../chisels/sonde_top.lua")),
    ("common", include_str!("../chisels/common.lua")),
    ("ansiterminal", include_str!("../chisels/ansiterminal.lua")),
    ("dkjson", include_str!("../chisels/dkjson.lua")),
];

/// The source of a bundled chisel, by the path the search path gives it.
pub fn source(path: &std::path::Path) -> Option<&'static str> {
    let rest = path.strip_prefix(DIR).ok()?;
    let name = rest.to_str()?.strip_suffix(".lua")?;
    CHISELS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

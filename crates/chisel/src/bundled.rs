//! The chisels sonde bundles (written for sonde, embedded in the binary):
//! they sit on the search path as the directory `<bundled>`, after the
//! user's directories and before sysdig's, and their helper module
//! (`sonde_top`) can be `require`d by any chisel.

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
];

/// The bundled modules chisels may `require`: (name, source).
pub const MODULES: &[(&str, &str)] = &[("sonde_top", include_str!("../chisels/sonde_top.lua"))];

/// Every bundled chisel: [`CHISELS`] and the system, performance,
/// security, log and tracer chisels of [`crate::bundled_sys`].
pub fn chisels() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    CHISELS.iter().chain(crate::bundled_sys::CHISELS)
}

/// Every bundled module: [`MODULES`] and those of [`crate::bundled_sys`].
pub fn modules() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    MODULES.iter().chain(crate::bundled_sys::MODULES)
}

/// The source of a bundled chisel, by the path the search path gives it.
pub fn source(path: &std::path::Path) -> Option<&'static str> {
    let rest = path.strip_prefix(DIR).ok()?;
    let name = rest.to_str()?.strip_suffix(".lua")?;
    chisels().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

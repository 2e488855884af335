//! The bundled chisels of sysdig's Application, Logs, Misc, Performance,
//! Security, System State and Tracers categories (written for sonde,
//! embedded in the binary), and `sonde_util`, the helper module they
//! share; [`crate::bundled`] lists them with the others.

/// (name, source) of each chisel.
pub(crate) const CHISELS: &[(&str, &str)] = &[
    ("topscalls", include_str!("../chisels/topscalls.lua")),
    (
        "topscalls_time",
        include_str!("../chisels/topscalls_time.lua"),
    ),
    (
        "proc_exec_time",
        include_str!("../chisels/proc_exec_time.lua"),
    ),
    (
        "list_login_shells",
        include_str!("../chisels/list_login_shells.lua"),
    ),
    ("lscontainers", include_str!("../chisels/lscontainers.lua")),
    ("httplog", include_str!("../chisels/httplog.lua")),
    ("httptop", include_str!("../chisels/httptop.lua")),
    ("bottlenecks", include_str!("../chisels/bottlenecks.lua")),
    ("fileslower", include_str!("../chisels/fileslower.lua")),
    ("netlower", include_str!("../chisels/netlower.lua")),
    ("scallslower", include_str!("../chisels/scallslower.lua")),
    ("ps", include_str!("../chisels/ps.lua")),
    ("lsof", include_str!("../chisels/lsof.lua")),
    ("netstat", include_str!("../chisels/netstat.lua")),
    (
        "shellshock_detect",
        include_str!("../chisels/shellshock_detect.lua"),
    ),
    ("memcachelog", include_str!("../chisels/memcachelog.lua")),
    ("around", include_str!("../chisels/around.lua")),
    ("spy_syslog", include_str!("../chisels/spy_syslog.lua")),
    ("spy_logs", include_str!("../chisels/spy_logs.lua")),
    (
        "tracers_2_statsd",
        include_str!("../chisels/tracers_2_statsd.lua"),
    ),
];

/// (name, source) of each module.
pub(crate) const MODULES: &[(&str, &str)] =
    &[("sonde_util", include_str!("../chisels/sonde_util.lua"))];

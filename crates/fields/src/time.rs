//! Timestamps as sysdig prints them.

use std::io::Write;

/// The `-t` time formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFmt {
    /// `h`: local wall-clock time, `HH:MM:SS.nnnnnnnnn`.
    #[default]
    Human,
    /// `a`: seconds since the epoch.
    Absolute,
    /// `r`: seconds since the first event.
    Relative,
    /// `d`: latency between an exit event and its enter event.
    Delta,
    /// `D`: seconds since the previous event.
    DeltaPrev,
}

/// Appends `HH:MM:SS.nnnnnnnnn` in the local time zone (honours `TZ`).
pub fn fmt_local_time(ts: u64, out: &mut Vec<u8>) {
    let secs = (ts / 1_000_000_000) as libc::time_t;
    let nanos = ts % 1_000_000_000;
    // SAFETY: localtime_r writes into the tm we own; a zeroed tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if ok {
        let _ = write!(
            out,
            "{:02}:{:02}:{:02}.{:09}",
            tm.tm_hour, tm.tm_min, tm.tm_sec, nanos
        );
    } else {
        let _ = write!(out, "{}.{:09}", ts / 1_000_000_000, nanos);
    }
}

/// Appends a date and time, `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`, local time.
pub fn fmt_local_datetime(ts: u64, out: &mut Vec<u8>) {
    let secs = (ts / 1_000_000_000) as libc::time_t;
    let nanos = ts % 1_000_000_000;
    // SAFETY: as above.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:09}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        nanos
    );
}

/// Appends `S.nnnnnnnnn`.
pub fn fmt_secs(ns: u64, out: &mut Vec<u8>) {
    let _ = write!(out, "{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
}

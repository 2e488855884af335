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
/// The broken-down time is cached per second: events arrive in time order,
/// so `localtime_r` runs about once per second of capture.
pub fn fmt_local_time(ts: u64, out: &mut Vec<u8>) {
    thread_local! {
        static LAST: std::cell::Cell<(u64, [u8; 8])> = const { std::cell::Cell::new((u64::MAX, [0; 8])) };
    }
    let secs = ts / 1_000_000_000;
    let nanos = ts % 1_000_000_000;
    let (cached, hms) = LAST.with(|c| c.get());
    let hms = if cached == secs {
        hms
    } else {
        match local_hms(secs) {
            Some(hms) => {
                LAST.with(|c| c.set((secs, hms)));
                hms
            }
            None => {
                sonde_output::num::push_u64(out, secs);
                out.push(b'.');
                sonde_output::num::push_padded(out, nanos, 9);
                return;
            }
        }
    };
    // one copy of constant size for the whole text
    let mut text = [b'.'; 18];
    text[..8].copy_from_slice(&hms);
    let mut digits = [0u8; 9];
    sonde_output::num::nine_digits(&mut digits, nanos);
    text[9..].copy_from_slice(&digits);
    out.extend_from_slice(&text);
}

/// `HH:MM:SS` of a time in seconds since the epoch, in the local time zone.
fn local_hms(secs: u64) -> Option<[u8; 8]> {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own; a zeroed tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return None;
    }
    let two = |v: i32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    let (h, m, s) = (two(tm.tm_hour), two(tm.tm_min), two(tm.tm_sec));
    Some([h[0], h[1], b':', m[0], m[1], b':', s[0], s[1]])
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

//! # sonde-output: rendering events as sysdig does
//!
//! Owns how an event's parameters become text: values and their resolved
//! forms (`fd=3(<f>/etc/passwd)`, `res=-2(ENOENT)`, `flags=4097(O_RDONLY|O_CLOEXEC)`,
//! tuples, sockaddrs, buffers in normal/ASCII/hex/base64 form cut at the
//! display limit), and `evt.info`, which joins them. The rules follow
//! sysdig 0.29.3 (see `docs/rendering.md`).
//!
//! Does **not** own: field names and `-p` formats (`sonde-fields`), the
//! state it looks names up in (`sonde-state`), or writing capture files.

pub mod params;

pub use params::{param_infos, render_param, BufFmt, RenderOpts};

use sonde_event::{codes, RawEvent};
use sonde_state::State;

/// Appends `evt.info`: `name=value` or `name=value(resolved)` for every
/// parameter, each followed by a space. Empty for generic syscall events.
pub fn info_into(st: &State, ev: &RawEvent<'_>, opts: &RenderOpts, out: &mut Vec<u8>) {
    if ev.code == codes::GENERIC_E || ev.code == codes::GENERIC_X {
        return;
    }
    let infos = param_infos(ev, opts);
    let n = ev.nparams().min(infos.len());
    let mut val = Vec::new();
    let mut res = Vec::new();
    for (i, pi) in infos.iter().enumerate().take(n) {
        render_param(st, ev, i, opts, &mut val, &mut res);
        out.extend_from_slice(pi.name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(&val);
        if !res.is_empty() {
            out.push(b'(');
            out.extend_from_slice(&res);
            out.push(b')');
        }
        out.push(b' ');
    }
}

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

#![warn(missing_docs)]

pub mod num;
pub mod params;

pub use params::{param_infos, render_param, BufFmt, RenderOpts};

use sonde_event::{codes, RawEvent};
use sonde_state::State;

/// Appends `evt.info`: `name=value` or `name=value(resolved)` for every
/// parameter, each followed by a space. Empty for generic syscall events.
#[inline]
pub fn info_into(st: &State, ev: &RawEvent<'_>, opts: &RenderOpts, out: &mut Vec<u8>) {
    if ev.code == codes::GENERIC_E || ev.code == codes::GENERIC_X {
        return;
    }
    params_into(st, ev, opts, out);
}

fn params_into(st: &State, ev: &RawEvent<'_>, opts: &RenderOpts, out: &mut Vec<u8>) {
    // a scratch buffer reused across events: no allocation per event
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| info_with(st, ev, opts, out, &mut cell.borrow_mut()));
}

fn info_with(
    st: &State,
    ev: &RawEvent<'_>,
    opts: &RenderOpts,
    out: &mut Vec<u8>,
    res: &mut Vec<u8>,
) {
    // one pass over the parameters (each found where the previous ended),
    // values rendered straight after their names
    for (pi, p) in param_infos(ev, opts).iter().zip(ev.params()) {
        out.extend_from_slice(pi.name.as_bytes());
        out.push(b'=');
        res.clear();
        params::render_param_bytes(st, ev, pi, p, opts, out, res);
        if !res.is_empty() {
            out.push(b'(');
            out.extend_from_slice(res);
            out.push(b')');
        }
        out.push(b' ');
    }
}

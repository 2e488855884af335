//! Rendering of one event parameter: its value and its resolved form
//! (`3` and `<f>/etc/passwd` for an fd), following sysdig 0.29's rules.

use crate::num::{push_i64, push_u64};
use sonde_event::{cstr, le_int, le_uint, ParamInfo, ParamType, PrintFmt, RawEvent};
use sonde_state::State;

/// How byte buffers are shown (sysdig's -A, -x, -X, -b and the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BufFmt {
    /// Printable ASCII, everything else as `.`.
    #[default]
    Normal,
    /// `-A`: printable ASCII plus newlines and tabs.
    Ascii,
    /// `-x`: hex.
    Hex,
    /// `-X`: hex and ASCII.
    HexAscii,
    /// `-b`: base64.
    Base64,
    /// JSON output (`-j`): like normal but newlines kept for escaping.
    Json,
}

/// Options shared by every rendering call.
#[derive(Debug, Clone, Copy)]
pub struct RenderOpts {
    /// How byte buffers are shown.
    pub buf_fmt: BufFmt,
    /// Byte buffers longer than this are cut with `...` (0: never), as
    /// sysdig's `max_evt_output_len` (80 unless -v).
    pub max_buf_len: usize,
    /// Use the 2022 (sysdig 0.29) parameter formats where they differ.
    pub compat_029: bool,
}

impl Default for RenderOpts {
    fn default() -> Self {
        RenderOpts {
            buf_fmt: BufFmt::Normal,
            max_buf_len: 80,
            compat_029: true,
        }
    }
}

/// The parameter descriptions that apply to this event.
pub fn param_infos(ev: &RawEvent<'_>, opts: &RenderOpts) -> &'static [ParamInfo] {
    // sysdig 0.29 knows only its own parameter list: it shows at most that
    // many parameters, with its names and formats, whatever the event
    // carries (codes newer than it have the current list in `old_params`)
    match ev.info() {
        Some(i) if opts.compat_029 => i.old_params,
        Some(i) => i.params,
        None => &[],
    }
}

/// Renders parameter `idx` of `ev` into `val`, and its resolved form (if any)
/// into `resolved`. Both buffers are cleared first.
pub fn render_param(
    st: &State,
    ev: &RawEvent<'_>,
    idx: usize,
    opts: &RenderOpts,
    val: &mut Vec<u8>,
    resolved: &mut Vec<u8>,
) {
    val.clear();
    resolved.clear();
    let infos = param_infos(ev, opts);
    let Some(pi) = infos.get(idx) else { return };
    let Some(p) = ev.param(idx) else { return };
    render_param_bytes(st, ev, pi, p, opts, val, resolved);
}

/// Renders the parameter `pi` describes, whose bytes are `p`: its value
/// appended to `val`, its resolved form (if any) to `resolved`. Neither
/// buffer is cleared: rendering only appends.
#[inline]
pub(crate) fn render_param_bytes(
    st: &State,
    ev: &RawEvent<'_>,
    pi: &ParamInfo,
    p: &[u8],
    opts: &RenderOpts,
    val: &mut Vec<u8>,
    resolved: &mut Vec<u8>,
) {
    let mut ptype = pi.ptype;
    let mut fmt = pi.fmt;
    let mut payload = p;
    if ptype == ParamType::Dyn {
        if let (Some(dt), Some(&sel)) = (pi.dyn_types, p.first()) {
            if let Some(alt) = dt.entries.get(sel as usize) {
                ptype = alt.ptype;
                fmt = pi.fmt;
                payload = &p[1..];
            }
        }
    }
    render_value(st, ev, pi, ptype, fmt, payload, opts, val, resolved);
}

/// Appends a number in print format `fmt`: hex and octal of the low
/// `width` bytes, zero-padded decimal, or decimal (signed if `is_signed`).
fn num(
    out: &mut Vec<u8>,
    fmt: PrintFmt,
    signed: i64,
    unsigned: u64,
    is_signed: bool,
    width: usize,
) {
    use std::io::Write;
    let _ = match fmt {
        PrintFmt::Hex => {
            let mask = if width >= 8 {
                u64::MAX
            } else {
                (1u64 << (width * 8)) - 1
            };
            write!(out, "{:X}", unsigned & mask)
        }
        PrintFmt::Oct => {
            let mask = if width >= 8 {
                u64::MAX
            } else {
                (1u64 << (width * 8)) - 1
            };
            // C's %#o: a leading 0 unless the value is 0
            match unsigned & mask {
                0 => write!(out, "0"),
                v => write!(out, "0{v:o}"),
            }
        }
        PrintFmt::PaddedDec => write!(out, "{:010}", unsigned),
        _ if is_signed => {
            crate::num::push_i64(out, signed);
            Ok(())
        }
        _ => {
            crate::num::push_u64(out, unsigned);
            Ok(())
        }
    };
}

/// Renders a value of type `ptype` (the selected type of a dynamic
/// parameter) into `val`, its resolved form into `resolved`.
#[allow(clippy::too_many_arguments)]
fn render_value(
    st: &State,
    ev: &RawEvent<'_>,
    pi: &ParamInfo,
    ptype: ParamType,
    fmt: PrintFmt,
    p: &[u8],
    opts: &RenderOpts,
    val: &mut Vec<u8>,
    resolved: &mut Vec<u8>,
) {
    use std::io::Write;
    use ParamType as T;
    match ptype {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 => {
            num(val, fmt, le_int(p), le_int(p) as u64, true, p.len())
        }
        T::Uint8 | T::Uint16 | T::Uint32 | T::Port => {
            num(val, fmt, le_int(p), le_uint(p), false, p.len())
        }
        T::Uint64 => {
            // sysdig prints UINT64 in decimal as a signed value
            num(val, fmt, le_int(p), le_uint(p), true, p.len())
        }
        T::Fd | T::Fd32 => render_fd(st, ev, le_int(p), val, resolved),
        T::Pid | T::Pid32 => {
            let pid = le_int(p);
            push_i64(val, pid);
            if let Some(t) = st.thread(pid) {
                resolved.extend_from_slice(&t.comm);
            }
        }
        T::Errno => {
            let v = le_int(p);
            push_i64(val, v);
            if v < 0 {
                push_errno_name(-v, resolved);
            }
        }
        T::Charbuf => {
            val.extend_from_slice(cstr(p));
        }
        T::Fspath | T::Fsrelpath => {
            sanitize_into(val, cstr(p));
            resolve_fspath(st, ev, pi, ptype, cstr(p), resolved);
        }
        T::Bytebuf | T::Charbufarray | T::CharbufPairArray => {
            render_buffer(p, opts, val);
        }
        T::Sockaddr => render_sockaddr(p, val),
        T::Socktuple => render_socktuple(p, val),
        T::Fdlist => render_fdlist(st, ev, p, val),
        T::Syscallid | T::Sigtype | T::Reltime | T::Abstime => {
            render_time_or_id(ptype, p, val, resolved)
        }
        T::Flags8
        | T::Flags16
        | T::Flags32
        | T::Mode
        | T::Enumflags8
        | T::Enumflags16
        | T::Enumflags32 => render_flags(pi, ptype, fmt, p, val, resolved),
        T::Uid | T::Gid => render_id(st, ptype, p, val, resolved),
        T::Bool => {
            let v = le_uint(p);
            val.extend_from_slice(if v != 0 { b"true" } else { b"false" });
        }
        T::Ipv4addr => {
            if p.len() >= 4 {
                let _ = write!(val, "{}.{}.{}.{}", p[0], p[1], p[2], p[3]);
            }
        }
        T::Ipv6addr => {
            if p.len() >= 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&p[..16]);
                let _ = write!(val, "{}", std::net::Ipv6Addr::from(a));
            }
        }
        T::Double => {
            if p.len() == 8 {
                let v = f64::from_le_bytes(p.try_into().unwrap_or([0; 8]));
                let _ = write!(val, "{v}");
            }
        }
        T::Sigset | T::L4proto | T::Sockfamily => push_u64(val, le_uint(p)),
        T::Dyn => val.extend_from_slice(b"INVALID DYNAMIC PARAMETER"),
        T::None | T::Ipv4net | T::Ipv6net | T::Ipaddr | T::Ipnet => {}
    }
}

/// Appends the errno name of `errno` (positive), if it has one.
#[inline]
fn push_errno_name(errno: i64, out: &mut Vec<u8>) {
    if let Some(n) = sonde_event::errno_name(errno) {
        out.extend_from_slice(n.as_bytes());
    }
}

/// An fd: its number, resolved to the fd's annotation in the event
/// thread's table (`<f>/etc/passwd`), `AT_FDCWD`, or an errno name.
#[inline]
fn render_fd(st: &State, ev: &RawEvent<'_>, fd: i64, val: &mut Vec<u8>, resolved: &mut Vec<u8>) {
    push_i64(val, fd);
    if let Some(t) = st.thread(ev.tid) {
        if fd >= 0 {
            if let Some(f) = st.fd_of(t, fd) {
                f.annotation(resolved);
                // control characters are dropped (rare: check first)
                if resolved.iter().any(|&c| c < 0x20 && c != b'\t') {
                    resolved.retain(|&c| c >= 0x20 || c == b'\t');
                }
            }
        } else if fd == -100 {
            resolved.extend_from_slice(b"AT_FDCWD");
        } else if fd < 0 {
            push_errno_name(-fd, resolved);
        }
    }
}

/// An fd list (poll): `fd:<type char><flags in hex>` for each, space-separated.
fn render_fdlist(st: &State, ev: &RawEvent<'_>, p: &[u8], val: &mut Vec<u8>) {
    use std::io::Write;
    if p.len() < 2 {
        return;
    }
    let n = u16::from_le_bytes([p[0], p[1]]) as usize;
    let mut pos = 2;
    for j in 0..n {
        if pos + 10 > p.len() {
            break;
        }
        let fd = le_int(&p[pos..pos + 8]);
        let fl = i16::from_le_bytes([p[pos + 8], p[pos + 9]]) as i32 as u32;
        let tch = st.fd(ev.tid, fd).map(|f| f.kind.type_char()).unwrap_or('?');
        let _ = write!(val, "{}:{}{:x}", fd as u64, tch, fl);
        if j + 1 < n {
            val.push(b' ');
        }
        pos += 10;
    }
}

/// A syscall id or signal (resolved to its name), a relative time
/// (resolved to seconds) or an absolute time.
/// The resolved form of a path parameter (docs/rendering.md 3.12): a
/// relative path of a known thread joined to its working directory (or,
/// for `FSRELPATH` with a dirfd other than `AT_FDCWD`, to that fd's name)
/// and folded as sysdig's `concatenate_paths` does; nothing for absolute,
/// empty or `<NA>` paths.
fn resolve_fspath(
    st: &State,
    ev: &RawEvent<'_>,
    pi: &ParamInfo,
    ptype: ParamType,
    raw: &[u8],
    resolved: &mut Vec<u8>,
) {
    const AT_FDCWD: i64 = -100;
    if raw.is_empty() || raw[0] == b'/' || raw.starts_with(b"<NA>") || st.thread(ev.tid).is_none() {
        return;
    }
    let dirfd = match (ptype, pi.dirfd) {
        (ParamType::Fsrelpath, Some(i)) => ev.param_i64(usize::from(i)).unwrap_or(AT_FDCWD),
        _ => AT_FDCWD,
    };
    let base: Vec<u8> = if dirfd == AT_FDCWD {
        st.cwd(ev.tid).to_vec()
    } else {
        match st.fd(ev.tid, dirfd) {
            Some(f) => {
                let mut b = Vec::with_capacity(f.name.len() + 1);
                sanitize_into(&mut b, &f.name);
                b.push(b'/');
                b
            }
            None => Vec::new(),
        }
    };
    resolved.extend_from_slice(&sonde_state::path::sysdig_concat(&base, raw));
}

fn render_time_or_id(ptype: ParamType, p: &[u8], val: &mut Vec<u8>, resolved: &mut Vec<u8>) {
    use std::io::Write;
    use ParamType as T;
    match ptype {
        T::Syscallid => {
            let id = le_uint(p) as u32;
            push_u64(val, id as u64);
            if let Some(n) = sonde_event::syscall_name(id) {
                resolved.extend_from_slice(n.as_bytes());
            }
        }
        T::Sigtype => {
            let v = le_uint(p);
            push_u64(val, v);
            if let Some(n) = signal_name(v as u8) {
                resolved.extend_from_slice(n.as_bytes());
            }
        }
        T::Reltime => {
            let v = le_uint(p);
            if v == u64::MAX {
                val.extend_from_slice(b"none");
            } else {
                let _ = write!(val, "{v}");
                let _ = write!(resolved, "{}s", fmt_g(v as f64 / 1e9));
            }
        }
        _ => push_u64(val, le_uint(p)),
    }
}

/// Flags, enums and modes: the number (a mode in its print format),
/// resolved to the symbols of the parameter's table.
#[inline]
fn render_flags(
    pi: &ParamInfo,
    ptype: ParamType,
    fmt: PrintFmt,
    p: &[u8],
    val: &mut Vec<u8>,
    resolved: &mut Vec<u8>,
) {
    let v = le_uint(p);
    if ptype == ParamType::Mode {
        num(val, fmt, v as i64, v, false, 4);
    } else {
        push_u64(val, v);
    }
    if let Some(tab) = pi.symbols {
        flags_symbols(tab.entries, v, ptype.is_enum(), resolved);
    }
}

/// A user or group id, resolved to its name (`<NA>` when unknown, `-1`
/// and `<NONE>` for no id).
fn render_id(st: &State, ptype: ParamType, p: &[u8], val: &mut Vec<u8>, resolved: &mut Vec<u8>) {
    let v = le_uint(p) as u32;
    if v == u32::MAX {
        val.extend_from_slice(b"-1");
        resolved.extend_from_slice(b"<NONE>");
        return;
    }
    push_u64(val, v as u64);
    let name = if ptype == ParamType::Uid {
        st.users.get(&v).map(|u| u.name.as_slice())
    } else {
        st.groups.get(&v).map(|g| g.name.as_slice())
    };
    match name {
        Some(n) => resolved.extend_from_slice(n),
        None => resolved.extend_from_slice(b"<NA>"),
    }
}

/// Appends the symbols matching `v`: for enums the one equal symbol, for
/// flags every contained bit set, `|`-separated, in table order.
pub fn flags_symbols(entries: &[(&str, u64)], v: u64, is_enum: bool, out: &mut Vec<u8>) {
    if is_enum {
        if let Some((n, _)) = entries.iter().find(|(_, x)| *x == v) {
            out.extend_from_slice(n.as_bytes());
        }
        return;
    }
    let mut rest = v;
    let mut sep = false;
    for (name, fv) in entries {
        if *fv == v {
            // an exact match ends the scan and is appended last
            if sep {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            return;
        }
        if (*fv == 0 && v == 0) || (*fv != 0 && rest & fv == *fv && rest != 0) {
            if sep {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            sep = true;
            rest &= !fv;
        }
    }
}

/// Copies `s`, dropping the characters sysdig strips from names.
pub fn sanitize_into(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().copied().filter(|&c| c >= 0x20 || c == b'\t'));
}

/// Renders a byte buffer as text according to the buffer format.
pub fn render_buffer(p: &[u8], opts: &RenderOpts, out: &mut Vec<u8>) {
    use std::io::Write;
    if p.is_empty() {
        // an empty buffer is empty in every format
        return;
    }
    let start = out.len();
    match opts.buf_fmt {
        BufFmt::Normal | BufFmt::Json => {
            // one byte each: bytes past the display limit would be cut below
            let shown = match opts.max_buf_len {
                0 => p.len(),
                _ if opts.buf_fmt != BufFmt::Normal => p.len(),
                max => p.len().min(max + 1),
            };
            let printable = |&c: &u8| if (0x20..0x7f).contains(&c) { c } else { b'.' };
            out.extend(p[..shown].iter().map(printable));
        }
        BufFmt::Ascii => {
            // text only: \r becomes a line break, a \n right after \r (or
            // at the start) is dropped, other unprintable bytes vanish
            out.push(b'\n');
            for (j, &c) in p.iter().enumerate() {
                if (0x20..0x7f).contains(&c) {
                    out.push(c);
                } else if c == b'\r' || (c == b'\n' && j > 0 && p[j - 1] != b'\r') {
                    out.push(b'\n');
                }
            }
        }
        BufFmt::Hex | BufFmt::HexAscii => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for (i, chunk) in p.chunks(16).enumerate() {
                let _ = write!(out, "\n\t0x{:04x}:", i * 16);
                for pair in chunk.chunks(2) {
                    out.push(b' ');
                    for b in pair {
                        out.push(HEX[(b >> 4) as usize]);
                        out.push(HEX[(b & 15) as usize]);
                    }
                }
                if opts.buf_fmt == BufFmt::HexAscii {
                    let missing = 8 - chunk.len().div_ceil(2);
                    out.extend(std::iter::repeat_n(b' ', missing * 5 + 2));
                    for &c in chunk {
                        out.push(if (0x20..0x7f).contains(&c) { c } else { b'.' });
                    }
                }
            }
            out.push(b'\n');
        }
        BufFmt::Base64 => base64_into(p, out),
    }
    if opts.max_buf_len != 0
        && matches!(opts.buf_fmt, BufFmt::Normal)
        && out.len() - start > opts.max_buf_len
    {
        out.truncate(start + opts.max_buf_len);
        let n = out.len();
        if opts.max_buf_len > 3 {
            out[n - 3..].copy_from_slice(b"...");
        }
    }
}

/// Appends `p` in base64, padded.
fn base64_into(p: &[u8], out: &mut Vec<u8>) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for ch in p.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63]);
        out.push(T[(n >> 12) as usize & 63]);
        out.push(if ch.len() > 1 {
            T[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if ch.len() > 2 {
            T[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// A socket address: `ip:port`, a unix path, or `NULL`.
fn render_sockaddr(p: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    match p.first() {
        None => out.extend_from_slice(b"NULL"),
        Some(1) => sanitize_into(out, cstr(&p[1..])),
        Some(2) if p.len() == 7 => {
            let port = u16::from_le_bytes([p[5], p[6]]);
            let _ = write!(out, "{}.{}.{}.{}:{}", p[1], p[2], p[3], p[4], port);
        }
        Some(2) => out.extend_from_slice(b"INVALID IPv4"),
        Some(10) if p.len() == 19 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&p[1..17]);
            let port = u16::from_le_bytes([p[17], p[18]]);
            let _ = write!(
                out,
                "{}:{}",
                sonde_state::fmt_v6(&std::net::Ipv6Addr::from(a)),
                port
            );
        }
        Some(10) => out.extend_from_slice(b"INVALID IPv6"),
        Some(f) => {
            let _ = write!(out, "family {f}");
        }
    }
}

/// A socket tuple: `sip:sport->dip:dport`, or unix endpoints and path.
fn render_socktuple(p: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    match p.first() {
        None => out.extend_from_slice(b"NULL"),
        Some(2) if p.len() == 13 => {
            let sport = u16::from_le_bytes([p[5], p[6]]);
            let dport = u16::from_le_bytes([p[11], p[12]]);
            let _ = write!(
                out,
                "{}.{}.{}.{}:{}->{}.{}.{}.{}:{}",
                p[1], p[2], p[3], p[4], sport, p[7], p[8], p[9], p[10], dport
            );
        }
        Some(2) => out.extend_from_slice(b"INVALID IPv4"),
        Some(10) if p.len() == 37 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&p[1..17]);
            let mut b = [0u8; 16];
            b.copy_from_slice(&p[19..35]);
            let sport = u16::from_le_bytes([p[17], p[18]]);
            let dport = u16::from_le_bytes([p[35], p[36]]);
            let (sa, da) = (std::net::Ipv6Addr::from(a), std::net::Ipv6Addr::from(b));
            if let (Some(s4), Some(d4)) = (sa.to_ipv4_mapped(), da.to_ipv4_mapped()) {
                let _ = write!(out, "{s4}:{sport}->{d4}:{dport}");
            } else {
                let _ = write!(out, "{sa}:{sport}->{da}:{dport}");
            }
        }
        Some(10) => out.extend_from_slice(b"INVALID IPv6"),
        Some(1) if p.len() >= 17 => {
            let s = u64::from_le_bytes(p[1..9].try_into().unwrap_or([0; 8]));
            let d = u64::from_le_bytes(p[9..17].try_into().unwrap_or([0; 8]));
            let _ = write!(out, "{s:x}->{d:x} ");
            sanitize_into(out, cstr(&p[17..]));
        }
        Some(f) => {
            let _ = write!(out, "family {f}");
        }
    }
}

/// Formats like C's `%lg`.
pub fn fmt_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-5..6).contains(&exp) {
        let s = format!("{:.5e}", v);
        // trim mantissa zeros, C-style exponent
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Linux signal names by number.
pub fn signal_name(n: u8) -> Option<&'static str> {
    const N: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    N.get(n as usize).copied().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event's body: 16-bit lengths, then the data.
    fn body(params: &[&[u8]]) -> Vec<u8> {
        let mut b = Vec::new();
        for p in params {
            b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
        for p in params {
            b.extend_from_slice(p);
        }
        b
    }

    /// `(value, resolved)` of parameter `idx` of an event of `tid`.
    fn param(st: &State, tid: i64, code: u16, params: &[&[u8]], idx: usize) -> (String, String) {
        let b = body(params);
        let n = params.len() as u32;
        let ev = RawEvent::from_parts(1, tid, code, n, &b, false).unwrap();
        let (mut v, mut r) = (Vec::new(), Vec::new());
        render_param(st, &ev, idx, &RenderOpts::default(), &mut v, &mut r);
        (String::from_utf8(v).unwrap(), String::from_utf8(r).unwrap())
    }

    #[test]
    fn relative_paths_resolve_against_the_working_directory() {
        use sonde_event::codes as c;
        use sonde_event::meta::ThreadInfo;
        let mut st = State::new();
        st.add_thread_info(&ThreadInfo {
            tid: 7,
            pid: 7,
            cwd: b"/tmp/stw/sub/".to_vec(),
            ..Default::default()
        });
        // a thread met by an event only: no directory known
        let b = body(&[&0u64.to_le_bytes()]);
        st.process(&RawEvent::from_parts(1, 8, c::SYSCALL_BRK_4_E, 1, &b, false).unwrap());
        let at = (-100i64).to_le_bytes();
        let flags = 0u32.to_le_bytes();
        let open = |st: &State, tid: i64, dirfd: &[u8], name: &[u8]| {
            param(
                st,
                tid,
                c::SYSCALL_OPENAT_2_E,
                &[dirfd, name, &flags, &flags],
                1,
            )
        };
        let r = |s: &str| s.to_string();
        assert_eq!(open(&st, 7, &at, b"./x\0"), (r("./x"), r("/tmp/stw/sub/x")));
        assert_eq!(open(&st, 7, &at, b"../x\0"), (r("../x"), r("/tmp/stw/x")));
        assert_eq!(open(&st, 7, &at, b".\0"), (r("."), r("/tmp/stw/sub")));
        assert_eq!(open(&st, 7, &at, b"y\0"), (r("y"), r("/tmp/stw/sub/y")));
        // absolute, empty, <NA>: nothing to resolve
        assert_eq!(open(&st, 7, &at, b"/etc/x\0"), (r("/etc/x"), r("")));
        assert_eq!(open(&st, 7, &at, b"\0"), (r(""), r("")));
        // a thread with no known directory: the path folded on its own
        let exec = param(&st, 8, c::SYSCALL_EXECVE_19_E, &[b"./stress1\0"], 0);
        assert_eq!(exec, (r("./stress1"), r("stress1")));
        // an unknown thread: nothing
        assert_eq!(open(&st, 9, &at, b"./x\0").1, "");
        // a dirfd that is not AT_FDCWD and is unknown: no base
        let mkdirat = |dirfd: i64| {
            let res = 0i64.to_le_bytes();
            let p = [&res[..], &dirfd.to_le_bytes(), b"./x\0", &flags];
            param(&st, 7, c::SYSCALL_MKDIRAT_X, &p, 2).1
        };
        assert_eq!(mkdirat(5), "x");
        assert_eq!(mkdirat(-100), "/tmp/stw/sub/x");
    }

    fn buf(p: &[u8], buf_fmt: BufFmt) -> String {
        let mut o = Vec::new();
        let opts = RenderOpts {
            buf_fmt,
            ..RenderOpts::default()
        };
        render_buffer(p, &opts, &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn ascii_only_buffers() {
        assert_eq!(buf(b"a\r\nb\nc\x01d", BufFmt::Ascii), "\na\nb\ncd");
        // a \n at offset 0 is dropped
        assert_eq!(buf(b"\nx", BufFmt::Ascii), "\nx");
        assert_eq!(buf(b"", BufFmt::Ascii), "");
    }

    #[test]
    fn hex_buffers() {
        assert_eq!(buf(b"GET /", BufFmt::Hex), "\n\t0x0000: 4745 5420 2f\n");
        let x = buf(b"GET /", BufFmt::HexAscii);
        assert_eq!(
            x,
            format!("\n\t0x0000: 4745 5420 2f{}  GET /\n", " ".repeat(5 * 5))
        );
        let two_rows = buf(&[0u8; 17], BufFmt::Hex);
        assert!(two_rows.contains("\n\t0x0010: 00\n"));
        assert_eq!(buf(b"", BufFmt::Hex), "");
    }

    #[test]
    fn octal_has_leading_zero() {
        let mut o = Vec::new();
        num(&mut o, PrintFmt::Oct, 0o666, 0o666, false, 4);
        assert_eq!(o, b"0666");
        o.clear();
        num(&mut o, PrintFmt::Oct, 0, 0, false, 4);
        assert_eq!(o, b"0");
    }

    #[test]
    fn flags_render_like_sysdig() {
        let t: &[(&str, u64)] = &[
            ("O_RDWR", 3),
            ("O_WRONLY", 2),
            ("O_RDONLY", 1),
            ("O_CLOEXEC", 4096),
            ("O_NONE", 0),
        ];
        let mut o = Vec::new();
        flags_symbols(t, 4097, false, &mut o);
        assert_eq!(o, b"O_RDONLY|O_CLOEXEC");
        o.clear();
        flags_symbols(t, 1, false, &mut o);
        assert_eq!(o, b"O_RDONLY");
    }

    #[test]
    fn g_format() {
        assert_eq!(fmt_g(0.5), "0.5");
        assert_eq!(fmt_g(1.0), "1");
        assert_eq!(fmt_g(0.000123), "0.000123");
        assert_eq!(fmt_g(1e-7), "1e-07");
    }

    #[test]
    fn buffers_cut_at_limit() {
        let mut o = Vec::new();
        render_buffer(&[b'a'; 100], &RenderOpts::default(), &mut o);
        assert_eq!(o.len(), 80);
        assert!(o.ends_with(b"..."));
    }
}

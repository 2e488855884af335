//! The two event layouts a capture can use, and conversion between them.
//!
//! * **Classic**: an enter and an exit event per system call, as drivers
//!   wrote until 2024 and as sysdig 0.29 expects.
//! * **Exit-only**: the current libs model: one exit event per system call
//!   carrying all parameters; enter events remain only for the few calls
//!   whose arguments can change under the call (open family, connect, ...)
//!   and for non-syscall events.
//!
//! [`Converter`] turns a stream in either layout into the chosen one:
//! for exit-only output it drops enter events the current driver no longer
//! emits and merges their parameters into the exit event (by parameter
//! name, into the current parameter list); for classic output it derives a
//! missing enter event from the parameters of its exit event.

use std::collections::HashMap;

use sonde_event::{
    category, codes as c, event_info, flags, Direction, EventInfo, ParamInfo, ParamType, RawEvent,
    HEADER_LEN,
};

/// Which layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Enter and exit events, as sysdig 0.29 writes and reads them.
    #[default]
    Classic,
    /// Exit events only, carrying every parameter (current libs).
    ExitOnly,
}

/// One event produced by a [`Converter`], in the v2 encoding.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// The encoded event (header and parameters).
    pub bytes: Vec<u8>,
    /// The CPU it was captured on.
    pub cpu: u16,
    /// Its dump flags (flagged event blocks).
    pub dump_flags: u32,
    /// Parameter lengths are 32-bit (large payload).
    pub large: bool,
}

impl Encoded {
    fn from(ev: &RawEvent<'_>) -> Encoded {
        let large = ev.needs_large();
        let mut bytes = Vec::with_capacity(ev.encoded_len(large));
        ev.encode_v2(large, &mut bytes);
        Encoded {
            bytes,
            cpu: ev.cpu,
            dump_flags: ev.dump_flags,
            large,
        }
    }

    /// A view of the event.
    pub fn view(&self) -> Option<RawEvent<'_>> {
        let mut e = RawEvent::parse(&self.bytes, self.large).ok()?;
        e.cpu = self.cpu;
        e.dump_flags = self.dump_flags;
        Some(e)
    }
}

/// sysdig 0.29 indexes its syscall table with a generic event's id
/// unchecked (and crashes past its end): ids newer than that table are
/// written as 0 ("unknown"); the native syscall number stays.
fn clamp_generic_id(enc: &mut Encoded) {
    use sonde_event::codes::{GENERIC_E, GENERIC_X};
    let b = &mut enc.bytes;
    if b.len() < HEADER_LEN {
        return;
    }
    let code = u16::from_le_bytes([b[20], b[21]]);
    if code != GENERIC_E && code != GENERIC_X {
        return;
    }
    let np = u32::from_le_bytes([b[22], b[23], b[24], b[25]]) as usize;
    let w = if enc.large { 4 } else { 2 };
    let first_len = if enc.large {
        b.get(HEADER_LEN..HEADER_LEN + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
    } else {
        b.get(HEADER_LEN..HEADER_LEN + 2)
            .map(|x| u16::from_le_bytes([x[0], x[1]]) as usize)
    };
    if np == 0 || first_len != Some(2) {
        return;
    }
    let off = HEADER_LEN + np * w;
    let max = sonde_event::SYSCALL_NAMES
        .last()
        .map(|(id, _)| *id)
        .unwrap_or(0);
    if let Some(x) = b.get_mut(off..off + 2) {
        if u16::from_le_bytes([x[0], x[1]]) as u32 > max {
            x.copy_from_slice(&0u16.to_le_bytes());
        }
    }
}

/// Drivers write strings NUL-terminated, so an empty string is one NUL
/// byte; sysdig 0.29 misreads a zero-length string parameter. Empty
/// string parameters are written as a lone NUL.
fn nul_terminate_empty_strings(enc: &mut Encoded) {
    let Some(ev) = enc.view() else { return };
    let Some(info) = ev.info() else { return };
    let infos = if info.old_params.is_empty() {
        info.params
    } else {
        info.old_params
    };
    let is_str = |i: usize| {
        infos.get(i).is_some_and(|p| {
            matches!(
                p.ptype,
                ParamType::Charbuf | ParamType::Fspath | ParamType::Fsrelpath
            )
        })
    };
    if !(0..ev.nparams()).any(|i| is_str(i) && ev.param(i).is_some_and(|p| p.is_empty())) {
        return;
    }
    let owned: Vec<Vec<u8>> = (0..ev.nparams())
        .map(|i| match ev.param(i) {
            Some(p) if p.is_empty() && is_str(i) => vec![0],
            Some(p) => p.to_vec(),
            None => Vec::new(),
        })
        .collect();
    let refs: Vec<&[u8]> = owned.iter().map(|v| v.as_slice()).collect();
    let mut bytes = Vec::with_capacity(enc.bytes.len() + 2);
    let large = encode(ev.ts, ev.tid, ev.code, &refs, &mut bytes);
    enc.bytes = bytes;
    enc.large = large;
}

/// Number of event codes in sysdig 0.29's event table (libs e5c53d64,
/// PPM_EVENT_MAX): it skips events of higher codes.
const OLD_EVENT_COUNT: u16 = 336;

/// The exit event sysdig 0.29 used for a syscall whose current event it
/// does not know.
fn old_exit_code(name: &str) -> Option<u16> {
    Some(match name {
        "dup" | "dup2" | "dup3" => c::SYSCALL_DUP_X,
        "pipe2" => c::SYSCALL_PIPE_X,
        "accept4" => c::SOCKET_ACCEPT4_5_X,
        "inotify_init1" => c::SYSCALL_INOTIFY_INIT_X,
        "eventfd2" => c::SYSCALL_EVENTFD_X,
        "signalfd4" => c::SYSCALL_SIGNALFD_X,
        _ => return None,
    })
}

/// `ev` (an exit event sysdig 0.29 does not know) as the exit event 0.29
/// used for its syscall, with 0.29's parameter list filled by name, or as a
/// generic syscall event carrying the syscall's id.
fn downgrade(ev: &RawEvent<'_>, info: &EventInfo) -> Encoded {
    let by_name = |name: &str| {
        info.params
            .iter()
            .position(|q| q.name == name)
            .and_then(|j| ev.param(j))
    };
    let mut owned: Vec<Vec<u8>> = Vec::new();
    let code = match old_exit_code(info.name).and_then(event_info) {
        Some(oi) => {
            for p in oi.old_params {
                // 0.29's exits name the result `res` where newer ones say `fd`
                let v = by_name(p.name).or_else(|| match p.name {
                    "res" => by_name("fd"),
                    "fd" => by_name("res"),
                    _ => None,
                });
                owned.push(
                    v.map(<[u8]>::to_vec)
                        .unwrap_or_else(|| default_param(p.ptype)),
                );
            }
            oi.code
        }
        None => {
            let id = sonde_event::SYSCALL_NAMES
                .iter()
                .find(|(_, n)| *n == info.name)
                .map_or(0, |(id, _)| *id as u16);
            owned.push(id.to_le_bytes().to_vec());
            owned.push(0u16.to_le_bytes().to_vec()); // native number: unknown here
            c::GENERIC_X
        }
    };
    let refs: Vec<&[u8]> = owned.iter().map(|v| v.as_slice()).collect();
    let mut bytes = Vec::new();
    let large = encode(ev.ts, ev.tid, code, &refs, &mut bytes);
    Encoded {
        bytes,
        cpu: ev.cpu,
        dump_flags: ev.dump_flags,
        large,
    }
}

/// Parameter `name` of `e` (whose table entry is `i`).
fn by_name<'a>(e: &RawEvent<'a>, i: &EventInfo, name: &str) -> Option<&'a [u8]> {
    i.params
        .iter()
        .position(|q| q.name == name)
        .and_then(|j| e.param(j))
}

/// The enter event `ei` of exit `ev`, placed `ev.latency` before it, with
/// the parameters `params` taken by name from `value` (the dup family's
/// enter `fd` is the exit's `oldfd`), or defaults.
fn derived_enter<'a>(
    ei: &EventInfo,
    params: &[ParamInfo],
    ev: &RawEvent<'_>,
    value: impl Fn(&str) -> Option<&'a [u8]>,
) -> Encoded {
    let owned: Vec<Vec<u8>> = params
        .iter()
        .map(|p| {
            value(p.name)
                .or_else(|| (p.name == "fd").then(|| value("oldfd")).flatten())
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| default_param(p.ptype))
        })
        .collect();
    let refs: Vec<&[u8]> = owned.iter().map(|v| v.as_slice()).collect();
    let mut bytes = Vec::new();
    let large = encode(
        ev.ts.saturating_sub(ev.latency),
        ev.tid,
        ei.code,
        &refs,
        &mut bytes,
    );
    Encoded {
        bytes,
        cpu: ev.cpu,
        dump_flags: ev.dump_flags,
        large,
    }
}

/// Default bytes for a parameter that neither event carried.
fn default_param(t: ParamType) -> Vec<u8> {
    use ParamType as T;
    match t {
        T::Int8
        | T::Uint8
        | T::Flags8
        | T::Enumflags8
        | T::Sigtype
        | T::L4proto
        | T::Sockfamily => vec![0],
        T::Int16 | T::Uint16 | T::Flags16 | T::Enumflags16 | T::Port | T::Syscallid => vec![0; 2],
        T::Int32
        | T::Uint32
        | T::Flags32
        | T::Enumflags32
        | T::Uid
        | T::Gid
        | T::Mode
        | T::Bool
        | T::Sigset
        | T::Ipv4addr => vec![0; 4],
        T::Fd32 | T::Pid32 => (-1i32).to_le_bytes().to_vec(),
        T::Fd | T::Pid => (-1i64).to_le_bytes().to_vec(),
        T::Int64 | T::Uint64 | T::Errno | T::Reltime | T::Abstime | T::Double => vec![0; 8],
        T::Ipv6addr => vec![0; 16],
        _ => Vec::new(),
    }
}

/// Encodes an event from header fields and parameter byte strings;
/// returns whether 32-bit lengths were needed.
pub fn encode(ts: u64, tid: i64, code: u16, params: &[&[u8]], out: &mut Vec<u8>) -> bool {
    let large = params.iter().any(|p| p.len() > u16::MAX as usize);
    let w = if large { 4 } else { 2 };
    let len = HEADER_LEN + params.len() * w + params.iter().map(|p| p.len()).sum::<usize>();
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&(tid as u64).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for p in params {
        if large {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
    }
    for p in params {
        out.extend_from_slice(p);
    }
    large
}

/// Whether the current driver still emits this enter event.
pub fn enter_still_emitted(code: u16) -> bool {
    match event_info(code) {
        Some(i) => i.dir != Direction::Enter || i.flags & flags::OLD_VERSION == 0,
        None => true,
    }
}

/// Converts a stream of events to one layout. Keeps, per thread, the last
/// enter event (bounded by the number of threads that are mid-syscall).
#[derive(Default)]
pub struct Converter {
    layout: Layout,
    pending: HashMap<i64, Encoded>,
    last_code: HashMap<i64, u16>,
}

impl Converter {
    /// A converter to `layout`.
    pub fn new(layout: Layout) -> Converter {
        Converter {
            layout,
            ..Default::default()
        }
    }

    /// Feeds one event; appends the events to write, in order, to `out`.
    pub fn push(&mut self, ev: &RawEvent<'_>, out: &mut Vec<Encoded>) {
        let Some(info) = ev.info() else {
            out.push(Encoded::from(ev));
            return;
        };
        match self.layout {
            Layout::ExitOnly => {
                if info.dir == Direction::Enter {
                    if enter_still_emitted(ev.code) {
                        out.push(Encoded::from(ev));
                    } else {
                        self.pending.insert(ev.tid, Encoded::from(ev));
                    }
                    return;
                }
                let enter = self.pending.remove(&ev.tid).filter(|e| {
                    e.bytes.len() >= HEADER_LEN
                        && u16::from_le_bytes([e.bytes[20], e.bytes[21]]) == ev.code.wrapping_sub(1)
                });
                if ev.nparams() >= info.params.len() {
                    out.push(Encoded::from(ev));
                    return;
                }
                // fill the current parameter list: the exit's own values
                // first, then the enter's by name, then defaults
                let enter_view = enter.as_ref().and_then(|e| e.view());
                let enter_info = event_info(ev.code.wrapping_sub(1));
                let mut owned: Vec<Vec<u8>> = Vec::with_capacity(info.params.len());
                for (i, p) in info.params.iter().enumerate() {
                    if let Some(v) = ev.param(i) {
                        owned.push(v.to_vec());
                        continue;
                    }
                    let from_enter = match (&enter_view, enter_info) {
                        (Some(e), Some(ei)) => ei
                            .params
                            .iter()
                            .position(|q| q.name == p.name)
                            .and_then(|j| e.param(j))
                            .map(|v| v.to_vec()),
                        _ => None,
                    };
                    owned.push(from_enter.unwrap_or_else(|| default_param(p.ptype)));
                }
                let refs: Vec<&[u8]> = owned.iter().map(|v| v.as_slice()).collect();
                let mut bytes = Vec::new();
                let large = encode(ev.ts, ev.tid, ev.code, &refs, &mut bytes);
                out.push(Encoded {
                    bytes,
                    cpu: ev.cpu,
                    dump_flags: ev.dump_flags,
                    large,
                });
            }
            Layout::Classic => {
                // syscall events newer than sysdig 0.29's table: the exit is
                // rewritten as the event 0.29 used for that syscall (or as a
                // generic syscall event), and its enter is derived from it
                if ev.code >= OLD_EVENT_COUNT && info.category & category::SYSCALL != 0 {
                    if info.dir == Direction::Enter {
                        return; // re-derived from the exit
                    }
                    let old = downgrade(ev, info);
                    let Some(x) = old.view() else { return };
                    let enter_code = x.code.wrapping_sub(1);
                    if let Some(ei) = event_info(enter_code).filter(|ei| ei.dir == Direction::Enter)
                    {
                        // its parameters from the rewritten exit, else from
                        // the original event (`fd` of the dup family: `oldfd`)
                        let xi = x.info();
                        let mut enc = derived_enter(ei, ei.old_params, ev, |name| {
                            xi.and_then(|xi| by_name(&x, xi, name))
                                .or_else(|| by_name(ev, info, name))
                        });
                        clamp_generic_id(&mut enc);
                        nul_terminate_empty_strings(&mut enc);
                        out.push(enc);
                        self.last_code.insert(ev.tid, enter_code);
                    }
                    self.push(&x, out);
                    return;
                }
                let start = out.len();
                if info.dir == Direction::Exit {
                    let enter_code = ev.code.wrapping_sub(1);
                    let had_enter = self.last_code.get(&ev.tid) == Some(&enter_code);
                    if !had_enter {
                        if let Some(ei) = event_info(enter_code).filter(|ei| {
                            ei.dir == Direction::Enter && ei.flags & flags::UNUSED == 0
                        }) {
                            out.push(derived_enter(ei, ei.params, ev, |name| {
                                by_name(ev, info, name)
                            }));
                        }
                    }
                }
                self.last_code.insert(ev.tid, ev.code);
                out.push(Encoded::from(ev));
                for enc in &mut out[start..] {
                    clamp_generic_id(enc);
                    nul_terminate_empty_strings(enc);
                }
            }
        }
    }

    /// Forgets a thread (when it exits), keeping the maps bounded.
    pub fn forget(&mut self, tid: i64) {
        self.pending.remove(&tid);
        self.last_code.remove(&tid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_event::codes as c;

    fn ev(code: u16, params: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        encode(1000, 42, code, params, &mut v);
        v
    }

    #[test]
    fn exit_only_merges_enter_parameters() {
        // old layout: read enter carries fd and size, exit only res and data
        let enter = ev(
            c::SYSCALL_READ_E,
            &[&7i64.to_le_bytes(), &100u32.to_le_bytes()],
        );
        let exit = ev(c::SYSCALL_READ_X, &[&5i64.to_le_bytes(), b"hello"]);
        let mut conv = Converter::new(Layout::ExitOnly);
        let mut out = Vec::new();
        conv.push(&RawEvent::parse(&enter, false).unwrap(), &mut out);
        assert!(
            out.is_empty(),
            "read enter is not emitted in the exit-only layout"
        );
        conv.push(&RawEvent::parse(&exit, false).unwrap(), &mut out);
        assert_eq!(out.len(), 1);
        let e = out[0].view().unwrap();
        assert_eq!(e.code, c::SYSCALL_READ_X);
        assert_eq!(e.nparams(), 4);
        assert_eq!(e.param_i64(0), Some(5));
        assert_eq!(e.param(1), Some(&b"hello"[..]));
        assert_eq!(e.param_i64(2), Some(7), "fd came from the enter event");
        assert_eq!(e.param_u64(3), Some(100), "size came from the enter event");
    }

    #[test]
    fn classic_derives_missing_enter_events() {
        let exit = ev(
            c::SYSCALL_READ_X,
            &[
                &5i64.to_le_bytes(),
                b"hello",
                &7i64.to_le_bytes(),
                &100u32.to_le_bytes(),
            ],
        );
        let mut conv = Converter::new(Layout::Classic);
        let mut out = Vec::new();
        conv.push(&RawEvent::parse(&exit, false).unwrap(), &mut out);
        assert_eq!(out.len(), 2);
        let e = out[0].view().unwrap();
        assert_eq!(e.code, c::SYSCALL_READ_E);
        assert_eq!(e.param_i64(0), Some(7));
        assert_eq!(e.param_u64(1), Some(100));
        // an exit that follows its enter gets nothing added
        let enter = ev(
            c::SYSCALL_READ_E,
            &[&7i64.to_le_bytes(), &100u32.to_le_bytes()],
        );
        out.clear();
        conv.push(&RawEvent::parse(&enter, false).unwrap(), &mut out);
        conv.push(&RawEvent::parse(&exit, false).unwrap(), &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn classic_rewrites_events_sysdig_029_does_not_know() {
        let mut conv = Converter::new(Layout::Classic);
        let mut out = Vec::new();
        // pipe2 becomes pipe, with a derived pipe enter
        let x = ev(
            c::SYSCALL_PIPE2_X,
            &[
                &0i64.to_le_bytes(),
                &3i64.to_le_bytes(),
                &4i64.to_le_bytes(),
                &77u64.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        conv.push(&RawEvent::parse(&x, false).unwrap(), &mut out);
        let codes: Vec<u16> = out.iter().map(|e| e.view().unwrap().code).collect();
        assert_eq!(codes, [c::SYSCALL_PIPE_E, c::SYSCALL_PIPE_X]);
        let px = out[1].view().unwrap();
        assert_eq!(px.param(1), Some(&3i64.to_le_bytes()[..]));
        assert_eq!(px.param(3), Some(&77u64.to_le_bytes()[..]));
        // dup2 becomes dup; its enter carries the old fd
        out.clear();
        let x = ev(
            c::SYSCALL_DUP2_X,
            &[
                &50i64.to_le_bytes(),
                &4i64.to_le_bytes(),
                &50i64.to_le_bytes(),
            ],
        );
        conv.push(&RawEvent::parse(&x, false).unwrap(), &mut out);
        let (e, x) = (out[0].view().unwrap(), out[1].view().unwrap());
        assert_eq!((e.code, x.code), (c::SYSCALL_DUP_E, c::SYSCALL_DUP_X));
        assert_eq!(e.param(0), Some(&4i64.to_le_bytes()[..]));
        assert_eq!(x.param(0), Some(&50i64.to_le_bytes()[..]));
        // an event with no 0.29 counterpart becomes a generic syscall event
        out.clear();
        let x = ev(
            c::SYSCALL_MEMFD_CREATE_X,
            &[&5i64.to_le_bytes(), b"name\0", &0u32.to_le_bytes()],
        );
        conv.push(&RawEvent::parse(&x, false).unwrap(), &mut out);
        let codes: Vec<u16> = out.iter().map(|e| e.view().unwrap().code).collect();
        assert_eq!(codes, [c::GENERIC_E, c::GENERIC_X]);
    }

    #[test]
    fn open_enter_is_kept_in_exit_only() {
        assert!(enter_still_emitted(c::SYSCALL_OPEN_E));
        assert!(!enter_still_emitted(c::SYSCALL_READ_E));
    }

    #[test]
    fn classic_clamps_syscall_ids_sysdig_029_does_not_know() {
        // generic exit with id 380 (rseq in current libs) and native id 334
        let exit = ev(
            c::GENERIC_X,
            &[&380u16.to_le_bytes(), &334u16.to_le_bytes()],
        );
        let mut conv = Converter::new(Layout::Classic);
        let mut out = Vec::new();
        conv.push(&RawEvent::parse(&exit, false).unwrap(), &mut out);
        assert_eq!(out.len(), 2, "a derived enter and the exit");
        for e in &out {
            let v = e.view().unwrap();
            assert_eq!(v.param_u64(0), Some(0), "id clamped in {}", v.code);
            assert_eq!(v.param_u64(1), Some(334), "native id kept");
        }
        // a known id is left alone
        let exit = ev(c::GENERIC_X, &[&5u16.to_le_bytes(), &5u16.to_le_bytes()]);
        out.clear();
        conv.push(&RawEvent::parse(&exit, false).unwrap(), &mut out);
        assert!(out
            .iter()
            .all(|e| e.view().unwrap().param_u64(0) == Some(5)));
    }

    #[test]
    fn classic_writes_empty_strings_as_nul() {
        let enter = ev(
            c::SYSCALL_OPENAT_2_E,
            &[
                &(-100i64).to_le_bytes(),
                b"",
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        let mut conv = Converter::new(Layout::Classic);
        let mut out = Vec::new();
        conv.push(&RawEvent::parse(&enter, false).unwrap(), &mut out);
        let v = out[0].view().unwrap();
        assert_eq!(v.param(1), Some(&b"\0"[..]));
        assert_eq!(v.param_i64(0), Some(-100));
        assert_eq!(v.param_u64(2), Some(1));
    }
}

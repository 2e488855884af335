//! A zero-copy view of one event as it sits in a capture block or ring buffer.

use crate::table::{event_info, EventInfo};
use thiserror_lite::EventError;

/// Size of the v2 event header: ts u64, tid u64, len u32, type u16, nparams u32.
pub const HEADER_LEN: usize = 26;
/// Size of the v1 event header (no `nparams`).
pub const HEADER_LEN_V1: usize = 22;
/// The most parameters any event has.
pub const MAX_PARAMS: usize = 32;

mod thiserror_lite {
    /// Why an event's bytes could not be interpreted.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum EventError {
        /// Fewer bytes than the header needs.
        ShortHeader(usize),
        /// The header's length field disagrees with the bytes available.
        BadLength {
            /// The length the header declares.
            declared: u32,
            /// The bytes there are.
            available: usize,
        },
        /// The parameter lengths run past the end of the event.
        ParamsOverflow,
        /// More parameters than any event has.
        TooManyParams(u32),
    }

    impl std::fmt::Display for EventError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                EventError::ShortHeader(n) => write!(f, "event header truncated ({n} bytes)"),
                EventError::BadLength {
                    declared,
                    available,
                } => write!(
                    f,
                    "event length {declared} does not fit the {available} bytes available"
                ),
                EventError::ParamsOverflow => write!(f, "event parameters overflow the event"),
                EventError::TooManyParams(n) => write!(f, "event claims {n} parameters"),
            }
        }
    }

    impl std::error::Error for EventError {}
}

pub use thiserror_lite::EventError as Error;

/// One event: header fields plus its parameters, borrowed from a buffer.
///
/// Kept small (it is passed by value through every stage): parameter
/// offsets are computed from the borrowed length array on access.
#[derive(Clone, Copy)]
pub struct RawEvent<'a> {
    /// Nanoseconds since the epoch.
    pub ts: u64,
    /// Thread id of the thread that generated the event.
    pub tid: i64,
    /// Event code (index in the event table).
    pub code: u16,
    /// CPU the event happened on.
    pub cpu: u16,
    /// Dump flags carried by flagged event blocks (`EVF`), 0 otherwise.
    pub dump_flags: u32,
    /// System call latency measured by the source (the live probe keeps
    /// the enter time per thread in the kernel), 0 when unknown: files
    /// carry it only as the distance to the matching enter event.
    pub latency: u64,
    nparams: u16,
    /// Parameter lengths are 32-bit (large payload) rather than 16-bit.
    large: bool,
    /// The parameter length array.
    lens: &'a [u8],
    /// Parameter data, exactly the sum of the lengths.
    data: &'a [u8],
}

impl std::fmt::Debug for RawEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEvent")
            .field("ts", &self.ts)
            .field("tid", &self.tid)
            .field("code", &self.code)
            .field("cpu", &self.cpu)
            .field("nparams", &self.nparams)
            .finish()
    }
}

#[inline]
fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
#[inline]
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]))
}
#[inline]
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

impl<'a> RawEvent<'a> {
    /// Parses a v2 event (header with `nparams`) from `buf`, which must hold
    /// at least the event's declared length. `large` selects 32-bit
    /// parameter lengths (large-payload blocks) instead of 16-bit ones.
    pub fn parse(buf: &'a [u8], large: bool) -> Result<RawEvent<'a>, EventError> {
        if buf.len() < HEADER_LEN {
            return Err(EventError::ShortHeader(buf.len()));
        }
        let len = u32_at(buf, 16);
        if (len as usize) < HEADER_LEN || len as usize > buf.len() {
            return Err(EventError::BadLength {
                declared: len,
                available: buf.len(),
            });
        }
        let nparams = u32_at(buf, 22);
        Self::from_parts(
            u64_at(buf, 0),
            u64_at(buf, 8) as i64,
            u16_at(buf, 20),
            nparams,
            &buf[HEADER_LEN..len as usize],
            large,
        )
    }

    /// Builds a view from header fields and the bytes after the header
    /// (parameter lengths followed by parameter data).
    pub fn from_parts(
        ts: u64,
        tid: i64,
        code: u16,
        nparams: u32,
        body: &'a [u8],
        large: bool,
    ) -> Result<RawEvent<'a>, EventError> {
        if nparams as usize > MAX_PARAMS {
            return Err(EventError::TooManyParams(nparams));
        }
        let w = if large { 4 } else { 2 };
        let lens_len = nparams as usize * w;
        if lens_len > body.len() {
            return Err(EventError::ParamsOverflow);
        }
        let (lens, rest) = body.split_at(lens_len);
        let total: usize = if large {
            lens.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
                .sum()
        } else {
            lens.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
                .sum()
        };
        if total > rest.len() {
            return Err(EventError::ParamsOverflow);
        }
        // checked: the view of exactly the lengths and their data
        RawEvent::from_checked_parts(ts, tid, code, nparams, &body[..lens_len + total], large)
            .ok_or(EventError::ParamsOverflow)
    }

    /// Builds a view from parts that [`RawEvent::from_parts`] accepted
    /// before (on another thread, say) and that were cut to exactly the
    /// length array and the data after it: the lengths are not summed
    /// again. Returns None when `body` is shorter than the length array.
    #[inline]
    pub fn from_checked_parts(
        ts: u64,
        tid: i64,
        code: u16,
        nparams: u32,
        body: &'a [u8],
        large: bool,
    ) -> Option<RawEvent<'a>> {
        let w = if large { 4 } else { 2 };
        let lens_len = (nparams as usize).min(MAX_PARAMS) * w;
        if lens_len > body.len() {
            return None;
        }
        let (lens, data) = body.split_at(lens_len);
        Some(RawEvent {
            ts,
            tid,
            code,
            cpu: 0,
            dump_flags: 0,
            latency: 0,
            nparams: nparams.min(MAX_PARAMS as u32) as u16,
            large,
            lens,
            data,
        })
    }

    /// Length of parameter `i` (which must be below `nparams`).
    #[inline]
    fn len_of(&self, i: usize) -> usize {
        if self.large {
            u32_at(self.lens, i * 4) as usize
        } else {
            u16_at(self.lens, i * 2) as usize
        }
    }

    /// Computes how many parameters a v1 event body holds: the largest count,
    /// not above `max`, whose lengths add up exactly to the body size.
    pub fn infer_nparams(body: &[u8], max: usize) -> Option<u32> {
        // `n` parameters take 2n + (sum of the first n lengths) bytes, which
        // grows strictly with n: at most one n fits, found by one pass that
        // stops as soon as the bytes are used up.
        let mut used = 0usize;
        for n in 0..=max.min(MAX_PARAMS) {
            if used == body.len() {
                return Some(n as u32);
            }
            if used > body.len() || n * 2 + 2 > body.len() {
                return None;
            }
            used += 2 + u16_at(body, n * 2) as usize;
        }
        None
    }

    /// The parameter length array and the parameter data, back to back in
    /// the order [`RawEvent::from_parts`] takes them, and whether lengths
    /// are 32-bit: what it takes to rebuild this view from a copy.
    pub fn parts(&self) -> (&'a [u8], &'a [u8], bool) {
        (self.lens, self.data, self.large)
    }

    /// The event table entry for this event, if the code is known.
    #[inline]
    pub fn info(&self) -> Option<&'static EventInfo> {
        event_info(self.code)
    }

    /// The body as [`RawEvent::from_parts`] takes it (the parameter
    /// lengths, then the data) appended to `out`; whether its lengths are
    /// 32-bit.
    pub fn copy_body(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(self.lens);
        out.extend_from_slice(self.data);
        self.large
    }

    /// Number of parameters present in this event.
    #[inline]
    pub fn nparams(&self) -> usize {
        self.nparams as usize
    }

    /// The raw bytes of parameter `i`.
    #[inline]
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams as usize {
            return None;
        }
        // the lengths up to `i`, each read without a bounds check or a
        // width test of its own
        let mut start = 0usize;
        let len = if self.large {
            let lens = &self.lens[..4 * i + 4];
            let mut j = 0;
            while j < 4 * i {
                start +=
                    u32::from_le_bytes([lens[j], lens[j + 1], lens[j + 2], lens[j + 3]]) as usize;
                j += 4;
            }
            u32::from_le_bytes([lens[j], lens[j + 1], lens[j + 2], lens[j + 3]]) as usize
        } else {
            let lens = &self.lens[..2 * i + 2];
            let mut j = 0;
            while j < 2 * i {
                start += u16::from_le_bytes([lens[j], lens[j + 1]]) as usize;
                j += 2;
            }
            u16::from_le_bytes([lens[j], lens[j + 1]]) as usize
        };
        self.data.get(start..start + len)
    }

    /// Iterates the parameters in order.
    pub fn params(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let data = self.data;
        let mut off = 0usize;
        (0..self.nparams as usize).map(move |i| {
            let l = self.len_of(i);
            // (never short for a view from_parts accepted)
            let p = data.get(off..off + l).unwrap_or_default();
            off += l;
            p
        })
    }

    /// Parameter `i` read as a little-endian unsigned integer of its own width.
    #[inline]
    pub fn param_u64(&self, i: usize) -> Option<u64> {
        self.param(i).map(le_uint)
    }

    /// Parameter `i` read as a sign-extended little-endian integer of its own width.
    #[inline]
    pub fn param_i64(&self, i: usize) -> Option<i64> {
        self.param(i).map(le_int)
    }

    /// Parameter `i` as a string: the bytes up to the first NUL.
    #[inline]
    pub fn param_str(&self, i: usize) -> Option<&'a [u8]> {
        self.param(i).map(cstr)
    }

    /// Whether some parameter is too long for 16-bit lengths.
    pub fn needs_large(&self) -> bool {
        self.large && (0..self.nparams as usize).any(|i| self.len_of(i) > u16::MAX as usize)
    }

    /// Size of this event in the v2 layout (header, lengths, data).
    pub fn encoded_len(&self, large: bool) -> usize {
        HEADER_LEN + self.nparams as usize * if large { 4 } else { 2 } + self.data.len()
    }

    /// Appends this event in the v2 layout (what event blocks and the live
    /// ring buffer carry): header with `nparams`, parameter lengths (32-bit
    /// when `large`), parameter data.
    pub fn encode_v2(&self, large: bool, out: &mut Vec<u8>) {
        let len = self.encoded_len(large) as u32;
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&(self.tid as u64).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.code.to_le_bytes());
        out.extend_from_slice(&(self.nparams as u32).to_le_bytes());
        if large == self.large {
            out.extend_from_slice(self.lens);
        } else {
            for i in 0..self.nparams as usize {
                let l = self.len_of(i);
                if large {
                    out.extend_from_slice(&(l as u32).to_le_bytes());
                } else {
                    out.extend_from_slice(&(l as u16).to_le_bytes());
                }
            }
        }
        out.extend_from_slice(self.data);
    }

    /// Total size of the parameter data.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Reads up to 8 little-endian bytes as an unsigned integer.
#[inline]
pub fn le_uint(b: &[u8]) -> u64 {
    // the most common width first
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return u64::from_le_bytes(a);
    }
    match b.len() {
        1 => b[0] as u64,
        2 => u16::from_le_bytes([b[0], b[1]]) as u64,
        4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
        8 => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        n => {
            let mut v = [0u8; 8];
            let n = n.min(8);
            v[..n].copy_from_slice(&b[..n]);
            u64::from_le_bytes(v)
        }
    }
}

/// Reads up to 8 little-endian bytes as a sign-extended integer.
#[inline]
pub fn le_int(b: &[u8]) -> i64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return i64::from_le_bytes(a);
    }
    match b.len() {
        1 => b[0] as i8 as i64,
        2 => i16::from_le_bytes([b[0], b[1]]) as i64,
        4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
        _ => le_uint(b) as i64,
    }
}

/// The bytes before the first NUL.
#[inline]
pub fn cstr(b: &[u8]) -> &[u8] {
    match memchr0(b) {
        Some(i) => &b[..i],
        None => b,
    }
}

#[inline]
fn memchr0(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(code: u16, params: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        let len = HEADER_LEN + params.len() * 2 + params.iter().map(|p| p.len()).sum::<usize>();
        v.extend_from_slice(&123u64.to_le_bytes());
        v.extend_from_slice(&77u64.to_le_bytes());
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(&code.to_le_bytes());
        v.extend_from_slice(&(params.len() as u32).to_le_bytes());
        for p in params {
            v.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
        for p in params {
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn parses_params() {
        let b = build(
            3,
            &[&5i64.to_le_bytes(), b"/etc/passwd\0", &1u32.to_le_bytes()],
        );
        let e = RawEvent::parse(&b, false).unwrap();
        assert_eq!(e.ts, 123);
        assert_eq!(e.tid, 77);
        assert_eq!(e.nparams(), 3);
        assert_eq!(e.param_i64(0), Some(5));
        assert_eq!(e.param_str(1), Some(&b"/etc/passwd"[..]));
        assert_eq!(e.param_u64(2), Some(1));
        assert_eq!(e.param(3), None);
        assert_eq!(e.info().unwrap().name, "open");
    }

    #[test]
    fn encodes_back_to_the_same_bytes() {
        let b = build(
            3,
            &[&5i64.to_le_bytes(), b"/etc/passwd\0", &1u32.to_le_bytes()],
        );
        let e = RawEvent::parse(&b, false).unwrap();
        let mut out = Vec::new();
        e.encode_v2(false, &mut out);
        assert_eq!(out, b);
        assert!(!e.needs_large());
    }

    #[test]
    fn a_copied_body_makes_the_same_event() {
        let b = build(3, &[&5i64.to_le_bytes(), b"/etc/passwd\0", b""]);
        let e = RawEvent::parse(&b, false).unwrap();
        let mut body = vec![0xee];
        let large = e.copy_body(&mut body);
        let n = e.nparams() as u32;
        let again = RawEvent::from_parts(e.ts, e.tid, e.code, n, &body[1..], large).unwrap();
        assert_eq!(format!("{again:?}"), format!("{e:?}"));
        assert_eq!(again.param(1), Some(&b"/etc/passwd\0"[..]));
        assert_eq!(again.param(2), Some(&b""[..]));
    }

    #[test]
    fn fd_param_index_matches_the_parameter_names() {
        for e in crate::EVENTS.iter() {
            let by_name = e
                .params
                .iter()
                .position(|p| p.name == "fd")
                .map(|i| i as u8);
            assert_eq!(e.fd_param, by_name, "{}", e.enum_name);
        }
        let read_x = crate::event_info(crate::codes::SYSCALL_READ_X).unwrap();
        assert_eq!(read_x.fd_param, Some(2));
    }

    #[test]
    fn rejects_overflow() {
        let mut b = build(3, &[&5i64.to_le_bytes()]);
        b[HEADER_LEN] = 200; // length of param 0 now exceeds the data
        assert!(RawEvent::parse(&b, false).is_err());
        assert!(RawEvent::parse(&b[..10], false).is_err());
    }

    #[test]
    fn infers_v1_param_count() {
        // two params of 8 and 4 bytes
        let mut body = Vec::new();
        body.extend_from_slice(&8u16.to_le_bytes());
        body.extend_from_slice(&4u16.to_le_bytes());
        body.extend_from_slice(&[0; 12]);
        assert_eq!(RawEvent::infer_nparams(&body, 5), Some(2));
        assert_eq!(RawEvent::infer_nparams(&[], 5), Some(0));
        assert_eq!(RawEvent::infer_nparams(&body, 1), None, "more than max");
        assert_eq!(RawEvent::infer_nparams(&body[..13], 5), None);
    }

    /// The one-pass count agrees with trying every count from `max` down.
    #[test]
    fn infer_nparams_matches_exhaustive_search() {
        fn slow(body: &[u8], max: usize) -> Option<u32> {
            (0..=max).rev().find_map(|n| {
                let lens = n * 2;
                (lens <= body.len()
                    && lens + (0..n).map(|i| u16_at(body, i * 2) as usize).sum::<usize>()
                        == body.len())
                .then_some(n as u32)
            })
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            // small lengths so that exact fits happen often
            let body: Vec<u8> = (0..len)
                .map(|i| {
                    if i % 2 == 1 {
                        0
                    } else {
                        ((x >> (i % 60)) % 6) as u8
                    }
                })
                .collect();
            let max = ((x >> 20) % 8) as usize;
            assert_eq!(
                RawEvent::infer_nparams(&body, max),
                slow(&body, max),
                "{body:?} max {max}"
            );
        }
    }
}

//! Fast decimal formatting for the hot paths (event numbers, pids, fds,
//! timestamps), without `fmt` and without a loop per digit.
//!
//! Up to eight digits are computed at once in the bytes of a `u64` (the
//! most significant digit in the lowest byte, i.e. first in memory), by
//! dividing all lanes by 100 and then by 10 with multiplications. That
//! word is appended whole and the vector cut back to the digits: a copy of
//! constant size compiles to a store, where a copy of the exact length
//! would be a call to `memcpy` for every number.

/// The digits of `v` (below 100,000,000) as eight bytes of values 0..=9,
/// zero-padded, most significant first in memory (lowest byte).
#[inline]
fn eight_digits(v: u32) -> u64 {
    debug_assert!(v < 100_000_000);
    let v = u64::from(v);
    // two lanes of 32 bits: the upper four digits in the low lane
    let fours = (v / 10_000) | ((v % 10_000) << 32);
    // each lane / 100 (x * 10486 >> 20 is exact for x < 10,000)
    let hundreds = ((fours * 10486) >> 20) & 0x0000_007f_0000_007f;
    let rest = fours - 100 * hundreds;
    // four lanes of 16 bits, two digits each, in order
    let twos = hundreds | (rest << 16);
    // each lane / 10 (x * 103 >> 10 is exact for x < 100)
    let tens = ((twos * 103) >> 10) & 0x000f_000f_000f_000f;
    let ones = twos - 10 * tens;
    // eight lanes of 8 bits, one digit each
    tens | (ones << 8)
}

/// Appends the decimal text of `v` (below 100,000,000).
#[inline(always)]
fn push_below_1e8(out: &mut Vec<u8>, v: u32) {
    let d = eight_digits(v);
    // leading zero digits are the zero low bytes; 0 keeps one digit
    let lead = (d.trailing_zeros() / 8).min(7);
    let text = (d | 0x3030_3030_3030_3030) >> (8 * lead);
    let len = out.len();
    out.extend_from_slice(&text.to_le_bytes());
    out.truncate(len + 8 - lead as usize);
}

/// Appends exactly eight digits of `v` (below 100,000,000), zero-padded.
#[inline]
fn push_eight(out: &mut Vec<u8>, v: u32) {
    let text = eight_digits(v) | 0x3030_3030_3030_3030;
    out.extend_from_slice(&text.to_le_bytes());
}

/// Appends `v` (at least 100,000,000) in decimal.
#[inline(never)]
fn push_large(out: &mut Vec<u8>, v: u64) {
    const E8: u64 = 100_000_000;
    let low = (v % E8) as u32;
    let high = v / E8;
    if high < E8 {
        push_below_1e8(out, high as u32);
    } else {
        // at most 20 digits: 4 + 8 + 8
        push_below_1e8(out, (high / E8) as u32);
        push_eight(out, (high % E8) as u32);
    }
    push_eight(out, low);
}

/// Appends `v` in decimal.
#[inline(always)]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    if v < 100_000_000 {
        push_below_1e8(out, v as u32);
    } else {
        push_large(out, v);
    }
}

/// Appends `v` in decimal, with a `-` when negative.
#[inline(always)]
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
        push_u64(out, v.unsigned_abs());
    } else {
        push_u64(out, v as u64);
    }
}

/// Appends `v` zero-padded to `width` digits (more if `v` needs them; at
/// most 20 in all).
pub fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let digits = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let zeros = width.min(20).saturating_sub(digits);
    out.resize(out.len() + zeros, b'0');
    push_u64(out, v);
}

/// Writes `v % 1_000_000_000` as exactly nine digits into `out`.
#[inline]
pub fn nine_digits(out: &mut [u8; 9], v: u64) {
    let v = (v % 1_000_000_000) as u32;
    out[0] = b'0' + (v / 100_000_000) as u8;
    let text = eight_digits(v % 100_000_000) | 0x3030_3030_3030_3030;
    out[1..].copy_from_slice(&text.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<u64> {
        let mut v = vec![0, 1, 7, 9, u64::MAX, u64::MAX - 1, i64::MAX as u64];
        let mut p = 1u64;
        for _ in 0..19 {
            p *= 10;
            v.extend([p - 1, p, p + 1, p / 2, p / 3, p / 7 * 6]);
        }
        v
    }

    #[test]
    fn formats_like_display() {
        for v in samples() {
            let mut o = b"x".to_vec();
            push_u64(&mut o, v);
            assert_eq!(o, format!("x{v}").as_bytes());
        }
        for v in [0i64, -1, -100, i64::MIN, i64::MAX, -999, 1000] {
            let mut o = Vec::new();
            push_i64(&mut o, v);
            assert_eq!(o, v.to_string().as_bytes());
        }
        for v in samples() {
            for w in [0usize, 1, 2, 9, 12, 19, 20, 25] {
                let mut o = b"y".to_vec();
                push_padded(&mut o, v, w);
                let w = w.min(20);
                assert_eq!(o, format!("y{v:0w$}").as_bytes(), "{v} {w}");
            }
            let mut n = [0u8; 9];
            nine_digits(&mut n, v);
            assert_eq!(n, format!("{:09}", v % 1_000_000_000).as_bytes());
        }
    }

    #[test]
    fn lane_divisions_are_exact() {
        for x in 0u64..10_000 {
            assert_eq!((x * 10486) >> 20, x / 100);
        }
        for x in 0u64..100 {
            assert_eq!((x * 103) >> 10, x / 10);
        }
    }

    #[test]
    fn eight_digits_exhaustive_in_steps() {
        // every value below 100,000 and a stride through the rest
        let mut v = 0u32;
        let mut o = Vec::new();
        while v < 100_000_000 {
            o.clear();
            push_u64(&mut o, u64::from(v));
            assert_eq!(o, v.to_string().as_bytes());
            v += if v < 100_000 { 1 } else { 997 };
        }
    }

    /// Every value below 100,000,000 (about a second in release builds).
    #[test]
    fn eight_digits_exhaustive() {
        let mut buf = itoa_reference::Buf::default();
        let mut o = Vec::new();
        for v in 0u32..100_000_000 {
            o.clear();
            push_u64(&mut o, u64::from(v));
            assert_eq!(o, buf.format(v), "{v}");
        }
    }

    /// Plain digit loop to compare with.
    mod itoa_reference {
        #[derive(Default)]
        pub struct Buf([u8; 10], usize);

        impl Buf {
            pub fn format(&mut self, mut v: u32) -> &[u8] {
                let mut i = 10;
                loop {
                    i -= 1;
                    self.0[i] = b'0' + (v % 10) as u8;
                    v /= 10;
                    if v == 0 {
                        break;
                    }
                }
                self.1 = i;
                &self.0[i..]
            }
        }
    }
}

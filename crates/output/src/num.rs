//! Fast decimal formatting for the hot paths (event numbers, pids, fds,
//! timestamps): two digits at a time into a stack buffer instead of `fmt`.
//!
//! The digits are written left-aligned into a fixed 20-byte buffer, which
//! is appended whole and then cut back to the digits: a copy of constant
//! size compiles to a few moves, where a copy of the exact length would be
//! a call to `memcpy` for every number.

/// `"00" "01" ... "99"`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Number of decimal digits of `v` (1 for 0).
#[inline]
fn digit_count(v: u64) -> usize {
    match v.checked_ilog10() {
        Some(l) => l as usize + 1,
        None => 1,
    }
}

/// Writes the last `n` digits of `v` into `buf[..n]`, the last digit at
/// `buf[n - 1]`; leading positions `v` does not reach keep what `buf` holds.
#[inline]
fn write_digits(buf: &mut [u8; 20], mut v: u64, n: usize) {
    let mut i = n.min(20);
    while v >= 100 && i >= 2 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = PAIRS[r];
        buf[i + 1] = PAIRS[r + 1];
    }
    if v >= 10 && i >= 2 {
        let r = v as usize * 2;
        buf[i - 2] = PAIRS[r];
        buf[i - 1] = PAIRS[r + 1];
    } else if i >= 1 {
        buf[i - 1] = b'0' + (v % 10) as u8;
    }
}

/// Appends the first `n` bytes of `buf` (see the module comment).
#[inline]
fn append(out: &mut Vec<u8>, buf: &[u8; 20], n: usize) {
    let len = out.len();
    out.extend_from_slice(buf);
    out.truncate(len + n);
}

/// Appends `v` in decimal.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 10_000_000_000_000_000 {
        push_up_to_16(out, v);
    } else {
        let mut buf = [0u8; 20];
        let n = digit_count(v);
        write_digits(&mut buf, v, n);
        append(out, &buf, n);
    }
}

/// Appends `v` (at most 16 digits) in decimal.
#[inline]
fn push_up_to_16(out: &mut Vec<u8>, mut v: u64) {
    // right-aligned first, without counting the digits beforehand ...
    let mut buf = [0u8; 16];
    let mut i = 16;
    while v >= 100 && i >= 2 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = PAIRS[r];
        buf[i + 1] = PAIRS[r + 1];
    }
    if v >= 10 && i >= 2 {
        let r = v as usize * 2;
        i -= 2;
        buf[i] = PAIRS[r];
        buf[i + 1] = PAIRS[r + 1];
    } else if i >= 1 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
    }
    // ... then moved to the start: a shift of the little-endian word
    let word = u128::from_le_bytes(buf) >> (8 * i as u32);
    let len = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(len + (16 - i));
}

/// Appends `v` in decimal, with a `-` when negative.
#[inline]
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
#[inline]
pub fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let n = digit_count(v).max(width).min(20);
    write_digits(&mut buf, v, n);
    append(out, &buf, n);
}

/// Writes `v % 1_000_000_000` as exactly nine digits into `out[..9]`.
#[inline]
pub fn nine_digits(out: &mut [u8; 9], v: u64) {
    let v = (v % 1_000_000_000) as u32;
    let hi = v / 10_000;
    let lo = (v % 10_000) as usize;
    let (a, b) = ((hi / 10_000) as u8, (hi % 10_000) as usize);
    out[0] = b'0' + a;
    let (b1, b2) = (b / 100 * 2, b % 100 * 2);
    let (l1, l2) = (lo / 100 * 2, lo % 100 * 2);
    out[1] = PAIRS[b1];
    out[2] = PAIRS[b1 + 1];
    out[3] = PAIRS[b2];
    out[4] = PAIRS[b2 + 1];
    out[5] = PAIRS[l1];
    out[6] = PAIRS[l1 + 1];
    out[7] = PAIRS[l2];
    out[8] = PAIRS[l2 + 1];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<u64> {
        let mut v = vec![0, 1, 7, 9, u64::MAX, u64::MAX - 1, i64::MAX as u64];
        let mut p = 1u64;
        for _ in 0..19 {
            p *= 10;
            v.extend([p - 1, p, p + 1, p / 2, p / 3]);
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
            for w in [0usize, 1, 2, 9, 12, 19, 20] {
                let mut o = b"y".to_vec();
                push_padded(&mut o, v, w);
                assert_eq!(o, format!("y{v:0w$}").as_bytes(), "{v} {w}");
            }
            let mut n = [0u8; 9];
            nine_digits(&mut n, v);
            assert_eq!(n, format!("{:09}", v % 1_000_000_000).as_bytes());
        }
    }
}

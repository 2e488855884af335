//! Fast decimal formatting for the hot paths (event numbers, pids, fds,
//! timestamps): a digit loop into a stack buffer instead of `fmt`.

/// Appends `v` in decimal.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
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

/// Appends `v` zero-padded to `width` digits (more if `v` needs them).
#[inline]
pub fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut x = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    out.extend_from_slice(&buf[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_display() {
        for v in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let mut o = Vec::new();
            push_u64(&mut o, v);
            assert_eq!(o, v.to_string().as_bytes());
        }
        for v in [0i64, -1, -100, i64::MIN, i64::MAX] {
            let mut o = Vec::new();
            push_i64(&mut o, v);
            assert_eq!(o, v.to_string().as_bytes());
        }
        for (v, w) in [(5u64, 9usize), (123456789, 9), (0, 2), (1234567890, 9)] {
            let mut o = Vec::new();
            push_padded(&mut o, v, w);
            assert_eq!(o, format!("{v:0w$}").as_bytes());
        }
    }
}

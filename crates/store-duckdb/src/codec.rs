//! Compact encodings of histogram buckets and sketches for BLOB columns:
//! (key, count) pairs, keys delta-encoded, all as LEB128 varints.

use std::collections::BTreeMap;

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Encodes sorted (bound, count) pairs.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a u64, &'a u64)>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = 0u64;
    for (k, c) in pairs {
        put(&mut out, k.wrapping_sub(last));
        put(&mut out, *c);
        last = *k;
    }
    out
}

/// Decodes into `into`, adding counts; false when the bytes are corrupt.
pub fn decode_into(b: &[u8], into: &mut BTreeMap<u64, u64>) -> bool {
    let mut pos = 0;
    let mut last = 0u64;
    while pos < b.len() {
        let (Some(d), Some(c)) = (get(b, &mut pos), get(b, &mut pos)) else {
            return false;
        };
        last = last.wrapping_add(d);
        *into.entry(last).or_default() += c;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m: BTreeMap<u64, u64> = [(0, 3), (7, 1), (1 << 40, 5), (u64::MAX, 2)].into();
        let mut back = BTreeMap::new();
        assert!(decode_into(&encode(&m), &mut back));
        assert_eq!(m, back);
        assert!(!decode_into(&[0x80], &mut back));
    }
}

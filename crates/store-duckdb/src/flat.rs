//! A series' identity (metric and tags) as one byte string: each of the
//! metric, then every tag's key and value in order, as a 4-byte length
//! and its bytes. The encoding is unambiguous, so two series are the same
//! exactly when their strings are equal, and [`is`] tells whether a
//! sample belongs to a series by one pass over its own strings and one
//! contiguous buffer, without allocating.

use sonde_store::Tags;

fn put(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The identity of `metric` with `tags`.
pub fn key(metric: &str, tags: &Tags) -> Box<[u8]> {
    let n = 4
        + metric.len()
        + tags
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
    let mut out = Vec::with_capacity(n);
    put(&mut out, metric);
    for (k, v) in tags {
        put(&mut out, k);
        put(&mut out, v);
    }
    out.into_boxed_slice()
}

/// Whether `rest` starts with `s` (its length, then its bytes); moves
/// `rest` past it.
#[inline(always)]
fn take(rest: &mut &[u8], s: &str) -> bool {
    let b = s.as_bytes();
    let Some((len, tail)) = rest.split_first_chunk::<4>() else {
        return false;
    };
    if u32::from_le_bytes(*len) as usize != b.len() || tail.len() < b.len() {
        return false;
    }
    let (head, tail) = tail.split_at(b.len());
    if !same(head, b) {
        return false;
    }
    *rest = tail;
    true
}

/// `a == b` for slices of equal length; tag strings are short, and two
/// overlapping 8-byte loads compare one of up to 16 bytes without a call.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if (8..=16).contains(&n) {
        let w = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
        w(a, 0) == w(b, 0) && w(a, n - 8) == w(b, n - 8)
    } else {
        a == b
    }
}

/// Whether `key` is the identity of `metric` with `tags`.
pub fn is(key: &[u8], metric: &str, tags: &Tags) -> bool {
    let mut rest = key;
    take(&mut rest, metric)
        && tags
            .iter()
            .all(|(k, v)| take(&mut rest, k) && take(&mut rest, v))
        && rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(kv: &[(&str, &str)]) -> Tags {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equal_exactly_when_the_series_is() {
        let a = tags(&[("host", "h1"), ("pod", "p")]);
        let k = key("cpu", &a);
        assert!(is(&k, "cpu", &a));
        assert!(!is(&k, "mem", &a));
        assert!(!is(&k, "cpu", &tags(&[("host", "h1")])));
        assert!(!is(&k, "cpu", &tags(&[("host", "h1"), ("pod", "q")])));
        assert!(!is(
            &k,
            "cpu",
            &tags(&[("host", "h1"), ("pod", "p"), ("z", "")])
        ));
        // the boundaries between strings count: "ab"+"c" is not "a"+"bc"
        let x = key("m", &tags(&[("ab", "c")]));
        assert!(!is(&x, "m", &tags(&[("a", "bc")])));
        assert!(is(&key("", &Tags::new()), "", &Tags::new()));
        assert!(!is(&[], "", &Tags::new()));
    }

    #[test]
    fn short_compare_sees_every_byte() {
        // every length up to 40, a difference at every position
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 1;
                assert!(!same(&a, &b), "length {n}, byte {i}");
            }
        }
    }
}

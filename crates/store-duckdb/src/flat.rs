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

/// Whether `key` at `*pos` holds `s`; moves `*pos` past it.
fn take(key: &[u8], pos: &mut usize, s: &str) -> bool {
    let Some(len) = key.get(*pos..*pos + 4) else {
        return false;
    };
    if len != (s.len() as u32).to_le_bytes() {
        return false;
    }
    let start = *pos + 4;
    *pos = start + s.len();
    key.get(start..*pos) == Some(s.as_bytes())
}

/// Whether `key` is the identity of `metric` with `tags`.
pub fn is(key: &[u8], metric: &str, tags: &Tags) -> bool {
    let mut pos = 0;
    take(key, &mut pos, metric)
        && tags
            .iter()
            .all(|(k, v)| take(key, &mut pos, k) && take(key, &mut pos, v))
        && pos == key.len()
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
}

//! The string operators on bytes: equality and order, `contains` (a
//! word-at-a-time search), `startswith`, `glob`, `regex`, `in`, `pmatch`.

use super::node::StrCmp;
use crate::ast::Op;
use crate::glob::glob_match;

/// Whether `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    if n == 0 {
        return true;
    }
    if n > hay.len() {
        return false;
    }
    let (first, second) = (needle[0], needle.get(1).copied());
    // the last position the needle can start at
    let last = hay.len() - n;
    // whether the needle starts at `i` (its first byte is known to match)
    let at = |i: usize| second.is_none_or(|b| hay[i + 1] == b) && &hay[i..i + n] == needle;
    // eight start positions at a time: the bytes equal to the needle's
    // first become zero bytes, flagged by the classic has-zero-byte test
    // (exact for the lowest, maybe spurious above it: each is checked)
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pat = ONES * u64::from(first);
    let mut i = 0;
    while i + 8 <= last + 1 {
        let w = &hay[i..i + 8];
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pat;
        let mut m = x.wrapping_sub(ONES) & !x & HIGHS;
        while m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            if hay[k] == first && at(k) {
                return true;
            }
            m &= m - 1;
        }
        i += 8;
    }
    while i <= last {
        if hay[i] == first && at(i) {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether `x` passes the string comparison.
pub(super) fn str_match(s: &StrCmp, x: &[u8]) -> bool {
    let v0 = || s.vals.first().map(|v| v.as_slice()).unwrap_or(b"");
    match s.op {
        Op::Eq => x == v0(),
        Op::Ne => x != v0(),
        Op::Lt => x < v0(),
        Op::Le => x <= v0(),
        Op::Gt => x > v0(),
        Op::Ge => x >= v0(),
        Op::Contains | Op::BContains => match &s.finder {
            Some(f) => f.find(x).is_some(),
            None => find(x, v0()),
        },
        Op::IContains => find(&x.to_ascii_lowercase(), v0()),
        Op::StartsWith | Op::BStartsWith => x.starts_with(v0()),
        Op::EndsWith => x.ends_with(v0()),
        Op::Glob => glob_match(v0(), x, false),
        Op::IGlob => glob_match(v0(), x, true),
        Op::Regex => s
            .regex
            .as_ref()
            .is_some_and(|r| r.is_match(&String::from_utf8_lossy(x))),
        Op::In | Op::Intersects => match &s.set {
            Some(set) => set.contains(x),
            None => s.vals.iter().any(|v| v.as_slice() == x),
        },
        Op::PMatch => s.vals.iter().any(|p| {
            let p = p.strip_suffix(b"/").unwrap_or(p);
            x == p || (x.starts_with(p) && x.get(p.len()) == Some(&b'/'))
        }),
        Op::Exists => true,
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn find_agrees_with_a_naive_search() {
        let hays: [&[u8]; 8] = [
            b"",
            b"/",
            b"/proc",
            b"/usr/lib/x86_64-linux-gnu/libc.so.6",
            b"/host/proc/1/status",
            b"192.168.1.2:40000->142.250.1.1:443",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"\x80\x81\x00\x01/proc/pr/proc",
        ];
        let needles: [&[u8]; 9] = [
            b"",
            b"/",
            b"/proc",
            b"proc",
            b"c",
            b"ab",
            b"b",
            b"aab",
            b"/proc/pr/proc",
        ];
        for h in hays {
            for cut in 0..=h.len() {
                let hay = &h[cut..];
                for nd in needles {
                    let naive = nd.is_empty() || hay.windows(nd.len()).any(|w| w == nd);
                    assert_eq!(find(hay, nd), naive, "{hay:?} {nd:?}");
                }
            }
        }
    }
}

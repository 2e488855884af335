//! Glob matching with `fnmatch(3)` semantics and no flags (what sysdig
//! uses): `*` and `?` also match `/` and leading dots.

/// Whether `s` matches `pat`. `fold` compares ASCII case-insensitively.
pub fn glob_match(pat: &[u8], s: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    // backtracking point for the last '*'
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                b'?' if i < s.len() => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' if i < s.len() => {
                    if let Some((ok, next)) = class(pat, p, s[i], fold) {
                        if ok {
                            p = next;
                            i += 1;
                            continue;
                        }
                    } else if eq(b'[', s[i]) {
                        // no closing ']': a literal '['
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && i < s.len() && eq(pat[p + 1], s[i]) => {
                    p += 2;
                    i += 1;
                    continue;
                }
                c if c != b'?' && c != b'[' && c != b'\\' && i < s.len() && eq(c, s[i]) => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 == pat.len() && i < s.len() && s[i] == b'\\' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        // mismatch: backtrack to the last star
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp + 1;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the bracket expression at `pat[p]` (`[`). Returns
/// (matched, index after `]`), or None when the bracket is not closed.
fn class(pat: &[u8], p: usize, c: u8, fold: bool) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let neg = matches!(pat.get(j), Some(b'!') | Some(b'^'));
    if neg {
        j += 1;
    }
    let mut matched = false;
    let mut first = true;
    let lc = |x: u8| if fold { x.to_ascii_lowercase() } else { x };
    loop {
        let &a = pat.get(j)?;
        if a == b']' && !first {
            j += 1;
            break;
        }
        first = false;
        let (a, alen) = if a == b'\\' {
            (*pat.get(j + 1)?, 2)
        } else {
            (a, 1)
        };
        j += alen;
        if pat.get(j) == Some(&b'-') && pat.get(j + 1).is_some_and(|&b| b != b']') {
            let b = pat[j + 1];
            j += 2;
            if (lc(a)..=lc(b)).contains(&lc(c)) || (a..=b).contains(&c) {
                matched = true;
            }
        } else if lc(a) == lc(c) {
            matched = true;
        }
    }
    Some((matched != neg, j))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn fnmatch_semantics() {
        assert!(glob_match(b"*.txt", b"/a/b.txt", false));
        assert!(glob_match(b"/etc/*", b"/etc/passwd", false));
        assert!(glob_match(b"/etc/*", b"/etc/a/b", false));
        assert!(!glob_match(b"/etc/?", b"/etc/ab", false));
        assert!(glob_match(b"[a-c]at", b"bat", false));
        assert!(!glob_match(b"[!a-c]at", b"bat", false));
        assert!(glob_match(b"*", b"", false));
        assert!(glob_match(b"a*b*c", b"axxbyyc", false));
        assert!(!glob_match(b"a*b*c", b"axxbyy", false));
        assert!(glob_match(b"A*", b"abc", true));
        assert!(!glob_match(b"A*", b"abc", false));
        assert!(glob_match(b"\\*", b"*", false));
        assert!(glob_match(b"[", b"[", false));
    }
}

//! Path arithmetic: joining a relative path to a directory and folding
//! `.` and `..` components the way sysdig does.

/// Resolves `name` against `cwd` unless it is absolute.
pub fn resolve_path(cwd: &[u8], name: &[u8]) -> Vec<u8> {
    if name.first() == Some(&b'/') || cwd.is_empty() {
        return normalize(name);
    }
    concat_path(cwd, name)
}

/// Joins `dir` and `name` and normalizes the result.
pub fn concat_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if name.first() == Some(&b'/') {
        return normalize(name);
    }
    let mut s = dir.to_vec();
    if !s.ends_with(b"/") {
        s.push(b'/');
    }
    s.extend_from_slice(name);
    normalize(&s)
}

/// Folds `//`, `/./` and `/../` in an absolute path; relative paths are
/// returned unchanged.
pub fn normalize(p: &[u8]) -> Vec<u8> {
    if p.first() != Some(&b'/') {
        return p.to_vec();
    }
    // the common case: nothing to fold, the path is its own result
    if is_folded(p) {
        return p.to_vec();
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in p.split(|&c| c == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::with_capacity(p.len());
    for c in &parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() || (p.ends_with(b"/") && p.len() > 1 && !parts.is_empty()) {
        out.push(b'/');
    }
    out
}

/// Whether the absolute path `p` has no empty, `.` or `..` component
/// (no `//`, `/./`, `/../`, nor a trailing `/`, `/.` or `/..`): one pass
/// over its bytes.
#[inline]
fn is_folded(p: &[u8]) -> bool {
    if p.last() == Some(&b'/') {
        return false;
    }
    let mut i = 0;
    while i + 1 < p.len() {
        if p[i] == b'/' {
            match p[i + 1] {
                b'/' => return false,
                b'.' if matches!(&p[i + 2..], [] | [b'/', ..] | [b'.'] | [b'.', b'/', ..]) => {
                    return false
                }
                _ => {}
            }
        }
        i += 1;
    }
    true
}

/// sysdig's `concatenate_paths`: a relative `path` is glued to `dir` as
/// it is (no separator added), an absolute one stands alone; either way
/// it is copied the way sysdig sanitizes paths: `./` skipped, `../` and a
/// final `..` step back, runs of `/` folded, a trailing `/` dropped and
/// unprintable bytes turned into `.`.
pub fn sysdig_concat(dir: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + path.len());
    if !path.is_empty() && path[0] != b'/' {
        out.extend_from_slice(dir);
    }
    // `base` is the start of the target (sysdig's targetbase)
    let rewind = |out: &mut Vec<u8>| {
        if out.len() <= 1 {
            return;
        }
        out.pop();
        while out.last().is_some_and(|&c| c != b'/') {
            out.pop();
        }
    };
    let mut i = 0;
    let at = |i: usize| path.get(i).copied().unwrap_or(0);
    while i < path.len() && path[i] != 0 {
        let ch = path[i];
        if !(0x20..0x7f).contains(&ch) {
            out.push(b'.');
            i += 1;
        } else if ch == b'.' && at(i + 1) == b'.' && at(i + 2) == b'/' {
            rewind(&mut out);
            i += 3;
        } else if ch == b'.' && at(i + 1) == b'.' {
            if at(i + 2) == 0 {
                rewind(&mut out);
                i += 2;
            } else {
                out.extend_from_slice(b"..");
                i += 2;
            }
        } else if ch == b'.' && at(i + 1) == b'/' {
            i += 2;
        } else if ch == b'.' {
            if at(i + 1) != 0 {
                out.push(b'.');
            }
            i += 1;
        } else if ch == b'/' {
            if out.last() != Some(&b'/') {
                out.push(b'/');
            }
            i += 1;
        } else {
            out.push(ch);
            i += 1;
        }
    }
    if out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_paths_are_those_with_only_named_components() {
        // every absolute path of up to 8 bytes over '/', '.', 'a'
        let mut paths = vec![b"/".to_vec()];
        let mut i = 0;
        while i < paths.len() {
            if paths[i].len() < 8 {
                for c in [b'/', b'.', b'a'] {
                    let mut q = paths[i].clone();
                    q.push(c);
                    paths.push(q);
                }
            }
            i += 1;
        }
        assert_eq!(paths.len(), 3280);
        for p in &paths {
            let named = p[1..]
                .split(|&c| c == b'/')
                .all(|c| !c.is_empty() && c != b"." && c != b"..");
            assert_eq!(is_folded(p), named, "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn concatenates_like_sysdig() {
        assert_eq!(sysdig_concat(b"", b"./wlgen"), b"wlgen");
        assert_eq!(sysdig_concat(b"/tmp/", b"a/../b"), b"/tmp/b");
        assert_eq!(sysdig_concat(b"<UNKNOWN>", b"x"), b"<UNKNOWN>x");
        assert_eq!(sysdig_concat(b"/x/", b"/etc//passwd/"), b"/etc/passwd");
        assert_eq!(sysdig_concat(b"/", b".."), b"/");
        assert_eq!(sysdig_concat(b"/a/", b"."), b"/a");
        assert_eq!(sysdig_concat(b"", b"."), b"");
    }

    #[test]
    fn joins_and_folds() {
        assert_eq!(resolve_path(b"/home/u/", b"a.txt"), b"/home/u/a.txt");
        assert_eq!(resolve_path(b"/home/u", b"../x"), b"/home/x");
        assert_eq!(resolve_path(b"/home/u/", b"/etc/passwd"), b"/etc/passwd");
        assert_eq!(resolve_path(b"/", b"./a/./b"), b"/a/b");
        assert_eq!(normalize(b"/a//b/../c"), b"/a/c");
        assert_eq!(normalize(b"/.."), b"/");
    }
}

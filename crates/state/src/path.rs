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

#[cfg(test)]
mod tests {
    use super::*;

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

//! A chisel's argument string as sysdig splits it: words separated by
//! single spaces (two spaces make an empty word), where a word in single
//! quotes or backquotes may hold spaces (the quotes are removed).

/// Splits `s` into a chisel's argument words.
pub fn split_args(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
    let mut out = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            ' ' if !quoted => out.push(std::mem::take(&mut cur)),
            '\'' | '`' => quoted = !quoted,
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err("corrupted parameters".into());
    }
    out.push(cur);
    Ok(out)
}

/// Joins words back into one argument string (words with spaces quoted),
/// as `chisel.exec` passes its arguments on.
pub(crate) fn join_args(words: &[String]) -> String {
    words
        .iter()
        .map(|w| match w.contains(' ') {
            true => format!("'{w}'"),
            false => w.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn splits_on_spaces_and_quotes() {
        assert_eq!(split_args("fd.name").unwrap(), ["fd.name"]);
        assert_eq!(split_args("'fd.name' ").unwrap(), ["fd.name"]);
        assert_eq!(split_args("a 'b c' d").unwrap(), ["a", "b c", "d"]);
        assert!(split_args("").unwrap().is_empty());
        assert!(split_args("'a").is_err());
    }
}

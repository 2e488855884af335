//! Secrets: a token that never shows in logs, `Debug` or errors.

/// A bearer token. Its `Debug` prints `Token(<redacted>)`; it has no
/// `Display`; only [`Token::expose`] gives the text, for the header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token (surrounding whitespace, e.g. a file's newline, removed).
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into().trim().to_string())
    }

    /// Reads a token from a file (its first line).
    pub fn from_file(path: &std::path::Path) -> std::io::Result<Token> {
        let s = std::fs::read_to_string(path)?;
        Ok(Token::new(s.lines().next().unwrap_or("")))
    }

    /// The token's text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time independent of where they differ.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        let mut diff = a.len() ^ b.len();
        for i in 0..a.len().max(b.len()) {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            diff |= usize::from(x ^ y);
        }
        diff == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn debug_hides_the_token() {
        let t = Token::new("s3cr3t-value\n");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(t.matches("s3cr3t-value"));
        assert!(!t.matches("s3cr3t-valuf"));
        assert!(!t.matches("s3cr3t-value-longer"));
        assert!(!t.matches(""));
    }
}

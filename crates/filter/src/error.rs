//! Filter errors: a message and the byte position of the fault.

/// Why a filter was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// The filter text.
    pub filter: String,
    /// Byte offset of the fault in `filter`.
    pub pos: usize,
    /// What is wrong.
    pub msg: String,
}

impl FilterError {
    pub(crate) fn new(filter: &str, pos: usize, msg: impl Into<String>) -> FilterError {
        FilterError {
            filter: filter.to_string(),
            pos: pos.min(filter.len()),
            msg: msg.into(),
        }
    }
}

impl std::fmt::Display for FilterError {
    /// Three lines: the filter, a caret under the fault, the message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // one line of filter text: control characters would break the caret
        let shown: String = self
            .filter
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let col = self
            .filter
            .get(..self.pos)
            .map(|p| p.chars().count())
            .unwrap_or(self.pos);
        writeln!(f, "{shown}")?;
        writeln!(f, "{}^", " ".repeat(col))?;
        write!(f, "filter error at position {}: {}", self.pos, self.msg)
    }
}

impl std::error::Error for FilterError {}

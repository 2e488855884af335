//! Why a field reference was rejected: [`FieldError`], shared by every
//! class module's parser and by [`crate::Format`].

/// Why a field reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FieldError {}

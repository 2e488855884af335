//! What goes wrong with a chisel: it cannot be found, does not load
//! (syntax), fails at run time, or is given bad arguments. Every message
//! names the chisel; Lua's own messages carry the file and line.

/// A chisel failed. Messages name the chisel and, for Lua errors, the
/// file and line (`chisel 'x': x.lua:3: ...`).
#[derive(Debug, thiserror::Error)]
pub enum ChiselError {
    /// No chisel of that name along the search path.
    #[error("chisel {0} not found - use -cl to list them.")]
    NotFound(String),
    /// The file could not be read.
    #[error("cannot read chisel '{path}': {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Lua reported an error (syntax or run time) in the chisel.
    #[error("chisel '{chisel}': {msg}")]
    Lua {
        /// The chisel's name.
        chisel: String,
        /// Lua's message (with file and line when Lua knows them).
        msg: String,
    },
    /// The arguments do not fit the chisel's `args` table, or the chisel
    /// refused one.
    #[error("{0}")]
    Args(String),
    /// The chisel asked for something sonde cannot do (an unknown field,
    /// a bad filter).
    #[error("chisel '{chisel}': {msg}")]
    Api {
        /// The chisel's name.
        chisel: String,
        /// What went wrong.
        msg: String,
    },
}

/// The text of a Lua error, without mlua's wrapping or the traceback
/// (the innermost cause, which carries the file and line).
pub(crate) fn lua_msg(e: &mlua::Error) -> String {
    let cut = |m: &str| match m.find("\nstack traceback:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    };
    match e {
        mlua::Error::SyntaxError { message, .. } => cut(message),
        mlua::Error::RuntimeError(m) => cut(m),
        mlua::Error::CallbackError { cause, .. } => lua_msg(cause),
        mlua::Error::WithContext { cause, .. } => lua_msg(cause),
        mlua::Error::ExternalError(x) => x.to_string(),
        other => other.to_string(),
    }
}

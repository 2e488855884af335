//! `sysdig.run_app(args)`: runs this program again with a command line
//! (the words of `args`, split at whitespace), its output going where
//! this program's goes, and returns its exit code. Chisels use it to
//! export events with `-r FILE -w DUMP FILTER` at the end of a capture
//! (`around`, `spy_logs`, `spy_syslog`).

use std::process::Command;
use std::rc::Rc;

use mlua::{Lua, Table, Value};

use crate::api::{as_text, lua_error};
use crate::host::Host;

/// Installs `run_app` into the `sysdig` table `t`.
pub(crate) fn install(lua: &Lua, host: &Rc<Host>, t: &Table) -> mlua::Result<()> {
    let h = host.clone();
    t.set(
        "run_app",
        lua.create_function(move |_, args: Value| {
            let Some(args) = as_text(&args) else {
                return Err(lua_error(format!(
                    "run_app in chisel {}: the argument must be a string",
                    h.name
                )));
            };
            run(&args).map_err(|e| lua_error(format!("run_app in chisel {}: {e}", h.name)))
        })?,
    )?;
    Ok(())
}

/// Runs the current executable with the words of `args`; its exit code.
fn run(args: &str) -> std::io::Result<i32> {
    let exe = std::env::current_exe()?;
    // what the chisel printed so far comes first
    // SAFETY: fflush(NULL) flushes every open C output stream (Lua's print).
    unsafe {
        libc::fflush(std::ptr::null_mut());
    }
    let status = Command::new(exe).args(words(args)).status()?;
    Ok(status.code().unwrap_or(-1))
}

/// The words of a command line: runs of non-blank characters.
fn words(args: &str) -> Vec<&str> {
    args.split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn a_command_line_splits_at_blanks() {
        assert_eq!(
            words("-F -r/tmp/a.scap  -w/tmp/b.scap (evt.around[1]=10 and thread.tid=3)"),
            vec![
                "-F",
                "-r/tmp/a.scap",
                "-w/tmp/b.scap",
                "(evt.around[1]=10",
                "and",
                "thread.tid=3)"
            ]
        );
        assert!(words("  ").is_empty());
    }
}

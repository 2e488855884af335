//! Views are data: this module evaluates a view file (Lua that sets a
//! global `view_info` table, csysdig's format) in a fresh Lua state and
//! turns the table into a [`View`]. Sources: the views bundled with sonde
//! (`crates/top/views`, embedded), a directory of `v_*.lua` files
//! (csysdig's own chisel directory loads unchanged), or one file.

use std::path::Path;

use mlua::{Lua, Table, Value};

use crate::view::{Action, Aggregation, Column, View, ViewType};

/// A view file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading the file failed.
    #[error("cannot read view file '{path}': {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Lua did not run, or the table is malformed.
    #[error("view '{name}': {msg}")]
    Bad {
        /// The file or view name.
        name: String,
        /// What is wrong.
        msg: String,
    },
}

/// The views written for sonde, embedded in the binary.
pub const BUNDLED: &[(&str, &str)] = &[
    ("v_backlog.lua", include_str!("../views/v_backlog.lua")),
    (
        "v_connections.lua",
        include_str!("../views/v_connections.lua"),
    ),
    (
        "v_containers.lua",
        include_str!("../views/v_containers.lua"),
    ),
    (
        "v_containers_errors.lua",
        include_str!("../views/v_containers_errors.lua"),
    ),
    (
        "v_directories.lua",
        include_str!("../views/v_directories.lua"),
    ),
    (
        "v_docker_events.lua",
        include_str!("../views/v_docker_events.lua"),
    ),
    ("v_errors.lua", include_str!("../views/v_errors.lua")),
    (
        "v_file_opens.lua",
        include_str!("../views/v_file_opens.lua"),
    ),
    ("v_files.lua", include_str!("../views/v_files.lua")),
    (
        "v_incoming_connections.lua",
        include_str!("../views/v_incoming_connections.lua"),
    ),
    (
        "v_io_by_type.lua",
        include_str!("../views/v_io_by_type.lua"),
    ),
    ("v_k8s.lua", include_str!("../views/v_k8s.lua")),
    (
        "v_notifications.lua",
        include_str!("../views/v_notifications.lua"),
    ),
    (
        "v_page_faults.lua",
        include_str!("../views/v_page_faults.lua"),
    ),
    (
        "v_port_bindings.lua",
        include_str!("../views/v_port_bindings.lua"),
    ),
    ("v_procs.lua", include_str!("../views/v_procs.lua")),
    ("v_procs_cpu.lua", include_str!("../views/v_procs_cpu.lua")),
    (
        "v_procs_errors.lua",
        include_str!("../views/v_procs_errors.lua"),
    ),
    (
        "v_procs_fd_usage.lua",
        include_str!("../views/v_procs_fd_usage.lua"),
    ),
    ("v_slow_io.lua", include_str!("../views/v_slow_io.lua")),
    ("v_spectro.lua", include_str!("../views/v_spectro.lua")),
    ("v_sports.lua", include_str!("../views/v_sports.lua")),
    (
        "v_spy_syslog.lua",
        include_str!("../views/v_spy_syslog.lua"),
    ),
    ("v_spy_users.lua", include_str!("../views/v_spy_users.lua")),
    (
        "v_syscall_procs.lua",
        include_str!("../views/v_syscall_procs.lua"),
    ),
    ("v_syscalls.lua", include_str!("../views/v_syscalls.lua")),
    ("v_threads.lua", include_str!("../views/v_threads.lua")),
];

/// The bundled views, in file order. A file may define several views
/// (`view_info` for one, or `views`, a list of `view_info` tables).
pub fn bundled() -> Result<Vec<View>, LoadError> {
    let mut out = Vec::new();
    for (name, src) in BUNDLED {
        out.extend(load_source(name, src)?);
    }
    Ok(out)
}

/// The bundled view `id` alone, from its own file (`v_ID.lua`), when that
/// file defines it; else every bundled view. For runs that show one
/// view and never switch (`--raw`, `-j`): each file loaded costs a Lua
/// state and a parse.
pub fn bundled_one(id: &str) -> Result<Vec<View>, LoadError> {
    let file = format!("v_{id}.lua");
    if let Some((name, src)) = BUNDLED.iter().find(|(n, _)| *n == file) {
        let views = load_source(name, src)?;
        if views.iter().any(|v| v.id == id) {
            return Ok(views);
        }
    }
    bundled()
}

/// Every `v_*.lua` file of `dir` that defines a view, sorted by file
/// name (files without a `view_info` table, like csysdig's disabled
/// `v_cpus.lua`, are skipped).
pub fn load_dir(dir: &Path) -> Result<Vec<View>, LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|e| LoadError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("v_") && n.ends_with(".lua"))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(load_file(&f)?);
    }
    Ok(out)
}

/// The views one file defines.
pub fn load_file(path: &Path) -> Result<Vec<View>, LoadError> {
    let src = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    load_source(&path.display().to_string(), &src)
}

/// Runs `src` and reads its `view_info` (or `views`) table.
pub fn load_source(name: &str, src: &str) -> Result<Vec<View>, LoadError> {
    let bad = |msg: String| LoadError::Bad {
        name: name.to_string(),
        msg,
    };
    let lua = Lua::new();
    lua.load(src)
        .set_name(name)
        .exec()
        .map_err(|e| bad(e.to_string()))?;
    let g = lua.globals();
    let mut out = Vec::new();
    if let Ok(Value::Table(t)) = g.get::<Value>("view_info") {
        out.push(view_from(&t).map_err(|e| bad(e.to_string()))?);
    }
    if let Ok(Value::Table(list)) = g.get::<Value>("views") {
        for t in list.sequence_values::<Table>() {
            let t = t.map_err(|e| bad(e.to_string()))?;
            out.push(view_from(&t).map_err(|e| bad(e.to_string()))?);
        }
    }
    Ok(out)
}

fn string(t: &Table, k: &str) -> mlua::Result<String> {
    Ok(match t.get::<Value>(k)? {
        Value::String(s) => s.to_str()?.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn boolean(t: &Table, k: &str, default: bool) -> mlua::Result<bool> {
    Ok(match t.get::<Value>(k)? {
        Value::Boolean(b) => b,
        Value::Nil => default,
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "{k} must be a boolean, not {}",
                other.type_name()
            )))
        }
    })
}

fn strings(t: &Table, k: &str) -> mlua::Result<Vec<String>> {
    match t.get::<Value>(k)? {
        Value::Table(l) => l
            .sequence_values::<mlua::String>()
            .map(|s| Ok(s?.to_str()?.to_string()))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

fn column_from(t: &Table) -> mlua::Result<Column> {
    let colsize = match t.get::<Value>("colsize")? {
        Value::Integer(i) => Some(i.max(0) as u32),
        Value::Number(n) => Some(n.max(0.0) as u32),
        _ => None,
    };
    Ok(Column {
        name: string(t, "name")?,
        field: string(t, "field")?,
        description: string(t, "description")?,
        colsize,
        is_key: boolean(t, "is_key", false)?,
        is_groupby_key: boolean(t, "is_groupby_key", false)?,
        is_sorting: boolean(t, "is_sorting", false)?,
        aggregation: Aggregation::parse(&string(t, "aggregation")?),
        groupby_aggregation: Aggregation::parse(&string(t, "groupby_aggregation")?),
        tags: strings(t, "tags")?,
        filterfield: string(t, "filterfield")?,
    })
}

fn action_from(t: &Table) -> mlua::Result<Action> {
    Ok(Action {
        hotkey: string(t, "hotkey")?,
        command: string(t, "command")?,
        description: string(t, "description")?,
        ask_confirmation: boolean(t, "ask_confirmation", false)?,
        wait_finish: boolean(t, "wait_finish", true)?,
    })
}

fn view_from(t: &Table) -> mlua::Result<View> {
    let view_type = match string(t, "view_type")?.as_str() {
        "list" => ViewType::List,
        "spectrogram" => ViewType::Spectrogram,
        _ => ViewType::Table,
    };
    let mut columns = Vec::new();
    if let Value::Table(cols) = t.get::<Value>("columns")? {
        for c in cols.sequence_values::<Table>() {
            columns.push(column_from(&c?)?);
        }
    }
    let mut actions = Vec::new();
    if let Value::Table(acts) = t.get::<Value>("actions")? {
        for a in acts.sequence_values::<Table>() {
            actions.push(action_from(&a?)?);
        }
    }
    let mut v = View {
        id: string(t, "id")?,
        name: string(t, "name")?,
        description: string(t, "description")?,
        tips: strings(t, "tips")?,
        tags: strings(t, "tags")?,
        view_type,
        filter: string(t, "filter")?,
        applies_to: strings(t, "applies_to")?,
        drilldown_target: string(t, "drilldown_target")?,
        use_defaults: boolean(t, "use_defaults", false)?,
        is_root: boolean(t, "is_root", false)?,
        drilldown_increase_depth: boolean(t, "drilldown_increase_depth", false)?,
        spectro_type: string(t, "spectro_type")?,
        propagate_filter: boolean(t, "propagate_filter", true)?,
        columns,
        actions,
    };
    if v.id.is_empty() {
        return Err(mlua::Error::RuntimeError("view_info has no id".into()));
    }
    v.normalize();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_view_loads() {
        let src = r#"view_info = { id = "x", name = "X", view_type = "list",
            columns = { { name = "A", field = "evt.num" },
                        { name = "K", field = "proc.pid", is_key = true } } }"#;
        let v = load_source("t", src).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].view_type, ViewType::List);
        assert_eq!(v[0].columns[0].name, "K");
    }

    #[test]
    fn bad_lua_is_an_error() {
        assert!(load_source("t", "view_info = {").is_err());
        assert!(load_source("t", "view_info = { name = 'no id' }").is_err());
    }

    #[test]
    fn bundled_views_load() {
        let v = bundled().unwrap();
        assert!(v.iter().any(|v| v.id == "procs"));
    }
}

//! The chisel API as sysdig 0.29.3 defines it: the `chisel`, `evt` and
//! `sysdig` tables of Lua functions, backed by the chisel's [`Host`].

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};
use sonde_fields::Field;

use crate::host::{Host, Kind, Req};

/// Installs the `chisel`, `evt` and `sysdig` tables into `lua`.
pub(crate) fn install(lua: &Lua, host: &Rc<Host>) -> mlua::Result<()> {
    let g = lua.globals();
    g.set("chisel", chisel_table(lua, host)?)?;
    g.set("evt", evt_table(lua, host)?)?;
    let sysdig = lua.create_table()?;
    sysdig_settings(lua, host, &sysdig)?;
    sysdig_info(lua, host, &sysdig)?;
    crate::tables::install(lua, host, &sysdig)?;
    g.set("sysdig", sysdig)?;
    Ok(())
}

/// A Lua error with `msg`.
pub(crate) fn lua_error(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// A Lua value as text (strings and numbers), as `lua_tostring` reads it.
pub(crate) fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Number(n) => Some(lua_number(*n)),
        _ => None,
    }
}

/// A number as Lua 5.1 prints it (`%.14g`).
pub(crate) fn lua_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A Lua value as a number (numbers and numeric strings), as
/// `lua_tonumber` reads it; 0 otherwise.
pub(crate) fn as_number(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

fn chisel_table(lua: &Lua, host: &Rc<Host>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let h = host.clone();
    t.set(
        "request_field",
        lua.create_function(move |_, name: Value| {
            let Some(name) = as_text(&name) else {
                return Err(lua_error("chisel requesting nil field"));
            };
            let field = Field::parse(&name)
                .map_err(|_| lua_error(format!("chisel requesting nonexistent field {name}")))?;
            let mut fields = h.fields.borrow_mut();
            fields.push(Req {
                kind: Kind::of(&name),
                field,
                name,
            });
            Ok(fields.len() as f64)
        })?,
    )?;
    t.set("set_filter", filter_setter(lua, host, |h| &h.filter)?)?;
    let h = host.clone();
    t.set(
        "set_event_formatter",
        lua.create_function(move |_, text: Value| {
            *h.formatter.borrow_mut() = Some(as_text(&text).unwrap_or_default());
            h.edits.set(h.edits.get() + 1);
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "set_interval_ns",
        lua.create_function(move |_, n: Value| {
            h.interval_ns.set(as_number(&n) as u64);
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "set_interval_s",
        lua.create_function(move |_, n: Value| {
            h.interval_ns
                .set((as_number(&n) as u64).saturating_mul(1_000_000_000));
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "set_precise_interval_ns",
        lua.create_function(move |_, n: Value| {
            h.precise_ns.set(as_number(&n) as u64);
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "exec",
        lua.create_function(move |_, args: MultiValue| {
            let mut it = args.into_iter();
            let Some(name) = it.next().as_ref().and_then(as_text) else {
                return Err(lua_error(format!(
                    "invalid exec field name in chisel {}",
                    h.name
                )));
            };
            let vals = it.map_while(|v| as_text(&v)).collect();
            *h.exec.borrow_mut() = Some((name, vals));
            Ok(())
        })?,
    )?;
    Ok(t)
}

/// `evt.field` as a Lua function calling [`crate::values::ffi_field`]
/// through LuaJIT's FFI, which compiled code calls directly; the same
/// values as the plain C function (a handle is taken as `lua_tonumber`
/// takes it: a numeric string is its number, anything else gives nil).
///
/// A number comes back as the call's result, never through memory: the
/// JIT may read a value it loaded from memory only where it is used, after
/// a later call has overwritten it (`f(evt.field(a), evt.field(b))`).
/// The kind and a string's pointer and length are read at once. An
/// integer value that fits 32 bits (kind 5) goes through `bit.tobit`, the same
/// Lua number, so compiled code knows it is an integer and makes text of
/// it (`pid .. ""`, a common table key) the cheap way.
const EVT_FIELD_LUA: &str = r#"
local addr = ...
local ffi = require("ffi")
ffi.cdef[[typedef double (*sonde_evt_field_fn)(int32_t, int32_t *, const char **, int32_t *);]]
local call = ffi.cast("sonde_evt_field_fn", addr)
local out, str, len = ffi.new("int32_t[1]"), ffi.new("const char *[1]"), ffi.new("int32_t[1]")
local string_of, kind, number, int = ffi.string, type, tonumber, require("bit").tobit
return function(h)
  if kind(h) ~= "number" then
    h = number(h)
    if h == nil then return nil end
  end
  local v = call(h, out, str, len)
  local k = out[0]
  if k == 5 then return int(v) end
  if k == 1 then return v end
  if k == 2 then return string_of(str[0], len[0]) end
  if k == 3 then return true end
  if k == 4 then return false end
  return nil
end
"#;

/// `evt.field`: through the FFI where the runtime has it, else the plain
/// C function ([`crate::values::evt_field`]).
fn evt_field(lua: &Lua) -> mlua::Result<mlua::Function> {
    let addr = crate::values::ffi_field as *const () as usize as f64;
    let made = lua
        .load(EVT_FIELD_LUA)
        .set_name("=evt.field")
        .call::<mlua::Function>(addr);
    match made {
        Ok(f) => Ok(f),
        // SAFETY: a plain C function of the Lua C API (see values::evt_field).
        Err(_) => unsafe { lua.create_c_function(crate::values::evt_field) },
    }
}

fn evt_table(lua: &Lua, host: &Rc<Host>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("field", evt_field(lua)?)?;
    let h = host.clone();
    t.set(
        "get_num",
        lua.create_function(move |_, ()| {
            h.event(|ctx| ctx.num as f64)
                .ok_or_else(|| lua_error("invalid call to evt.get_num()"))
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_ts",
        lua.create_function(move |_, ()| {
            h.event(|ctx| {
                let ts = ctx.ev.ts;
                (
                    (ts / 1_000_000_000) as u32 as f64,
                    (ts % 1_000_000_000) as f64,
                )
            })
            .ok_or_else(|| lua_error("invalid call to evt.get_ts()"))
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_type",
        lua.create_function(move |_, ()| {
            h.event(|ctx| sonde_fields::event_name(ctx.ev, ctx.opts).to_string())
                .ok_or_else(|| lua_error("invalid call to evt.get_type()"))
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_cpuid",
        lua.create_function(move |_, ()| {
            h.event(|ctx| ctx.ev.cpu as f64)
                .ok_or_else(|| lua_error("invalid call to evt.get_cpuid()"))
        })?,
    )?;
    Ok(t)
}

/// A `set_filter`: checks the filter compiles (a clear error naming the
/// chisel otherwise) and keeps it in `slot` (blank: no filter).
fn filter_setter(
    lua: &Lua,
    host: &Rc<Host>,
    slot: fn(&Host) -> &std::cell::RefCell<Option<String>>,
) -> mlua::Result<mlua::Function> {
    let h = host.clone();
    lua.create_function(move |_, text: Value| {
        let text = as_text(&text).unwrap_or_default();
        if !text.trim().is_empty() {
            sonde_filter::Filter::new(&text)
                .map_err(|e| lua_error(format!("invalid filter in chisel {}: {e}", h.name)))?;
        }
        *slot(&h).borrow_mut() = Some(text).filter(|t| !t.trim().is_empty());
        h.edits.set(h.edits.get() + 1);
        Ok(())
    })
}

/// `sysdig.*` that change how the capture runs.
fn sysdig_settings(lua: &Lua, host: &Rc<Host>, t: &Table) -> mlua::Result<()> {
    t.set(
        "set_filter",
        filter_setter(lua, host, |h| &h.capture_filter)?,
    )?;
    let h = host.clone();
    t.set(
        "set_snaplen",
        lua.create_function(move |_, n: Value| {
            h.snaplen.set(as_number(&n) as u32);
            h.snaplen_asked.set(true);
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "set_output_format",
        lua.create_function(move |_, fmt: Value| {
            use sonde_output::BufFmt;
            if h.env().buf_fmt_forced {
                // the command line's format wins
                return Ok(());
            }
            let fmt = as_text(&fmt).unwrap_or_default();
            let f = match fmt.as_str() {
                "normal" | "simple" => BufFmt::Normal,
                "json" | "jsonbase64" => BufFmt::Json,
                "hex" => BufFmt::Hex,
                "hexascii" => BufFmt::HexAscii,
                "ascii" => BufFmt::Ascii,
                "base64" => BufFmt::Base64,
                _ => {
                    return Err(lua_error(format!(
                        "invalid set_output_format value in chisel {}",
                        h.name
                    )))
                }
            };
            h.buf_fmt.set(Some(f));
            Ok(())
        })?,
    )?;
    t.set(
        "set_fatfile_dump_mode",
        lua.create_function(|_, _: Value| Ok(()))?,
    )?;
    let h = host.clone();
    t.set(
        "end_capture",
        lua.create_function(move |_, ()| {
            h.end.set(true);
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "run_sysdig",
        lua.create_function(move |_, args: Value| {
            *h.next_run.borrow_mut() = as_text(&args);
            Ok(())
        })?,
    )?;
    t.set(
        "log",
        lua.create_function(|_, (msg, sev): (Value, Value)| {
            // sysdig's logger is silent unless enabled (-D): so is this one
            if std::env::var_os("SONDE_CHISEL_LOG").is_some() {
                let sev = as_text(&sev).unwrap_or_default();
                eprintln!("{sev}: {}", as_text(&msg).unwrap_or_default());
            }
            Ok(())
        })?,
    )?;
    crate::tables::install_udp(lua, host, t)?;
    crate::run_app::install(lua, host, t)?;
    Ok(())
}

/// `sysdig.*` that describe the capture.
fn sysdig_info(lua: &Lua, host: &Rc<Host>, t: &Table) -> mlua::Result<()> {
    let h = host.clone();
    t.set(
        "is_live",
        lua.create_function(move |_, ()| Ok(h.env().live))?,
    )?;
    let h = host.clone();
    t.set("is_tty", lua.create_function(move |_, ()| Ok(h.env().tty))?)?;
    t.set(
        "get_terminal_info",
        lua.create_function(|lua, ()| {
            let (w, hgt) = terminal_size();
            let t = lua.create_table()?;
            t.set("width", w)?;
            t.set("height", hgt)?;
            Ok(t)
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_filter",
        lua.create_function(move |_, ()| Ok(h.env().filter.clone().unwrap_or_default()))?,
    )?;
    let h = host.clone();
    t.set(
        "is_print_container_data",
        lua.create_function(move |_, ()| Ok(h.env().print_container))?,
    )?;
    let h = host.clone();
    t.set(
        "get_output_format",
        lua.create_function(move |_, ()| Ok(if h.env().json { "json" } else { "normal" }))?,
    )?;
    let h = host.clone();
    t.set(
        "get_evtsource_name",
        lua.create_function(move |_, ()| match h.env().live {
            true => Ok(String::new()),
            false => Ok(h.env().file.clone().unwrap_or_default()),
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_firstevent_ts",
        lua.create_function(move |_, ()| Ok(h.first_ts.get().to_string()))?,
    )?;
    let h = host.clone();
    t.set(
        "get_lastevent_ts",
        lua.create_function(move |_, ()| Ok(h.last_ts.get().to_string()))?,
    )?;
    t.set(
        "make_ts",
        lua.create_function(|_, (s, ns): (Value, Value)| {
            let s = as_number(&s) as i64 as u32 as u64;
            let ns = as_number(&ns) as i64 as u32 as u64;
            Ok((s * 1_000_000_000 + ns).to_string())
        })?,
    )?;
    t.set(
        "add_ts",
        lua.create_function(|_, (a, b): (Value, Value)| {
            Ok(parse_u64(&a).wrapping_add(parse_u64(&b)).to_string())
        })?,
    )?;
    t.set(
        "subtract_ts",
        lua.create_function(|_, (a, b): (Value, Value)| {
            Ok((parse_u64(&a).wrapping_sub(parse_u64(&b)) as i64).to_string())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_read_progress",
        lua.create_function(move |_, ()| Ok(h.progress.get()))?,
    )?;
    Ok(())
}

/// A timestamp given as a string or number.
fn parse_u64(v: &Value) -> u64 {
    match v {
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0),
        other => as_number(other) as u64,
    }
}

/// The terminal's columns and rows, -1 when standard output is no terminal.
fn terminal_size() -> (i32, i32) {
    // SAFETY: TIOCGWINSZ fills the winsize we pass; nothing else is touched.
    unsafe {
        let mut w: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut w) != -1 {
            return (w.ws_col as i32, w.ws_row as i32);
        }
    }
    (-1, -1)
}

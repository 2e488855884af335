//! A field's value as sysdig hands it to Lua: numbers as numbers,
//! booleans as booleans, buffers as their raw bytes, the rest as the
//! field's text; `nil` when the field has no value for the event.

use mlua::{Lua, Value};
use sonde_event::ParamType as T;
use sonde_fields::{Ctx, Field};

use crate::host::{Kind, Req};

/// The value of `req` for the event in `ctx`.
pub(crate) fn field_value(
    lua: &Lua,
    ctx: &Ctx<'_, '_>,
    req: &Req,
    buf: &mut Vec<u8>,
) -> mlua::Result<Value> {
    match &req.field {
        Field::EvtRawargName(n) => return rawarg(lua, ctx, n, buf),
        Field::EvtBuffer => return rawarg(lua, ctx, "data", buf),
        Field::EvtNum => return Ok(Value::Number(ctx.num as f64)),
        Field::EvtRawtime => return Ok(Value::Number(ctx.ev.ts as f64)),
        Field::ThreadTid => return Ok(Value::Number(ctx.ev.tid as f64)),
        _ => {}
    }
    buf.clear();
    if !ctx.extract(&req.field, buf) {
        return Ok(Value::Nil);
    }
    text_value(lua, req.kind, buf)
}

/// The extracted text `b` as a value of kind `kind`.
fn text_value(lua: &Lua, kind: Kind, b: &[u8]) -> mlua::Result<Value> {
    match kind {
        Kind::Num | Kind::Dyn => {
            if let Some(n) = number(b) {
                return Ok(Value::Number(n));
            }
            if kind == Kind::Num && (b.is_empty() || b == b"<NA>") {
                return Ok(Value::Nil);
            }
        }
        Kind::Bool => match b {
            b"true" => return Ok(Value::Boolean(true)),
            b"false" => return Ok(Value::Boolean(false)),
            _ => {}
        },
        Kind::Str => {}
    }
    Ok(Value::String(lua.create_string(b)?))
}

/// A decimal integer or floating-point number.
fn number(b: &[u8]) -> Option<f64> {
    if let Some(i) = sonde_fields::parse_int(b) {
        return Some(i as f64);
    }
    let s = std::str::from_utf8(b).ok()?;
    let first = s.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'-' || *first == b'.') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// `evt.rawarg.NAME`: the parameter's raw value (integers as numbers,
/// buffers and strings as their bytes).
fn rawarg(lua: &Lua, ctx: &Ctx<'_, '_>, name: &str, buf: &mut Vec<u8>) -> mlua::Result<Value> {
    let ev = ctx.ev;
    let infos = sonde_output::param_infos(ev, ctx.opts);
    let Some(i) = infos.iter().take(ev.nparams()).position(|p| p.name == name) else {
        return Ok(Value::Nil);
    };
    let Some(raw) = ev.param(i) else {
        return Ok(Value::Nil);
    };
    let signed = match infos[i].ptype {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid => Some(true),
        T::Uint8
        | T::Uint16
        | T::Uint32
        | T::Uint64
        | T::Flags8
        | T::Flags16
        | T::Flags32
        | T::Uid
        | T::Gid
        | T::Mode
        | T::Reltime
        | T::Abstime
        | T::Port
        | T::Sigtype
        | T::Syscallid => Some(false),
        _ => None,
    };
    match (signed, infos[i].ptype) {
        (Some(true), _) if !raw.is_empty() && raw.len() <= 8 => {
            Ok(Value::Number(sonde_event::le_int(raw) as f64))
        }
        (Some(false), _) if !raw.is_empty() && raw.len() <= 8 => {
            Ok(Value::Number(sonde_event::le_uint(raw) as f64))
        }
        (_, T::Bytebuf) => Ok(Value::String(lua.create_string(raw)?)),
        (_, T::Charbuf | T::Fspath | T::Fsrelpath) => {
            let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
            Ok(Value::String(lua.create_string(&raw[..end])?))
        }
        _ => {
            buf.clear();
            if !ctx.extract(&Field::EvtRawargName(name.to_string()), buf) {
                return Ok(Value::Nil);
            }
            Ok(Value::String(lua.create_string(&buf[..])?))
        }
    }
}

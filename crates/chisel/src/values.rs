//! A field's value as sysdig hands it to Lua: numbers as numbers,
//! booleans as booleans, buffers as their raw bytes, the rest as the
//! field's text; `nil` when the field has no value for the event.

use sonde_event::ParamType as T;
use sonde_fields::{Ctx, Field, Value};

use crate::host::{Kind, Req};

/// A field's value for Lua; `Str`: the bytes are in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Out {
    Nil,
    /// A whole number (the field class gave an integer).
    Int(i64),
    Num(f64),
    Bool(bool),
    Str,
}

/// The value of `req` for the event in `ctx` (strings into `buf`).
pub(crate) fn field_out(ctx: &Ctx<'_, '_>, req: &Req, buf: &mut Vec<u8>) -> Out {
    buf.clear();
    match &req.field {
        Field::EvtRawargName(n) => return rawarg(ctx, n, buf),
        Field::EvtNum => return uint(ctx.num),
        Field::EvtRawtime => return uint(ctx.ev.ts),
        Field::ThreadTid => return Out::Int(ctx.ev.tid),
        _ => {}
    }
    if matches!(req.kind, Kind::Num | Kind::Dyn) {
        // numbers as the field class reads them, with no text between
        // (sysdig pushes the extracted number itself)
        match ctx.extract_value(&req.field, buf) {
            None => return Out::Nil,
            Some(Value::Int(v)) => return Out::Int(v),
            Some(Value::Uint(v)) => return uint(v),
            Some(Value::Double(v)) => return Out::Num(v),
            Some(Value::Str(_)) => return text_value(req.kind, buf),
            Some(Value::Bool(_) | Value::Ip(_)) => buf.clear(),
        }
    }
    if !ctx.extract(&req.field, buf) {
        return Out::Nil;
    }
    text_value(req.kind, buf)
}

/// The extracted text `b` as a value of kind `kind`.
fn text_value(kind: Kind, b: &[u8]) -> Out {
    match kind {
        Kind::Num | Kind::Dyn => {
            if let Some(n) = number(b) {
                return n;
            }
            if kind == Kind::Num && (b.is_empty() || b == b"<NA>") {
                return Out::Nil;
            }
        }
        Kind::Bool => match b {
            b"true" => return Out::Bool(true),
            b"false" => return Out::Bool(false),
            _ => {}
        },
        Kind::Str => {}
    }
    Out::Str
}

/// An unsigned value: whole while an `i64` holds it.
fn uint(v: u64) -> Out {
    match i64::try_from(v) {
        Ok(i) => Out::Int(i),
        Err(_) => Out::Num(v as f64),
    }
}

/// A decimal integer or floating-point number.
fn number(b: &[u8]) -> Option<Out> {
    if let Some(i) = sonde_fields::parse_int(b) {
        return Some(match i64::try_from(i) {
            Ok(i) => Out::Int(i),
            Err(_) => Out::Num(i as f64),
        });
    }
    let s = std::str::from_utf8(b).ok()?;
    let first = s.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'-' || *first == b'.') {
        return None;
    }
    s.parse::<f64>().ok().map(Out::Num)
}

/// `evt.rawarg.NAME`: the parameter's raw value (integers as numbers,
/// buffers and strings as their bytes).
fn rawarg(ctx: &Ctx<'_, '_>, name: &str, buf: &mut Vec<u8>) -> Out {
    let ev = ctx.ev;
    let infos = sonde_output::param_infos(ev, ctx.opts);
    let Some(i) = infos.iter().take(ev.nparams()).position(|p| p.name == name) else {
        return Out::Nil;
    };
    let Some(raw) = ev.param(i) else {
        return Out::Nil;
    };
    let signed = infos[i].ptype.int_sign();
    match (signed, infos[i].ptype) {
        (Some(true), _) if !raw.is_empty() && raw.len() <= 8 => Out::Int(sonde_event::le_int(raw)),
        (Some(false), _) if !raw.is_empty() && raw.len() <= 8 => uint(sonde_event::le_uint(raw)),
        (_, T::Bytebuf) => {
            buf.extend_from_slice(raw);
            Out::Str
        }
        (_, T::Charbuf | T::Fspath | T::Fsrelpath) => {
            let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
            buf.extend_from_slice(&raw[..end]);
            Out::Str
        }
        _ => {
            if !ctx.extract(&Field::EvtRawargName(name.to_string()), buf) {
                return Out::Nil;
            }
            Out::Str
        }
    }
}

/// What [`ffi_field`] found: its return codes.
const FFI_NIL: i32 = 0;
const FFI_NUM: i32 = 1;
const FFI_STR: i32 = 2;
const FFI_TRUE: i32 = 3;
const FFI_FALSE: i32 = 4;
const FFI_INT: i32 = 5;

/// The kind an integer goes back with: [`FFI_INT`] when an `i32` holds
/// it (the Lua side makes it an integer-typed number, which formats
/// faster), else [`FFI_NUM`].
#[inline]
fn int_kind(i: i64) -> i32 {
    match i32::try_from(i) {
        Ok(_) => FFI_INT,
        Err(_) => FFI_NUM,
    }
}

/// `evt.field` for LuaJIT's FFI (see `EVT_FIELD_LUA` in `api.rs`): the
/// lookup of [`evt_field`]. A number is the result (with `*kind` 1, or 5
/// for an integer an `i32` holds); a string (kind 2) is left in the
/// host's buffer until the next call, its pointer and length written
/// through `s` and `len`, and the Lua side copies it at once. Calls from
/// compiled Lua code skip the C API.
///
/// # Safety
/// Called by the Lua wrapper with valid pointers; `CURRENT` as in
/// [`evt_field`].
pub(crate) unsafe extern "C" fn ffi_field(
    handle: i32,
    kind: *mut i32,
    s: *mut *const u8,
    len: *mut i32,
) -> f64 {
    if kind.is_null() || s.is_null() || len.is_null() {
        return 0.0;
    }
    // the FFI truncates the Lua number to an i32 as `lua_tonumber` then
    // `as usize` would (out of range: no field)
    let handle = usize::try_from(handle).unwrap_or(0);
    let (k, v) = with_field(handle, |out, bytes| match out {
        Out::Nil => (FFI_NIL, 0.0),
        Out::Int(i) => (int_kind(i), i as f64),
        Out::Num(n) => (FFI_NUM, n),
        Out::Bool(true) => (FFI_TRUE, 0.0),
        Out::Bool(false) => (FFI_FALSE, 0.0),
        Out::Str => {
            *s = bytes.as_ptr();
            *len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
            (FFI_STR, 0.0)
        }
    });
    *kind = k;
    v
}

/// The value of requested field `handle` (1-based, as `request_field`
/// numbers them) for the current event, given to `f` with the bytes of a
/// string value (left in the host's buffer); `Out::Nil` outside an event
/// or for an unknown handle. Both `evt.field` entry points use it.
fn with_field<R>(handle: usize, f: impl FnOnce(Out, &[u8]) -> R) -> R {
    let host = CURRENT.with(|c| c.get());
    if host.is_null() {
        return f(Out::Nil, &[]);
    }
    // SAFETY: `CURRENT` is null or points to a live host (set only for
    // the duration of `Host::with_event`).
    let host = unsafe { &*host };
    let (Ok(fields), Ok(mut buf)) = (host.fields.try_borrow(), host.buf.try_borrow_mut()) else {
        return f(Out::Nil, &[]);
    };
    let out = match handle.checked_sub(1).and_then(|i| fields.get(i)) {
        Some(req) => host
            .event(|ctx| field_out(ctx, req, &mut buf))
            .unwrap_or(Out::Nil),
        None => Out::Nil,
    };
    f(out, &buf)
}

thread_local! {
    /// The host of the chisel whose callback is running (set by
    /// `Host::with_event`), for the raw `evt.field`.
    pub(crate) static CURRENT: std::cell::Cell<*const crate::host::Host> =
        const { std::cell::Cell::new(std::ptr::null()) };
}

/// `evt.field(handle)` as a plain Lua C function: the hottest call of
/// most chisels, kept clear of the generic callback machinery. Outside an
/// event (or with an unknown handle) it returns nil.
///
/// # Safety
/// Called by Lua with a valid state; `CURRENT` is null or points to a
/// live host (set only for the duration of `Host::with_event`).
pub(crate) unsafe extern "C-unwind" fn evt_field(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    with_field(ffi::lua_tonumber(l, 1) as usize, |out, bytes| match out {
        Out::Nil => ffi::lua_pushnil(l),
        Out::Int(i) => ffi::lua_pushnumber(l, i as f64),
        Out::Num(n) => ffi::lua_pushnumber(l, n),
        Out::Bool(b) => ffi::lua_pushboolean(l, b as std::ffi::c_int),
        Out::Str => {
            ffi::lua_pushlstring(l, bytes.as_ptr() as *const std::ffi::c_char, bytes.len());
        }
    });
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_integers_an_i32_holds_go_back_as_ints() {
        for i in [0, 1234, -7, i32::MAX as i64, i32::MIN as i64] {
            assert_eq!(int_kind(i), FFI_INT, "{i}");
        }
        for i in [i32::MAX as i64 + 1, i32::MIN as i64 - 1, i64::MAX, i64::MIN] {
            assert_eq!(int_kind(i), FFI_NUM, "{i}");
        }
    }

    #[test]
    fn integers_stay_whole_and_the_rest_are_numbers() {
        assert_eq!(uint(7), Out::Int(7));
        assert_eq!(uint(u64::MAX), Out::Num(u64::MAX as f64));
        assert_eq!(number(b"-42"), Some(Out::Int(-42)));
        assert_eq!(number(b"1.5"), Some(Out::Num(1.5)));
        assert_eq!(number(b"x1"), None);
        assert_eq!(text_value(Kind::Num, b"12"), Out::Int(12));
        assert_eq!(text_value(Kind::Num, b"<NA>"), Out::Nil);
        assert_eq!(text_value(Kind::Str, b"12"), Out::Str);
    }
}

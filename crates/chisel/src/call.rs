//! [`RawCallback`]: a chisel callback called once per event through the
//! Lua C API. mlua's `Function::call` moves the function from its
//! reference thread, installs a traceback handler and converts every
//! result into a `Value`; for `on_event`, called for most events of a
//! capture, that bookkeeping cost about as much as a short callback body.
//! Errors still come out as mlua's errors, so messages are unchanged.

use std::ffi::c_int;

use mlua::{ffi, Function, Lua, Value};

/// Where a failed call leaves its error object for mlua to read.
const ERROR_KEY: &str = "sonde.callback_error";
const ERROR_KEY_C: &std::ffi::CStr = c"sonde.callback_error";

/// A Lua function kept in the registry and called with no arguments.
pub(crate) struct RawCallback {
    /// The state mlua runs its calls on (the main thread): kept alive
    /// by `lua`.
    state: *mut ffi::lua_State,
    /// The function's registry reference.
    key: c_int,
    lua: Lua,
}

impl RawCallback {
    /// `f`, made callable through the C API.
    pub(crate) fn new(lua: &Lua, f: &Function) -> mlua::Result<RawCallback> {
        let mut got = (std::ptr::null_mut(), ffi::LUA_NOREF);
        // SAFETY: the closure runs inside mlua's protected call with `f`
        // as its first argument; it pushes one value and `luaL_ref` pops it.
        unsafe {
            lua.exec_raw::<()>(f.clone(), |l| {
                ffi::lua_pushvalue(l, 1);
                got = (l, ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
            })?;
        }
        if got.0.is_null() || got.1 == ffi::LUA_NOREF || got.1 == ffi::LUA_REFNIL {
            return Err(mlua::Error::runtime("cannot keep the chisel callback"));
        }
        Ok(RawCallback {
            state: got.0,
            key: got.1,
            lua: lua.clone(),
        })
    }

    /// Calls the function; whether its first result is true (anything but
    /// nil and false). Must not be called from inside a Lua callback.
    pub(crate) fn call(&self) -> mlua::Result<bool> {
        let l = self.state;
        // SAFETY: `l` is the main state of `self.lua`, alive while `self`
        // is; no mlua call is running on it (the engine calls sinks from
        // Rust). The call leaves one value (its result or its error), which
        // is popped on both paths: the stack is back where it was.
        unsafe {
            if ffi::lua_checkstack(l, 2) == 0 {
                return Err(mlua::Error::StackError);
            }
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, self.key);
            if ffi::lua_pcall(l, 0, 1, 0) == ffi::LUA_OK {
                let keep = ffi::lua_toboolean(l, -1) != 0;
                ffi::lua_pop(l, 1);
                return Ok(keep);
            }
            // pops the error object
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, ERROR_KEY_C.as_ptr());
        }
        let v: Value = self.lua.named_registry_value(ERROR_KEY)?;
        self.lua.unset_named_registry_value(ERROR_KEY)?;
        Err(match v {
            // an error raised by a Rust function the callback called
            Value::Error(e) => *e,
            Value::String(s) => mlua::Error::RuntimeError(s.to_string_lossy()),
            other => {
                let text = self
                    .lua
                    .globals()
                    .get::<Function>("tostring")
                    .and_then(|f| f.call::<String>(other))
                    .unwrap_or_else(|_| "(error object is not a string)".into());
                mlua::Error::RuntimeError(text)
            }
        })
    }
}

impl Drop for RawCallback {
    fn drop(&mut self) {
        // SAFETY: as in `call`; `self.lua` keeps the state alive.
        unsafe { ffi::luaL_unref(self.state, ffi::LUA_REGISTRYINDEX, self.key) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(lua: &Lua, src: &str) -> RawCallback {
        let f: Function = lua.load(src).eval().unwrap();
        RawCallback::new(lua, &f).unwrap()
    }

    #[test]
    fn results_are_read_as_lua_truth() {
        let lua = Lua::new();
        for (src, want) in [
            ("function() return true end", true),
            ("function() return 0 end", true),
            ("function() return '' end", true),
            ("function() return false end", false),
            ("function() return nil end", false),
            ("function() end", false),
            ("function() return false, true end", false),
        ] {
            assert_eq!(callback(&lua, src).call().unwrap(), want, "{src}");
        }
    }

    #[test]
    fn calls_keep_their_side_effects_and_the_stack() {
        let lua = Lua::new();
        lua.globals().set("n", 0).unwrap();
        let cb = callback(&lua, "function() n = n + 1 return n % 2 == 0 end");
        let got: Vec<bool> = (0..4).map(|_| cb.call().unwrap()).collect();
        assert_eq!(got, [false, true, false, true]);
        assert_eq!(lua.globals().get::<i64>("n").unwrap(), 4);
        // SAFETY: reading the top of the state the callback runs on.
        assert_eq!(unsafe { ffi::lua_gettop(cb.state) }, 0);
    }

    #[test]
    fn errors_come_out_as_mlua_reports_them() {
        let lua = Lua::new();
        let cb = callback(&lua, "function() local t = nil; return t.x end");
        let e = cb.call().unwrap_err().to_string();
        assert!(e.contains("attempt to index"), "{e}");
        let boom = lua
            .create_function(|_, ()| Err::<(), _>(mlua::Error::runtime("boom from rust")))
            .unwrap();
        lua.globals().set("boom", boom).unwrap();
        let cb = callback(&lua, "function() boom() end");
        let e = cb.call().unwrap_err();
        assert!(
            crate::error::lua_msg(&e).contains("boom from rust"),
            "{e:?}"
        );
        let cb = callback(&lua, "function() error({}) end");
        assert!(cb.call().unwrap_err().to_string().contains("table"));
        // SAFETY: reading the top of the state the callback runs on.
        assert_eq!(
            unsafe { ffi::lua_gettop(cb.state) },
            0,
            "an error leaves the stack as it was"
        );
        // the state is usable afterwards and the slot is cleared
        assert!(callback(&lua, "function() return 1 end").call().unwrap());
        assert!(matches!(
            lua.named_registry_value::<Value>(ERROR_KEY).unwrap(),
            Value::Nil
        ));
    }
}

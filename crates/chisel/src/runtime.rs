//! One loaded chisel: its Lua state with the API installed, its
//! description (`description`, `short_description`, `category`, `args`),
//! its arguments (`on_set_arg`), its initialisation (`on_init`, with
//! `chisel.exec` replacing it by another chisel) and its callbacks.

use std::path::Path;
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::args::{join_args, split_args};
use crate::error::lua_msg;
use crate::host::{Env, Host};
use crate::{ChiselError, SearchPath};

/// One entry of a chisel's `args` table.
#[derive(Debug, Clone, Default)]
pub struct ChiselArg {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `argtype` (empty when absent).
    pub argtype: String,
    /// `optional`.
    pub optional: bool,
}

/// What a chisel says about itself.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The file name without `.lua`.
    pub name: String,
    /// `description` (None: not a chisel, e.g. a csysdig view).
    pub description: Option<String>,
    /// `short_description`.
    pub short_description: Option<String>,
    /// `category` (empty when absent).
    pub category: String,
    /// `hidden = true`: not listed.
    pub hidden: bool,
    /// The `args` table (None when absent).
    pub args: Option<Vec<ChiselArg>>,
}

impl Meta {
    /// Whether `-cl` lists it (what sysdig lists: a description, a short
    /// description, an `args` table, not hidden).
    pub fn listed(&self) -> bool {
        self.description.is_some()
            && self.short_description.is_some()
            && self.args.is_some()
            && !self.hidden
    }

    /// How many arguments must be given.
    pub fn required(&self) -> usize {
        self.args_list().iter().filter(|a| !a.optional).count()
    }

    /// How many arguments may be given beyond the required ones.
    pub fn optional(&self) -> usize {
        self.args_list().iter().filter(|a| a.optional).count()
    }

    fn args_list(&self) -> &[ChiselArg] {
        self.args.as_deref().unwrap_or(&[])
    }
}

/// A loaded chisel.
pub struct Chisel {
    pub(crate) lua: Lua,
    pub(crate) host: Rc<Host>,
    /// The name it was asked for by (sysdig's messages use it).
    pub(crate) name: String,
    meta: Meta,
    search: SearchPath,
    /// Its source text (for [`Chisel::code_mentions`]).
    pub(crate) source: Vec<u8>,
}

impl Chisel {
    /// Loads chisel `name` (a name along `search`, or a path to a `.lua`
    /// file) and runs its top level.
    pub fn load(name: &str, search: &SearchPath, env: Env) -> Result<Chisel, ChiselError> {
        let path = search.find(name)?;
        Chisel::load_file(&path, name, search, env)
    }

    /// Loads the chisel in `path`, called `name` in messages.
    pub fn load_file(
        path: &Path,
        name: &str,
        search: &SearchPath,
        env: Env,
    ) -> Result<Chisel, ChiselError> {
        let src = match crate::bundled::source(path) {
            Some(s) => s.as_bytes().to_vec(),
            None => std::fs::read(path).map_err(|source| ChiselError::Read {
                path: path.display().to_string(),
                source,
            })?,
        };
        // sysdig's chisels run with every library LuaJIT has, the FFI
        // included (evt.field uses it too)
        // SAFETY: chisels are trusted code, as in sysdig, which opens the
        // same libraries.
        let lua = unsafe {
            Lua::unsafe_new_with(
                mlua::StdLib::ALL_SAFE | mlua::StdLib::FFI,
                mlua::LuaOptions::default(),
            )
        };
        let host = Rc::new(Host::new(name, env));
        let lua_err = |e: mlua::Error| ChiselError::Lua {
            chisel: name.to_string(),
            msg: lua_msg(&e),
        };
        crate::api::install(&lua, &host).map_err(lua_err)?;
        let package: Table = lua.globals().get("package").map_err(lua_err)?;
        let own_dir = path
            .parent()
            .filter(|d| d.as_os_str() != crate::bundled::DIR);
        package
            .set("path", search.package_path(own_dir))
            .map_err(lua_err)?;
        preload_bundled(&lua, &package).map_err(lua_err)?;
        let chunk_name = format!("@{}", path.display());
        lua.load(&src[..])
            .set_name(chunk_name)
            .exec()
            .map_err(lua_err)?;
        let meta = read_meta(&lua, path).map_err(lua_err)?;
        Ok(Chisel {
            lua,
            host,
            name: name.to_string(),
            meta,
            search: search.clone(),
            source: src,
        })
    }

    /// Sets what the chisel runs in, for a chisel loaded before the rest
    /// of the command line was read (sysdig, too, loads a chisel once, when
    /// it meets `-c`).
    pub fn set_env(&mut self, env: Env) {
        self.host.set_env(env);
    }

    /// What the chisel says about itself.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The name the chisel was asked for by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capture filter the chisel set with `sysdig.set_filter`.
    pub fn capture_filter(&self) -> Option<String> {
        self.host.capture_filter.borrow().clone()
    }

    /// The snaplen the chisel asked for with `sysdig.set_snaplen`.
    pub fn snaplen(&self) -> u32 {
        self.host.snaplen.get()
    }

    /// The snaplen the chisel asked for with `sysdig.set_snaplen`, if it
    /// called it (live capture then copies that many bytes of buffers,
    /// unless `-s` says otherwise).
    pub fn requested_snaplen(&self) -> Option<u32> {
        self.host
            .snaplen_asked
            .get()
            .then(|| self.host.snaplen.get())
    }

    /// Gives the chisel its arguments, as one string split as sysdig
    /// splits it, calling `on_set_arg(name, value)` for each.
    pub fn set_args(&mut self, args: &str) -> Result<(), ChiselError> {
        let words = split_args(args)
            .map_err(|e| ChiselError::Args(format!("{e} for chisel {}", self.name)))?;
        let (req, opt) = (self.meta.required(), self.meta.optional());
        if words.len() < req {
            return Err(ChiselError::Args(format!(
                "wrong number of parameters for chisel {}, {req} required, {} given",
                self.name,
                words.len()
            )));
        }
        if words.len() > req + opt {
            return Err(ChiselError::Args(format!(
                "too many parameters for chisel {}, {req} required, {opt} optional, {} given",
                self.name,
                words.len()
            )));
        }
        let names: Vec<String> = self
            .meta
            .args_list()
            .iter()
            .map(|a| a.name.clone())
            .collect();
        for (n, v) in names.iter().zip(&words) {
            let f: Value = self
                .lua
                .globals()
                .get("on_set_arg")
                .map_err(|e| self.err(e))?;
            let Value::Function(f) = f else {
                return Err(ChiselError::Args(format!(
                    "chisel {} misses a set_arg() function.",
                    self.name
                )));
            };
            match f.call::<Value>((n.as_str(), v.as_str())) {
                Ok(Value::Boolean(true)) => {}
                Ok(Value::Boolean(false)) => {
                    return Err(ChiselError::Args(format!(
                        "set_arg() for chisel {} failed (argument {n} = '{v}').",
                        self.name
                    )))
                }
                Ok(_) => {
                    return Err(ChiselError::Args(format!(
                        "{} chisel error: wrong set_arg() return value.",
                        self.name
                    )))
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        Ok(())
    }

    /// Calls `on_init`; when the chisel called `chisel.exec`, loads the
    /// chisel it named with the arguments it gave and initialises that
    /// one instead.
    pub fn init(self) -> Result<Chisel, ChiselError> {
        let mut ch = self;
        loop {
            let f: Value = ch.lua.globals().get("on_init").map_err(|e| ch.err(e))?;
            let Value::Function(f) = f else {
                return Ok(ch);
            };
            let r: Value = f.call(()).map_err(|e| ch.err_in("init()", e))?;
            let next = ch.host.exec.borrow_mut().take();
            let Some((name, args)) = next else {
                return match r {
                    Value::Boolean(true) => Ok(ch),
                    Value::Boolean(false) => Err(ChiselError::Api {
                        chisel: ch.name.clone(),
                        msg: "init() failed.".into(),
                    }),
                    _ => Err(ChiselError::Api {
                        chisel: ch.name.clone(),
                        msg: "wrong init() return value.".into(),
                    }),
                };
            };
            let mut new = Chisel::load(&name, &ch.search, ch.host.env().clone())?;
            new.set_args(&join_args(&args))?;
            ch = new;
        }
    }

    /// A global function of the chisel, if it defines one.
    pub(crate) fn function(&self, name: &str) -> Option<Function> {
        match self.lua.globals().get::<Value>(name) {
            Ok(Value::Function(f)) => Some(f),
            _ => None,
        }
    }

    /// A Lua error of this chisel.
    pub(crate) fn err(&self, e: mlua::Error) -> ChiselError {
        ChiselError::Lua {
            chisel: self.name.clone(),
            msg: lua_msg(&e),
        }
    }

    /// A Lua error of this chisel in one of its callbacks.
    pub(crate) fn err_in(&self, what: &str, e: mlua::Error) -> ChiselError {
        ChiselError::Lua {
            chisel: self.name.clone(),
            msg: format!("error in {what}: {}", lua_msg(&e)),
        }
    }
}

/// Makes the bundled modules `require`-able (`package.preload`).
fn preload_bundled(lua: &Lua, package: &Table) -> mlua::Result<()> {
    let preload: Table = package.get("preload")?;
    for &(name, src) in crate::bundled::modules() {
        // compiled when first required: a chisel needs few of them, and
        // parsing them all took most of a chisel's load time
        let loader = lua.create_function(move |lua, args: mlua::MultiValue| {
            lua.load(src)
                .set_name(format!("@{}/{name}.lua", crate::bundled::DIR))
                .call::<mlua::MultiValue>(args)
        })?;
        preload.set(name, loader)?;
    }
    Ok(())
}

/// Reads the chisel's description globals.
fn read_meta(lua: &Lua, path: &Path) -> mlua::Result<Meta> {
    let g = lua.globals();
    let text = |k: &str| -> mlua::Result<Option<String>> {
        Ok(match g.get::<Value>(k)? {
            Value::String(s) => Some(s.to_string_lossy()),
            Value::Number(n) => Some(n.to_string()),
            Value::Integer(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let args = match g.get::<Value>("args")? {
        Value::Table(t) => Some(read_args(&t)?),
        _ => None,
    };
    Ok(Meta {
        name: stem(path),
        description: text("description")?,
        short_description: text("short_description")?,
        category: text("category")?.unwrap_or_default(),
        hidden: matches!(g.get::<Value>("hidden")?, Value::Boolean(true)),
        args,
    })
}

/// The entries of an `args` table, in order.
fn read_args(t: &Table) -> mlua::Result<Vec<ChiselArg>> {
    let mut out = Vec::new();
    for v in t.clone().sequence_values::<Value>() {
        let Value::Table(a) = v? else {
            continue;
        };
        let s = |k: &str| -> String {
            match a.get::<Value>(k) {
                Ok(Value::String(s)) => s.to_string_lossy(),
                _ => String::new(),
            }
        };
        out.push(ChiselArg {
            name: s("name"),
            description: s("description"),
            argtype: s("argtype"),
            optional: matches!(a.get::<Value>("optional"), Ok(Value::Boolean(true))),
        });
    }
    Ok(out)
}

/// A file's name without its directory and `.lua`.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

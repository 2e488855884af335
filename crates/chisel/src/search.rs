//! Where chisels (and the modules they `require`) are found: `./chisels`,
//! `~/.chisels`, `$SONDE_CHISEL_DIR`, the bundled directory and sysdig's
//! installed chisels, in that order.

use std::path::{Path, PathBuf};

use crate::ChiselError;

/// sysdig's chisel directory, searched last when it exists.
pub const SYSDIG_DIR: &str = "/usr/share/sysdig/chisels";

/// The directories searched for chisels, in order.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    /// The directories (only those that exist are searched).
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// The default search path: `./chisels`, `~/.chisels`,
    /// `$SONDE_CHISEL_DIR` (several, `:`-separated), the bundled directory
    /// (embedded in the binary, see [`crate::bundled`]), then
    /// `/usr/share/sysdig/chisels`.
    pub fn from_env() -> SearchPath {
        let mut dirs = vec![PathBuf::from("chisels")];
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(Path::new(&home).join(".chisels"));
        }
        if let Some(extra) = std::env::var_os("SONDE_CHISEL_DIR") {
            dirs.extend(std::env::split_paths(&extra));
        }
        dirs.push(PathBuf::from(crate::bundled::DIR));
        dirs.push(PathBuf::from(SYSDIG_DIR));
        SearchPath { dirs }
    }

    /// The existing directories (the bundled one always exists).
    pub fn existing(&self) -> impl Iterator<Item = &PathBuf> {
        self.dirs
            .iter()
            .filter(|d| d.as_os_str() == crate::bundled::DIR || d.is_dir())
    }

    /// Whether `path` (as this search path gives it) names a chisel.
    fn exists(path: &Path) -> bool {
        crate::bundled::source(path).is_some() || path.is_file()
    }

    /// The file of chisel `name`: a path to a `.lua` file as it is, else
    /// `NAME.lua` in the first directory that has it.
    pub fn find(&self, name: &str) -> Result<PathBuf, ChiselError> {
        let p = Path::new(name);
        if name.ends_with(".lua") || name.contains('/') {
            if p.is_file() {
                return Ok(p.to_path_buf());
            }
            return Err(ChiselError::NotFound(name.to_string()));
        }
        self.existing()
            .map(|d| d.join(format!("{name}.lua")))
            .find(|f| SearchPath::exists(f))
            .ok_or_else(|| ChiselError::NotFound(name.to_string()))
    }

    /// Lua's `package.path` for `require` along this path (with the
    /// chisel's own directory first).
    pub fn package_path(&self, own_dir: Option<&Path>) -> String {
        let mut parts = Vec::new();
        if let Some(d) = own_dir {
            parts.push(format!("{}/?.lua", d.display()));
        }
        for d in self.existing() {
            if d.as_os_str() != crate::bundled::DIR {
                parts.push(format!("{}/?.lua", d.display()));
            }
        }
        parts.join(";")
    }

    /// Every `.lua` file along the path, the first of each name only,
    /// sorted by name.
    pub fn all_files(&self) -> Vec<PathBuf> {
        let mut seen = std::collections::BTreeMap::new();
        for d in self.existing() {
            if d.as_os_str() == crate::bundled::DIR {
                for (name, _) in crate::bundled::chisels() {
                    seen.entry(name.to_string())
                        .or_insert_with(|| d.join(format!("{name}.lua")));
                }
                continue;
            }
            let Ok(rd) = std::fs::read_dir(d) else {
                continue;
            };
            for e in rd.flatten() {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "lua") {
                    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                        seen.entry(stem.to_string()).or_insert(path);
                    }
                }
            }
        }
        seen.into_values().collect()
    }
}

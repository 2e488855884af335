//! What a chisel's code mentions: its own source and the source of every
//! module it loaded (bundled ones and files along `package.path`), read
//! as text. The engine asks before a capture whether a chisel can read
//! the whole state through the API (`sysdig.get_thread_table*` hands out
//! fd tables and more), which no requested field says.

use mlua::{Table, Value};

use crate::runtime::Chisel;

impl Chisel {
    /// Whether the chisel's source, or that of a module it has loaded,
    /// contains `word`.
    pub(crate) fn code_mentions(&self, word: &str) -> bool {
        contains(&self.source, word) || self.loaded_modules_mention(word).unwrap_or(true)
    }

    /// Whether a module in `package.loaded` mentions `word`; an error
    /// reading Lua's tables answers yes (the safe side).
    fn loaded_modules_mention(&self, word: &str) -> mlua::Result<bool> {
        let package: Table = self.lua.globals().get("package")?;
        let loaded: Table = package.get("loaded")?;
        let path: String = package.get("path").unwrap_or_default();
        for pair in loaded.pairs::<Value, Value>() {
            let (Value::String(name), _) = pair? else {
                continue;
            };
            let name = name.to_string_lossy();
            if let Some((_, src)) = crate::bundled::modules().find(|(n, _)| *n == name) {
                if src.contains(word) {
                    return Ok(true);
                }
                continue;
            }
            if module_files(&path, &name)
                .filter_map(|f| std::fs::read(f).ok())
                .take(1)
                .any(|src| contains(&src, word))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The files `require(name)` would try along `path` (Lua's templates:
/// `;`-separated, `?` standing for the name with dots as slashes).
fn module_files<'a>(path: &'a str, name: &str) -> impl Iterator<Item = String> + 'a {
    let file = name.replace('.', "/");
    path.split(';')
        .filter(|t| t.contains('?'))
        .map(move |t| t.replace('?', &file))
        .filter(|f| std::path::Path::new(f).is_file())
}

fn contains(haystack: &[u8], word: &str) -> bool {
    let w = word.as_bytes();
    !w.is_empty() && haystack.windows(w.len()).any(|x| x == w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_state::Scope;

    #[test]
    fn module_files_follow_the_templates() {
        let dir = std::env::temp_dir().join(format!("sonde-scan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/b.lua"), "x").unwrap();
        let path = format!("{0}/?.lua;{0}/?/init.lua;", dir.display());
        let found: Vec<String> = module_files(&path, "a.b").collect();
        assert_eq!(found, vec![format!("{}/a/b.lua", dir.display())]);
        assert_eq!(module_files(&path, "nosuch").count(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// How much of the state chisel `src` (with `module`, a file it may
    /// require) reads, as its sink tells the engine.
    fn scope(src: &str, module: &str) -> Scope {
        use sonde_engine::Sink;
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sonde-scan-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("helper.lua"), module).unwrap();
        let path = dir.join("probe.lua");
        std::fs::write(&path, src).unwrap();
        let search = crate::search::SearchPath::from_env();
        let ch = Chisel::load_file(&path, "probe", &search, Default::default())
            .and_then(Chisel::init)
            .unwrap();
        let sink = crate::sink::ChiselSink::new(ch, sonde_engine::StopHandle::new());
        let scope = sink.needs().scope;
        std::fs::remove_dir_all(dir).unwrap();
        scope
    }

    const HEAD: &str = "description = 'd'; short_description = 'd'; category = 'c'; args = {}\n";

    #[test]
    fn chisels_reading_threads_alone_say_so() {
        let body = "function on_init() f = chisel.request_field('proc.name'); \
                    chisel.set_filter('evt.type=procinfo'); return true end";
        assert_eq!(scope(&format!("{HEAD}{body}"), "return {}"), Scope::Threads);
        let bundled = Chisel::load(
            "topprocs_cpu",
            &crate::search::SearchPath::from_env(),
            Default::default(),
        )
        .and_then(Chisel::init)
        .unwrap();
        let sink = crate::sink::ChiselSink::new(bundled, sonde_engine::StopHandle::new());
        assert_eq!(sonde_engine::Sink::needs(&sink).scope, Scope::Threads);
    }

    #[test]
    fn fd_fields_memory_fields_and_thread_tables_read_more() {
        let fd = "function on_init() f = chisel.request_field('fd.name'); return true end";
        assert_eq!(scope(&format!("{HEAD}{fd}"), "return {}"), Scope::NoMemory);
        let filter = "function on_init() chisel.set_filter('fd.type=file'); return true end";
        assert_eq!(
            scope(&format!("{HEAD}{filter}"), "return {}"),
            Scope::NoMemory
        );
        let vm = "function on_init() f = chisel.request_field('proc.vmrss'); return true end";
        assert_eq!(scope(&format!("{HEAD}{vm}"), "return {}"), Scope::All);
        let table = "function on_capture_end() local t = sysdig.get_thread_table() end";
        assert_eq!(scope(&format!("{HEAD}{table}"), "return {}"), Scope::All);
        // the call hidden in a module the chisel requires
        let module = "local M = {} function M.t() return sysdig.get_thread_table() end return M";
        let uses = "local h = require 'helper'\nfunction on_capture_end() h.t() end";
        assert_eq!(scope(&format!("{HEAD}{uses}"), module), Scope::All);
        assert_eq!(
            scope(&format!("{HEAD}{uses}"), "return { t = function() end }"),
            Scope::Threads
        );
    }

    #[test]
    fn contains_finds_words() {
        assert!(contains(
            b"x = sysdig.get_thread_table()",
            "get_thread_table"
        ));
        assert!(!contains(
            b"x = sysdig.get_container_table()",
            "get_thread_table"
        ));
        assert!(!contains(b"abc", ""));
    }
}

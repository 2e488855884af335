//! The `fs.path.*` fields (current libs; sysdig 0.29.3 has none): the path
//! a successful filesystem call operates on, raw or resolved, and the
//! source and target of calls that have both (rename, link, symlink,
//! mount). Names, parsing, extraction and registry rows.

use sonde_event::codes as c;
use sonde_state::FdType;

use crate::ctx::Ctx;
use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};

/// Which path (`name`, `source`, `target`), raw or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsPath {
    /// Which path.
    pub which: Which,
    /// As written in the call, not resolved.
    pub raw: bool,
}

/// Which path of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `fs.path.name`, `fs.path.nameraw`.
    Name,
    /// `fs.path.source`, `fs.path.sourceraw`.
    Source,
    /// `fs.path.target`, `fs.path.targetraw`.
    Target,
}

/// Parses an `fs.path.*` field.
pub(crate) fn parse(
    _name: &str,
    base: &str,
    _arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    let (which, raw) = match base {
        "fs.path.name" => (Which::Name, false),
        "fs.path.nameraw" => (Which::Name, true),
        "fs.path.source" => (Which::Source, false),
        "fs.path.sourceraw" => (Which::Source, true),
        "fs.path.target" => (Which::Target, false),
        "fs.path.targetraw" => (Which::Target, true),
        _ => return None,
    };
    Some(Ok(Field::FsPath(FsPath { which, raw })))
}

/// Where an event's path comes from.
enum Src {
    /// A parameter, by name.
    Arg(&'static str),
    /// The name of the event's fd.
    FdName,
}

/// The path argument(s) of an event: (success test on `fd` rather than
/// `res`, path, source, target).
type Paths = (bool, Option<Src>, Option<Src>, Option<Src>);

fn table(code: u16) -> Option<Paths> {
    use Src::*;
    let path = |s| Some((false, Some(s), None, None));
    let both = |s, t| Some((false, None, Some(s), Some(t)));
    match code {
        c::SYSCALL_MKDIR_2_X
        | c::SYSCALL_MKDIRAT_X
        | c::SYSCALL_RMDIR_2_X
        | c::SYSCALL_UNLINK_2_X => path(Arg("path")),
        c::SYSCALL_UNLINKAT_2_X | c::SYSCALL_UMOUNT_1_X | c::SYSCALL_UMOUNT2_X => path(Arg("name")),
        c::SYSCALL_OPEN_X | c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => {
            Some((true, Some(Arg("name")), None, None))
        }
        c::SYSCALL_FCHMODAT_X | c::SYSCALL_CHMOD_X => path(Arg("filename")),
        c::SYSCALL_FCHMOD_X | c::SYSCALL_FCHOWN_X => path(FdName),
        c::SYSCALL_CHOWN_X | c::SYSCALL_LCHOWN_X => path(Arg("path")),
        c::SYSCALL_FCHOWNAT_X => path(Arg("pathname")),
        c::SYSCALL_QUOTACTL_X => path(Arg("special")),
        c::SYSCALL_RENAME_X | c::SYSCALL_RENAMEAT_X | c::SYSCALL_RENAMEAT2_X => {
            both(Arg("oldpath"), Arg("newpath"))
        }
        c::SYSCALL_LINK_2_X | c::SYSCALL_LINKAT_2_X => both(Arg("newpath"), Arg("oldpath")),
        c::SYSCALL_SYMLINK_X | c::SYSCALL_SYMLINKAT_X => both(Arg("linkpath"), Arg("target")),
        c::SYSCALL_MOUNT_X => both(Arg("dev"), Arg("dir")),
        _ => None,
    }
}

impl Ctx<'_, '_> {
    /// The directory an *at call's `dirfd` names, as current libs format
    /// it: the directory's path ending in `/`, else `<UNKNOWN>`.
    fn dirfd_dir(&self, dirfd: Option<i64>) -> Vec<u8> {
        match dirfd.and_then(|d| self.st.fd(self.ev.tid, d)) {
            Some(f) if f.kind == FdType::Directory => {
                let mut d = f.name.clone();
                if !d.is_empty() && !d.ends_with(b"/") {
                    d.push(b'/');
                }
                d
            }
            _ => b"<UNKNOWN>".to_vec(),
        }
    }

    /// `parse_dirfd` of current libs.
    fn parse_dirfd(&self, name: &[u8], dirfd: i64) -> Vec<u8> {
        if name.first() == Some(&b'/') {
            return b".".to_vec();
        }
        if dirfd == -100 {
            return self.st.cwd(self.ev.tid).to_vec();
        }
        match self.st.fd(self.ev.tid, dirfd) {
            Some(f) if f.name.is_empty() || f.name.ends_with(b"/") => f.name.clone(),
            Some(f) => {
                let mut d = f.name.clone();
                d.push(b'/');
                d
            }
            None => b"<UNKNOWN>".to_vec(),
        }
    }

    fn arg_i64(&self, name: &str) -> Option<i64> {
        self.param_index(name).and_then(|i| self.ev.param_i64(i))
    }

    /// Appends the value of an [`FsPath`] field; false when it has none.
    pub(crate) fn extract_fspath(&self, x: &FsPath, out: &mut Vec<u8>) -> bool {
        let ev = self.ev;
        let Some((by_fd, path, source, target)) = table(ev.code) else {
            return false;
        };
        // only successful calls
        let ok = if by_fd {
            self.arg_i64("fd").is_some_and(|v| v != -1)
        } else {
            self.arg_i64("res") == Some(0)
        };
        if !ok {
            return false;
        }
        let src = match x.which {
            Which::Name => path,
            Which::Source => source,
            Which::Target => target,
        };
        let mut p = Vec::new();
        match src {
            Some(Src::Arg(name)) => {
                let Some(i) = self.param_index(name) else {
                    return false;
                };
                p.extend_from_slice(sonde_event::cstr(ev.param(i).unwrap_or_default()));
            }
            Some(Src::FdName) => {
                if !self.extract(&Field::FdName, &mut p) {
                    return false;
                }
            }
            None => return false,
        }
        if x.raw {
            out.extend_from_slice(&p);
            return true;
        }
        if self.st.event_thread(ev).is_none() {
            return false;
        }
        if p.first() == Some(&b'/') {
            out.extend_from_slice(&sonde_state::path::normalize(&p));
            return true;
        }
        let dir: Vec<u8> = match ev.code {
            c::SYSCALL_OPENAT_2_X | c::SYSCALL_OPENAT2_X => {
                // the name of the fd the call opened
                p = match self.event_fd() {
                    Some(f) => f.name.clone(),
                    None => b"<UNKNOWN>".to_vec(),
                };
                Vec::new()
            }
            c::SYSCALL_NEWFSTATAT_X
            | c::SYSCALL_FCHOWNAT_X
            | c::SYSCALL_FCHMODAT_X
            | c::SYSCALL_MKDIRAT_X
            | c::SYSCALL_UNLINKAT_2_X
            | c::SYSCALL_MKNODAT_X => self.dirfd_dir(self.arg_i64("dirfd")),
            c::SYSCALL_SYMLINKAT_X if x.which == Which::Source => {
                self.dirfd_dir(self.arg_i64("linkdirfd"))
            }
            c::SYSCALL_SYMLINKAT_X => b"<UNKNOWN>".to_vec(),
            c::SYSCALL_RENAMEAT2_X => match x.which {
                Which::Target => self.parse_dirfd(&p, ev.param_i64(3).unwrap_or(0)),
                Which::Source => self.parse_dirfd(&p, ev.param_i64(1).unwrap_or(0)),
                Which::Name => b"<UNKNOWN>".to_vec(),
            },
            _ => self.st.cwd(ev.tid).to_vec(),
        };
        out.extend_from_slice(&concatenate(&dir, &p));
        true
    }
}

/// `concatenate_paths` of sysdig and current libs.
pub(crate) fn concatenate(dir: &[u8], name: &[u8]) -> Vec<u8> {
    sonde_state::path::sysdig_concat(dir, name)
}

/// The `fs.path` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "fs.path", shortdesc: "", desc: "Every syscall that has a filesystem path in its arguments has these fields set with information related to the path arguments. This differs from the fd.* fields as it includes syscalls like unlink, rename, etc. that act directly on filesystem paths as compared to opened file descriptors." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "fs.path.name", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, the path the file syscall is operating on. This path is always fully resolved, prepending the thread cwd when needed." },
    FieldInfo { name: "fs.path.nameraw", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, the path the file syscall is operating on. This path is always the path provided to the syscall and may not be fully resolved." },
    FieldInfo { name: "fs.path.source", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, and specifically for a source and target like mv, cp, etc, the source path the file syscall is operating on. This path is always fully resolved, prepending the thread cwd when needed." },
    FieldInfo { name: "fs.path.sourceraw", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, and specifically for a source and target like mv, cp, etc, the source path the file syscall is operating on. This path is always the path provided to the syscall and may not be fully resolved." },
    FieldInfo { name: "fs.path.target", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, and specifically for a target and target like mv, cp, etc, the target path the file syscall is operating on. This path is always fully resolved, prepending the thread cwd when needed." },
    FieldInfo { name: "fs.path.targetraw", class: class::FS_PATH, ty: T::Charbuf, flags: NEWER, desc: "For any event type that deals with a filesystem path, and specifically for a target and target like mv, cp, etc, the target path the file syscall is operating on. This path is always the path provided to the syscall and may not be fully resolved." },
];

#[cfg(test)]
mod tests {
    use super::concatenate;
    use crate::testutil::*;

    #[test]
    fn paths_join_like_current_libs() {
        assert_eq!(concatenate(b"/tmp/", b"a/../b"), b"/tmp/b");
        assert_eq!(concatenate(b"<UNKNOWN>", b"x"), b"<UNKNOWN>x");
        assert_eq!(concatenate(b"/x/", b"/etc//passwd"), b"/etc/passwd");
    }

    #[test]
    fn paths_of_renames_and_unlinks() {
        let mut st = state();
        // renameat2(AT_FDCWD, "a", AT_FDCWD, "/x/../b") = 0
        let b = body(&[
            &0i64.to_le_bytes(),
            &(-100i64).to_le_bytes(),
            b"a\0",
            &(-100i64).to_le_bytes(),
            b"/x/../b\0",
            &0u32.to_le_bytes(),
        ]);
        let ev = RawEvent::from_parts(40_000, 300, c::SYSCALL_RENAMEAT2_X, 6, &b, false).unwrap();
        st.process(&ev);
        let f = |n: &str| get(&st, &ev, n);
        assert_eq!(f("fs.path.source").as_deref(), Some("/tmp/a"));
        assert_eq!(f("fs.path.sourceraw").as_deref(), Some("a"));
        assert_eq!(f("fs.path.target").as_deref(), Some("/b"));
        assert_eq!(f("fs.path.targetraw").as_deref(), Some("/x/../b"));
        assert_eq!(f("fs.path.name"), None);
        // a failed unlinkat has no path
        let b = body(&[
            &(-2i64).to_le_bytes(),
            &(-100i64).to_le_bytes(),
            b"gone\0",
            &0u32.to_le_bytes(),
        ]);
        let ev = RawEvent::from_parts(50_000, 300, c::SYSCALL_UNLINKAT_2_X, 4, &b, false).unwrap();
        st.process(&ev);
        assert_eq!(get(&st, &ev, "fs.path.nameraw"), None);
        // a successful one relative to AT_FDCWD: current libs know no directory
        let b = body(&[
            &0i64.to_le_bytes(),
            &(-100i64).to_le_bytes(),
            b"f\0",
            &0u32.to_le_bytes(),
        ]);
        let ev = RawEvent::from_parts(60_000, 300, c::SYSCALL_UNLINKAT_2_X, 4, &b, false).unwrap();
        st.process(&ev);
        assert_eq!(get(&st, &ev, "fs.path.name").as_deref(), Some("<UNKNOWN>f"));
    }
}

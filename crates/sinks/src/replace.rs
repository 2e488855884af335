//! Creating an output file over an existing one.
//!
//! `open(O_TRUNC)` on a large file frees its page cache and blocks in the
//! caller's time (40 ms for a 134 MB capture here), and ext4 then writes
//! the new file back when it is closed (`auto_da_alloc`, another 60 ms),
//! both on the critical path of a `-w`. An existing regular file with a
//! single link is therefore replaced instead: the old one is unlinked while
//! still open, a new one takes its name, mode and owner, and the old one's
//! last close (which frees it) runs on a thread of its own. Readers that
//! had the old file open keep reading it whole (`sonde -r a.scap -w a.scap`
//! reads the whole old file), and extended attributes and ACLs are not
//! carried over to the new file. Anything else (a new name,
//! a device, a FIFO, a symbolic link, a file with other links, a directory
//! we cannot unlink in) is created or truncated as `File::create` does.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Opens `path` for writing, empty, as described in the module docs.
pub fn create(path: &Path) -> io::Result<File> {
    let Ok(md) = fs::symlink_metadata(path) else {
        return File::create(path);
    };
    if !md.file_type().is_file() || md.nlink() != 1 || md.len() == 0 {
        return File::create(path);
    }
    let Ok(old) = File::open(path) else {
        return File::create(path);
    };
    // the file opened must be the one looked at, and the only name it has
    match old.metadata() {
        Ok(m) if m.ino() == md.ino() && m.dev() == md.dev() && m.nlink() == 1 => {}
        _ => return File::create(path),
    }
    if fs::remove_file(path).is_err() {
        return File::create(path);
    }
    let new = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(md.mode() & 0o7777)
        .open(path)?;
    // as truncation would: the old mode (whatever the umask) and owner
    new.set_permissions(Permissions::from_mode(md.mode() & 0o7777))?;
    let now = new.metadata()?;
    if now.uid() != md.uid() || now.gid() != md.gid() {
        // only root may give a file away; anyone else keeps their own
        let _ = std::os::unix::fs::fchown(&new, Some(md.uid()), Some(md.gid()));
    }
    // (if no thread can be started, the old file is freed here)
    let freeing = std::thread::Builder::new().name("sonde-free-old".into());
    let _ = freeing.spawn(move || drop(old));
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sonde-replace-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_existing_file_is_replaced_with_its_mode_and_readers_keep_the_old() {
        let d = tmp("replace");
        let p = d.join("out.scap");
        fs::write(&p, b"old contents").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let mut reader = File::open(&p).unwrap();
        let old_ino = fs::metadata(&p).unwrap().ino();
        let mut f = create(&p).unwrap();
        f.write_all(b"new").unwrap();
        drop(f);
        let md = fs::metadata(&p).unwrap();
        assert_ne!(md.ino(), old_ino, "a new file took the name");
        assert_eq!(md.mode() & 0o7777, 0o640);
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let mut s = Vec::new();
        reader.read_to_end(&mut s).unwrap();
        assert_eq!(s, b"old contents");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn links_and_new_names_are_truncated_or_created_in_place() {
        let d = tmp("links");
        let p = d.join("a.scap");
        fs::write(&p, b"old contents").unwrap();
        let q = d.join("b.scap");
        fs::hard_link(&p, &q).unwrap();
        create(&p).unwrap().write_all(b"new").unwrap();
        assert_eq!(
            fs::read(&q).unwrap(),
            b"new",
            "the other link sees the truncation"
        );
        let s = d.join("link.scap");
        std::os::unix::fs::symlink(&p, &s).unwrap();
        create(&s).unwrap().write_all(b"via link").unwrap();
        assert!(fs::symlink_metadata(&s).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&p).unwrap(), b"via link");
        let n = d.join("new.scap");
        create(&n).unwrap().write_all(b"x").unwrap();
        assert_eq!(fs::read(&n).unwrap(), b"x");
        fs::remove_dir_all(&d).unwrap();
    }
}

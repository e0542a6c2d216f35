//! File-system primitives every crux file goes through: private directories (0700), private
//! files (0600), atomic replacement (temp file + fsync + rename + directory fsync) and the lock
//! that serializes writers across crux processes.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files crux reads whole (its own, and a project's `.mcp.json` / `crux.json`) are at most this
/// big: a hostile file cannot make it allocate without bound.
pub const MAX_FILE: u64 = 16 << 20;

/// Creates `dir` (and parents) with mode 0700, and tightens an existing `dir` to 0700. A `dir`
/// that is a symlink (or not a directory) is refused: crux never writes through a link.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
            return Err(not_plain(dir, &meta, "directory"))
        }
        _ => {}
    }
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(Error::io(format!("cannot create {}", dir.display()), e)),
    }
    let meta = fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(not_plain(dir, &meta, "directory"));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("cannot make {} private", dir.display()), e))?;
    }
    Ok(())
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a regular file"
    }
}

/// The error for a path that is not the plain file or directory crux expects there.
fn not_plain(path: &Path, meta: &fs::Metadata, wanted: &str) -> Error {
    Error::failed(
        format!(
            "{} is {}, not a {wanted}; crux does not read or write through it",
            path.display(),
            kind_of(meta)
        ),
        format!(
            "replace it with a {wanted} of your own (look at what it is: ls -l {})",
            path.display()
        ),
    )
}

/// Reads a whole file; `None` when it does not exist. Only a regular file of at most
/// [`MAX_FILE`] bytes is read: a symlink, FIFO, device or directory is refused without being
/// opened for reading through (`O_NOFOLLOW | O_NONBLOCK`, then `fstat`), so a hostile project
/// cannot point crux at another file, hang it on a pipe or feed it `/dev/zero`.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let meta = fs::symlink_metadata(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            return Err(not_plain(path, &meta, "regular file"));
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(not_plain(path, &meta, "regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(too_big(path));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut io::Read::take(&file, MAX_FILE + 1), &mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_big(path));
    }
    Ok(Some(bytes))
}

fn too_big(path: &Path) -> Error {
    Error::failed(
        format!(
            "{} is larger than {} MiB, more than any file crux reads can be",
            path.display(),
            MAX_FILE >> 20
        ),
        format!(
            "check what it is and replace it (crux left it unchanged): ls -l {}",
            path.display()
        ),
    )
}

/// Refuses a file or directory of crux's (`CRUX_HOME`, the age identity) that another user
/// owns or that others may read or write, as ssh does with its keys: crux would otherwise use
/// secrets or definitions that someone else can read or swap. A path that does not exist is
/// fine: crux creates it private.
pub fn check_private(path: &Path) -> Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("cannot check {}", path.display()), e)),
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    ownership_problem(meta.uid(), meta.mode(), me, meta.is_dir()).map_or(
        Ok(()),
        |(problem, fix)| {
            Err(Error::failed(
                format!("{} {problem}, so crux does not use it", path.display()),
                fix.replace("{}", &path.display().to_string()),
            ))
        },
    )
}

/// What is wrong with a file's owner and mode for a private crux file, and the fix (with `{}`
/// for the path).
fn ownership_problem(owner: u32, mode: u32, me: u32, dir: bool) -> Option<(String, &'static str)> {
    if owner != me {
        return Some((
            format!("belongs to another user (uid {owner})"),
            "make it yours, or point CRUX_HOME at a directory of your own: chown -R \"$(id -u)\" {}",
        ));
    }
    if mode & 0o077 != 0 {
        let access = if mode & 0o022 != 0 {
            "writable"
        } else {
            "readable"
        };
        return Some((
            format!("is {access} by other users (mode {:o})", mode & 0o777),
            if dir { "chmod 700 {}" } else { "chmod 600 {}" },
        ));
    }
    None
}

/// Refuses a path that exists as anything but a regular file (a symlink included): crux
/// replaces only plain files.
pub fn check_replaceable(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(not_plain(path, &meta, "regular file")),
        _ => Ok(()),
    }
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    format!(".{name}.tmp.")
}

/// Replaces `path` with `bytes` atomically: readers see the old or the new content, never a
/// mix, and a crash at any point leaves one of the two. The file is 0600.
///
/// Callers hold the [`Lock`]; under it any temp file left by a killed writer is stale, and
/// is removed here.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with another mode (an executable launcher, a project's `.mcp.json`). The
/// mode is set before the rename, so the file never appears with the wrong one.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = temp_prefix(path);
    remove_stale_temps(dir, &prefix);
    check_replaceable(path)?;
    let temp = dir.join(format!("{prefix}{}", std::process::id()));
    let ctx = |what: &str| format!("cannot {what} {}", temp.display());
    let result = (|| {
        // A new file, never an existing one or a link planted under the temp name.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(mode)
            .open(&temp)
            .map_err(|e| Error::io(ctx("create"), e))?;
        // The umask, or an existing temp file of ours, may have left another mode.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(ctx("protect"), e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io(ctx("write"), e))?;
        file.sync_all().map_err(|e| Error::io(ctx("sync"), e))?;
        fs::rename(&temp, path)
            .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `path` with `bytes` only if it does not exist yet; `Ok(false)` when it does.
/// The file appears whole or not at all (written aside, then hard-linked into place).
/// Callers hold the lock that guards `path`.
pub fn create_new_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = temp_prefix(path);
    // A temp file left by a killed creator may hold key material: the lock makes it stale.
    remove_stale_temps(dir, &prefix);
    let temp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| Error::io(format!("cannot create {}", temp.display()), e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("cannot write {}", temp.display()), e))?;
        match fs::hard_link(&temp, path) {
            Ok(()) => {
                sync_dir(dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
    })();
    let _ = fs::remove_file(&temp);
    result
}

fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
}

/// An exclusive advisory lock on a file in `CRUX_HOME`, held until dropped. Every crux process
/// that changes a keystore, the index or the settings holds it, so concurrent writers queue
/// instead of losing each other's changes. Readers do not need it: writes are atomic renames.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Lock> {
        // Never through a symlink: a link planted as a lock file could make crux create or
        // lock a file elsewhere.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o600)
            .open(path)
            .map_err(|e| match fs::symlink_metadata(path) {
                Ok(meta) if e.raw_os_error() == Some(libc::ELOOP) => {
                    not_plain(path, &meta, "regular file")
                }
                _ => Error::io(format!("cannot open lock file {}", path.display()), e),
            })?;
        file.lock()
            .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
        Ok(Lock {
            _file: file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
    }

    #[test]
    fn stale_temp_files_are_removed_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        fs::write(dir.path().join(".f.json.tmp.99999"), b"half").unwrap();
        write_atomic(&p, b"x").unwrap();
        assert!(!dir.path().join(".f.json.tmp.99999").exists());
    }

    #[test]
    fn create_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        assert!(create_new_atomic(&p, b"first").unwrap());
        assert!(!create_new_atomic(&p, b"second").unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn special_files_are_refused_quickly() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        fs::write(&target, b"{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read_optional(&link).unwrap_err().render();
        assert!(e.contains("is a symlink"), "{e}");
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_optional(&fifo).unwrap_err().render();
        assert!(e.contains("is a FIFO"), "{e}");
        let e = read_optional(dir.path()).unwrap_err().render();
        assert!(e.contains("is a directory"), "{e}");
        let big = dir.path().join("big.json");
        fs::File::create(&big)
            .unwrap()
            .set_len(MAX_FILE + 1)
            .unwrap();
        let e = read_optional(&big).unwrap_err().render();
        assert!(e.contains("larger than 16 MiB"), "{e}");
        assert!(read_optional(&dir.path().join("absent")).unwrap().is_none());
        // Writing over a symlink is refused too, and the link's target is untouched.
        assert!(write_atomic(&link, b"x").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        assert!(Lock::acquire(&link).is_err());
        assert!(ensure_private_dir(&link).is_err());
    }

    #[test]
    fn ownership_and_mode_like_ssh() {
        assert!(ownership_problem(1000, 0o40700, 1000, true).is_none());
        assert!(ownership_problem(1000, 0o100600, 1000, false).is_none());
        let (why, fix) = ownership_problem(0, 0o40700, 1000, true).unwrap();
        assert!(
            why.contains("another user") && fix.contains("chown"),
            "{why}"
        );
        let (why, fix) = ownership_problem(1000, 0o40777, 1000, true).unwrap();
        assert!(why.contains("writable") && fix == "chmod 700 {}", "{why}");
        let (why, fix) = ownership_problem(1000, 0o100644, 1000, false).unwrap();
        assert!(why.contains("readable") && fix == "chmod 600 {}", "{why}");
    }

    #[test]
    fn private_dir_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        ensure_private_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}

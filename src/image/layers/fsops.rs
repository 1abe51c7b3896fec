//! File-system steps beneath a root: every parent is resolved with
//! openat2(RESOLVE_IN_ROOT) (`kernel::resolve`), every final name is acted on
//! relative to that parent with NOFOLLOW, so nothing lands outside the root.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::kernel::resolve::{self, Create};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The directory being unpacked into.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    pub fn open(path: &Path) -> Result<Root> {
        Ok(Root {
            fd: resolve::open_root(path)?,
            path: path.to_path_buf(),
        })
    }

    /// How a path inside the root is named in errors: as the archive names it.
    pub fn shown(&self, rel: &Path) -> String {
        rel.display().to_string()
    }

    /// A directory beneath the root (O_PATH), created (0755) when `create`.
    pub fn dir(&self, rel: &Path, create: bool) -> Result<OwnedFd> {
        if rel.as_os_str().is_empty() {
            return self
                .fd
                .try_clone()
                .map_err(|e| Error::io("dup", &self.path, e));
        }
        resolve::resolve(&self.fd, &self.path, rel, create.then_some(Create::Dir))
    }

    /// The parent of `rel` (resolved beneath the root, created when missing) and
    /// the last name. The root itself is `(root, ".")`.
    pub fn parent(&self, rel: &Path) -> Result<(OwnedFd, OsString)> {
        match (rel.parent(), rel.file_name()) {
            (Some(p), Some(name)) => Ok((self.dir(p, true)?, name.to_os_string())),
            _ => Ok((self.dir(Path::new(""), false)?, OsString::from("."))),
        }
    }

    /// Like `parent`, but the parent must exist (for hardlink targets).
    pub fn existing_parent(&self, rel: &Path) -> Result<(OwnedFd, OsString)> {
        match (rel.parent(), rel.file_name()) {
            (Some(p), Some(name)) => Ok((self.dir(p, false)?, name.to_os_string())),
            _ => Err(Error::layer(self.shown(rel), "not a file")),
        }
    }
}

/// lstat of `dir/name`; `None` when absent.
pub fn lstat(dir: &impl AsFd, name: &OsStr) -> nix::Result<Option<FileStat>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

/// Remove `dir/name` and, for a directory, everything under it. Never follows
/// a symlink: each level is opened with O_NOFOLLOW relative to its parent.
pub fn remove_tree(dir: &impl AsFd, name: &OsStr) -> nix::Result<()> {
    let Some(st) = lstat(dir, name)? else {
        return Ok(());
    };
    if !is_dir(&st) {
        return unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut sub = Dir::openat(dir, name, flags, Mode::empty())?;
    for child in children(&mut sub)? {
        remove_tree(&sub, &child)?;
    }
    unlinkat(dir, name, UnlinkatFlags::RemoveDir)
}

/// Names in a directory, without `.` and `..`.
pub fn children(d: &mut Dir) -> nix::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for e in d.iter() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    Ok(out)
}

/// Make room for a new entry at `dir/name`: an existing directory is kept when
/// the new entry is a directory too (tar semantics), anything else is removed.
/// Returns true when a directory was kept.
pub fn clear(dir: &impl AsFd, name: &OsStr, new_is_dir: bool) -> nix::Result<bool> {
    match lstat(dir, name)? {
        None => Ok(false),
        Some(st) if new_is_dir && is_dir(&st) => Ok(true),
        Some(_) => remove_tree(dir, name).map(|()| false),
    }
}

/// Open `dir/name` for metadata work on a directory (never through a symlink).
pub fn open_dir_at(dir: &impl AsFd, name: &OsStr) -> nix::Result<std::fs::File> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    nix::fcntl::openat(dir, name, flags, Mode::empty()).map(std::fs::File::from)
}

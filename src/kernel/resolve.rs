//! Resolving paths *beneath* a root directory, so that a symlink inside a
//! container's rootfs can never send a mount or a mknod onto the host.
//! Uses openat2(RESOLVE_IN_ROOT): `..` and absolute symlinks stay in the root.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What to create when the last component is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Dir,
    File,
}

/// Open the root directory itself (O_PATH).
pub fn open_root(path: &Path) -> Result<OwnedFd> {
    open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", path.display(), e))
}

fn openat2_in_root(root: &OwnedFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut how: libc::open_how = unsafe_zeroed_open_how();
    how.flags = (flags | OFlag::O_CLOEXEC).bits() as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: `c` is a valid NUL-terminated string, `how` a fully initialised
    // open_how whose size we pass; the kernel does not retain either pointer.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the syscall returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn unsafe_zeroed_open_how() -> libc::open_how {
    // SAFETY: open_how is a plain C struct of integers; all-zero is its documented default.
    unsafe { std::mem::zeroed() }
}

/// Resolve `path` (absolute, as seen inside the container) beneath `root`,
/// creating missing components when asked. Returns an O_PATH fd.
pub fn resolve(
    root: &OwnedFd,
    root_path: &Path,
    path: &Path,
    create: Option<Create>,
) -> Result<OwnedFd> {
    resolve_depth(root, root_path, path, create, 0)
}

fn resolve_depth(
    root: &OwnedFd,
    root_path: &Path,
    path: &Path,
    create: Option<Create>,
    depth: u32,
) -> Result<OwnedFd> {
    let rel = relative(path);
    let shown = root_path.join(&rel);
    match openat2_in_root(root, &rel, OFlag::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) if create.is_some() && depth < 40 => {}
        Err(e) => return Err(Error::sys("openat2", shown.display(), e)),
    }
    let comps: Vec<_> = rel.components().collect();
    // Usually only the last component is missing: its parent opens at once.
    if let Some(Component::Normal(_)) = comps.last() {
        let dir = OFlag::O_PATH | OFlag::O_DIRECTORY;
        match openat2_in_root(root, parent_of(&rel), dir) {
            Ok(parent) => {
                let step = Missing {
                    prefix: &rel,
                    rest: &[],
                    last: true,
                };
                return match make_missing(root, root_path, parent, step, create, depth)? {
                    Some(followed) => Ok(followed),
                    None => openat2_in_root(root, &rel, OFlag::O_PATH)
                        .map_err(|e| Error::sys("openat2", shown.display(), e)),
                };
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys("openat2", shown.display(), e)),
        }
    }
    let mut prefix = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        prefix.push(c);
        match openat2_in_root(root, &prefix, OFlag::O_PATH) {
            Ok(_) => continue,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys("openat2", root_path.join(&prefix).display(), e)),
        }
        let parent = openat2_in_root(root, parent_of(&prefix), OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(|e| Error::sys("openat2", root_path.join(&prefix).display(), e))?;
        let step = Missing {
            prefix: &prefix,
            rest: &comps[i + 1..],
            last: i + 1 == comps.len(),
        };
        if let Some(followed) = make_missing(root, root_path, parent, step, create, depth)? {
            return Ok(followed);
        }
    }
    openat2_in_root(root, &rel, OFlag::O_PATH)
        .map_err(|e| Error::sys("openat2", shown.display(), e))
}

fn parent_of(prefix: &Path) -> &Path {
    prefix
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A missing component: the path up to it, the components after it.
struct Missing<'a> {
    prefix: &'a Path,
    rest: &'a [Component<'a>],
    last: bool,
}

/// Make the missing last component of `m.prefix` in `parent` (a directory, or
/// with `Create::File` a file when it is the path's last). A dangling symlink
/// there is followed instead (its target made, still beneath the root):
/// `Some` is then the whole path resolved through it.
fn make_missing(
    root: &OwnedFd,
    root_path: &Path,
    parent: OwnedFd,
    m: Missing,
    create: Option<Create>,
    depth: u32,
) -> Result<Option<OwnedFd>> {
    let parent_rel = parent_of(m.prefix);
    let name = m.prefix.file_name().map(Path::new).unwrap_or(m.prefix);
    if let Ok(target) = nix::fcntl::readlinkat(&parent, name) {
        let target = Path::new(&target);
        let mut next = if target.is_absolute() {
            target.to_path_buf()
        } else {
            Path::new("/").join(parent_rel).join(target)
        };
        for rest in m.rest {
            next.push(rest);
        }
        return resolve_depth(root, root_path, &next, create, depth + 1).map(Some);
    }
    let made = if m.last && create == Some(Create::File) {
        nix::fcntl::openat(
            &parent,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop)
    } else {
        nix::sys::stat::mkdirat(&parent, name, Mode::from_bits_truncate(0o755))
    };
    match made {
        Ok(()) | Err(Errno::EEXIST) => Ok(None),
        Err(e) => Err(Error::sys("mkdirat", root_path.join(m.prefix).display(), e)),
    }
}

/// `/a/../b/./c` → `a/../b/c` relative to the root (`..` is handled by the kernel).
pub fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// The magic-link path of an fd, usable as a mount target.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Where an fd really points (as the kernel names it from our root).
pub fn real_path(fd: &OwnedFd) -> Result<PathBuf> {
    let link = fd_path(fd);
    std::fs::read_link(&link).map_err(|e| Error::io("readlink", link, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_cannot_escape_the_root() {
        let base = std::env::temp_dir().join(format!("nook-resolve-{}", std::process::id()));
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("evil")).unwrap();
        symlink("../../../..", root.join("up")).unwrap();
        let rfd = open_root(&root).unwrap();
        let fd = resolve(&rfd, &root, Path::new("/evil/sub"), Some(Create::Dir)).unwrap();
        let real = real_path(&fd).unwrap();
        assert!(real.starts_with(&root), "{real:?} escaped");
        assert_eq!(
            real,
            root.join(outside.strip_prefix("/").unwrap()).join("sub")
        );
        assert!(!outside.join("sub").exists(), "created on the host side");
        let fd = resolve(&rfd, &root, Path::new("/up/etc/f"), Some(Create::File)).unwrap();
        assert_eq!(real_path(&fd).unwrap(), root.join("etc/f"));
        assert!(root.join("etc/f").is_file());
        // Only the last component missing (the parent opens at once): made
        // there; a dangling symlink in its place is followed, beneath the root.
        let fd = resolve(&rfd, &root, Path::new("/etc/d"), Some(Create::Dir)).unwrap();
        assert_eq!(real_path(&fd).unwrap(), root.join("etc/d"));
        symlink(outside.join("made"), root.join("etc/dangling")).unwrap();
        let fd = resolve(&rfd, &root, Path::new("/etc/dangling"), Some(Create::Dir)).unwrap();
        let made = root.join(outside.strip_prefix("/").unwrap()).join("made");
        assert_eq!(real_path(&fd).unwrap(), made);
        assert!(!outside.join("made").exists(), "created on the host side");
        symlink("../../../../x", root.join("etc/up")).unwrap();
        let fd = resolve(&rfd, &root, Path::new("/etc/up"), Some(Create::File)).unwrap();
        assert_eq!(real_path(&fd).unwrap(), root.join("x"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn relative_strips_root_and_dots() {
        assert_eq!(relative(Path::new("/a/./b")), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("/")), PathBuf::from("."));
    }
}

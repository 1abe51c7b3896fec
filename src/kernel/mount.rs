//! mount(2) and umount2(2), with errors that name source and target.

use crate::error::{Error, Result};
use nix::mount::{MntFlags, MsFlags};
use std::path::Path;

/// mount(2). `target` may be a /proc/self/fd/N path from `resolve`.
pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    let data = data.filter(|d| !d.is_empty());
    nix::mount::mount(source, target, fstype, flags, data).map_err(|errno| {
        let what = match (source, fstype) {
            (Some(s), Some(t)) => format!("{} ({t}) on {}", s.display(), target.display()),
            (Some(s), None) => format!("{} on {}", s.display(), target.display()),
            (None, _) => target.display().to_string(),
        };
        Error::sys("mount", what, errno)
    })
}

/// Change propagation of the mount at `target`.
pub fn set_propagation(target: &Path, flags: MsFlags) -> Result<()> {
    mount(None, target, None, flags, None)
}

/// Remount a bind mount with new flags, keeping the flags the kernel locks
/// inside a user namespace (nosuid, nodev, noexec, atime flags) when already set.
pub fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    let locked = locked_flags(target)?;
    let want = (flags | locked) - MsFlags::MS_REC;
    mount(
        None,
        target,
        None,
        want | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
        None,
    )
}

/// The per-mount flags currently set on `target`, from statvfs.
pub fn locked_flags(target: &Path) -> Result<MsFlags> {
    use nix::sys::statvfs::FsFlags;
    let st = nix::sys::statvfs::statvfs(target)
        .map_err(|e| Error::sys("statvfs", target.display(), e))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (have, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(have) {
            out |= ms;
        }
    }
    if f.contains(FsFlags::ST_RDONLY) {
        // A read-only mount stays read-only only if asked; report it for callers that care.
        out |= MsFlags::empty();
    }
    Ok(out)
}

pub fn umount_detach(target: &Path) -> Result<()> {
    nix::mount::umount2(target, MntFlags::MNT_DETACH)
        .map_err(|e| Error::sys("umount2", target.display(), e))
}

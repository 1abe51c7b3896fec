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

/// mount_setattr(2) with AT_RECURSIVE: give every mount of the tree whose
/// root `dir` holds the per-mount flags `flags`, as a bind remount with them
/// would (those not in `flags` cleared), in one call where a remount takes
/// one each. The kernel changes all of them or none. `Ok(false)`: not done,
/// for the caller's remounts instead: a flag this does not map (only
/// MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NODIRATIME and one atime
/// mode), a kernel without mount_setattr (before 5.12), or a flag locked by
/// a user namespace in the way (EPERM; `remount_bind` keeps locked flags).
pub fn set_tree_flags(dir: &std::os::fd::OwnedFd, flags: MsFlags, shown: &Path) -> Result<bool> {
    use std::os::fd::AsRawFd;
    let mapped = [
        (MsFlags::MS_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, libc::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
        (MsFlags::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME),
    ];
    let atimes = MsFlags::MS_NOATIME | MsFlags::MS_STRICTATIME | MsFlags::MS_RELATIME;
    let known = mapped.iter().fold(atimes, |all, (ms, _)| all | *ms);
    if !(flags - known).is_empty() {
        return Ok(false);
    }
    let (mut set, mut clear) = (0, 0);
    for (ms, attr) in mapped {
        match flags.contains(ms) {
            true => set |= attr,
            false => clear |= attr,
        }
    }
    let atime = if flags.contains(MsFlags::MS_NOATIME) {
        Some(libc::MOUNT_ATTR_NOATIME)
    } else if flags.contains(MsFlags::MS_STRICTATIME) {
        Some(libc::MOUNT_ATTR_STRICTATIME)
    } else if flags.contains(MsFlags::MS_RELATIME) {
        Some(libc::MOUNT_ATTR_RELATIME)
    } else {
        None
    };
    let attr = libc::mount_attr {
        attr_set: set | atime.unwrap_or(0),
        attr_clr: clear | atime.map_or(0, |_| libc::MOUNT_ATTR__ATIME),
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a NUL-terminated empty string and `attr` a live
    // mount_attr whose size is passed with it; the kernel only reads both.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dir.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    match nix::errno::Errno::last() {
        nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM => Ok(false),
        e => Err(Error::sys("mount_setattr", shown.display(), e)),
    }
}

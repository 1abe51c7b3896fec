//! Switching the root: pivot_root(2), or MS_MOVE + chroot for `--no-pivot`.

use crate::error::{Result, SysResult};
use nix::mount::MsFlags;
use std::path::Path;

/// pivot_root with new and old root the same directory, then detach the old
/// root from under us: no temporary directory in the rootfs is needed.
pub fn pivot_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).sys("chdir", rootfs.display())?;
    nix::unistd::pivot_root(".", ".").sys("pivot_root", rootfs.display())?;
    // The old root is now stacked on "/": make it a slave so unmounting it
    // does not propagate back to the host, then detach it.
    super::mount::set_propagation(Path::new("."), MsFlags::MS_SLAVE | MsFlags::MS_REC)?;
    super::mount::umount_detach(Path::new("."))?;
    nix::unistd::chdir("/").sys("chdir", "/")
}

/// For rootfs on a ramfs, where pivot_root is refused.
pub fn move_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).sys("chdir", rootfs.display())?;
    super::mount::mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)?;
    nix::unistd::chroot(".").sys("chroot", rootfs.display())?;
    nix::unistd::chdir("/").sys("chdir", "/")
}

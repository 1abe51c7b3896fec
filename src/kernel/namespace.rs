//! Creating (unshare) and joining (setns) namespaces.

use crate::error::{Result, SysResult};
use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use std::path::Path;

/// Join the namespace at `path` (a /proc/PID/ns/* file or a bind mount of one).
pub fn join(path: &Path, flag: CloneFlags) -> Result<()> {
    join_fd(&open_ns(path)?, flag, path)
}

/// Open a namespace file, to join it later (paths under /proc change meaning
/// once a mount namespace has been joined).
pub fn open_ns(path: &Path) -> Result<std::os::fd::OwnedFd> {
    open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).sys("open", path.display())
}

/// setns on an opened namespace; `path` names it in errors.
pub fn join_fd(fd: &std::os::fd::OwnedFd, flag: CloneFlags, path: &Path) -> Result<()> {
    nix::sched::setns(fd, flag).sys("setns", path.display())
}

/// Create new namespaces for the calling process (pid: for its next child).
pub fn create(flags: CloneFlags) -> Result<()> {
    nix::sched::unshare(flags).sys("unshare", format!("{flags:?}"))
}

//! Making each kind of entry, relative to its parent resolved beneath the root.
#![forbid(unsafe_code)]

use super::fsops::{self, open_dir_at};
use super::meta::{self, Meta};
use super::Applier;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{makedev, mkdirat, mknodat, Mode, SFlag};
use std::ffi::OsStr;
use std::fs::{File, FileTimes, Permissions};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use xattr::FileExt;

fn sys<'a>(call: &'static str, shown: &'a str) -> impl FnOnce(Errno) -> Error + 'a {
    move |e| Error::sys(call, shown, e)
}

fn when(mtime: i64) -> SystemTime {
    if mtime >= 0 {
        UNIX_EPOCH + Duration::from_secs(mtime as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(mtime.unsigned_abs())
    }
}

impl Applier {
    pub(super) fn file<R: Read>(
        &mut self,
        data: &mut R,
        rel: &Path,
        m: &Meta,
        shown: &str,
    ) -> Result<()> {
        let (parent, name) = self.root.parent(rel)?;
        fsops::clear(&parent, &name, false).map_err(sys("remove", shown))?;
        let flags =
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(
            &parent,
            name.as_os_str(),
            flags,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(sys("create", shown))?;
        let mut f = File::from(fd);
        self.report.bytes +=
            std::io::copy(data, &mut f).map_err(|e| Error::io("write", shown, e))?;
        meta::chown_at(&parent, &name, m, &self.opts, &mut self.report, shown)?;
        f.set_permissions(Permissions::from_mode(m.mode))
            .map_err(|e| Error::io("chmod", shown, e))?;
        meta::xattrs(&f, m, &mut self.report, shown)?;
        let t = when(m.mtime);
        f.set_times(FileTimes::new().set_accessed(t).set_modified(t))
            .map_err(|e| Error::io("set times", shown, e))
    }

    pub(super) fn dir(&mut self, rel: &Path, m: Meta, shown: &str) -> Result<()> {
        let (parent, name) = self.root.parent(rel)?;
        if !rel.as_os_str().is_empty()
            && !fsops::clear(&parent, &name, true).map_err(sys("remove", shown))?
        {
            mkdirat(&parent, name.as_os_str(), Mode::from_bits_truncate(0o700))
                .map_err(sys("mkdir", shown))?;
        }
        meta::chown_at(&parent, &name, &m, &self.opts, &mut self.report, shown)?;
        if !m.xattrs.is_empty() {
            let f = open_dir_at(&parent, &name).map_err(sys("open", shown))?;
            meta::xattrs(&f, &m, &mut self.report, shown)?;
        }
        self.dirs.push((rel.to_path_buf(), m));
        Ok(())
    }

    pub(super) fn symlink(
        &mut self,
        rel: &Path,
        target: &OsStr,
        m: &Meta,
        shown: &str,
    ) -> Result<()> {
        let (parent, name) = self.root.parent(rel)?;
        fsops::clear(&parent, &name, false).map_err(sys("remove", shown))?;
        nix::unistd::symlinkat(target, &parent, name.as_os_str()).map_err(sys("symlink", shown))?;
        meta::chown_at(&parent, &name, m, &self.opts, &mut self.report, shown)?;
        meta::times_at(&parent, &name, m.mtime, shown)
    }

    pub(super) fn hardlink(&mut self, rel: &Path, target: &Path, shown: &str) -> Result<()> {
        let tshown = self.root.shown(target);
        let missing = |e: Error| Error::layer(shown, format!("hardlink target {tshown}: {e}"));
        let (tparent, tname) = self.root.existing_parent(target).map_err(missing)?;
        match fsops::lstat(&tparent, &tname) {
            Ok(Some(st)) if !fsops::is_dir(&st) => {}
            Ok(Some(_)) => {
                return Err(Error::layer(
                    shown,
                    format!("hardlink to directory {tshown}"),
                ))
            }
            _ => {
                return Err(Error::layer(
                    shown,
                    format!("hardlink target {tshown} does not exist"),
                ))
            }
        }
        let (parent, name) = self.root.parent(rel)?;
        if rel == target {
            return Ok(());
        }
        fsops::clear(&parent, &name, false).map_err(sys("remove", shown))?;
        nix::unistd::linkat(
            &tparent,
            tname.as_os_str(),
            &parent,
            name.as_os_str(),
            AtFlags::empty(),
        )
        .map_err(sys("link", shown))
    }

    pub(super) fn node(
        &mut self,
        h: &tar::Header,
        rel: &Path,
        m: &Meta,
        shown: &str,
    ) -> Result<()> {
        let bad = || Error::layer(shown, "bad device number");
        let kind = match h.entry_type() {
            tar::EntryType::Char => SFlag::S_IFCHR,
            tar::EntryType::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFIFO,
        };
        let dev = if kind == SFlag::S_IFIFO {
            0
        } else {
            let major = h.device_major().map_err(|_| bad())?.unwrap_or(0);
            let minor = h.device_minor().map_err(|_| bad())?.unwrap_or(0);
            makedev(major.into(), minor.into())
        };
        let (parent, name) = self.root.parent(rel)?;
        fsops::clear(&parent, &name, false).map_err(sys("remove", shown))?;
        let perm = Mode::from_bits_truncate(m.mode & 0o777);
        match mknodat(&parent, name.as_os_str(), kind, perm, dev) {
            Ok(()) => {}
            Err(Errno::EPERM) if kind != SFlag::S_IFIFO => {
                self.report.warn(format!(
                    "{shown}: device node skipped (mknod: EPERM, not root)"
                ));
                return Ok(());
            }
            Err(e) => return Err(Error::sys("mknod", shown, e)),
        }
        meta::chown_at(&parent, &name, m, &self.opts, &mut self.report, shown)?;
        meta::chmod_at(&parent, &name, m.mode, shown)?;
        meta::times_at(&parent, &name, m.mtime, shown)
    }

    /// Directory modes and mtimes, last. A directory replaced since (by a
    /// symlink, say) is skipped: O_NOFOLLOW|O_DIRECTORY refuses it.
    pub(super) fn finish_dirs(&mut self) -> Result<()> {
        for (rel, m) in std::mem::take(&mut self.dirs).into_iter().rev() {
            let shown = self.root.shown(&rel);
            let at = if rel.as_os_str().is_empty() {
                self.root.parent(&rel)
            } else {
                self.root.existing_parent(&rel)
            };
            let Ok((parent, name)) = at else {
                continue;
            };
            let Ok(f) = open_dir_at(&parent, &name) else {
                continue;
            };
            f.set_permissions(Permissions::from_mode(m.mode))
                .map_err(|e| Error::io("chmod", &shown, e))?;
            let t = when(m.mtime);
            f.set_times(FileTimes::new().set_accessed(t).set_modified(t))
                .map_err(|e| Error::io("set times", &shown, e))?;
        }
        Ok(())
    }
}

/// overlayfs whiteout: a character device 0/0 named like what it hides.
pub(super) fn overlay_whiteout(parent: &impl AsFd, name: &OsStr, shown: &str) -> Result<()> {
    fsops::clear(parent, name, false).map_err(sys("remove", shown))?;
    mknodat(parent, name, SFlag::S_IFCHR, Mode::empty(), 0).map_err(sys("mknod whiteout", shown))
}

/// overlayfs opaque directory: the `overlay.opaque` xattr set to `y`.
pub(super) fn overlay_opaque(
    parent: &impl AsFd,
    name: &OsStr,
    user: bool,
    shown: &str,
) -> Result<()> {
    let f = open_dir_at(parent, name).map_err(sys("open", shown))?;
    let key = if user {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    };
    f.set_xattr(key, b"y")
        .map_err(|e| Error::io("setxattr", shown, e))
}

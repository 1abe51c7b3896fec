//! After pivot_root (init): read-only paths, masked paths (each target held by
//! fd, the null device checked), then a read-only root.
#![forbid(unsafe_code)]

use crate::error::{Context, Error, Result, SysResult};
use crate::kernel::mount::{mount, remount_bind};
use crate::kernel::resolve::fd_path;
use crate::plan::Plan;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag};
use std::os::fd::OwnedFd;
use std::path::Path;

/// After pivot_root: masked and read-only paths, then a read-only root.
pub fn finish(plan: &Plan) -> Result<()> {
    // runc's order: read-only paths, then masked paths.
    for p in &plan.readonly_paths {
        make_readonly(p).context(|| format!("making {} read-only", p.display()))?;
    }
    let mut null = None;
    for p in &plan.masked_paths {
        mask(p, &mut null).context(|| format!("masking {}", p.display()))?;
    }
    if plan.rootfs_readonly {
        remount_bind(Path::new("/"), MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// The container's /dev/null, checked to be the null device (1:3) and held
/// by fd, so a /dev/null swapped for a symlink or another node cannot carry
/// a masked path's bind mount elsewhere (runc's CVE-2025-31133).
fn null_device(path: &Path) -> Result<OwnedFd> {
    let fd = open_nofollow(path)?;
    let st = nix::sys::stat::fstat(&fd).sys("fstat", path.display())?;
    let is_null = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFCHR
        && st.st_rdev == nix::sys::stat::makedev(1, 3);
    if !is_null {
        return Err(Error::unsupported(
            "linux.maskedPaths",
            "/dev/null in the container is not the null device (1:3): refusing to mask with it",
        ));
    }
    Ok(fd)
}

fn open_nofollow(p: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .sys("open", p.display())
}

/// Mask `p`: a read-only tmpfs over a directory, the null device over
/// anything else; the target is held by fd (a symlink is not followed: it is
/// left alone).
fn mask(p: &Path, null: &mut Option<OwnedFd>) -> Result<()> {
    let target = match open_nofollow(p) {
        Err(e) if e.errno() == Some(Errno::ENOENT) => return Ok(()),
        other => other?,
    };
    let st = nix::sys::stat::fstat(&target).sys("fstat", p.display())?;
    match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFLNK => Ok(()),
        SFlag::S_IFDIR => mount(
            Some(Path::new("tmpfs")),
            &fd_path(&target),
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None,
        ),
        _ => {
            if null.is_none() {
                *null = Some(null_device(Path::new("/dev/null"))?);
            }
            let source = fd_path(null.as_ref().expect("opened above"));
            mount(
                Some(&source),
                &fd_path(&target),
                None,
                MsFlags::MS_BIND,
                None,
            )
        }
    }
}

fn make_readonly(p: &Path) -> Result<()> {
    if !p.exists() {
        return Ok(());
    }
    mount(Some(p), p, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
    remount_bind(p, MsFlags::MS_RDONLY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_real_null_device_masks() {
        null_device(Path::new("/dev/null")).unwrap();
        let dir = std::env::temp_dir().join(format!("nook-null-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.join("link")).unwrap();
        for bad in ["file", "link"] {
            assert!(null_device(&dir.join(bad)).is_err(), "{bad}");
        }
        assert!(null_device(Path::new("/dev/zero")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

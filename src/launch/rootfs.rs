//! Building the container's filesystem view, run by init before pivot_root
//! (`prepare`; what follows pivot_root is in masks.rs). Every destination is resolved beneath
//! the rootfs, so a symlink in an image can never redirect a mount to the host.
#![forbid(unsafe_code)]

use crate::error::{Context, Error, Result, SysResult};
use crate::kernel::cgroup::Cgroup;
use crate::kernel::mount::{mount, remount_bind, set_propagation, set_tree_flags};
use crate::kernel::resolve::{fd_path, open_root, resolve, Create};
use crate::plan::{Device, DeviceKind, DeviceMethod, MountKind, MountOp, NsKind, Plan};
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Mounts, devices and /dev links, in the host's view (before pivot_root).
pub fn prepare(plan: &Plan, cgroup: &Cgroup) -> Result<()> {
    set_propagation(Path::new("/"), plan.root_propagation)?;
    // pivot_root refuses a new root whose parent mount is shared (and a shared
    // parent would carry our bind mount to other namespaces): make it private.
    // After a recursive slave or private (the default rslave) nothing in this
    // namespace is shared any more: no need to scan mountinfo for it.
    let recursive = plan.root_propagation.contains(MsFlags::MS_REC);
    let unshared = plan
        .root_propagation
        .intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE);
    if !(recursive && unshared) {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if let Some(parent) = crate::host::shared_parent_mount(&mountinfo, &plan.rootfs) {
            set_propagation(&parent, MsFlags::MS_PRIVATE)?;
        }
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    let root = open_root(&plan.rootfs)?;
    for op in &plan.mounts {
        mount_one(&root, &plan.rootfs, op, cgroup, plan.has(NsKind::Cgroup))
            .context(|| format!("mounting {}", op.dest.display()))?;
    }
    if !plan.devices.is_empty() {
        for d in &plan.devices {
            make_device(&root, &plan.rootfs, d, plan.device_method)
                .context(|| format!("creating device {}", d.path.display()))?;
        }
        dev_links(&root, &plan.rootfs, plan)?;
    }
    // runc creates a missing working directory; beneath the root, like any path.
    resolve(&root, &plan.rootfs, &plan.process.cwd, Some(Create::Dir))
        .context(|| format!("process.cwd {}", plan.process.cwd.display()))?;
    Ok(())
}

fn source_is_dir(src: &Path) -> Result<bool> {
    std::fs::metadata(src)
        .map(|m| m.is_dir())
        .map_err(|e| Error::io("stat", src, e))
}

fn mount_one(
    root: &OwnedFd,
    rootfs: &Path,
    op: &MountOp,
    cgroup: &Cgroup,
    cgroupns: bool,
) -> Result<()> {
    let src = op.source.as_deref();
    match &op.kind {
        MountKind::Bind { recursive } => {
            let src = src.expect("plan checks bind sources");
            let create = if source_is_dir(src)? {
                Create::Dir
            } else {
                Create::File
            };
            let target = resolve(root, rootfs, &op.dest, Some(create))?;
            let rec = if *recursive {
                MsFlags::MS_REC
            } else {
                MsFlags::empty()
            };
            mount(
                Some(src),
                &fd_path(&target),
                None,
                MsFlags::MS_BIND | rec,
                None,
            )?;
            // The mount now at the destination, when there is more to do to it.
            if op.needs_bind_remount() || !op.propagation.is_empty() {
                let target = resolve(root, rootfs, &op.dest, None)?;
                if op.needs_bind_remount() {
                    remount_bind(&fd_path(&target), op.flags - MsFlags::MS_BIND)?;
                }
                for p in &op.propagation {
                    set_propagation(&fd_path(&target), *p)?;
                }
            }
        }
        MountKind::Fs { fstype } => {
            let target = resolve(root, rootfs, &op.dest, Some(Create::Dir))?;
            let bound = match mount_fs(src, &fd_path(&target), fstype, op) {
                Err(e)
                    if fstype == "cgroup2"
                        && matches!(e.errno(), Some(Errno::EPERM) | Some(Errno::EBUSY)) =>
                {
                    cgroup2_bind(&fd_path(&target), cgroup, cgroupns, &e)?;
                    true
                }
                other => other.map(|()| false)?,
            };
            if bound || !op.propagation.is_empty() {
                let target = resolve(root, rootfs, &op.dest, None)?;
                if bound {
                    remount_bind(&fd_path(&target), op.flags)?;
                }
                for p in &op.propagation {
                    set_propagation(&fd_path(&target), *p)?;
                }
            }
        }
        MountKind::CgroupV1 { controllers } => cgroup_v1(root, rootfs, op, controllers, cgroup)?,
    }
    Ok(())
}

/// cgroup2 cannot be mounted by a user namespace that does not own the cgroup
/// namespace (EPERM: `spec --rootless` has none), nor onto the cgroup2 mount that a
/// `/sys` bound from the host brings along (EBUSY: same filesystem on the same
/// mount point). Bind instead, as runc does: the container's own cgroup when it has
/// a cgroup namespace (what a mount would show), else the host's tree, whose paths
/// are those /proc/self/cgroup names. The caller applies the flags by a remount.
fn cgroup2_bind(target: &Path, cgroup: &Cgroup, cgroupns: bool, why: &Error) -> Result<()> {
    let src = match cgroup {
        Cgroup::V2 { dir, .. } if cgroupns => dir.clone(),
        _ => PathBuf::from(crate::kernel::cgroup::V2_ROOT),
    };
    crate::log::debug(&format!(
        "cgroup2 not mountable here ({why}): binding {}",
        src.display()
    ));
    mount(
        Some(&src),
        target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
}

fn mount_fs(src: Option<&Path>, target: &Path, fstype: &str, op: &MountOp) -> Result<()> {
    match mount(src, target, Some(fstype), op.flags, Some(&op.data)) {
        // In a user namespace the gid= of devpts may be unmapped: retry without it.
        Err(e)
            if fstype == "devpts"
                && e.errno() == Some(Errno::EINVAL)
                && op.data.contains("gid=") =>
        {
            let data: Vec<&str> = op
                .data
                .split(',')
                .filter(|o| !o.starts_with("gid="))
                .collect();
            mount(src, target, Some(fstype), op.flags, Some(&data.join(",")))
        }
        other => other,
    }
}

/// A v1 cgroup mount: a tmpfs holding a bind of this process's cgroup in each hierarchy.
/// Only the container's own cgroup directories are bound (never a hierarchy's
/// root): without a cgroup for a hierarchy, that hierarchy is left out.
fn cgroup_v1(
    root: &OwnedFd,
    rootfs: &Path,
    op: &MountOp,
    controllers: &[String],
    cgroup: &Cgroup,
) -> Result<()> {
    let ro = op.flags.contains(MsFlags::MS_RDONLY);
    let base = op.flags - MsFlags::MS_RDONLY;
    let target = resolve(root, rootfs, &op.dest, Some(Create::Dir))?;
    mount(
        Some(Path::new("tmpfs")),
        &fd_path(&target),
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )?;
    let own: Vec<(String, PathBuf)> = match cgroup {
        Cgroup::V1 { dirs, .. } => dirs.clone(),
        _ => Vec::new(),
    };
    // The tmpfs is new and ours, and nothing runs in the container yet:
    // what is made in it is reached by name, not resolved beneath the rootfs
    // again (a dozen hierarchies, a lookup of every component each).
    let tmpfs = resolve(root, rootfs, &op.dest, None)?;
    let flags = base
        | if ro {
            MsFlags::MS_RDONLY
        } else {
            MsFlags::empty()
        };
    let mut bound = Vec::new();
    for ctrl in controllers {
        let Some((_, src)) = own.iter().find(|(h, _)| h == ctrl) else {
            continue;
        };
        let shown = || op.dest.join(ctrl).display().to_string();
        nix::sys::stat::mkdirat(&tmpfs, ctrl.as_str(), Mode::from_bits_truncate(0o755))
            .sys("mkdirat", shown())?;
        let dest = fd_path(&tmpfs).join(ctrl);
        mount(
            Some(src),
            &dest,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        bound.push(dest);
        if ctrl.contains(',') {
            for part in ctrl.split(',') {
                match nix::unistd::symlinkat(ctrl.as_str(), &tmpfs, part) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(Error::sys("symlinkat", op.dest.join(part).display(), e)),
                }
            }
        }
    }
    // The binds' flags: in one call for the tree (the tmpfs's own given back
    // after, `ro` being for the binds only), else a remount each.
    if bound.is_empty() {
        return Ok(());
    }
    if set_tree_flags(&tmpfs, flags, &op.dest)? {
        if ro {
            remount_bind(&fd_path(&tmpfs), base)?;
        }
    } else {
        for dest in &bound {
            remount_bind(dest, flags)?;
        }
    }
    // As runc: `ro` applies to the hierarchy binds; the tmpfs holding them stays writable.
    Ok(())
}

fn make_device(root: &OwnedFd, rootfs: &Path, d: &Device, method: DeviceMethod) -> Result<()> {
    let parent = d.path.parent().unwrap_or(Path::new("/dev"));
    let name = d
        .path
        .file_name()
        .ok_or_else(|| Error::config("linux.devices", "device path has no name"))?;
    let dir = resolve(root, rootfs, parent, Some(Create::Dir))?;
    let shown = rootfs.join(d.path.strip_prefix("/").unwrap_or(&d.path));
    match method {
        DeviceMethod::Mknod => {
            let kind = match d.kind {
                DeviceKind::Char => SFlag::S_IFCHR,
                DeviceKind::Block => SFlag::S_IFBLK,
                DeviceKind::Fifo => SFlag::S_IFIFO,
            };
            let dev = nix::sys::stat::makedev(d.major, d.minor);
            let mode = Mode::from_bits_truncate(d.mode);
            match nix::sys::stat::mknodat(&dir, name, kind, mode, dev) {
                Ok(()) => {}
                Err(Errno::EEXIST) => {
                    nix::unistd::unlinkat(&dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                        .sys("unlinkat", shown.display())?;
                    nix::sys::stat::mknodat(&dir, name, kind, mode, dev)
                        .sys("mknodat", shown.display())?;
                }
                Err(e) => return Err(Error::sys("mknodat", shown.display(), e)),
            }
            nix::unistd::fchownat(
                &dir,
                name,
                Some(d.uid.into()),
                Some(d.gid.into()),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .sys("fchownat", shown.display())?;
        }
        DeviceMethod::Bind => {
            let target = resolve(root, rootfs, &d.path, Some(Create::File))?;
            mount(
                Some(&d.path),
                &fd_path(&target),
                None,
                MsFlags::MS_BIND,
                None,
            )?;
        }
    }
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx → pts/ptmx.
fn dev_links(root: &OwnedFd, rootfs: &Path, plan: &Plan) -> Result<()> {
    let dev = resolve(root, rootfs, Path::new("/dev"), Some(Create::Dir))?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    let has_devpts = plan.mounts.iter().any(|m| {
        m.dest == Path::new("/dev/pts")
            && m.kind
                == MountKind::Fs {
                    fstype: "devpts".into(),
                }
    });
    if has_devpts {
        match nix::unistd::unlinkat(&dev, "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys("unlinkat", rootfs.join("dev/ptmx").display(), e)),
        }
        links.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in links {
        match nix::unistd::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(Error::sys(
                    "symlinkat",
                    rootfs.join("dev").join(name).display(),
                    e,
                ))
            }
        }
    }
    Ok(())
}

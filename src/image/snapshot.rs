//! A container's rootfs from an image: an overlayfs snapshot (the image's
//! layer directories as lower dirs, top first, plus a private upper and work
//! dir), or, where overlay is unavailable, a flattened copy made by applying
//! the layer blobs again with whiteouts applied — and the reason is recorded.
//!
//! This module only prepares directories and the mount data; whoever runs the
//! container mounts it (in the container's mount namespace). `mount_overlay`
//! exists for `nook image mount` and the tests, which call it inside
//! `unshare -m`. A snapshot holds a reference (`refs/<image>/<name>`) so
//! `rmi` refuses the image while it exists.
#![forbid(unsafe_code)]

use super::compress::decompress;
use super::digest::Digest;
use super::layers::{self, Options, Whiteouts};
use super::store::Store;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    Overlay {
        /// Layer directories, top layer first (overlay's `lowerdir` order).
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        merged: PathBuf,
        /// `user.overlay.*` xattrs in the layers: mount with `userxattr`.
        userxattr: bool,
    },
    Copy {
        rootfs: PathBuf,
        /// Why overlay was not used.
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Auto,
    Overlay,
    Copy,
}

impl Snapshot {
    /// The directory to use as the container's root (the mount point for overlay).
    pub fn rootfs(&self) -> &Path {
        match self {
            Snapshot::Overlay { merged, .. } => merged,
            Snapshot::Copy { rootfs, .. } => rootfs,
        }
    }

    /// overlay's mount data: `lowerdir=…,upperdir=…,workdir=…[,userxattr]`.
    pub fn overlay_data(&self) -> Option<String> {
        let Snapshot::Overlay {
            lower,
            upper,
            work,
            userxattr,
            ..
        } = self
        else {
            return None;
        };
        let lower: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
        let mut d = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            upper.display(),
            work.display()
        );
        if *userxattr {
            d.push_str(",userxattr");
        }
        Some(d)
    }
}

/// Why overlay cannot be used here, if it cannot (checked, not tried: the
/// mount itself happens later, in the container's namespace).
pub fn overlay_unavailable(lower_len: usize) -> Option<String> {
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !fs
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
    {
        return Some("the kernel lists no overlay filesystem in /proc/filesystems".into());
    }
    if lower_len > 3500 {
        return Some(format!(
            "{lower_len} bytes of lower directories exceed a page of mount data"
        ));
    }
    None
}

/// Make the snapshot of image `id` in `dir` (which must not exist) for `user`.
pub fn create(store: &Store, id: &Digest, user: &str, dir: &Path, want: Want) -> Result<Snapshot> {
    let rec = store.image(id)?;
    let lower: Vec<PathBuf> = rec
        .layers
        .iter()
        .rev()
        .map(|l| store.layer_diff(&l.diff_id))
        .collect();
    let lower_len: usize = lower.iter().map(|p| p.as_os_str().len() + 1).sum();
    let why_not = match want {
        Want::Copy => Some("a copy was asked for".to_string()),
        _ => overlay_unavailable(lower_len),
    };
    if want == Want::Overlay {
        if let Some(why) = &why_not {
            return Err(Error::unsupported("overlay", why.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    hold(store, id, user, dir)?;
    let snap = match why_not {
        None => overlay_dirs(store, dir, lower)?,
        Some(reason) => {
            let rootfs = dir.join("rootfs");
            std::fs::create_dir(&rootfs).map_err(|e| Error::io("create", &rootfs, e))?;
            flatten(store, id, &rootfs)?;
            Snapshot::Copy { rootfs, reason }
        }
    };
    Ok(snap)
}

fn overlay_dirs(store: &Store, dir: &Path, lower: Vec<PathBuf>) -> Result<Snapshot> {
    let [upper, work, merged] = ["upper", "work", "merged"].map(|d| dir.join(d));
    for d in [&upper, &work, &merged] {
        std::fs::create_dir(d).map_err(|e| Error::io("create", d, e))?;
    }
    let userxattr = matches!(
        store.layer_options.whiteouts,
        Whiteouts::Overlay { user_xattr: true }
    );
    Ok(Snapshot::Overlay {
        lower,
        upper,
        work,
        merged,
        userxattr,
    })
}

/// Remove a snapshot made by `create` (unmounted) and drop its reference.
pub fn remove(store: &Store, id: &Digest, user: &str, dir: &Path) -> Result<()> {
    super::remove_all(dir)?;
    release(store, id, user);
    Ok(())
}

/// `user` holds image `id` (a file named after it in the image's refs
/// directory). Another container releasing the image at the same moment
/// removes the directory once it looks empty, between our mkdir and our
/// write: then make it again.
fn hold(store: &Store, id: &Digest, user: &str, dir: &Path) -> Result<()> {
    let refs = store.refs_dir(id);
    let mut tries = 0;
    loop {
        std::fs::create_dir_all(&refs).map_err(|e| Error::io("create", &refs, e))?;
        match std::fs::write(refs.join(user), dir.display().to_string()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 10 => tries += 1,
            other => return other.map_err(|e| Error::io("write", refs.join(user), e)),
        }
    }
}

/// `user` no longer holds image `id` (its snapshot is gone or going).
pub fn release(store: &Store, id: &Digest, user: &str) {
    let r = store.refs_dir(id);
    let _ = std::fs::remove_file(r.join(user));
    let _ = std::fs::remove_dir(&r);
}

/// Every layer of the image applied in order into `into`, whiteouts applied:
/// the flattened rootfs (`umoci unpack`'s result; the copy fallback).
pub fn flatten(store: &Store, id: &Digest, into: &Path) -> Result<()> {
    let rec = store.image(id)?;
    let opts = Options {
        whiteouts: Whiteouts::Apply,
        owners: store.layer_options.owners,
    };
    for l in &rec.layers {
        let path = store.blob_path(&l.blob);
        let f = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        layers::apply(decompress(f, l.blob.as_str())?, into, &opts)
            .context(|| format!("layer {}", l.blob))?;
    }
    Ok(())
}

/// Mount an overlay snapshot; when the kernel refuses (e.g. overlayfs in a
/// user namespace before 5.11, or an upper directory on a filesystem without
/// user xattrs) make a copy instead, with the refusal as its reason.
pub fn mounted_or_copy(
    store: &Store,
    id: &Digest,
    user: &str,
    dir: &Path,
    snap: Snapshot,
) -> Result<Snapshot> {
    match mount_overlay(&snap) {
        Ok(()) => Ok(snap),
        Err(e) => {
            remove(store, id, user, dir)?;
            let copy = create(store, id, user, dir, Want::Copy).inspect_err(|_| {
                let _ = remove(store, id, user, dir);
            })?;
            crate::log::debug(&format!("snapshot: copy instead of overlay: {e}"));
            Ok(match copy {
                Snapshot::Copy { rootfs, .. } => Snapshot::Copy {
                    rootfs,
                    reason: format!("overlay mount failed: {e}"),
                },
                other => other,
            })
        }
    }
}

/// Mount an overlay snapshot at its `merged` directory. Call it only in a
/// private mount namespace (the runtime's, or `unshare -m`).
pub fn mount_overlay(s: &Snapshot) -> Result<()> {
    let Some(data) = s.overlay_data() else {
        return Ok(());
    };
    crate::kernel::mount::mount(
        Some(Path::new("overlay")),
        s.rootfs(),
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(&data),
    )
}

#[cfg(test)]
mod tests;

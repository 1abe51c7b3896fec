//! Removing a container completely: the runtime's state and cgroup, any
//! process left in it, the snapshot, the name, the directory.

use super::containers::{self, Record};
use super::status;
use crate::error::{Error, Result};
use crate::image::digest::Digest;
use crate::image::store::Store;
use crate::kernel::process;
use nix::sys::signal::Signal;
use std::os::unix::fs::DirBuilderExt;
use std::time::{Duration, Instant};

/// Remove everything of a container whose init is dead (or is to be killed
/// with it); with `volumes`, its anonymous volumes too (docker's `rm -v`,
/// and `--rm`) unless another container mounts them. Call with the
/// container's lock held.
pub fn remove_files(store: &Store, rec: &Record, volumes: bool) -> Result<()> {
    let id = &rec.id;
    let anonymous = if volumes {
        super::volume::anonymous_of(store, id)
    } else {
        Vec::new()
    };
    match crate::container::delete(&containers::runtime(store), id, true) {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    // A monitor that is still there (hung, or waiting for our lock) has
    // nothing left to do.
    if status::exit_file(store, id).is_none() {
        if let Some(pid) = status::monitor_alive(store, id) {
            if pid != std::process::id() as i32 {
                let _ = process::kill(pid, Signal::SIGKILL);
            }
        }
    }
    let dir = containers::dir(store, id);
    let snap = dir.join("snapshot");
    // Mounted only in private namespaces; a merged dir still mounted here
    // (an older nook mounted it on the host) is detached first.
    let _ = crate::kernel::mount::umount_detach(&snap.join("merged"));
    match Digest::parse(&rec.image_id) {
        Ok(d) => crate::image::snapshot::remove(store, &d, id, &snap)?,
        Err(_) => crate::image::remove_all(&snap)?,
    }
    containers::release_name(store, &rec.name, id);
    crate::image::remove_all(&dir)?;
    super::volume::remove_unused(store, &anonymous)
}

/// `--rm` when the container has ended: the container stops existing for
/// every command at once (runtime state and cgroup gone, name released, image
/// no longer held, anonymous volumes removed, its directory moved to
/// `<store>/trash/<id>`); returns that path, for the caller to empty after
/// it has told its clients (`run --rm` need not wait for the snapshot's files
/// to be deleted). Call with the container's lock held.
pub fn retire(store: &Store, rec: &Record) -> Result<std::path::PathBuf> {
    let id = &rec.id;
    let anonymous = super::volume::anonymous_of(store, id);
    match crate::container::delete(&containers::runtime(store), id, true) {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let dir = containers::dir(store, id);
    let _ = crate::kernel::mount::umount_detach(&dir.join("snapshot").join("merged"));
    let trash = trash_dir(store);
    let to = trash.join(id);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&trash)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(e),
        })
        .and_then(|()| std::fs::rename(&dir, &to))
        .map_err(|e| Error::io("move to the trash", &dir, e))?;
    if let Ok(d) = Digest::parse(&rec.image_id) {
        crate::image::snapshot::release(store, &d, id);
    }
    containers::release_name(store, &rec.name, id);
    super::volume::remove_unused(store, &anonymous)?;
    Ok(to)
}

pub fn trash_dir(store: &Store) -> std::path::PathBuf {
    store.root().join("trash")
}

/// Delete what removals left in the trash: a monitor killed while emptying
/// it leaves a directory there (another one being emptied at the same time
/// is harmless to remove twice).
pub fn empty_trash(store: &Store) {
    let Ok(entries) = std::fs::read_dir(trash_dir(store)) else {
        return;
    };
    for e in entries.flatten() {
        let _ = crate::image::remove_all(&e.path());
    }
}

/// Wait until `cond` holds or `limit` passes; true if it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

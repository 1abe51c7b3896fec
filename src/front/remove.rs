//! Removing a container completely: the runtime's state and cgroup, any
//! process left in it, the snapshot, the name, the directory.

use super::containers::{self, Record};
use super::status;
use crate::error::{Error, Result};
use crate::image::digest::Digest;
use crate::image::store::Store;
use crate::kernel::process;
use nix::sys::signal::Signal;
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

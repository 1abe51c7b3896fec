//! `nook pause` / `nook unpause`: freeze or thaw every process of a
//! container through the runtime library (the cgroup freezer), as docker
//! does. The status follows from the runtime's state: `Up … (Paused)`, and
//! `inspect` shows `State.Paused`.

use super::containers;
use super::status::{self, Phase};
use crate::error::{Error, Result};
use crate::image::store::Store;
use std::io::Write;

/// Freeze (`freeze`) or thaw each container; prints each name as given.
pub fn pause(store: &Store, names: &[String], freeze: bool, out: &mut dyn Write) -> Result<()> {
    for c in names {
        let id = containers::lookup(store, c)?;
        let _lock = containers::lock(store, &id)?;
        let phase = status::live_locked(store, &id).phase;
        let rt = containers::runtime(store);
        match (freeze, phase) {
            (true, Phase::Running) => crate::container::cgroups::pause(&rt, &id)?,
            (false, Phase::Paused) => crate::container::cgroups::resume(&rt, &id)?,
            (true, Phase::Paused) => {
                return Err(Error::State(format!("Container {id} is already paused")))
            }
            (false, Phase::Running) => {
                return Err(Error::State(format!("Container {id} is not paused")))
            }
            _ => return Err(Error::State(format!("Container {id} is not running"))),
        }
        writeln!(out, "{c}").map_err(|e| Error::io("write", "stdout", e))?;
    }
    Ok(())
}

/// A paused container's processes cannot take a signal until thawed: thaw
/// it after signalling (docker does the same for `stop`, `kill`, `rm -f`).
pub fn thaw_if_paused(store: &Store, id: &str) {
    if status::live_locked(store, id).phase == Phase::Paused {
        let _ = crate::container::cgroups::resume(&containers::runtime(store), id);
    }
}

//! The runtime commands after `create` (create.rs): start, state, kill, delete, list.
//! Each one locks the container's directory for its whole run.

use super::hooks;
use super::state::{Saved, Status};
use super::store::{Entry, Store};
use crate::error::{Error, Result};
use crate::kernel::{process, start_gate};
use crate::plan::HookKind;
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub(super) fn current(entry: &Entry, saved: &Saved) -> Status {
    saved.status(entry.fifo().exists())
}

/// Open the start gate: the container's process execs. With a NOTIFY_SOCKET
/// (and a container created with one), return when the container is ready.
pub fn start(store: &Store, id: &str) -> Result<()> {
    let pid = store.open(id)?.1.pid;
    match start_notified(store, id)? {
        Some(pending) => pending.forward(pid, || process::alive(pid)),
        None => Ok(()),
    }
}

/// [`start`], leaving the wait for READY=1 (if any) to the caller.
pub fn start_notified(store: &Store, id: &str) -> Result<Option<super::notify::Pending>> {
    let (entry, saved) = store.open(id)?;
    let refused = match current(&entry, &saved) {
        Status::Created => None,
        Status::Stopped => Some("cannot start a container that has stopped"),
        Status::Running => Some("cannot start an already running container"),
        Status::Paused => Some("cannot start a paused container"),
        Status::Creating => Some("cannot start a container that is being created"),
    };
    if let Some(why) = refused {
        return Err(Error::State(why.into()));
    }
    let pending = super::notify::listen(&entry.dir)?;
    let fifo = entry.fifo();
    start_gate::open_and_read(&fifo, || process::alive(saved.pid))?;
    let _ = std::fs::remove_file(&fifo);
    let state = saved.oci_state(Status::Running);
    hooks::run_all_warning(HookKind::Poststart, &saved.hooks.poststart, &state);
    Ok(pending)
}

/// The runtime-spec State of a container.
pub fn state(store: &Store, id: &str) -> Result<serde_json::Value> {
    let (entry, saved) = store.open(id)?;
    let status = current(&entry, &saved);
    let mut v = saved.oci_state(status);
    v["pid"] = if status == Status::Stopped {
        0
    } else {
        saved.pid
    }
    .into();
    v["rootfs"] = saved.rootfs.display().to_string().into();
    v["created"] = saved.created.clone().into();
    if !saved.not_applied.is_empty() {
        v["notApplied"] = saved.not_applied.clone().into();
    }
    v["owner"] = if saved.owner == 0 {
        String::new()
    } else {
        saved.owner.to_string()
    }
    .into();
    Ok(v)
}

/// Signal the container's init, or with `all` every process in its cgroup.
pub fn kill(store: &Store, id: &str, sig: i32, all: bool) -> Result<()> {
    let (entry, saved) = store.open(id)?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(Error::State("container not running".into()));
    }
    if all && saved.cgroup.owns_leaf() {
        return saved.cgroup.kill_all(sig);
    }
    process::kill_raw(saved.pid, sig).map_err(|e| match e.errno() {
        Some(nix::errno::Errno::ESRCH) => Error::State("no such process".into()),
        _ => e,
    })
}

/// Delete a stopped (or created) container; `force` kills a running one first.
/// With `force`, a container that does not exist is not an error (containerd
/// deletes twice).
pub fn delete(store: &Store, id: &str, force: bool) -> Result<()> {
    let (entry, saved) = match store.open(id) {
        Ok(x) => x,
        Err(Error::NotFound(_)) if force => {
            store.remove_stale(id);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let status = current(&entry, &saved);
    match status {
        Status::Stopped => {}
        Status::Created => kill_and_wait(saved.pid)?,
        Status::Paused if force => {
            // A frozen task cannot die until thawed (v1 freezer).
            saved.cgroup.freeze(false)?;
            kill_and_wait(saved.pid)?
        }
        _ if force => kill_and_wait(saved.pid)?,
        s => {
            return Err(Error::State(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            )))
        }
    }
    // Processes that outlived init (joined by exec, or without a pid namespace);
    // only in a cgroup we made, never in a shared, pre-existing one. Usually
    // there are none (a pid namespace of its own dies with its init): one
    // rmdir finds that out, without a listing of the cgroup's processes.
    let owns = saved.cgroup.owns_leaf();
    if !(owns && saved.cgroup.destroy_if_empty()) {
        if owns {
            saved.cgroup.kill_all(libc::SIGKILL)?;
        }
        saved.cgroup.destroy()?;
    }
    let state = saved.oci_state(Status::Stopped);
    entry.remove()?;
    hooks::run_all_warning(HookKind::Poststop, &saved.hooks.poststop, &state);
    Ok(())
}

fn kill_and_wait(pid: i32) -> Result<()> {
    let _ = process::kill(pid, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while process::alive(pid) {
        // Our own child (after `run`) must be reaped here; others are reaped by their parent.
        let _ = nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
        if Instant::now() > deadline {
            return Err(Error::State(format!(
                "container init {pid} did not die after SIGKILL"
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// One row of `list`.
#[derive(Debug, serde::Serialize)]
pub struct ListEntry {
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub created: String,
    pub owner: String,
}

pub fn list(store: &Store) -> Vec<ListEntry> {
    store
        .ids()
        .into_iter()
        .filter_map(|id| {
            let (entry, saved) = store.open(&id).ok()?;
            let status = current(&entry, &saved);
            Some(ListEntry {
                id,
                pid: if status == Status::Stopped {
                    0
                } else {
                    saved.pid
                },
                status: status.as_str().into(),
                bundle: saved.bundle.clone(),
                created: saved.created.clone(),
                owner: if saved.owner == 0 {
                    "root".into()
                } else {
                    saved.owner.to_string()
                },
            })
        })
        .collect()
}

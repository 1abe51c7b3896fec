//! Launching a container: three process roles, one channel between them.
//!
//! ```text
//! nook-runtime create (parent.rs)
//!   └─ fork ─ intermediate (intermediate.rs): user namespace + id maps, setns/unshare
//!                └─ fork ─ init (init.rs): PID 1; mounts, pivot_root, identity,
//!                                           ready, start gate, execve
//! ```
//! The parent returns init's pid once init reports `Ready` and sits blocked on
//! the start gate (exec.fifo). The message flow is drawn in `channel.rs`.
//! Every file here but `clone.rs` forbids `unsafe`.

pub mod channel;
pub mod clone;
mod init;
mod intermediate;
mod parent;
mod rootfs;
mod seccomp_agent;

use crate::error::Result;
use crate::plan::{HookKind, Plan};
use std::path::PathBuf;

/// Everything a launch needs besides the plan.
pub struct Request<'a> {
    pub plan: &'a Plan,
    /// The start gate, created by the caller in the container's state dir.
    pub fifo: PathBuf,
    pub console_socket: Option<PathBuf>,
    /// The caller's fds (from 3..3+N of --preserve-fds) that pass into the container.
    pub preserved_fds: Vec<i32>,
    /// Join a fresh session keyring named after the container (runc's default).
    pub new_keyring: bool,
    /// Runs the hooks of one kind, given init's pid (as the state JSON's `pid`).
    pub hooks: &'a dyn Fn(HookKind, i32) -> Result<()>,
}

/// Create the container's processes; returns init's pid (in our pid namespace).
pub fn create(req: &Request) -> Result<i32> {
    let (ours, theirs) = channel::pair()?;
    let intermediate = clone::fork_into(|| {
        ours.close_copy();
        intermediate::main(req, &theirs)
    })?;
    drop(theirs);
    parent::run(req, &ours, intermediate)
}

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
//! `exec` uses the same roles: the intermediate joins the namespaces of the
//! container's init, and its child (exec.rs) sets up identity and execs.
//! Every file here but `clone.rs` starts with `#![forbid(unsafe_code)]`.

pub mod channel;
pub mod clone;
mod exec;
mod init;
mod intermediate;
mod parent;
mod rootfs;
mod seccomp_agent;
mod steps;

use crate::error::Result;
use crate::plan::{HookKind, Plan};
use std::path::PathBuf;

/// Everything a launch needs besides the plan.
pub struct Request<'a> {
    pub plan: &'a Plan,
    /// An O_PATH handle on the start gate (the caller's exec.fifo), opened before
    /// any fork: init may not be able to reach the state dir by path.
    /// `None` for exec, which has no start gate.
    pub gate: Option<&'a std::os::fd::OwnedFd>,
    /// exec: join the namespaces of this running init instead of making new ones.
    pub exec_into: Option<ExecTarget<'a>>,
    pub console_socket: Option<PathBuf>,
    /// The caller's fds (from 3..3+N of --preserve-fds) that pass into the container.
    pub preserved_fds: Vec<i32>,
    /// Join a fresh session keyring named after the container (runc's default).
    pub new_keyring: bool,
    /// The container's cgroup (created and limited); the intermediate enters it
    /// before anything else, so init and all it starts are inside from birth.
    pub cgroup: &'a crate::kernel::cgroup::Cgroup,
    /// Runs the hooks of one kind, given init's pid (as the state JSON's `pid`).
    pub hooks: &'a dyn Fn(HookKind, i32) -> Result<()>,
}

/// The running init an exec joins: its pid, and a pidfd opened while its
/// start time was checked, so a pid reused meanwhile is noticed.
#[derive(Clone, Copy)]
pub struct ExecTarget<'a> {
    pub pid: i32,
    pub pidfd: &'a std::os::fd::OwnedFd,
}

/// Create the container's processes; returns init's pid (in our pid namespace).
/// What a launch leaves with the caller.
pub struct Launched {
    /// init's pid, in our pid namespace.
    pub pid: i32,
    /// The pty master, when the process has a terminal and no console socket was given.
    pub console: Option<std::os::fd::OwnedFd>,
}

pub fn create(req: &Request) -> Result<Launched> {
    let (ours, theirs) = channel::pair()?;
    let intermediate = clone::fork_into(|| {
        ours.close_copy();
        intermediate::main(req, &theirs)
    })?;
    drop(theirs);
    parent::run(req, &ours, intermediate)
}

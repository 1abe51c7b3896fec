//! Launching a container: the runtime clones init, one channel between them.
//!
//! ```text
//! nook-runtime create (parent.rs): places init in the cgroup, writes its id maps
//!   └─ clone3(CLONE_NEW*, v2: CLONE_INTO_CGROUP) ─ init (direct.rs, then init.rs):
//!        PID 1 at once; unshare of the cgroup namespace (and, in a new user
//!        namespace, net and ipc) once placed; mounts, pivot_root, identity,
//!        ready, start gate, execve
//! ```
//! Where one clone cannot do it (namespaces joined by path, `exec`), an
//! intermediate process does the namespace work and forks init:
//! ```text
//! nook-runtime create/exec (parent.rs)
//!   └─ fork ─ intermediate (intermediate.rs): setns, user namespace + id maps, unshare
//!                └─ fork ─ init (init.rs) or the exec'd process (exec.rs)
//! ```
//! The parent returns init's pid once init reports `Ready` and sits blocked on
//! the start gate (exec.fifo). The message flow is drawn in `channel.rs`.
//! `exec`'s intermediate joins the namespaces of the container's init, and its
//! child (exec.rs) sets up identity and execs.
//! Every file here but `clone.rs` starts with `#![forbid(unsafe_code)]`.

pub mod channel;
pub mod clone;
mod direct;
mod exec;
mod init;
mod intermediate;
mod masks;
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
    /// `None` for exec, which has no start gate, and for `run`, whose init goes
    /// on to its startContainer hooks and execve at once (`Launched::channel`).
    pub gate: Option<&'a std::os::fd::OwnedFd>,
    /// exec: join the namespaces of this running init instead of making new ones.
    pub exec_into: Option<ExecTarget<'a>>,
    pub console_socket: Option<PathBuf>,
    /// The caller's fds (from 3..3+N of --preserve-fds) that pass into the container.
    pub preserved_fds: Vec<i32>,
    /// Join a fresh session keyring named after the container (runc's default).
    pub new_keyring: bool,
    /// init may wait long at the start gate (`create`, not `run`, and not
    /// through the exec stub): it gives back the runtime's clean pages just
    /// before it blocks there.
    pub waits: bool,
    /// The exec stub (kernel::exec_stub) init executes the program through,
    /// when the runtime does not run from a sealed view of its binary
    /// (container::sealing). Kept open by init until its execve.
    pub exec_stub: Option<&'a std::os::fd::OwnedFd>,
    /// The container's cgroup (created and limited, or with `cgroup_later`
    /// its v1 hierarchies still to make); init (or the intermediate) is in it
    /// before its mounts, hooks and devices, so all it starts is inside from birth.
    pub cgroup: &'a crate::kernel::cgroup::Cgroup,
    /// A cgroup made in steps (`Cgroup::create_in_steps`): makes and limits
    /// its v1 hierarchies. The parent runs it once init is cloned (given its
    /// pid), while init makes its network namespace; init joins them (by
    /// path) once the parent says they are done, before its mounts. Through
    /// an intermediate it runs before the fork.
    pub cgroup_later: Option<&'a dyn Fn(Option<i32>) -> Result<()>>,
    /// Runs the hooks of one kind, given init's pid (as the state JSON's `pid`).
    pub hooks: &'a dyn Fn(HookKind, i32) -> Result<()>,
}

impl Request<'_> {
    /// init execs the exec stub before the start gate and the stub waits
    /// there (kernel::exec_stub): `create` returns once init has exec'd it.
    pub fn stub_at_gate(&self) -> bool {
        self.gate.is_some() && self.exec_stub.is_some()
    }
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
    /// Without a start gate (`run`): our end of the channel, which reads an
    /// `Error` if init's startContainer hooks fail, else end-of-file once
    /// init has exec'd (its end is close-on-exec). With a gate the exec stub
    /// waits at (`Request::stub_at_gate`): end-of-file once init has exec'd
    /// the stub, an `Error` if it could not.
    pub channel: Option<channel::Channel>,
}

pub fn create(req: &Request) -> Result<Launched> {
    let (ours, theirs) = channel::pair()?;
    // The first child is born in the container's cgroup2 directory (v2, or a
    // hybrid host's unified tree) and moves itself into the v1 hierarchies:
    // the parent moves it only where the kernel cannot clone into a cgroup.
    // The v1 hierarchies of a cgroup made in steps are made after the clone.
    let split = direct::split(req);
    let joining = match (split, req.cgroup_later) {
        (Some(_), Some(_)) => req.cgroup.joining_v2(),
        (None, Some(finish)) => finish(None).and_then(|_| req.cgroup.joining())?,
        (_, None) => req.cgroup.joining()?,
    };
    let cgroup = joining.into.as_ref().map(std::os::fd::AsFd::as_fd);
    if let Some(split) = split {
        // Born in the cgroup2 directory if the kernel lets us; else (a kernel
        // before 5.7, or a unified tree that refuses, e.g. a threaded parent)
        // the same clone without it, and the parent moves init there.
        let v2 = joining.has_v2();
        let targets = [cgroup, None];
        for target in targets.iter().take(if cgroup.is_some() { 2 } else { 1 }) {
            // init waits for the parent only if the parent has something to
            // do first: its id maps, or that move.
            let moved = v2 && target.is_none();
            let ack = req.plan.has_new(crate::plan::NsKind::User) || moved;
            let overlap = !split
                .later
                .contains(nix::sched::CloneFlags::CLONE_NEWCGROUP);
            let waits = init::Waits {
                cgroup_later: req.cgroup_later.is_some(),
                moving: moved && overlap,
            };
            let child = || {
                ours.close_copy();
                direct::main(req, &theirs, &joining, split.later, ack, waits)
            };
            match clone::clone_into(split.clone, *target, child) {
                Ok(init) => {
                    drop(theirs);
                    let started = parent::Started::Init {
                        pid: init,
                        overlap,
                        ack,
                    };
                    let launched = parent::run(req, &ours, started, !moved)?;
                    return Ok(keep_channel(req, launched, ours));
                }
                // Nothing was made. A kernel without clone3, CLONE_INTO_CGROUP or
                // CLONE_NEWTIME can still do it in steps; a refusal (no user
                // namespaces, a limit) is met again below and reported as the
                // step that failed.
                Err((e, _)) => crate::log::debug(&format!(
                    "clone3({:?}, into a cgroup: {}): {e}",
                    split.clone,
                    target.is_some()
                )),
            }
        }
        crate::log::debug("creating the namespaces in steps");
    }
    // Through the intermediate, a cgroup made in steps is finished first.
    let joining = match (split, req.cgroup_later) {
        (Some(_), Some(finish)) => finish(None).and_then(|_| req.cgroup.joining())?,
        _ => joining,
    };
    let cgroup = joining.into.as_ref().map(std::os::fd::AsFd::as_fd);
    let child = || {
        ours.close_copy();
        intermediate::main(req, &theirs, &joining)
    };
    let (intermediate, placed) = match cgroup {
        Some(dir) => clone::fork_into_cgroup(dir, child)?,
        None => (clone::fork_into(child)?, false),
    };
    drop(theirs);
    let started = parent::Started::Intermediate(intermediate);
    let launched = parent::run(req, &ours, started, placed)?;
    Ok(keep_channel(req, launched, ours))
}

/// A launch without a start gate, or whose gate the stub waits at, keeps the
/// channel for the caller (see `Launched::channel`).
fn keep_channel(req: &Request, mut launched: Launched, ours: channel::Channel) -> Launched {
    if (req.gate.is_none() || req.stub_at_gate()) && req.exec_into.is_none() {
        launched.channel = Some(ours);
    }
    launched
}

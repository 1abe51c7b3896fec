//! The intermediate process: enters or creates the namespaces, then forks the
//! container's init (so that init is PID 1 of a new pid namespace) and exits.
//! `exec` always takes it; `create` only where one clone cannot do the work
//! (direct.rs: namespaces joined by path).
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::Request;
use crate::error::{Context, Result, SysResult};
use crate::kernel::cgroup::Joining;
use crate::kernel::{namespace, process};
use crate::plan::NsKind;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid};
use std::convert::Infallible;

pub fn main(req: &Request, chan: &Channel, joining: &Joining) -> Result<Infallible> {
    match joining.join_v1().and_then(|_| run(req, chan)) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            Err(e)
        }
    }
}

fn run(req: &Request, chan: &Channel) -> Result<()> {
    let plan = req.plan;
    // Wait until we are in the container's cgroup (see `launch::create`).
    chan.expect_ack()?;
    // If the runtime dies while we set up, so do we.
    process::set_parent_death_signal(Some(Signal::SIGKILL))?;
    // /proc/PID/exe of a half-made container must not be reachable (CVE-2019-5736).
    process::set_dumpable(false)?;
    match req.exec_into {
        Some(init) => join_container(plan, init)?,
        None => enter_new(req, chan)?,
    }
    // (A death signal is not inherited by a fork: init's is clear.)
    let pid = super::clone::fork_into(|| match req.exec_into {
        Some(_) => super::exec::main(req, chan),
        None => super::init::main(req, chan, super::init::Waits::default()),
    })?;
    chan.send(&Msg::InitPid { pid })
}

/// exec: join each namespace the container has, from its init. All are opened
/// first (once the mount namespace is joined, /proc/<init> means something
/// else). With our own privileges first: a namespace owned by the host's user
/// namespace (a CNI netns given by path) cannot be joined from inside the
/// container's; then the user namespace; then whatever needed it.
fn join_container(plan: &crate::plan::Plan, init: super::ExecTarget) -> Result<()> {
    let super::ExecTarget { pid: init, pidfd } = init;
    let mut opened = Vec::new();
    for ns in &plan.namespaces {
        let name = ns.kind.proc_name();
        let path = std::path::PathBuf::from(format!("/proc/{init}/ns/{name}"));
        // A namespace shared with us (same inode) need not, and sometimes may not, be joined.
        let ino = |p: &std::path::Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        };
        if ino(&path).is_some()
            && ino(&path) == ino(std::path::Path::new(&format!("/proc/self/ns/{name}")))
        {
            continue;
        }
        opened.push((ns.kind, namespace::open_ns(&path)?, path));
    }
    // Opened by pid: still the container's init only if the pidfd taken when
    // its start time was checked still holds that pid.
    if !process::pidfd_holds_pid(pidfd) {
        return Err(crate::error::Error::State(
            "cannot exec in a stopped container".into(),
        ));
    }
    let join = |(kind, fd, path): &(NsKind, std::os::fd::OwnedFd, std::path::PathBuf)| {
        namespace::join_fd(fd, kind.flag(), path)
            .context(|| format!("joining the container's {} namespace", kind.proc_name()))
    };
    let mut later = Vec::new();
    for entry in opened.iter().filter(|(k, _, _)| *k != NsKind::User) {
        match join(entry) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(nix::errno::Errno::EPERM) => later.push(entry),
            Err(e) => return Err(e),
        }
    }
    for entry in opened.iter().filter(|(k, _, _)| *k == NsKind::User) {
        join(entry)?;
    }
    later.into_iter().try_for_each(join)
}

/// create: join namespaces given by path, create the new ones.
fn enter_new(req: &Request, chan: &Channel) -> Result<()> {
    let plan = req.plan;
    // runc's order: join every namespace given by path (a user namespace first,
    // as it owns the others), then create a new user namespace (so that joined
    // host-owned namespaces were entered with our host privileges), then the rest.
    let mut new = CloneFlags::empty();
    for ns in &plan.namespaces {
        match &ns.path {
            Some(path) => namespace::join(path, ns.kind.flag())
                .context(|| format!("linux.namespaces {}", ns.kind.proc_name()))?,
            None if ns.kind == NsKind::User => {}
            None => new |= ns.kind.flag(),
        }
    }
    if plan.has_new(NsKind::User) {
        namespace::create(CloneFlags::CLONE_NEWUSER).map_err(crate::doctor::explain_userns)?;
        // Without dumpable the parent cannot write our maps; it is reset below.
        process::set_dumpable(true)?;
        chan.send(&Msg::MapIds)?;
        chan.expect_ack()?;
        process::set_dumpable(false)?;
        become_root()?;
        // A change of ids clears the death signal: set it again.
        process::set_parent_death_signal(Some(Signal::SIGKILL))?;
    }
    if !new.is_empty() {
        namespace::create(new)?;
    }
    Ok(())
}

/// In a new user namespace whose maps are written: become its root (ids 0),
/// with the capabilities that gives for the steps that follow.
pub(super) fn become_root() -> Result<()> {
    let (g, u) = (Gid::from_raw(0), Uid::from_raw(0));
    nix::unistd::setresgid(g, g, g).sys("setresgid", 0)?;
    nix::unistd::setresuid(u, u, u).sys("setresuid", 0)
}

//! The runtime's side of a launch: places the child it cloned (init, or the
//! intermediate) in the cgroup, answers the children's requests until init
//! says it is ready (or fails), and reaps the intermediate process.
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::Request;
use crate::error::{Error, Result};
use crate::kernel::{fdpass, idmap, process};
use crate::plan::{HookKind, NsKind};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// The process the parent cloned: init itself (one clone, direct.rs), or the
/// intermediate that will fork it.
#[derive(Clone, Copy)]
pub enum Started {
    /// `overlap`: init may go on while it is moved into the cgroup (see `place`).
    /// `ack`: init waits for the parent's Ack (it has maps to write or a move
    /// to make); without, the parent sends none.
    Init {
        pid: i32,
        overlap: bool,
        ack: bool,
    },
    Intermediate(i32),
}

/// `placed`: that process was born in the container's cgroup (clone3).
pub fn run(
    req: &Request,
    chan: &Channel,
    started: Started,
    placed: bool,
) -> Result<super::Launched> {
    let (first, intermediate, mut init, overlap) = match started {
        Started::Init { pid, overlap, ack } => (pid, None, Some(pid), (overlap, ack)),
        Started::Intermediate(pid) => (pid, Some(pid), None, (false, true)),
    };
    let result = place(req, chan, first, placed, intermediate.is_none(), overlap)
        .and_then(|_| match (intermediate, req.cgroup_later) {
            // A cgroup made in steps, while init sets up (launch::Request).
            (None, Some(finish)) => finish(Some(first)).and_then(|_| chan.send(&Msg::Ack)),
            _ => Ok(()),
        })
        .and_then(|_| intermediate.map(process::pidfd_open).transpose())
        .and_then(|pidfd| {
            let intermediate = intermediate.zip(pidfd.as_ref());
            serve(req, chan, intermediate, &mut init)
        })
        // The child's own report says more than what failed here because
        // it had gone (a send to a closed channel, a move of a dead pid).
        .map_err(|e| match chan.pending_error() {
            Some(msg) if !matches!(e, Error::Child(_)) => Error::Child(msg),
            _ => e,
        });
    if result.is_err() {
        if let Some(pid) = init {
            let _ = process::kill(pid, Signal::SIGKILL);
            reap(pid);
        }
        if let Some(pid) = intermediate {
            let _ = process::kill(pid, Signal::SIGKILL);
        }
    }
    if let Some(pid) = intermediate {
        reap(pid);
    }
    result
}

/// Put the child into the container's cgroup2 directory where the kernel
/// could not clone it there (before 5.7, or a directory that refuses; v1
/// hierarchies the child joins itself, `cgroup::Joining`); init born by one clone gets its id maps now,
/// unasked (the intermediate asks with `MapIds` once it has made its user
/// namespace). Then let it go on.
///
/// With `overlap` (init born by one clone, no cgroup namespace to make) init
/// goes on first and is moved while it sets up its mounts: that
/// `cgroup.procs` write waits for an RCU grace period (milliseconds), which
/// then costs no time of init's. Nothing of the container's runs outside its
/// cgroup: init answers no message of the parent's before the move is done
/// (the parent reads none), and its process runs only after `start`, which
/// comes after `create` has returned. What init allocates before the move
/// stays charged to the runtime's cgroup, as the runtime's own memory.
fn place(
    req: &Request,
    chan: &Channel,
    pid: i32,
    placed: bool,
    is_init: bool,
    (overlap, ack): (bool, bool),
) -> Result<()> {
    if !placed && !overlap {
        req.cgroup.enter(pid)?;
    }
    if is_init && req.plan.has_new(NsKind::User) {
        write_maps(req, pid)?;
    }
    if ack {
        chan.send(&Msg::Ack)?;
    }
    if !placed && overlap {
        if let Err(e) = req.cgroup.enter(pid) {
            // init may have failed meanwhile (then the move could not find
            // it): its own error says more. Alive, it sends a message next,
            // unless it waits for the v1 hierarchies' Ack first (then its
            // report, if any, is already there: `run` looks).
            if req.cgroup_later.is_some() {
                return Err(e);
            }
            return match chan.recv() {
                Ok(Some((Msg::Error { msg }, _))) => Err(Error::Child(msg)),
                _ => Err(e),
            };
        }
    }
    Ok(())
}

/// `intermediate`: its pid and pidfd, when there is one.
fn serve(
    req: &Request,
    chan: &Channel,
    intermediate: Option<(i32, &OwnedFd)>,
    init: &mut Option<i32>,
) -> Result<super::Launched> {
    let mut console = None;
    // init and the intermediate write to one socket: init's messages may arrive
    // before the intermediate's InitPid, so they wait here until it has.
    let mut deferred: Vec<(Msg, Option<OwnedFd>)> = Vec::new();
    loop {
        let next = match (*init, deferred.is_empty()) {
            (Some(_), false) => Some(deferred.remove(0)),
            (Some(_), true) => chan.recv()?,
            // Until init is named, the intermediate dying is the end too.
            (None, _) => match intermediate {
                Some((_, pidfd)) => chan.recv_while_alive(pidfd)?,
                None => chan.recv()?,
            },
        };
        let Some((msg, fd)) = next else {
            return Err(Error::Init(match init {
                Some(_) => "container init exited before it was ready".into(),
                None => "the intermediate process exited before it named init".into(),
            }));
        };
        let Some(pid) = *init else {
            match msg {
                Msg::MapIds => map_ids(req, chan, intermediate)?,
                Msg::InitPid { pid } => *init = Some(pid),
                Msg::Error { msg } => return Err(Error::Child(msg)),
                other => deferred.push((other, fd)),
            }
            continue;
        };
        match msg {
            Msg::MapIds => map_ids(req, chan, intermediate)?,
            Msg::InitPid { pid } => *init = Some(pid),
            Msg::RunHooks => {
                let res = (req.hooks)(HookKind::Prestart, pid)
                    .and_then(|_| (req.hooks)(HookKind::CreateRuntime, pid));
                if let Err(e) = res {
                    let _ = chan.send(&Msg::Error { msg: e.to_string() });
                    return Err(e);
                }
                chan.send(&Msg::Ack)?;
            }
            Msg::Console => {
                let master =
                    fd.ok_or_else(|| Error::Init("console message without a pty".into()))?;
                console = send_console(req, master)?;
            }
            Msg::SeccompListener => {
                let listener =
                    fd.ok_or_else(|| Error::Init("seccomp listener message without an fd".into()))?;
                super::seccomp_agent::send(req.plan, pid, &listener)?;
                chan.send(&Msg::Ack)?;
            }
            Msg::Ready => {
                return Ok(super::Launched {
                    pid,
                    console,
                    channel: None,
                })
            }
            Msg::Error { msg } => return Err(Error::Child(msg)),
            Msg::Ack => return Err(Error::Init("unexpected ack from child".into())),
        }
    }
}

/// The intermediate asks for its maps.
fn map_ids(req: &Request, chan: &Channel, intermediate: Option<(i32, &OwnedFd)>) -> Result<()> {
    let (pid, _) =
        intermediate.ok_or_else(|| Error::Init("MapIds from init born by one clone".into()))?;
    write_maps(req, pid)?;
    chan.send(&Msg::Ack)
}

fn write_maps(req: &Request, pid: i32) -> Result<()> {
    let maps = req
        .plan
        .id_maps
        .as_ref()
        .expect("plan has maps for a new user namespace");
    idmap::apply(pid, maps)
}

/// Hand the pty master to whoever listens on --console-socket, as runc does;
/// without a socket the caller keeps it (foreground `run`).
fn send_console(req: &Request, master: OwnedFd) -> Result<Option<OwnedFd>> {
    let Some(path) = &req.console_socket else {
        return Ok(Some(master));
    };
    let sock = UnixStream::connect(path).map_err(|e| Error::io("connect", path, e))?;
    fdpass::send_fd(sock.as_fd(), b"/dev/ptmx", master.as_raw_fd())?;
    Ok(None)
}

fn reap(pid: i32) {
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
}

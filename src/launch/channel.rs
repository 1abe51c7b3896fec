//! The one message type that passes between the runtime (parent), the
//! intermediate process (when there is one) and the container's init, over a
//! SOCK_SEQPACKET socketpair (one datagram per message, so no framing is needed).
//!
//! One clone (direct.rs), `create` without namespaces joined by path:
//! ```text
//!  parent                                                       init
//!    │ clone3(CLONE_NEW*, v2: CLONE_INTO_CGROUP) ─────────────────► │ PID 1, in the new namespaces
//!    │ new user namespace: write uid_map/gid_map                    │
//!    │ (v2 dir not cloned into: move init; with a cgroup ns first)  │
//!    │ Ack (only if there were maps or that move) ────────────────► │ root of its user namespace,
//!    │ the move, if not done yet (while init goes on)               │ unshare cgroup (+ net, ipc)
//!    │ v1 as root (`cgroup_later`): make and limit the v1           │ unshare net meanwhile
//!    │ hierarchies, Ack ──────────────────────────────────────────► │ "0" to each `tasks`
//! ```
//! Through an intermediate (namespaces joined by path; `exec`):
//! ```text
//!  parent                       intermediate                  init
//!    │ fork ──────────────────────► │
//!    │ enter cgroup, Ack ─────────► │
//!    │ ◄──────────────── MapIds     │ (after unshare(CLONE_NEWUSER))
//!    │ write uid_map/gid_map        │
//!    │ Ack ───────────────────────► │
//!    │                              │ setns/unshare, fork ──────► │
//!    │ ◄──────────── InitPid{pid}   │ exit                        │
//! ```
//! Then, either way:
//! ```text
//!  parent                                                       init
//!    │                                                            │ mounts, devices
//!    │ ◄─────────────────────────────────────────────── RunHooks  │ (only with prestart or
//!    │ prestart + createRuntime hooks                             │ createRuntime hooks, or a
//!    │ Ack ─────────────────────────────────────────────────────► │ move still under way)
//!    │                                                            │ createContainer hooks,
//!    │                                                            │ pivot_root, ...
//!    │ ◄────────────────────────────────── Console (+ pty master)  │ (terminal only)
//!    │ ◄──────────────────────── SeccompListener (+ notify fd)    │ (SCMP_ACT_NOTIFY only)
//!    │ send fd + state to listenerPath; Ack ─────────────────────► │
//!    │ ◄─────────────────────────────────────────────────── Ready │ blocks on exec.fifo, or
//!    │ ◄──────────────────── end-of-file (its end is close-on-exec) │ execs the exec stub, which
//!    │                                                            │ blocks there instead
//!    │ ◄──────────────────────────────────────── Error{msg} (any step, instead)
//! ```
#![forbid(unsafe_code)]

use crate::error::{Error, Result, SysResult};
use crate::kernel::fdpass;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, OwnedFd};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Msg {
    MapIds,
    Ack,
    InitPid {
        pid: i32,
    },
    RunHooks,
    Console,
    /// The seccomp notification fd is attached; the parent answers with Ack.
    SeccompListener,
    Ready,
    Error {
        msg: String,
    },
}

pub struct Channel {
    sock: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .sys("socketpair", "launch channel")?;
    Ok((Channel { sock: a }, Channel { sock: b }))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let bytes = serde_json::to_vec(msg).expect("messages always serialise");
        nix::unistd::write(&self.sock, &bytes).sys("write", "launch channel")?;
        Ok(())
    }

    /// Send a message with one file descriptor attached.
    pub fn send_with_fd(&self, msg: &Msg, fd: std::os::fd::RawFd) -> Result<()> {
        let bytes = serde_json::to_vec(msg).expect("messages always serialise");
        fdpass::send_fd(self.sock.as_fd(), &bytes, fd)
    }

    /// Receive a message (and an fd, if one came). `None` means the other end closed.
    pub fn recv(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fd) = fdpass::recv_fd(self.sock.as_fd(), &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::Init(format!("bad message on launch channel: {e}")))?;
        Ok(Some((msg, fd)))
    }

    /// [`Channel::recv`], unless the process behind `pidfd` exits first with
    /// nothing left to read: then `None`, as if the channel had closed (the
    /// intermediate died between forking init and naming it, while init,
    /// which holds the other end too, waits for us).
    pub fn recv_while_alive(&self, pidfd: &OwnedFd) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        loop {
            let mut fds = [
                PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("poll", "launch channel", e)),
                Ok(_) => {}
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            if ready(&fds[0]) {
                return self.recv();
            }
            if ready(&fds[1]) {
                return Ok(None);
            }
        }
    }

    /// An `Error` the other end sent and nobody read yet. Does not wait.
    pub fn pending_error(&self) -> Option<String> {
        let readable = self.ready_now().is_some();
        match readable.then(|| self.recv()) {
            Some(Ok(Some((Msg::Error { msg }, _)))) => Some(msg),
            _ => None,
        }
    }

    /// Has the other end closed (its process died)? Does not wait.
    pub fn peer_gone(&self) -> bool {
        use nix::poll::PollFlags;
        self.ready_now()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR))
    }

    /// What a poll for input reports at once (`None`: nothing).
    fn ready_now(&self) -> Option<nix::poll::PollFlags> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 => fds[0].revents(),
            _ => None,
        }
    }

    /// Wait for an `Ack`; an `Error` or a closed channel becomes an error.
    pub fn expect_ack(&self) -> Result<()> {
        match self.recv()? {
            Some((Msg::Ack, _)) => Ok(()),
            Some((Msg::Error { msg }, _)) => Err(Error::Child(msg)),
            Some((other, _)) => Err(Error::Init(format!("unexpected message {other:?}"))),
            None => Err(Error::Init("runtime went away".into())),
        }
    }

    /// In a forked child: close this process's copy of the socket. The child
    /// never returns to the caller's frames (it execs or exits), so the value
    /// is not dropped a second time.
    pub fn close_copy(&self) {
        let _ = nix::unistd::close(self.raw());
    }

    pub fn raw(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.sock.as_raw_fd()
    }
}

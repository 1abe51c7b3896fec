//! Sending and receiving one file descriptor over a unix socket (SCM_RIGHTS).

use crate::error::{Error, Result};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Send `fd` with `payload` as the message body.
pub fn send_fd(sock: BorrowedFd, payload: &[u8], fd: RawFd) -> Result<()> {
    let iov = [IoSlice::new(payload)];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| Error::sys("sendmsg", "SCM_RIGHTS", e))?;
    Ok(())
}

/// Receive a message that may carry one fd: (payload bytes, fd).
pub fn recv_fd(sock: BorrowedFd, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::sys("recvmsg", "SCM_RIGHTS", e))?;
    let mut fd = None;
    for c in msg.cmsgs().map_err(|e| Error::sys("recvmsg", "cmsgs", e))? {
        if let ControlMessageOwned::ScmRights(v) = c {
            for raw in v {
                // SAFETY: the kernel installed this fd in our table for us alone.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                if fd.is_none() {
                    fd = Some(owned);
                }
            }
        }
    }
    Ok((msg.bytes, fd))
}

/// Take ownership of a descriptor this process inherited across exec and was
/// told about (e.g. in its environment), after checking it is open; it is
/// made close-on-exec so it goes no further.
pub fn adopt_inherited(fd: RawFd) -> Result<OwnedFd> {
    // SAFETY: F_SETFD on a descriptor number changes only that descriptor's
    // flags, and fails with EBADF when it is not open.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(Error::sys("fcntl(F_SETFD)", fd, nix::errno::Errno::last()));
    }
    // SAFETY: `fd` is open (F_SETFD succeeded) and was inherited for the caller
    // alone: nothing else in this process holds or closes it, so the OwnedFd
    // is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

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

//! A minimal seccomp agent for the NOTIFY tests: the runtime hands the listener fd
//! (with the container's state JSON) to a unix socket — [`crate::console::ConsoleSocket`]
//! receives it the same way a pty master is received — and the agent then answers
//! notifications with SECCOMP_IOCTL_NOTIF_RECV / _SEND (seccomp_unotify(2)).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// `_IOWR('!', 0, struct seccomp_notif)` (80 bytes).
const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
/// `_IOWR('!', 1, struct seccomp_notif_resp)` (24 bytes).
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

#[repr(C)]
struct Resp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

/// Wait (up to `timeout`) for one notification and read it.
pub fn recv(fd: &OwnedFd, timeout: Duration) -> Result<Notif, String> {
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => return Err("no notification in time".into()),
        Ok(_) => {}
        Err(e) => return Err(format!("poll: {e}")),
    }
    let mut n = Notif::default();
    // SAFETY: NOTIF_RECV writes one `struct seccomp_notif` (80 bytes, the layout of
    // `Notif`, zeroed as the kernel requires) into `n`, which outlives the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV as _, &mut n as *mut Notif) };
    if r < 0 {
        return Err(format!(
            "SECCOMP_IOCTL_NOTIF_RECV: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(n)
}

/// Answer notification `id`: the syscall returns `val`, or fails with `error` (a
/// negative errno) when it is not 0.
pub fn respond(fd: &OwnedFd, id: u64, val: i64, error: i32) -> Result<(), String> {
    let mut resp = Resp {
        id,
        val,
        error,
        flags: 0,
    };
    // SAFETY: NOTIF_SEND reads one `struct seccomp_notif_resp` (24 bytes, the
    // layout of `Resp`) from `resp`, which outlives the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND as _, &mut resp as *mut Resp) };
    if r < 0 {
        return Err(format!(
            "SECCOMP_IOCTL_NOTIF_SEND: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

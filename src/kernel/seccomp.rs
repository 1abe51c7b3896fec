//! Loading a seccomp filter: seccomp(2) with SECCOMP_SET_MODE_FILTER.

use crate::error::{Error, Result};
use std::os::fd::{FromRawFd, OwnedFd};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 8;

/// Load `program` (code, jt, jf, k) with `flags`; returns the notification fd
/// when the flags ask for a listener. Needs no_new_privs or CAP_SYS_ADMIN.
pub fn load(
    program: impl IntoIterator<Item = (u16, u8, u8, u32)>,
    flags: u32,
) -> Result<Option<OwnedFd>> {
    let mut filter: Vec<libc::sock_filter> = program
        .into_iter()
        .map(|(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
        .collect();
    let len = u16::try_from(filter.len()).map_err(|_| {
        Error::sys(
            "seccomp",
            "filter longer than 65535",
            nix::errno::Errno::EINVAL,
        )
    })?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `filter`, which lives until after the call; the
    // kernel copies the program and does not keep the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags),
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Error::sys(
            "seccomp(SECCOMP_SET_MODE_FILTER)",
            format!("flags {flags:#x}, {len} instructions"),
            nix::errno::Errno::last(),
        ));
    }
    if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    let fd = i32::try_from(ret)
        .map_err(|_| Error::sys("seccomp", "listener fd", nix::errno::Errno::EBADF))?;
    // SAFETY: with NEW_LISTENER the kernel returned a fresh fd that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

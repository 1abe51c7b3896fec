//! The container's terminal: a pty from the container's devpts instance.

use crate::error::{Result, SysResult};
use nix::fcntl::OFlag;
use nix::pty::PtyMaster;
use std::os::fd::{AsRawFd, OwnedFd};

nix::ioctl_write_int_bad!(tiocsctty, libc::TIOCSCTTY);
nix::ioctl_write_ptr_bad!(tiocswinsz, libc::TIOCSWINSZ, libc::winsize);

/// Open a new pty pair from /dev/ptmx (which must point at the container's devpts).
pub fn open_pty() -> Result<(PtyMaster, OwnedFd, String)> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .sys("open", "/dev/ptmx")?;
    nix::pty::grantpt(&master).sys("grantpt", "/dev/ptmx")?;
    nix::pty::unlockpt(&master).sys("unlockpt", "/dev/ptmx")?;
    let name = nix::pty::ptsname_r(&master).sys("ptsname", "/dev/ptmx")?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open", &name)?;
    Ok((master, slave, name))
}

nix::ioctl_read_bad!(tiocgwinsz, libc::TIOCGWINSZ, libc::winsize);

/// The size of the terminal on `fd`, if it is one.
pub fn winsize(fd: std::os::fd::BorrowedFd) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`, which lives for the call.
    unsafe { tiocgwinsz(fd.as_raw_fd(), &mut ws) }.ok()?;
    Some((ws.ws_row, ws.ws_col))
}

pub fn set_winsize(fd: &OwnedFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize and fd is an open terminal.
    unsafe { tiocswinsz(fd.as_raw_fd(), &ws) }
        .map(drop)
        .sys("ioctl(TIOCSWINSZ)", "pty")
}

/// Make the pty slave our controlling terminal and our stdin/stdout/stderr.
pub fn become_terminal(slave: &OwnedFd) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument; the fd is an open terminal.
    unsafe { tiocsctty(slave.as_raw_fd(), 0) }.sys("ioctl(TIOCSCTTY)", "pty")?;
    for target in 0..3 {
        super::process::dup_onto(slave.as_raw_fd(), target)?;
    }
    Ok(())
}

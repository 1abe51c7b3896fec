//! The foreground `run` with a terminal and no console socket: our terminal
//! (raw mode) is joined to the container's pty, as runc does.

use crate::error::{Result, SysResult};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Puts stdin in raw mode while alive; restores it on drop.
pub struct RawGuard {
    saved: Option<Termios>,
}

impl Default for RawGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl RawGuard {
    pub fn new() -> RawGuard {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawGuard { saved }
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copy our terminal's size onto the pty (at start and on SIGWINCH).
pub fn copy_winsize(master: &OwnedFd) {
    if let Some((rows, cols)) = crate::kernel::tty::winsize(std::io::stdin().as_fd()) {
        let _ = crate::kernel::tty::set_winsize(master, rows, cols);
    }
}

/// Move what is readable from `from` to `to`. Returns false at end of input.
pub fn pump(from: BorrowedFd, to: BorrowedFd) -> Result<bool> {
    let mut buf = [0u8; 8192];
    let n = match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(nix::errno::Errno::EIO) => return Ok(false),
        Ok(n) => n,
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => return Ok(true),
        Err(e) => return Err(e).sys("read", "terminal"),
    };
    let mut done = 0;
    while done < n {
        done += nix::unistd::write(to, &buf[done..n]).sys("write", "terminal")?;
    }
    Ok(true)
}

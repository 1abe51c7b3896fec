//! The gate between `create` and `start`: a FIFO in the state directory.
//! init opens it for writing (blocking until a reader comes), `start` opens it
//! for reading; the byte that passes tells `start` that init is on its way to exec.

use crate::error::{Error, Result, SysResult};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

pub const FIFO_NAME: &str = "exec.fifo";

pub fn create(path: &Path) -> Result<()> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622)).sys("mkfifo", path.display())
}

/// init: take an O_PATH handle now, while the state dir is still reachable.
pub fn handle(path: &Path) -> Result<OwnedFd> {
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).sys("open", path.display())
}

/// init: block until `start` opens the other end, then pass one byte.
pub fn wait(handle: &OwnedFd) -> Result<()> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let fd = open(path.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
        Error::sys("open", "exec fifo (is /proc mounted in the container?)", e)
    })?;
    nix::unistd::write(&fd, b"0").sys("write", "exec fifo")?;
    Ok(())
}

/// start: open the gate and read init's byte; `alive` is polled so that a dead
/// init does not leave `start` waiting forever.
pub fn open_and_read(path: &Path, alive: impl Fn() -> bool) -> Result<()> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty()).sys("open", path.display())?;
    let mut buf = [0u8; 1];
    loop {
        let mut pfd = [nix::poll::PollFd::new(fd.as_fd(), nix::poll::PollFlags::POLLIN)];
        let n = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16)).sys("poll", path.display())?;
        if n > 0 {
            match nix::unistd::read(&fd, &mut buf) {
                Ok(1) => return Ok(()),
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(Error::sys("read", path.display(), e)),
            }
        }
        if !alive() {
            return Err(Error::State("container init exited before start".into()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

//! The gate between `create` and `start`: a FIFO in the state directory.
//! init opens it for writing (blocking until a reader comes), `start` opens it
//! for reading. init runs the startContainer hooks, writes one byte and execs;
//! its end is close-on-exec, so `start` sees end-of-file exactly when execve
//! has replaced init (or init has died), and only then runs poststart hooks.
//! Where init execs the container's program through the exec stub and has no
//! startContainer hooks to run, the stub waits at the gate in init's place
//! (kernel::exec_stub): same opens, same byte, same close-on-exec end.

use crate::error::{Error, Result, SysResult};
use crate::kernel::memory::{self, CleanPages};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

pub const FIFO_NAME: &str = "exec.fifo";

/// The container's user (any uid) must be able to open it for writing, so
/// the mode is set explicitly rather than left to the umask.
pub fn create(path: &Path) -> Result<()> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622)).sys("mkfifo", path.display())?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .sys("chmod", path.display())
}

/// init: take an O_PATH handle now, while the state dir is still reachable.
pub fn handle(path: &Path) -> Result<OwnedFd> {
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).sys("open", path.display())
}

/// init: block until `start` opens the other end. Returns the write end.
/// With `release`, the binary's clean pages are given back just before
/// blocking (`memory::release_then_open`): a container waiting for `start`
/// then holds little of the runtime's text.
pub fn wait(handle: &OwnedFd, release: Option<&CleanPages>) -> Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    let opened = match release {
        Some(pages) => std::ffi::CString::new(path)
            .map_err(|_| nix::errno::Errno::EINVAL)
            .and_then(|path| memory::release_then_open(pages, &path, flags)),
        None => open(path.as_str(), flags, Mode::empty()),
    };
    opened.map_err(|e| Error::sys("open", OPENED_AS, e))
}

/// What a failed open of the gate names.
const OPENED_AS: &str = "exec fifo (is /proc mounted in the container?)";

/// What the exec stub, waiting at the gate in init's place, prints before
/// the errno's text when the gate's open or write fails (init's words).
pub fn stub_error_prefix() -> String {
    format!("{}open {OPENED_AS}: ", super::process::INIT_ERROR_PREFIX)
}

/// init: tell `start` that the hooks ran and execve comes next.
pub fn pass(fd: &OwnedFd) -> Result<()> {
    nix::unistd::write(fd, b"0")
        .sys("write", "exec fifo")
        .map(drop)
}

/// start: open the gate, read init's byte, then wait for end-of-file (init has
/// exec'd). `alive` is polled so that a dead init never leaves `start` waiting.
pub fn open_and_read(path: &Path, alive: impl Fn() -> bool) -> Result<()> {
    let fd = open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .sys("open", path.display())?;
    let mut buf = [0u8; 1];
    let mut passed = false;
    loop {
        let mut pfd = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let n = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16))
            .sys("poll", path.display())?;
        if n > 0 {
            match nix::unistd::read(&fd, &mut buf) {
                Ok(1) => passed = true,
                // EOF before any writer opened is not the end: keep waiting.
                Ok(0) if passed => return Ok(()),
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(Error::sys("read", path.display(), e)),
            }
        }
        if !alive() {
            if passed {
                return Ok(());
            }
            return Err(Error::State("container init exited before start".into()));
        }
        if n == 0 || !passed {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

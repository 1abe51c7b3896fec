//! The one place where nook forks. The runtime is single-threaded whenever it
//! forks (no thread is ever started before launch), which is what makes
//! running Rust code in the child sound.

use crate::error::{Error, Result};
use std::convert::Infallible;

/// Fork and run `child` in the new process; it must never return normally,
/// so its result is turned into an exit status: 0 is impossible, 1 on error.
pub fn fork_into(child: impl FnOnce() -> Result<Infallible>) -> Result<i32> {
    // SAFETY: the process is single-threaded at this point (see module doc), so
    // the child may allocate and run arbitrary code before it execs or exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(child.as_raw()),
        Ok(nix::unistd::ForkResult::Child) => {
            // A panic must not unwind into the parent's frames (and drop its locks).
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)) {
                Ok(Ok(never)) => match never {},
                Ok(Err(_)) | Err(_) => 1,
            };
            // SAFETY: _exit ends the process at once: no atexit handlers or
            // buffers inherited from the parent run twice.
            unsafe { libc::_exit(code) }
        }
        Err(e) => Err(Error::sys("fork", "", e)),
    }
}

//! The one place where nook forks. The runtime is single-threaded whenever it
//! forks (no thread is ever started before launch), which is what makes
//! running Rust code in the child sound.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use std::convert::Infallible;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Fork and run `child` in the new process; it must never return normally,
/// so its result is turned into an exit status: 0 is impossible, 1 on error.
pub fn fork_into(child: impl FnOnce() -> Result<Infallible>) -> Result<i32> {
    // SAFETY: the process is single-threaded at this point (see module doc), so
    // the child may allocate and run arbitrary code before it execs or exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(child.as_raw()),
        Ok(nix::unistd::ForkResult::Child) => run_child(child),
        Err(e) => Err(Error::sys("fork", "", e)),
    }
}

/// From linux/sched.h (libc's constant is a c_int that overflows).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like `fork_into`, but the child is born in the cgroup `cgroup` (a cgroup v2
/// directory fd) with clone3(CLONE_INTO_CGROUP): it never runs a moment
/// outside it. Returns the pid and whether it was placed; `false` when the
/// kernel cannot (before 5.7: ENOSYS, E2BIG, EINVAL) or the directory refuses
/// (e.g. EOPNOTSUPP under a threaded parent), in which case this is a plain
/// fork and the caller writes cgroup.procs before letting the child go on (and
/// reports that write's refusal, which names the file).
pub fn fork_into_cgroup(
    cgroup: BorrowedFd,
    child: impl FnOnce() -> Result<Infallible>,
) -> Result<(i32, bool)> {
    match clone_into(CloneFlags::empty(), Some(cgroup), child) {
        Ok(pid) => Ok((pid, true)),
        Err((e, child)) => {
            crate::log::debug(&format!("clone3(CLONE_INTO_CGROUP): {e}; forking"));
            fork_into(child).map(|pid| (pid, false))
        }
    }
}

/// clone3 with `namespaces` (CLONE_NEW* flags: the child is born in new
/// namespaces, PID 1 of a new pid namespace at once) and, given a cgroup v2
/// directory fd, CLONE_INTO_CGROUP. On failure nothing was created, and
/// `child` comes back with the errno, for the caller to try another way.
pub fn clone_into<F>(
    namespaces: CloneFlags,
    cgroup: Option<BorrowedFd>,
    child: F,
) -> std::result::Result<i32, (Errno, F)>
where
    F: FnOnce() -> Result<Infallible>,
{
    let mut flags = namespaces.bits() as u32 as u64;
    if cgroup.is_some() {
        flags |= CLONE_INTO_CGROUP;
    }
    let args = libc::clone_args {
        flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    // SAFETY: as fork (single-threaded, see module doc): with no stack given the
    // child continues on a copy of ours, exactly as after fork(2); namespace
    // flags change only what the child sees of the system, not its memory. The
    // struct outlives the call and its size is passed. glibc's atfork handlers
    // do not run, which is harmless with a single thread and no atfork users;
    // glibc's thread descriptor keeps the parent's tid, which only
    // raise()/pthread_kill read: the child never signals itself (an abort
    // still ends it).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match ret {
        0 => run_child(child),
        pid if pid > 0 => Ok(pid as i32),
        _ => Err((Errno::last(), child)),
    }
}

fn run_child(child: impl FnOnce() -> Result<Infallible>) -> ! {
    // A panic must not unwind into the parent's frames (and drop its locks).
    // (The release profile aborts on panic, which is just as contained.)
    let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)) {
        Ok(Ok(never)) => match never {},
        Ok(Err(_)) | Err(_) => 1,
    };
    // SAFETY: _exit ends the process at once: no atexit handlers or
    // buffers inherited from the parent run twice.
    unsafe { libc::_exit(code) }
}

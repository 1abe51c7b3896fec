//! `run`: create + start, then wait for the container and return its status,
//! forwarding signals to it meanwhile.

use super::lifecycle::{create, delete, start, CreateOptions};
use super::store::Store;
use crate::error::{Result, SysResult};
use crate::kernel::process;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Returns the container's exit status (128+N when killed by signal N), or 0 with `detach`.
pub fn run(store: &Store, id: &str, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
    if !detach {
        // init's parent (the intermediate) exits: make init our child so we can wait for it.
        process::set_child_subreaper()?;
    }
    let pid = create(store, id, opts)?;
    let mut mask = SigSet::all();
    for s in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
    ] {
        mask.remove(s);
    }
    if !detach {
        mask.thread_block().sys("sigprocmask", "run")?;
    }
    if let Err(e) = start(store, id) {
        let _ = delete(store, id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let code = wait_forwarding(pid, &mask)?;
    if !keep {
        delete(store, id, true)?;
    }
    Ok(code)
}

fn wait_forwarding(pid: i32, mask: &SigSet) -> Result<i32> {
    let sfd = SignalFd::new(mask).sys("signalfd", "run")?;
    loop {
        // Reap everything that has exited; init's status is the answer.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, c)) if p == Pid::from_raw(pid) => return Ok(c),
                Ok(WaitStatus::Signaled(p, s, _)) if p == Pid::from_raw(pid) => {
                    return Ok(128 + s as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
        let Some(info) = sfd.read_signal().sys("read", "signalfd")? else {
            continue;
        };
        let sig = info.ssi_signo as i32;
        if sig != libc::SIGCHLD {
            let _ = process::kill_raw(pid, sig);
        }
    }
}

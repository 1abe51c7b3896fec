//! `run`: create + start, then wait for the container and return its status,
//! forwarding signals to it meanwhile (and joining our terminal to its pty
//! when it has one and no console socket was given).

use super::console::{copy_winsize, pump, RawGuard};
use super::create::{create, CreateOptions};
use super::lifecycle::{delete, start, start_notified};
use super::store::Store;
use crate::error::{Error, Result, SysResult};
use crate::kernel::process;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, OwnedFd};

/// Returns the container's exit status (128+N when killed by signal N), or 0 with `detach`.
pub fn run(store: &Store, id: &str, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
    if !detach {
        // init is our child when one clone made it; through an intermediate
        // (namespaces joined by path) its parent exits: either way ours to wait for.
        process::set_child_subreaper()?;
    }
    let opts = CreateOptions {
        keep_console: !detach && opts.console_socket.is_none(),
        starts_at_once: true,
        ..opts.clone()
    };
    // Without a start gate `create` starts the container itself: the signals
    // to forward are held from before its program runs.
    let gateless = super::create::starts_without_gate(&opts);
    let mask = signal_mask();
    let block = || mask.thread_block().sys("sigprocmask", "run");
    if !detach && gateless {
        block()?;
    }
    let launched = create(store, id, &opts)?;
    if !detach && !gateless {
        block()?;
    }
    if detach {
        // As runc: `run -d` returns once the container said READY=1, if asked to.
        if let Err(e) = start_unless(gateless, store, id) {
            let _ = delete(store, id, true);
            return Err(e);
        }
        return Ok(0);
    }
    let notified = match gateless {
        true => Ok(None),
        false => start_notified(store, id),
    };
    match notified {
        Ok(Some(pending)) => {
            // In the foreground the runtime is the service's main process.
            let (me, init) = (std::process::id() as i32, launched.pid);
            std::thread::spawn(move || pending.forward(me, || process::alive(init)));
        }
        Ok(None) => {}
        Err(e) => {
            let _ = delete(store, id, true);
            return Err(e);
        }
    }
    let code = wait_forwarding(launched.pid, &mask, launched.console)?;
    if !keep {
        delete(store, id, true)?;
    }
    Ok(code)
}

/// `start`, unless `create` has started the container already.
fn start_unless(started: bool, store: &Store, id: &str) -> Result<()> {
    match started {
        true => Ok(()),
        false => start(store, id),
    }
}

/// Every signal that is forwarded to the container (all but those that cannot
/// be caught or that signal our own faults).
pub fn signal_mask() -> SigSet {
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
    mask
}

/// Wait for `pid` (our child, we being a subreaper), forwarding signals and,
/// with `console`, joining our terminal to it. Returns its exit status.
pub(super) fn wait_forwarding(pid: i32, mask: &SigSet, console: Option<OwnedFd>) -> Result<i32> {
    let sfd = SignalFd::new(mask).sys("signalfd", "run")?;
    let _raw = console.as_ref().map(|m| {
        copy_winsize(m);
        RawGuard::new()
    });
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let (mut tty_open, mut stdin_open) = (console.is_some(), console.is_some());
    let mut status = None;
    loop {
        if let Some(code) = reap(pid) {
            status = Some(code);
        }
        // With a terminal, drain its output before returning the status.
        if let Some(code) = status {
            if !tty_open {
                return Ok(code);
            }
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = console.as_ref().filter(|_| tty_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        let timeout = if status.is_some() {
            PollTimeout::from(50u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) => tty_open = false,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", "run", e)),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, tty_ready, in_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if let (Some(m), true) = (console.as_ref(), tty_ready) {
            tty_open = pump(m.as_fd(), stdout.as_fd())?;
        }
        if let (Some(m), true) = (console.as_ref(), in_ready) {
            stdin_open = pump(stdin.as_fd(), m.as_fd())?;
        }
        if sig_ready {
            if let Some(info) = sfd.read_signal().sys("read", "signalfd")? {
                match info.ssi_signo as i32 {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => console.iter().for_each(copy_winsize),
                    sig => {
                        let _ = process::kill_raw(pid, sig);
                    }
                }
            }
        }
    }
}

/// Reap exited children; init's status once it has exited.
fn reap(pid: i32) -> Option<i32> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p == Pid::from_raw(pid) => return Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p == Pid::from_raw(pid) => {
                return Some(128 + s as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

//! Process attributes: identity, limits, sessions, liveness, signals, exec.

use crate::error::{Error, Result, SysResult};
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Pid, Uid};
use std::ffi::CString;

pub fn set_dumpable(on: bool) -> Result<()> {
    nix::sys::prctl::set_dumpable(on).sys("prctl(PR_SET_DUMPABLE)", on)
}

pub fn set_child_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).sys("prctl(PR_SET_CHILD_SUBREAPER)", 1)
}

pub fn set_parent_death_signal(sig: Option<Signal>) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(sig).sys("prctl(PR_SET_PDEATHSIG)", format!("{sig:?}"))
}

pub fn setsid() -> Result<()> {
    nix::unistd::setsid().map(drop).sys("setsid", "")
}

/// setgroups, setresgid, setresuid, in the order that keeps the right to do the next.
pub fn set_ids(uid: u32, gid: u32, groups: &[u32], may_setgroups: bool) -> Result<()> {
    if may_setgroups {
        let g: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
        nix::unistd::setgroups(&g).sys("setgroups", format!("{groups:?}"))?;
    } else if !groups.is_empty() {
        return Err(Error::unsupported(
            "process.user.additionalGids",
            "setgroups is denied in this user namespace",
        ));
    }
    let g = Gid::from_raw(gid);
    nix::unistd::setresgid(g, g, g).sys("setresgid", gid)?;
    let u = Uid::from_raw(uid);
    nix::unistd::setresuid(u, u, u).sys("setresuid", uid)
}

pub fn set_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        mask as libc::mode_t,
    ));
}

/// setrlimit(2) for a raw resource number.
pub fn set_rlimit(name: &str, resource: i32, soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit for the duration of the call.
    let rc = unsafe { libc::setrlimit(resource as libc::__rlimit_resource_t, &lim) };
    if rc != 0 {
        let errno = nix::errno::Errno::last();
        let why = if errno == nix::errno::Errno::EPERM {
            " (raising a hard limit needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        return Err(Error::sys(
            "setrlimit",
            format!("{name} soft={soft} hard={hard}{why}"),
            errno,
        ));
    }
    Ok(())
}

/// Mark every fd from `first` up close-on-exec (CVE-2024-21626: no fd of the
/// runtime may survive into the container).
pub fn cloexec_from(first: u32) -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes fd flags.
    let rc = unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    if rc != 0 {
        return Err(Error::sys("close_range", first, nix::errno::Errno::last()));
    }
    Ok(())
}

/// kill(2) with a raw signal number (real-time signals have no `Signal`).
pub fn kill_raw(pid: i32, signo: i32) -> Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signo) } != 0 {
        return Err(Error::sys("kill", pid, nix::errno::Errno::last()));
    }
    Ok(())
}

pub fn kill(pid: i32, sig: Signal) -> Result<()> {
    nix::sys::signal::kill(Pid::from_raw(pid), sig).sys("kill", pid)
}

/// A pidfd for `pid`: a handle that keeps meaning that process even after
/// its pid is reused (pidfd_open(2), Linux 5.3).
pub fn pidfd_open(pid: i32) -> Result<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open takes two integers; on success it returns a new fd
    // that nobody else owns, which OwnedFd then closes exactly once.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::PIDFD_NONBLOCK) };
    if fd < 0 {
        return Err(Error::sys("pidfd_open", pid, nix::errno::Errno::last()));
    }
    // SAFETY: `fd` is a fresh descriptor returned just above.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// Does the process behind `pidfd` still hold its pid (not yet reaped, so the
/// pid cannot have been reused)? A signal 0 through the pidfd fails with ESRCH
/// once the process is gone.
pub fn pidfd_holds_pid(pidfd: &std::os::fd::OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: signal 0 with a null siginfo only checks existence and permission.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    rc == 0 || nix::errno::Errno::last() == nix::errno::Errno::EPERM
}

/// Does `pid` exist and is it not a zombie?
pub fn alive(pid: i32) -> bool {
    matches!(super::procfs::process_stat(pid), Some((s, _)) if s != 'Z' && s != 'X')
}

/// execve with a PATH search in the *container's* environment. With `stub`
/// (kernel::exec_stub), through it: the stub is executed with the program's
/// path first, then its argv, and execs the program itself. With `gate` too
/// (a stub made for it), the stub waits at the start gate first.
pub fn exec(
    args: &[String],
    env: &[String],
    stub: Option<&std::os::fd::OwnedFd>,
    gate: Option<&std::os::fd::OwnedFd>,
) -> Result<std::convert::Infallible> {
    use std::os::fd::AsRawFd;
    let path = find_program(&args[0], env);
    let cpath = cstring(&path)?;
    let cargs: Vec<CString> = args.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
    let cenv: Vec<CString> = env.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
    let res = match stub {
        Some(stub) => {
            // A stub made for the gate waits there first, told the handle's
            // number by its first argument (kernel::exec_stub).
            let gate = gate
                .map(|g| cstring(&format!("{}{}", super::exec_stub::GATE_PATH, g.as_raw_fd())))
                .transpose()?;
            let argv: Vec<&CString> = gate.iter().chain([&cpath]).chain(&cargs).collect();
            nix::unistd::execveat(stub, c"", &argv, &cenv, nix::fcntl::AtFlags::AT_EMPTY_PATH)
        }
        None => nix::unistd::execve(&cpath, &cargs, &cenv),
    };
    res.map_err(|e| {
        Error::Init(format!(
            "exec: \"{}\": {}",
            args[0],
            exec_error_text(e as i32)
        ))
    })
}

/// How a failed execve of the container's program is worded (runc's words for
/// the common two), after `exec_error_prefix`.
pub fn exec_error_text(errno: i32) -> String {
    match nix::errno::Errno::from_raw(errno) {
        nix::errno::Errno::ENOENT => "no such file or directory".into(),
        nix::errno::Errno::EACCES => "permission denied".into(),
        e => e.desc().into(),
    }
}

/// The start of the line init prints when the program's execve fails after
/// `create` has returned (the container's stderr is all it has then).
pub fn exec_error_prefix(prog: &str) -> String {
    let e = Error::Init(format!("exec: \"{prog}\": "));
    format!("{INIT_ERROR_PREFIX}{e}")
}

/// What init puts before an error it can only print (after `create` returned).
pub const INIT_ERROR_PREFIX: &str = "nook-runtime init: ";

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::config("process.args", format!("{s:?} contains a NUL byte")))
}

/// Look `prog` up in the PATH of `env` (a program with a `/` is taken as is).
pub fn find_program(prog: &str, env: &[String]) -> String {
    if prog.contains('/') {
        return prog.to_string();
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = format!("{dir}/{prog}");
        if let Ok(md) = std::fs::metadata(&cand) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return cand;
            }
        }
    }
    prog.to_string()
}

/// dup2(2): make `target` a copy of `fd` (used for stdio, whose numbers are fixed).
pub fn dup_onto(fd: std::os::fd::RawFd, target: std::os::fd::RawFd) -> Result<()> {
    // SAFETY: dup2 only manipulates the fd table; `target` is deliberately replaced.
    if unsafe { libc::dup2(fd, target) } < 0 {
        return Err(Error::sys("dup2", target, nix::errno::Errno::last()));
    }
    Ok(())
}

/// Which of the fds in `range` are open right now.
pub fn open_fds(range: std::ops::Range<i32>) -> Vec<i32> {
    range
        // SAFETY: F_GETFD only reads the flags of an fd number; EBADF if closed.
        .filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0)
        .collect()
}

/// Whether fd number `fd` refers to a terminal.
pub fn is_tty(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor number; an invalid fd returns 0.
    unsafe { libc::isatty(fd) == 1 }
}

/// Let `fd` survive execve (for --preserve-fds).
pub fn clear_cloexec(fd: std::os::fd::RawFd) -> Result<()> {
    // SAFETY: F_SETFD only changes the flags of an fd number we were handed.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
        return Err(Error::sys("fcntl(F_SETFD)", fd, nix::errno::Errno::last()));
    }
    Ok(())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name). ENOSYS (keys disabled) is not an error.
pub fn join_session_keyring(name: &str) -> Result<()> {
    let c =
        CString::new(name).map_err(|_| Error::Usage("container id contains a NUL byte".into()))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            libc::KEYCTL_JOIN_SESSION_KEYRING,
            c.as_ptr(),
        )
    };
    match nix::errno::Errno::result(rc) {
        Ok(_) | Err(nix::errno::Errno::ENOSYS) => Ok(()),
        Err(e) => Err(Error::sys("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", name, e)),
    }
}

/// Every signal unblocked and at its default action: an ignored signal (Rust
/// ignores SIGPIPE) would otherwise stay ignored across execve.
pub fn reset_signals() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        // SAFETY: installing SIG_DFL runs no handler code; it only resets the disposition.
        unsafe { sigaction(sig, &dfl) }.sys("sigaction", sig)?;
    }
    SigSet::all().thread_unblock().sys("sigprocmask", "unblock")
}

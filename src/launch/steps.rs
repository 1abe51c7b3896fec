//! Steps that the container's init and an exec'd process share: the terminal,
//! identity and capabilities, fds, cwd, and the checks before "ready".
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::Request;
use crate::error::{Context, Error, Result};
use crate::kernel::{caps, process, seccomp, tty};
use std::os::fd::AsRawFd;

/// runc's rule: without HOME in the config, take the user's home from the
/// container's /etc/passwd, else "/".
pub(super) fn with_home(env: &[String], uid: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let passwd = read_small_file("/etc/passwd").unwrap_or_default();
        let home = crate::plan::home_for(&passwd, uid).unwrap_or("/");
        env.push(format!("HOME={home}"));
    }
    env
}

/// A regular file of at most 1 MiB (an image's /etc/passwd could be a FIFO or /dev/zero).
pub(super) fn read_small_file(path: &str) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.take(1 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

pub(super) fn setup_terminal(req: &Request, chan: &Channel, bind_console: bool) -> Result<()> {
    let (master, slave, name) = tty::open_pty()?;
    if let Some((rows, cols)) = req.plan.process.console_size {
        tty::set_winsize(&slave, rows, cols)?;
    }
    // /dev/console is the terminal too, as runc arranges it (init only).
    if bind_console {
        let console = std::path::Path::new("/dev/console");
        if !console.exists() {
            std::fs::File::create(console).map_err(|e| Error::io("create", console, e))?;
        }
        crate::kernel::mount::mount(
            Some(std::path::Path::new(&name)),
            console,
            None,
            nix::mount::MsFlags::MS_BIND,
            None,
        )?;
    }
    chan.send_with_fd(&Msg::Console, master.as_raw_fd())?;
    drop(master);
    tty::become_terminal(&slave)
}

pub(super) fn set_identity(plan: &crate::plan::Plan) -> Result<()> {
    let p = &plan.process;
    if let Some(c) = &p.caps {
        caps::limit_bounding(c.bounding)?;
    }
    fix_stdio_owner(p.uid)?;
    caps::set_keepcaps(true)?;
    let may_setgroups =
        std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny");
    process::set_ids(p.uid, p.gid, &p.additional_gids, may_setgroups)
        .context(|| "process.user".into())?;
    caps::set_keepcaps(false)?;
    if let Some(c) = &p.caps {
        caps::apply(c.effective, c.permitted, c.inheritable, c.ambient)?;
    }
    Ok(())
}

/// Give fds 0-2 (pipes, the pty) to the process's user, as runc does, so it
/// can reopen them (`> /dev/stdout`, /dev/tty) after dropping root. /dev/null
/// and what is already the user's are left alone; the gid is kept. An owner
/// or group not mapped in our user namespace (EPERM, EINVAL) is left as is.
fn fix_stdio_owner(uid: u32) -> Result<()> {
    use nix::sys::stat::fstat;
    let null = nix::sys::stat::stat("/dev/null").ok().map(|s| s.st_rdev);
    use std::os::fd::AsFd;
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for (n, fd) in [i.as_fd(), o.as_fd(), e.as_fd()].into_iter().enumerate() {
        // A closed fd fails fstat: nothing to give.
        let Ok(st) = fstat(fd) else { continue };
        let is_null = (st.st_mode & libc::S_IFMT) == libc::S_IFCHR && Some(st.st_rdev) == null;
        if st.st_uid == uid || is_null {
            continue;
        }
        match nix::unistd::fchown(fd, Some(uid.into()), Some(st.st_gid.into())) {
            Ok(()) | Err(nix::errno::Errno::EPERM) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => return Err(Error::sys("fchown", format!("fd {n}"), e)),
        }
    }
    Ok(())
}

/// The working directory must be inside the container's root.
pub(super) fn check_cwd(cwd: &std::path::Path) -> Result<()> {
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(Error::unsupported(
            "process.cwd",
            format!("{} is outside the container's root", cwd.display()),
        )),
    }
}

pub(super) fn check_program(prog: &str, env: &[String]) -> Result<()> {
    let path = process::find_program(prog, env);
    if !path.contains('/') {
        return Err(Error::Init(format!(
            "exec: \"{prog}\": executable file not found in $PATH"
        )));
    }
    nix::unistd::access(path.as_str(), nix::unistd::AccessFlags::X_OK).map_err(|e| {
        let why = if e == nix::errno::Errno::ENOENT {
            "no such file or directory"
        } else {
            e.desc()
        };
        Error::Init(format!("exec: \"{prog}\": {why}"))
    })
}

pub(super) fn close_leaked_fds(req: &Request, chan: &Channel) -> Result<()> {
    let keep = [
        chan.raw(),
        req.gate.map_or(-1, |g| g.as_raw_fd()),
        req.exec_stub.map_or(-1, |s| s.as_raw_fd()),
    ];
    let dir =
        std::fs::read_dir("/proc/self/fd").map_err(|e| Error::io("read", "/proc/self/fd", e))?;
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= 3 && !keep.contains(fd) && !req.preserved_fds.contains(fd))
        .collect();
    for fd in fds {
        // The fd used to read the directory is gone by now; EBADF is harmless.
        let _ = nix::unistd::close(fd);
    }
    // Preserved fds must survive exec; the channel, the gate and the stub are
    // close-on-exec, but for a gate the stub waits at (it closes that itself).
    for fd in &req.preserved_fds {
        process::clear_cloexec(*fd)?;
    }
    if let Some(gate) = req.gate.filter(|_| req.stub_at_gate()) {
        process::clear_cloexec(gate.as_raw_fd())?;
    }
    Ok(())
}

/// Load the filter compiled in the plan; a listener fd goes to the parent,
/// which passes it to the agent on `listenerPath`.
pub(super) fn load_seccomp(plan: &crate::plan::Plan, chan: &Channel) -> Result<()> {
    let Some(sc) = &plan.seccomp else {
        return Ok(());
    };
    let program = sc.program.iter().map(|i| (i.code, i.jt, i.jf, i.k));
    let listener = seccomp::load(program, sc.flags).context(|| "linux.seccomp".into())?;
    if let Some(fd) = listener {
        chan.send_with_fd(&Msg::SeccompListener, fd.as_raw_fd())?;
        chan.expect_ack()?;
    }
    Ok(())
}

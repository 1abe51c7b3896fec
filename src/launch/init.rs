//! The container's init: the recipe that ends in execve. Runs in the new
//! namespaces (as PID 1 of a new pid namespace), still the runtime's binary.
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::Request;
use crate::error::{Context, Error, Result, SysResult};
use crate::kernel::{caps, pivot, process, procfs, seccomp, start_gate, tty, uts};
use crate::plan::HookKind;
use std::convert::Infallible;
use std::os::fd::AsRawFd;

/// Run the recipe; report any error to the parent before exiting.
pub fn main(req: &Request, chan: &Channel) -> Result<Infallible> {
    match setup(req, chan) {
        Ok(ready) => {
            chan.close_copy();
            match after_ready(req, ready) {
                Ok(never) => match never {},
                Err(e) => {
                    // create has returned: the container's stderr is all we have.
                    eprintln!("nook-runtime init: {e}");
                    std::process::exit(if matches!(e, Error::Init(_)) { 127 } else { 1 })
                }
            }
        }
        Err(e) => {
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            Err(e)
        }
    }
}

/// What init holds when it reports ready: the gate, and what `after_ready`
/// needs computed beforehand (so the seccomp filter sees as few syscalls as possible).
struct Ready {
    gate: std::os::fd::OwnedFd,
    pid: i32,
    env: Vec<String>,
}

/// Steps up to "ready": everything that can fail is done before `create` returns.
fn setup(req: &Request, chan: &Channel) -> Result<Ready> {
    let plan = req.plan;
    let p = &plan.process;
    // 1. A session of our own: the terminal (if any) becomes ours, signals to the runtime's group don't reach us.
    process::setsid()?;
    // 1b. A session keyring of our own, so keys are not shared with the host's session.
    if req.new_keyring {
        process::join_session_keyring(&format!("_ses.{}", plan.id))?;
    }
    // 2. Device nodes and mounts get exactly the modes asked for.
    process::set_umask(0);
    // 3. Mounts, devices, /dev links: in the host's view, destinations resolved beneath the rootfs.
    super::rootfs::prepare(plan)?;
    // 4. prestart and createRuntime hooks run in the runtime's namespaces, by the parent.
    chan.send(&Msg::RunHooks)?;
    chan.expect_ack()?;
    // 5. createContainer hooks: in our namespaces, before pivot_root.
    (req.hooks)(HookKind::CreateContainer, nix::unistd::getpid().as_raw())?;
    // 6. Take hold of the start gate while the state dir is still reachable.
    let gate = start_gate::handle(&req.fifo)?;
    // 7. Switch the root.
    if plan.no_pivot {
        pivot::move_root(&plan.rootfs)?;
    } else {
        pivot::pivot_root(&plan.rootfs)?;
    }
    // 8. sysctls, in the new namespaces' /proc/sys.
    for (k, v) in &plan.sysctl {
        procfs::write_sysctl(k, v).context(|| format!("linux.sysctl {k}"))?;
    }
    // 9. Masked paths, read-only paths, read-only root: after the mounts they cover.
    super::rootfs::finish(plan)?;
    // 10. Names in the uts namespace.
    if let Some(h) = &plan.hostname {
        uts::set_hostname(h)?;
    }
    if let Some(d) = &plan.domainname {
        uts::set_domainname(d)?;
    }
    // 11. The terminal: a pty from the container's devpts, master to the console socket.
    if p.terminal {
        setup_terminal(req, chan)?;
    }
    // 12. Limits, while we still hold the capabilities to set them.
    if let Some(adj) = p.oom_score_adj {
        procfs::set_oom_score_adj(adj).context(|| "process.oomScoreAdj".into())?;
    }
    for r in &p.rlimits {
        process::set_rlimit(&r.name, r.resource, r.soft, r.hard)
            .context(|| "process.rlimits".into())?;
    }
    // 13. No fd of the runtime survives into the container (CVE-2024-21626).
    close_leaked_fds(req, chan, &gate)?;
    become_the_process(req, chan, gate)
}

/// Steps 14-18: seccomp, identity, capabilities, no_new_privs; then Ready.
fn become_the_process(req: &Request, chan: &Channel, gate: std::os::fd::OwnedFd) -> Result<Ready> {
    let plan = req.plan;
    let p = &plan.process;
    // 14. Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
    //     now, before the identity and capabilities change (runtime-spec; runc too).
    if !p.no_new_privs {
        load_seccomp(plan, chan)?;
    }
    // 15. Working directory as root (may need privileges), then identity and capabilities.
    let early_cwd = nix::unistd::chdir(&p.cwd).is_ok();
    set_identity(plan)?;
    if !early_cwd {
        nix::unistd::chdir(&p.cwd).sys("chdir to cwd set in config.json", p.cwd.display())?;
    }
    check_cwd(&p.cwd)?;
    process::set_umask(p.umask.unwrap_or(0o022));
    // 16. no_new_privs: nothing above needs to gain privileges.
    if p.no_new_privs {
        caps::set_no_new_privs()?;
    }
    // 17. The program must exist now, so that `create` fails rather than the container.
    check_program(&p.args[0], &p.env)?;
    let ready = Ready {
        gate,
        pid: nix::unistd::getpid().as_raw(),
        env: with_home(&p.env, p.uid),
    };
    // 18. seccomp as late as possible while a failure still fails `create` and the
    //     listener fd can still reach the parent. Like runc 1.1, the filter is in
    //     force from here on: it also sees the Ready write, the start-gate open
    //     and write, startContainer hooks and execve (see docs/seccomp.md).
    if p.no_new_privs {
        load_seccomp(plan, chan)?;
    }
    chan.send(&Msg::Ready)?;
    Ok(ready)
}

/// Load the filter compiled in the plan; a listener fd goes to the parent,
/// which passes it to the agent on `listenerPath`.
fn load_seccomp(plan: &crate::plan::Plan, chan: &Channel) -> Result<()> {
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

/// Wait on the gate, run startContainer hooks, exec.
fn after_ready(req: &Request, ready: Ready) -> Result<Infallible> {
    let gate_w = start_gate::wait(&ready.gate)?;
    drop(ready.gate);
    // Signals blocked by the runtime must not stay blocked in the container.
    process::unblock_all_signals()?;
    (req.hooks)(HookKind::StartContainer, ready.pid)?;
    start_gate::pass(&gate_w)?;
    process::exec(&req.plan.process.args, &ready.env)
}

/// runc's rule: without HOME in the config, take the user's home from the
/// container's /etc/passwd, else "/".
fn with_home(env: &[String], uid: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let home = crate::plan::home_for(&passwd, uid).unwrap_or("/");
        env.push(format!("HOME={home}"));
    }
    env
}

fn setup_terminal(req: &Request, chan: &Channel) -> Result<()> {
    let (master, slave, name) = tty::open_pty()?;
    if let Some((rows, cols)) = req.plan.process.console_size {
        tty::set_winsize(&slave, rows, cols)?;
    }
    // /dev/console is the terminal too, as runc arranges it.
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
    chan.send_with_fd(&Msg::Console, master.as_raw_fd())?;
    drop(master);
    tty::become_terminal(&slave)
}

fn set_identity(plan: &crate::plan::Plan) -> Result<()> {
    let p = &plan.process;
    if let Some(c) = &p.caps {
        caps::limit_bounding(c.bounding)?;
    }
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

/// The working directory must be inside the container's root.
fn check_cwd(cwd: &std::path::Path) -> Result<()> {
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(Error::unsupported(
            "process.cwd",
            format!("{} is outside the container's root", cwd.display()),
        )),
    }
}

fn check_program(prog: &str, env: &[String]) -> Result<()> {
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

fn close_leaked_fds(req: &Request, chan: &Channel, gate: &std::os::fd::OwnedFd) -> Result<()> {
    let keep = [chan.raw(), gate.as_raw_fd()];
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
    // Preserved fds must survive exec; the channel and the gate are close-on-exec.
    for fd in &req.preserved_fds {
        process::clear_cloexec(*fd)?;
    }
    Ok(())
}

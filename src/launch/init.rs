//! The container's init: the recipe that ends in execve. Runs in the new
//! namespaces (as PID 1 of a new pid namespace), still the runtime's binary.
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::steps::load_seccomp;
use super::steps::{
    check_cwd, check_program, close_leaked_fds, set_identity, setup_terminal, with_home,
};
use super::Request;
use crate::error::{Context, Error, Result, SysResult};
use crate::kernel::memory::{self, CleanPages};
use crate::kernel::{caps, pivot, process, procfs, start_gate, uts};
use crate::plan::HookKind;
use std::convert::Infallible;

/// What init waits for from the parent, besides the Ack of its hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Waits {
    /// The parent makes the cgroup's v1 hierarchies after the clone
    /// (`Request::cgroup_later`): init, having made its network namespace
    /// meanwhile, waits for its Ack and joins them before its mounts
    /// (direct.rs `born`).
    pub cgroup_later: bool,
    /// The parent moves init into the cgroup2 directory meanwhile (parent.rs
    /// `place`): init goes no further than its mounts before an Ack.
    pub moving: bool,
}

/// Run the recipe; report any error to the parent before exiting.
pub fn main(req: &Request, chan: &Channel, waits: Waits) -> Result<Infallible> {
    match setup(req, chan, waits) {
        Ok(ready) => {
            // `create` returns at Ready, unless the stub waits at the gate:
            // then at the end-of-file of our end, closed by the exec into it.
            if req.gate.is_some() && !req.stub_at_gate() {
                chan.close_copy();
            }
            match after_ready(req, chan, ready) {
                Ok(never) => match never {},
                Err(e) => {
                    // create has returned: the container's stderr is all we have.
                    eprintln!("{}{e}", crate::kernel::process::INIT_ERROR_PREFIX);
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

/// What `after_ready` needs, computed before "ready" (so that the seccomp
/// filter sees as few syscalls as possible).
struct Ready {
    pid: i32,
    env: Vec<String>,
    /// Given back just before blocking at the gate (`gate_release`).
    release: Option<CleanPages>,
}

/// Steps up to "ready": everything that can fail is done before `create` returns.
fn setup(req: &Request, chan: &Channel, waits: Waits) -> Result<Ready> {
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
    super::rootfs::prepare(plan, req.cgroup)?;
    // 4. prestart and createRuntime hooks run in the runtime's namespaces, by
    //    the parent. Without any, no round trip, unless it is the Ack that
    //    says init is in its cgroup2 directory.
    let hooks = &plan.hooks;
    let runtime_hooks = !hooks.prestart.is_empty() || !hooks.create_runtime.is_empty();
    if runtime_hooks || (waits.moving && !waits.cgroup_later) {
        chan.send(&Msg::RunHooks)?;
        chan.expect_ack()?;
    }
    // 5. createContainer hooks: in our namespaces, before pivot_root.
    (req.hooks)(HookKind::CreateContainer, nix::unistd::getpid().as_raw())?;

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
    super::masks::finish(plan)?;
    // 10. Names in the uts namespace.
    if let Some(h) = &plan.hostname {
        uts::set_hostname(h)?;
    }
    if let Some(d) = &plan.domainname {
        uts::set_domainname(d)?;
    }
    // 11. The terminal: a pty from the container's devpts, master to the console socket.
    if p.terminal {
        setup_terminal(req, chan, true)?;
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
    close_leaked_fds(req, chan)?;
    // 13b. init outlives the runtime: no death signal from here (born by one
    //      clone it had one; a runtime gone before Ready fails the sends below).
    process::set_parent_death_signal(None)?;
    become_the_process(req, chan)
}

/// Steps 14-19: seccomp, identity, capabilities, no_new_privs; then Ready.
fn become_the_process(req: &Request, chan: &Channel) -> Result<Ready> {
    let plan = req.plan;
    let p = &plan.process;
    // A waiting init gives back the runtime's pages at the gate, or, if the
    // filter would not let it, before loading the filter (at 14 or 19).
    let at_gate = gate_release(req);
    let release_early = req.waits && at_gate.is_none();
    // 14. Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
    //     now, before the identity and capabilities change (runtime-spec; runc too).
    if !p.no_new_privs {
        if release_early {
            memory::release_clean_file_pages();
        }
        load_seccomp(plan, chan)?;
    }
    // 15. Working directory as root (may need privileges), then identity and capabilities.
    let early_cwd = nix::unistd::chdir(&p.cwd).is_ok();
    set_identity(plan)?;
    // A uid change resets "dumpable": keep /proc/<init>/exe out of reach until execve.
    process::set_dumpable(false)?;
    if !early_cwd {
        nix::unistd::chdir(&p.cwd).sys("chdir to cwd set in config.json", p.cwd.display())?;
    }
    check_cwd(&p.cwd)?;
    process::set_umask(p.umask.unwrap_or(0o022));
    // 16. no_new_privs: nothing above needs to gain privileges.
    if p.no_new_privs {
        caps::set_no_new_privs()?;
    }
    // 17. The program must exist now, so that `create` fails rather than the container;
    //     HOME is looked up now too (reading the image's files after the gate could block `start`).
    check_program(&p.args[0], &p.env)?;
    let ready = Ready {
        pid: nix::unistd::getpid().as_raw(),
        env: with_home(&p.env, p.uid),
        release: at_gate,
    };
    // 18. Signals blocked by the runtime must not stay blocked (nor ignored) in the container.
    process::reset_signals()?;
    // 19. seccomp as late as possible while a failure still fails `create` and the
    //     listener fd can still reach the parent. Like runc 1.1, the filter is in
    //     force from here on: it also sees the Ready write, the start-gate open
    //     and write, startContainer hooks and execve (see docs/seccomp.md).
    //     A waiting container gives back the runtime's text at the gate; when
    //     the filter would not let that madvise through, it does so here, before
    //     the filter (the code run after it is faulted back).
    if p.no_new_privs {
        if release_early {
            memory::release_clean_file_pages();
        }
        load_seccomp(plan, chan)?;
    }
    chan.send(&Msg::Ready)?;
    Ok(ready)
}

/// The pages init gives back just before it blocks at the start gate, when it
/// may wait long (`create`) and the container's seccomp filter, loaded by then,
/// lets those madvise calls through untouched (a filter may kill on them).
/// None: init releases them before loading the filter instead, or not at all
/// for `run`, whose start comes at once.
fn gate_release(req: &Request) -> Option<CleanPages> {
    if !req.waits {
        return None;
    }
    memory::trim_heap();
    let pages = memory::clean_file_pages();
    let allowed = req.plan.seccomp.as_ref().is_none_or(|filter| {
        pages.ranges().iter().all(|&(start, len)| {
            let dontneed = libc::MADV_DONTNEED as u64;
            filter.allows(
                libc::SYS_madvise,
                [start as u64, len as u64, dontneed, 0, 0, 0],
            )
        })
    });
    allowed.then_some(pages)
}

/// Wait on the gate, run startContainer hooks, exec. Without a gate (`run`)
/// the hooks run at once; their failure goes to the parent on the channel,
/// which is still open (and closes on exec). With the exec stub, the stub
/// waits at the gate instead: the container waiting for `start` is a
/// process of a few KiB, no longer the runtime's binary.
fn after_ready(req: &Request, chan: &Channel, ready: Ready) -> Result<Infallible> {
    let Some(gate) = req.gate else {
        if let Err(e) = (req.hooks)(HookKind::StartContainer, ready.pid) {
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            std::process::exit(1);
        }
        return process::exec(&req.plan.process.args, &ready.env, req.exec_stub, None);
    };
    if req.stub_at_gate() {
        // The stub waits at the gate in init's place (there are no
        // startContainer hooks to run: container::sealing).
        let Err(e) = process::exec(
            &req.plan.process.args,
            &ready.env,
            req.exec_stub,
            Some(gate),
        );
        let _ = chan.send(&Msg::Error { msg: e.to_string() });
        std::process::exit(1);
    }
    let gate_w = start_gate::wait(gate, ready.release.as_ref())?;
    (req.hooks)(HookKind::StartContainer, ready.pid)?;
    start_gate::pass(&gate_w)?;
    process::exec(&req.plan.process.args, &ready.env, req.exec_stub, None)
}

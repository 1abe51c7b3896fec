//! A process exec'd into a running container: it has joined the container's
//! namespaces and cgroup (intermediate); here it takes its identity and execs.
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::steps::load_seccomp;
use super::steps::{
    check_cwd, check_program, close_leaked_fds, set_identity, setup_terminal, with_home,
};
use super::Request;
use crate::error::{Context, Result, SysResult};
use crate::kernel::{caps, process, procfs};
use std::convert::Infallible;

pub fn main(req: &Request, chan: &Channel) -> Result<Infallible> {
    match setup(req, chan) {
        Ok(env) => {
            chan.close_copy();
            process::exec(&req.plan.process.args, &env, None, None)
        }
        Err(e) => {
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            Err(e)
        }
    }
}

fn setup(req: &Request, chan: &Channel) -> Result<Vec<String>> {
    let p = &req.plan.process;
    process::setsid()?;
    // The container's session keyring, not the caller's (as runc's exec).
    process::join_session_keyring(&format!("_ses.{}", req.plan.id))?;
    if p.terminal {
        setup_terminal(req, chan, false)?;
    }
    if let Some(adj) = p.oom_score_adj {
        procfs::set_oom_score_adj(adj).context(|| "process.oomScoreAdj".into())?;
    }
    for r in &p.rlimits {
        process::set_rlimit(&r.name, r.resource, r.soft, r.hard)
            .context(|| "process.rlimits".into())?;
    }
    close_leaked_fds(req, chan)?;
    // The container's seccomp profile applies to exec'd processes too (as runc).
    if !p.no_new_privs {
        load_seccomp(req.plan, chan)?;
    }
    let early_cwd = nix::unistd::chdir(&p.cwd).is_ok();
    set_identity(req.plan)?;
    process::set_dumpable(false)?;
    if !early_cwd {
        nix::unistd::chdir(&p.cwd).sys("chdir to cwd", p.cwd.display())?;
    }
    check_cwd(&p.cwd)?;
    process::set_umask(p.umask.unwrap_or(0o022));
    if p.no_new_privs {
        caps::set_no_new_privs()?;
    }
    check_program(&p.args[0], &p.env)?;
    let env = with_home(&p.env, p.uid);
    process::reset_signals()?;
    if p.no_new_privs {
        load_seccomp(req.plan, chan)?;
    }
    chan.send(&Msg::Ready)?;
    Ok(env)
}

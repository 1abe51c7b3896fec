//! `exec`: start another process in a running container: its namespaces, its
//! cgroup, the identity asked for; return its exit status unless detached.

use super::lifecycle::current;
use super::run::{signal_mask, wait_forwarding};
use super::state::Status;
use super::store::Store;
use crate::error::{Error, Result, SysResult};
use crate::host::Host;
use crate::kernel::process;
use crate::launch;
use crate::plan::LaunchOptions;
use crate::spec::ExecOverrides;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// A process.json; otherwise the container's process with `overrides`.
    pub process_file: Option<Vec<u8>>,
    pub overrides: ExecOverrides,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub inherited_fds: Vec<i32>,
    pub ignore_paused: bool,
    /// `--cgroup`: sub-cgroups of the container's to run in.
    pub sub_cgroups: Vec<crate::kernel::cgroup::SubCgroup>,
}

pub fn exec(store: &Store, id: &str, opts: &ExecOptions) -> Result<i32> {
    let (entry, saved) = store.open(id)?;
    match current(&entry, &saved) {
        Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Paused => {
            return Err(Error::State(
                "cannot exec in a paused container (use --ignore-paused)".into(),
            ))
        }
        Status::Created | Status::Creating => {
            return Err(Error::State(
                "cannot exec in a created container: start it first".into(),
            ))
        }
        Status::Stopped => return Err(stopped()),
    }
    // Pin init before its start time is checked again: from here on a reused
    // pid cannot pass for it (the intermediate checks the pidfd after opening
    // init's namespaces).
    let pidfd = process::pidfd_open(saved.pid).map_err(|_| stopped())?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(stopped());
    }
    // Namespaces, seccomp, cgroup: the config as it was at create (the bundle
    // may have changed since). The process defaults: the bundle's config.json
    // as it is now, as runc takes them (the saved one if the bundle is gone).
    let mut spec = entry.load_config(&saved)?;
    let cgroup = saved.cgroup.for_exec(&opts.sub_cgroups, saved.pid)?;
    // Do not hold the container's lock while the process runs.
    drop(entry);
    let process = match &opts.process_file {
        Some(text) => crate::spec::parse_process(text)?,
        None => match crate::spec::load(&saved.bundle) {
            Ok(now) => crate::spec::exec_process(&now, &opts.overrides)?,
            Err(_) => crate::spec::exec_process(&spec, &opts.overrides)?,
        },
    };
    spec.set_process(Some(process));
    let host = Host::detect();
    let plan = super::seccomp_cache::build_plan(
        &store.root,
        id,
        &saved.bundle,
        &spec,
        &host,
        LaunchOptions::default(),
    )?;
    let keep_console = plan.process.terminal && opts.console_socket.is_none();
    if keep_console && opts.detach {
        return Err(Error::Usage(
            "exec -d with a terminal needs --console-socket".into(),
        ));
    }
    if !opts.detach {
        process::set_child_subreaper()?;
    }
    let no_hooks = |_: crate::plan::HookKind, _: i32| Ok(());
    let req = launch::Request {
        plan: &plan,
        gate: None,
        exec_stub: None,
        exec_into: Some(launch::ExecTarget {
            pid: saved.pid,
            pidfd: &pidfd,
        }),
        console_socket: opts.console_socket.clone(),
        preserved_fds: opts.inherited_fds.clone(),
        new_keyring: false,
        waits: false,
        cgroup: &cgroup,
        cgroup_later: None,
        hooks: &no_hooks,
    };
    let mask = signal_mask();
    if !opts.detach {
        mask.thread_block().sys("sigprocmask", "exec")?;
    }
    let launched = launch::create(&req)?;
    if let Some(p) = &opts.pid_file {
        super::create::write_pid_file(p, launched.pid)?;
    }
    if opts.detach {
        return Ok(0);
    }
    wait_forwarding(launched.pid, &mask, launched.console)
}

fn stopped() -> Error {
    Error::State("cannot exec in a stopped container".into())
}

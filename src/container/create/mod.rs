//! `create`: from a bundle to an init waiting at the start gate, with its
//! cgroup made and limited first; on failure nothing is left behind.

use super::hooks;
use super::state::{Saved, Status};
use super::store::{Entry, Store};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::kernel::cgroup::Cgroup;
use crate::kernel::{process, procfs, start_gate};
use crate::launch;
use crate::plan::{HookKind, LaunchOptions, Plan};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};

mod cgroup;
use cgroup::{in_steps, make_cgroup, Later};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Of the fds 3..3+N of --preserve-fds, those the caller really passed (checked
    /// before the runtime opened anything): only these reach the container.
    pub inherited_fds: Vec<i32>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Keep the pty master (foreground `run` proxies it) instead of requiring a socket.
    pub keep_console: bool,
    /// What to do about a limit the cgroup layer could not apply.
    pub limits: LimitPolicy,
    /// `start` follows at once (`run`): init does not give back the runtime's
    /// pages before waiting at the start gate (see kernel::memory).
    pub starts_at_once: bool,
}

/// A limit that could not be applied is always recorded (`notApplied`);
/// `nook run` also warns about it, or with `--strict-limits` fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LimitPolicy {
    #[default]
    Record,
    /// A docker-style `WARNING: ...` line on stderr for each.
    Warn,
    /// An error naming the first (nothing is left behind).
    Strict,
}

/// Create a container; on success init waits at the start gate. On failure
/// nothing is left: no state directory, no process (mounts die with init's
/// mount namespace).
pub fn create(store: &Store, id: &str, opts: &CreateOptions) -> Result<launch::Launched> {
    create_then(store, id, opts, || Ok(()))
}

/// `create`, running `ready` once this process is the one that goes on to make
/// the container: after the config is read and the choice between the exec
/// stub and a re-exec from a sealed view is made (container::sealing: a
/// re-exec starts the whole command again), before anything is made. `nook
/// __create` mounts the container's snapshot there, so it is mounted once, by
/// the process that stays.
pub fn create_then(
    store: &Store,
    id: &str,
    opts: &CreateOptions,
    ready: impl FnOnce() -> Result<()>,
) -> Result<launch::Launched> {
    let bundle =
        std::fs::canonicalize(&opts.bundle).map_err(|e| Error::io("bundle", &opts.bundle, e))?;
    let mut spec = crate::spec::load(&bundle)?;
    crate::spec::validate(&spec)?;
    let state_dir = std::path::absolute(store.root.join(id))
        .map_err(|e| Error::io("resolve", &store.root, e))?;
    let notify = super::notify::host_socket().is_some();
    if notify {
        super::notify::add_to_spec(&mut spec, &state_dir)?;
    }
    let host = Host::detect();
    let plan = super::seccomp_cache::build_plan(
        &store.root,
        id,
        &bundle,
        &spec,
        &host,
        LaunchOptions {
            no_pivot: opts.no_pivot,
            ..Default::default()
        },
    )?;
    if !plan.rootfs.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", plan.rootfs.display()),
        ));
    }
    if plan.process.terminal && opts.console_socket.is_none() && !opts.keep_console {
        return Err(Error::Usage(
            "process.terminal is true: --console-socket is required (or set terminal to false)"
                .into(),
        ));
    }
    // Before anything is made: the exec stub, or a re-exec from a sealed view.
    let gateless = starts_without_gate(opts);
    let stub = super::sealing::prepare(&plan, gateless)?;
    ready()?;
    let entry = store.claim(id)?;
    let steps = in_steps(&plan, &host);
    let made = match steps {
        true => Cgroup::create_in_steps(&host.cgroups, &plan.cgroup.path)
            .expect("in_steps: a v1 layout")
            .map(|c| (c, Vec::new())),
        false => make_cgroup(&plan, &host, opts.limits),
    };
    let made = made.and_then(|(cgroup, notes)| {
        // The v1 hierarchies still to make (in_steps): by the parent, once
        // init is cloned.
        let later = Later {
            plan: &plan,
            host: &host,
            policy: opts.limits,
            made: std::cell::RefCell::new((cgroup.clone(), notes.clone())),
        };
        match notify {
            true => super::notify::make_dir(&entry.dir),
            false => Ok(()),
        }
        .and_then(|_| {
            let how = How {
                stub: stub.as_ref(),
                config: serde_json::to_string(&spec).expect("config serialises"),
                gateless,
                later: steps.then_some(&later),
            };
            create_in(&entry, &plan, opts, &host, (cgroup.clone(), notes), how)
        })
        .inspect_err(|_| {
            let _ = later.made.borrow().0.destroy();
        })
    });
    made.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&entry.dir);
    })
}

/// Does this `create` start the container at once, without a start gate?
/// `run`, unless a NOTIFY_SOCKET is passed through (its listener is bound by
/// `start`, before the gate opens). init then runs its startContainer hooks
/// and execs as soon as it is ready: no FIFO made, opened by both sides and
/// removed, no second pass over the state (`run` skips `start`).
pub(super) fn starts_without_gate(opts: &CreateOptions) -> bool {
    opts.starts_at_once && super::notify::host_socket().is_none()
}

/// How init is to be launched.
struct How<'a> {
    stub: Option<&'a std::os::fd::OwnedFd>,
    /// The config as JSON text, for the state.
    config: String,
    /// See `starts_without_gate`.
    gateless: bool,
    /// The cgroup's v1 hierarchies, when made after the clone (`in_steps`).
    later: Option<&'a Later<'a>>,
}

fn create_in(
    entry: &Entry,
    plan: &Plan,
    opts: &CreateOptions,
    host: &Host,
    (cgroup, not_applied): (Cgroup, Vec<String>),
    how: How,
) -> Result<launch::Launched> {
    let gate = if how.gateless {
        None
    } else {
        let fifo = entry.fifo();
        start_gate::create(&fifo)?;
        Some(start_gate::handle(&fifo)?)
    };
    let mut saved = Saved {
        id: plan.id.clone(),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        pid: 0,
        pid_start: 0,
        init_exe: String::new(),
        created: crate::log::rfc3339_now(),
        config: how.config,
        owner: host.euid,
        annotations: plan.annotations.clone(),
        hooks: plan.hooks.clone(),
        cgroup,
        not_applied,
    };
    let hook_state = saved.clone();
    let run_hooks = move |kind: HookKind, pid: i32| {
        let mut s = hook_state.clone();
        s.pid = pid;
        let status = if kind == HookKind::StartContainer {
            Status::Created
        } else {
            Status::Creating
        };
        let mut state = s.oci_state(status);
        state["pid"] = pid.into();
        hooks::run_all(kind, hook_state.hooks.of(kind), &state)
    };
    let finish_later = |init| how.later.map_or(Ok(()), |l| l.finish(init));
    let req = launch::Request {
        plan,
        cgroup: &saved.cgroup,
        cgroup_later: how
            .later
            .is_some()
            .then_some(&finish_later as &dyn Fn(Option<i32>) -> Result<()>),
        gate: gate.as_ref(),
        exec_into: None,
        exec_stub: how.stub,
        console_socket: opts.console_socket.clone(),
        preserved_fds: opts.inherited_fds.clone(),
        new_keyring: !opts.no_new_keyring,
        // Through the stub the waiting container is the stub, whose pages
        // init need not give back.
        waits: !opts.starts_at_once && how.stub.is_none(),
        hooks: &run_hooks,
    };
    // The spec, plan and cgroup code is done: the container's processes start
    // (and the runtime goes on) without its pages mapped (see kernel::memory).
    crate::kernel::memory::release_clean_file_pages();
    let mut launched = launch::create(&req)?;
    if let Some(later) = how.later {
        (saved.cgroup, saved.not_applied) = later.made.borrow().clone();
    }
    let pid = launched.pid;
    // The stub waits at the gate: init_exe is its, once init has exec'd it.
    if let Some(chan) = launched.channel.take_if(|_| gate.is_some()) {
        if let Err(e) = exec_done(&chan).and_then(|_| waits_in_stub(pid)) {
            let _ = process::kill(pid, Signal::SIGKILL);
            return Err(e);
        }
    }
    saved.pid = pid;
    saved.pid_start = procfs::process_stat(pid).map(|(_, s)| s).unwrap_or(0);
    saved.init_exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let saved_ok = entry.save(&saved).and_then(|_| match &opts.pid_file {
        Some(p) => write_pid_file(p, pid),
        None => Ok(()),
    });
    let started = match (saved_ok, launched.channel.take()) {
        (Ok(()), Some(chan)) => started(&chan, &saved),
        (res, _) => res,
    };
    if let Err(e) = started {
        let _ = process::kill(pid, Signal::SIGKILL);
        return Err(e);
    }
    Ok(launched)
}

/// Without a gate: init has exec'd once its end of the channel closes (an
/// `Error` if its startContainer hooks failed); then the poststart hooks,
/// as `start` runs them.
fn started(chan: &launch::channel::Channel, saved: &Saved) -> Result<()> {
    exec_done(chan)?;
    let state = saved.oci_state(Status::Running);
    hooks::run_all_warning(HookKind::Poststart, &saved.hooks.poststart, &state);
    Ok(())
}

/// init has exec'd (its end of the channel closed at that execve), or says
/// why not.
fn exec_done(chan: &launch::channel::Channel) -> Result<()> {
    match chan.recv()? {
        None => Ok(()),
        Some((launch::channel::Msg::Error { msg }, _)) => Err(Error::Child(msg)),
        Some((other, _)) => Err(Error::Init(format!("unexpected message {other:?}"))),
    }
}

/// The channel also closes when init dies before its exec (killed): it must
/// be alive and, where its exe can be read, running the stub.
fn waits_in_stub(pid: i32) -> Result<()> {
    let stub = format!("/memfd:{}", crate::kernel::exec_stub::NAME);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
    let in_stub = match exe {
        Ok(p) => p.to_string_lossy().starts_with(&stub),
        Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
    };
    if process::alive(pid) && in_stub {
        return Ok(());
    }
    Err(Error::Init(
        "container init exited before it was ready".into(),
    ))
}

/// Written to a temporary name and renamed, so a reader never sees half a pid.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("nook-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))
}

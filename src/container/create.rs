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
    let entry = store.claim(id)?;
    let made = make_cgroup(&plan, &host, opts.limits).and_then(|(cgroup, notes)| {
        match notify {
            true => super::notify::make_dir(&entry.dir),
            false => Ok(()),
        }
        .and_then(|_| {
            let made = (cgroup.clone(), notes);
            let how = How {
                stub: stub.as_ref(),
                config: serde_json::to_string(&spec).expect("config serialises"),
                gateless,
            };
            create_in(&entry, &plan, opts, &host, made, how)
        })
        .inspect_err(|_| {
            let _ = cgroup.destroy();
        })
    });
    made.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&entry.dir);
    })
}

/// Create the cgroup and write the limits. Without the right to (rootless, or
/// in a user namespace), run without and record why; as real root it is an error.
fn make_cgroup(plan: &Plan, host: &Host, policy: LimitPolicy) -> Result<(Cgroup, Vec<String>)> {
    let mut notes = plan.not_applied.clone();
    let privileged = host.euid == 0 && !host.in_userns;
    let cgroup = match Cgroup::create(&host.cgroups, &plan.cgroup.path) {
        Ok(c) => c,
        Err(e) if !privileged => Cgroup::None {
            reason: format!(
                "no cgroup may be created here by uid {} ({e}); see `nook doctor`",
                host.euid
            ),
        },
        Err(e) => return Err(e),
    };
    // A pre-existing cgroup with processes in it belongs to someone else (runc refuses too).
    let others = if cgroup.owns_leaf() {
        Vec::new()
    } else {
        cgroup.procs()
    };
    if !others.is_empty() {
        let dir = cgroup
            .dirs()
            .first()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        return Err(Error::State(format!(
            "cgroup {dir} is not empty: it has {} processes",
            others.len()
        )));
    }
    match cgroup.apply(&plan.cgroup.writes) {
        Ok(skipped) => notes.extend(skipped),
        Err(e) => {
            let _ = cgroup.destroy();
            return Err(e);
        }
    }
    if let Some(prog) = &plan.cgroup.device_program {
        let denied = |e: &Error| {
            matches!(
                e.errno(),
                Some(nix::errno::Errno::EPERM) | Some(nix::errno::Errno::EACCES)
            )
        };
        match cgroup.apply_devices(prog) {
            Ok(None) => {}
            Ok(Some(why)) => notes.push(format!("linux.resources.devices: not applied: {why}")),
            Err(e) if !privileged && denied(&e) => {
                notes.push(format!("linux.resources.devices: not applied: {e}"))
            }
            Err(e) => {
                let _ = cgroup.destroy();
                return Err(e);
            }
        }
    }
    for n in &notes {
        crate::log::debug(&format!("not applied: {n}"));
    }
    // Limits, not device rules: without a cgroup (rootless) those are never applied.
    let limits: Vec<&String> = notes[plan.not_applied.len()..]
        .iter()
        .filter(|n| !n.starts_with("devices.") && !n.starts_with("linux.resources.devices"))
        .collect();
    match (policy, limits.first()) {
        (LimitPolicy::Strict, Some(first)) => {
            let _ = cgroup.destroy();
            return Err(Error::unsupported(
                "linux.resources",
                format!("{first} (--strict-limits)"),
            ));
        }
        (LimitPolicy::Warn, _) => limits
            .iter()
            .for_each(|n| eprintln!("WARNING: limit not applied: {n}")),
        _ => {}
    }
    Ok((cgroup, notes))
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
    let req = launch::Request {
        plan,
        cgroup: &saved.cgroup,
        gate: gate.as_ref(),
        exec_into: None,
        exec_stub: how.stub,
        console_socket: opts.console_socket.clone(),
        preserved_fds: opts.inherited_fds.clone(),
        new_keyring: !opts.no_new_keyring,
        waits: !opts.starts_at_once,
        hooks: &run_hooks,
    };
    // The spec, plan and cgroup code is done: the container's processes start
    // (and the runtime goes on) without its pages mapped (see kernel::memory).
    crate::kernel::memory::release_clean_file_pages();
    let mut launched = launch::create(&req)?;
    let pid = launched.pid;
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
    match chan.recv()? {
        None => {}
        Some((launch::channel::Msg::Error { msg }, _)) => return Err(Error::Child(msg)),
        Some((other, _)) => {
            return Err(Error::Init(format!("unexpected message {other:?}")));
        }
    }
    let state = saved.oci_state(Status::Running);
    hooks::run_all_warning(HookKind::Poststart, &saved.hooks.poststart, &state);
    Ok(())
}

/// Written to a temporary name and renamed, so a reader never sees half a pid.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("nook-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))
}

//! The runtime commands: create, start, state, kill, delete, list.
//! Each one locks the container's directory for its whole run.

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
use std::time::{Duration, Instant};

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
}

/// Create a container; on success init waits at the start gate. On failure
/// nothing is left: no state directory, no process (mounts die with init's
/// mount namespace).
pub fn create(store: &Store, id: &str, opts: &CreateOptions) -> Result<launch::Launched> {
    let bundle =
        std::fs::canonicalize(&opts.bundle).map_err(|e| Error::io("bundle", &opts.bundle, e))?;
    let spec = crate::spec::load(&bundle)?;
    crate::spec::validate(&spec)?;
    let host = Host::detect();
    let plan = Plan::build(
        id,
        &bundle,
        &spec,
        &host,
        &LaunchOptions {
            no_pivot: opts.no_pivot,
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
    let entry = store.claim(id)?;
    let made = make_cgroup(&plan, &host).and_then(|(cgroup, notes)| {
        create_in(&entry, &plan, opts, &host, cgroup.clone(), notes).inspect_err(|_| {
            let _ = cgroup.destroy();
        })
    });
    made.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&entry.dir);
    })
}

/// Create the cgroup and write the limits. Without the right to (rootless, or
/// in a user namespace), run without and record why; as real root it is an error.
fn make_cgroup(plan: &Plan, host: &Host) -> Result<(Cgroup, Vec<String>)> {
    let mut notes = plan.not_applied.clone();
    let privileged = host.euid == 0 && !host.in_userns;
    let cgroup = match Cgroup::create(&host.cgroups, &plan.cgroup.path) {
        Ok(c) => c,
        Err(e) if !privileged => Cgroup::None {
            reason: e.to_string(),
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
    Ok((cgroup, notes))
}

fn create_in(
    entry: &Entry,
    plan: &Plan,
    opts: &CreateOptions,
    host: &Host,
    cgroup: Cgroup,
    not_applied: Vec<String>,
) -> Result<launch::Launched> {
    let fifo = entry.fifo();
    start_gate::create(&fifo)?;
    let gate = start_gate::handle(&fifo)?;
    let mut saved = Saved {
        id: plan.id.clone(),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        pid: 0,
        pid_start: 0,
        init_exe: String::new(),
        created: crate::log::rfc3339_now(),
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
        gate: Some(&gate),
        exec_into: None,
        console_socket: opts.console_socket.clone(),
        preserved_fds: opts.inherited_fds.clone(),
        new_keyring: !opts.no_new_keyring,
        hooks: &run_hooks,
    };
    let launched = launch::create(&req)?;
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
    if let Err(e) = saved_ok {
        let _ = process::kill(pid, Signal::SIGKILL);
        return Err(e);
    }
    Ok(launched)
}

/// Written to a temporary name and renamed, so a reader never sees half a pid.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("nook-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))
}

pub(super) fn current(entry: &Entry, saved: &Saved) -> Status {
    saved.status(entry.fifo().exists())
}

/// Open the start gate: the container's process execs.
pub fn start(store: &Store, id: &str) -> Result<()> {
    let (entry, saved) = store.open(id)?;
    let refused = match current(&entry, &saved) {
        Status::Created => None,
        Status::Stopped => Some("cannot start a container that has stopped"),
        Status::Running => Some("cannot start an already running container"),
        Status::Paused => Some("cannot start a paused container"),
        Status::Creating => Some("cannot start a container that is being created"),
    };
    if let Some(why) = refused {
        return Err(Error::State(why.into()));
    }
    let fifo = entry.fifo();
    start_gate::open_and_read(&fifo, || process::alive(saved.pid))?;
    let _ = std::fs::remove_file(&fifo);
    let state = saved.oci_state(Status::Running);
    hooks::run_all_warning(HookKind::Poststart, &saved.hooks.poststart, &state);
    Ok(())
}

/// The runtime-spec State of a container.
pub fn state(store: &Store, id: &str) -> Result<serde_json::Value> {
    let (entry, saved) = store.open(id)?;
    let status = current(&entry, &saved);
    let mut v = saved.oci_state(status);
    v["pid"] = if status == Status::Stopped {
        0
    } else {
        saved.pid
    }
    .into();
    v["rootfs"] = saved.rootfs.display().to_string().into();
    v["created"] = saved.created.clone().into();
    if !saved.not_applied.is_empty() {
        v["notApplied"] = saved.not_applied.clone().into();
    }
    v["owner"] = if saved.owner == 0 {
        String::new()
    } else {
        saved.owner.to_string()
    }
    .into();
    Ok(v)
}

/// Signal the container's init, or with `all` every process in its cgroup.
pub fn kill(store: &Store, id: &str, sig: i32, all: bool) -> Result<()> {
    let (entry, saved) = store.open(id)?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(Error::State("container not running".into()));
    }
    if all && saved.cgroup.owns_leaf() {
        return saved.cgroup.kill_all(sig);
    }
    process::kill_raw(saved.pid, sig).map_err(|e| match e.errno() {
        Some(nix::errno::Errno::ESRCH) => Error::State("no such process".into()),
        _ => e,
    })
}

/// Delete a stopped (or created) container; `force` kills a running one first.
/// With `force`, a container that does not exist is not an error (containerd
/// deletes twice).
pub fn delete(store: &Store, id: &str, force: bool) -> Result<()> {
    let (entry, saved) = match store.open(id) {
        Ok(x) => x,
        Err(Error::NotFound(_)) if force => {
            store.remove_stale(id);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let status = current(&entry, &saved);
    match status {
        Status::Stopped => {}
        Status::Created => kill_and_wait(saved.pid)?,
        Status::Paused if force => {
            // A frozen task cannot die until thawed (v1 freezer).
            saved.cgroup.freeze(false)?;
            kill_and_wait(saved.pid)?
        }
        _ if force => kill_and_wait(saved.pid)?,
        s => {
            return Err(Error::State(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            )))
        }
    }
    // Processes that outlived init (joined by exec, or without a pid namespace);
    // only in a cgroup we made, never in a shared, pre-existing one.
    if saved.cgroup.owns_leaf() {
        saved.cgroup.kill_all(libc::SIGKILL)?;
    }
    saved.cgroup.destroy()?;
    let state = saved.oci_state(Status::Stopped);
    entry.remove()?;
    hooks::run_all_warning(HookKind::Poststop, &saved.hooks.poststop, &state);
    Ok(())
}

fn kill_and_wait(pid: i32) -> Result<()> {
    let _ = process::kill(pid, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while process::alive(pid) {
        // Our own child (after `run`) must be reaped here; others are reaped by their parent.
        let _ = nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
        if Instant::now() > deadline {
            return Err(Error::State(format!(
                "container init {pid} did not die after SIGKILL"
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// One row of `list`.
#[derive(Debug, serde::Serialize)]
pub struct ListEntry {
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub created: String,
    pub owner: String,
}

pub fn list(store: &Store) -> Vec<ListEntry> {
    store
        .ids()
        .into_iter()
        .filter_map(|id| {
            let (entry, saved) = store.open(&id).ok()?;
            let status = current(&entry, &saved);
            Some(ListEntry {
                id,
                pid: if status == Status::Stopped {
                    0
                } else {
                    saved.pid
                },
                status: status.as_str().into(),
                bundle: saved.bundle.clone(),
                created: saved.created.clone(),
                owner: if saved.owner == 0 {
                    "root".into()
                } else {
                    saved.owner.to_string()
                },
            })
        })
        .collect()
}

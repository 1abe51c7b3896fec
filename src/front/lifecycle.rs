//! stop, kill, start, restart, rm, wait, rename, prune: each takes the
//! container's lock for the part that changes it (never while waiting for
//! the container to end, so the monitor can finish meanwhile).

use super::containers::{self, Record};
use super::remove::{remove_files, wait_until};
use super::status::{self, Phase};
use crate::cli::front_ctr::{KillArgs, RmArgs, StartArgs, StopArgs};
use crate::error::{Error, Result};
use crate::image::store::Store;
use std::io::Write;
use std::time::Duration;

fn say(out: &mut dyn Write, what: &str) -> Result<()> {
    writeln!(out, "{what}").map_err(|e| Error::io("write", "stdout", e))
}

fn signal(s: &str) -> Result<i32> {
    crate::cli::signal::parse(s).map_err(Error::Usage)
}

/// Is init still there (by the runtime's state; no exit recorded)?
fn init_alive(store: &Store, id: &str) -> bool {
    status::exit_file(store, id).is_none()
        && matches!(status::runtime_state(store, id), Some((s, _)) if s == "running" || s == "paused")
}

/// After init's death: give the monitor time to record the exit.
fn settle(store: &Store, id: &str) {
    wait_until(Duration::from_secs(5), || {
        status::exit_file(store, id).is_some() || status::monitor_alive(store, id).is_none()
    });
}

/// The stop signal, then SIGKILL to every process after `secs`.
pub fn stop_one(store: &Store, rec: &Record, sig: i32, secs: u32) -> Result<()> {
    let rt = containers::runtime(store);
    let id = &rec.id;
    // No restart after this (docker's "manually stopped").
    super::restart::mark_stopped(store, id);
    if !init_alive(store, id) {
        // Waiting to restart: its monitor sees the mark and records the end.
        if status::live_locked(store, id).phase == Phase::Restarting {
            settle(store, id);
        }
        return Ok(());
    }
    let _ = crate::container::kill(&rt, id, sig, false);
    super::pause::thaw_if_paused(store, id);
    if !wait_until(Duration::from_secs(secs.into()), || !init_alive(store, id)) {
        let _ = crate::container::kill(&rt, id, libc::SIGKILL, true);
        if !wait_until(Duration::from_secs(10), || !init_alive(store, id)) {
            return Err(Error::State(format!(
                "container {id} did not stop after SIGKILL"
            )));
        }
    }
    settle(store, id);
    Ok(())
}

/// Rootless, before `rm -f` (`sig` None: SIGKILL now) or `restart` runs again
/// in a fresh user namespace (src/userns.rs): that namespace has no rights over
/// the processes of a container another `nook` made (one running as a
/// subordinate id may not be signalled from it), so running containers are
/// stopped here, by the user who owns their namespaces. A name that is not
/// found is left for the command itself to report.
/// Returns the names found (a `--rm` container may be gone by the time the
/// command runs again: `rm` then counts it as removed, see `FOUND`).
pub fn stop_before_userns(store: &Store, names: &[String], a: Option<&StopArgs>) -> Vec<String> {
    let mut found = Vec::new();
    for c in names {
        let Ok(id) = containers::lookup(store, c) else {
            continue;
        };
        found.push(c.clone());
        let Ok(rec) = containers::read_record(store, &id) else {
            continue;
        };
        let (sig, secs) = match a {
            None => (libc::SIGKILL, 0),
            Some(a) => match signal(a.signal.as_deref().unwrap_or(&rec.stop_signal)) {
                Ok(sig) => (sig, a.time.or(rec.stop_timeout).unwrap_or(10)),
                Err(_) => continue,
            },
        };
        let _ = stop_one(store, &rec, sig, secs);
    }
    found
}

/// The names `stop_before_userns` found, one a line, for the `rm -f` that
/// runs again inside the user namespace.
pub const FOUND: &str = "_NOOK_RM_FOUND";

/// Found before `rm -f` re-ran, gone now (a `--rm` container removed itself
/// once stopped): removed, as far as the user can tell.
fn removed_meanwhile(c: &str) -> bool {
    std::env::var(FOUND).is_ok_and(|v| v.lines().any(|l| l == c))
}

pub fn stop(store: &Store, a: &StopArgs, out: &mut dyn Write) -> Result<()> {
    for c in &a.containers {
        let id = containers::lookup(store, c)?;
        let rec = containers::read_record(store, &id)?;
        let sig = signal(a.signal.as_deref().unwrap_or(&rec.stop_signal))?;
        let secs = a.time.or(rec.stop_timeout).unwrap_or(10);
        stop_one(store, &rec, sig, secs)?;
        say(out, c)?;
    }
    Ok(())
}

pub fn kill(store: &Store, a: &KillArgs, out: &mut dyn Write) -> Result<()> {
    let sig = signal(&a.signal)?;
    for c in &a.containers {
        let id = containers::lookup(store, c)?;
        if !status::live(store, &id).running() {
            return Err(Error::Usage(format!(
                "cannot kill container: {c}: container {id} is not running"
            )));
        }
        crate::container::kill(&containers::runtime(store), &id, sig, false)?;
        if sig == libc::SIGKILL {
            super::pause::thaw_if_paused(store, &id);
        }
        say(out, c)?;
    }
    Ok(())
}

/// Start one container with a new monitor; with `attach`, the monitor waits
/// for our client. False if it was running already.
fn start_one(store: &Store, id: &str, attach: bool) -> Result<bool> {
    let _lock = containers::lock(store, id)?;
    let live = status::live_locked(store, id);
    if live.running() {
        return Ok(false);
    }
    // Created by a `run` whose client went away before it attached: its
    // monitor still waits for someone to say start.
    if live.phase == Phase::Created && live.monitor.is_some() {
        if !attach {
            super::attach::poke_start(store, id)?;
            wait_until(Duration::from_secs(5), || {
                status::live_locked(store, id).phase != Phase::Created
            });
        }
        return Ok(true);
    }
    let dir = containers::dir(store, id);
    let old = status::exit_file(store, id);
    let _ = std::fs::remove_file(dir.join(status::EXIT_FILE));
    super::restart::clear(store, id);
    let ready = super::run::spawn_monitor(store, id, attach)?;
    if let Some(msg) = ready["error"].as_str() {
        let code = ready["code"].as_i64().unwrap_or(125) as i32;
        let started = old.map(|e| e.started_at).unwrap_or_default();
        status::write_exit(store, id, code, &started, msg)?;
        return Err(Error::Child(msg.to_string()));
    }
    Ok(true)
}

pub fn start(store: &Store, a: &StartArgs, out: &mut dyn Write) -> Result<i32> {
    if (a.attach || a.interactive) && a.containers.len() > 1 {
        return Err(Error::Usage(
            "you cannot start and attach multiple containers at once".into(),
        ));
    }
    let keys = super::detach::parse(a.detach_keys.as_deref())?;
    for c in &a.containers {
        let id = containers::lookup(store, c)?;
        let attach = a.attach || a.interactive;
        // Already running: `-a` attaches to it.
        let started = start_one(store, &id, attach)?;
        if attach {
            let rec = containers::read_record(store, &id)?;
            let o = super::attach::AttachOptions {
                stdin: a.interactive,
                tty: rec.tty,
                start: started,
                sig_proxy: true,
                detach_keys: Some(keys),
                stdin_once: true,
            };
            return match super::attach::attach(store, &id, &o)? {
                super::attach::Outcome::Exit(code) => Ok(code),
                super::attach::Outcome::Detached => Ok(0),
            };
        }
        say(out, c)?;
    }
    Ok(0)
}

pub fn restart(store: &Store, a: &StopArgs, out: &mut dyn Write) -> Result<()> {
    for c in &a.containers {
        let id = containers::lookup(store, c)?;
        let rec = containers::read_record(store, &id)?;
        let sig = signal(a.signal.as_deref().unwrap_or(&rec.stop_signal))?;
        stop_one(store, &rec, sig, a.time.or(rec.stop_timeout).unwrap_or(10))?;
        start_one(store, &id, false)?;
        say(out, c)?;
    }
    Ok(())
}

pub fn rm(store: &Store, a: &RmArgs, out: &mut dyn Write) -> Result<()> {
    for c in &a.containers {
        let id = match containers::lookup(store, c) {
            Err(_) if a.force && removed_meanwhile(c) => {
                say(out, c)?;
                continue;
            }
            r => r?,
        };
        let rec = containers::read_record(store, &id)?;
        let lock = containers::lock(store, &id)?;
        if status::live_locked(store, &id).running() {
            if !a.force {
                return Err(Error::Usage(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    rec.name
                )));
            }
            super::restart::mark_stopped(store, &id);
            let _ = crate::container::kill(&containers::runtime(store), &id, libc::SIGKILL, true);
            super::pause::thaw_if_paused(store, &id);
            wait_until(Duration::from_secs(10), || !init_alive(store, &id));
            settle(store, &id);
        }
        remove_files(store, &rec, a.volumes)?;
        drop(lock);
        say(out, c)?;
    }
    Ok(())
}

pub fn wait(store: &Store, containers_: &[String], out: &mut dyn Write) -> Result<()> {
    for c in containers_ {
        let id = containers::lookup(store, c)?;
        loop {
            if !containers::dir(store, &id).is_dir() {
                return Err(Error::Usage(format!("No such container: {c}")));
            }
            let l = status::live(store, &id);
            if l.phase == Phase::Exited {
                say(out, &l.exit_code.to_string())?;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

pub fn rename(store: &Store, c: &str, new: &str) -> Result<()> {
    let id = containers::lookup(store, c)?;
    let _lock = containers::lock(store, &id)?;
    let mut rec = containers::read_record(store, &id)?;
    containers::claim_name(store, new, &id)?;
    let old = std::mem::replace(&mut rec.name, new.to_string());
    containers::write_record(store, &rec)?;
    containers::release_name(store, &old, &id);
    Ok(())
}

pub fn prune(store: &Store, out: &mut dyn Write) -> Result<()> {
    super::remove::empty_trash(store);
    let mut deleted = Vec::new();
    let mut space = 0;
    for id in containers::ids(store) {
        let l = status::live(store, &id);
        if l.running() || (l.phase == Phase::Created && l.monitor.is_some()) {
            continue;
        }
        let Ok(_lock) = containers::lock(store, &id) else {
            continue;
        };
        if status::live_locked(store, &id).running() {
            continue;
        }
        let rec = containers::read_record(store, &id)?;
        let size = super::inspect::dir_size(&containers::dir(store, &id).join("snapshot/upper"));
        remove_files(store, &rec, false)?;
        space += size;
        deleted.push(id);
    }
    let mut text = String::new();
    if !deleted.is_empty() {
        text.push_str("Deleted Containers:\n");
        deleted
            .iter()
            .for_each(|d| text.push_str(&format!("{d}\n")));
        text.push('\n');
    }
    text.push_str(&format!(
        "Total reclaimed space: {}",
        crate::image::table::human_size(space)
    ));
    say(out, &text)
}

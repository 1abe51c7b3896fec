//! A container's status, derived (never stored as such) from three sources:
//! `exit.json` (written by the monitor when the container ends), the
//! runtime's state (is init alive?), and `monitor.json` (is the monitor?).
//!
//! | exit.json | runtime state          | monitor | status                      |
//! |-----------|------------------------|---------|-----------------------------|
//! | present   | any                    | any     | exited (its code)           |
//! | absent    | running / paused       | any     | running / paused            |
//! | absent    | created                | any     | created                     |
//! | absent    | stopped                | alive   | running (it is finishing)   |
//! | absent    | stopped                | dead    | exited (255), reconciled    |
//! | absent    | none (restart.json)    | alive   | restarting (`--restart`)    |
//! | absent    | none                   | any     | created                     |
//!
//! "Reconciled": the first command that sees a dead init and no monitor
//! writes exit.json with 255 (docker's code for an unclean end) and deletes
//! the runtime's state, under the container's lock.

use super::containers::{self, write_json};
use crate::error::Result;
use crate::image::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const EXIT_FILE: &str = "exit.json";
pub const MONITOR_FILE: &str = "monitor.json";
/// The exit code recorded when nobody saw the container end.
pub const UNKNOWN_EXIT: i32 = 255;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MonitorFile {
    pub pid: i32,
    pub pid_start: u64,
    #[serde(default)]
    pub started_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExitFile {
    pub exit_code: i32,
    pub finished_at: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Created,
    Running,
    Paused,
    /// Ended; its monitor waits to restart it (`--restart`).
    Restarting,
    Exited,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Restarting => "restarting",
            Phase::Exited => "exited",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Live {
    pub phase: Phase,
    pub pid: i32,
    pub exit_code: i32,
    pub started_at: String,
    pub finished_at: String,
    pub monitor: Option<i32>,
}

impl Live {
    pub fn running(&self) -> bool {
        matches!(
            self.phase,
            Phase::Running | Phase::Paused | Phase::Restarting
        )
    }
}

fn read<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

pub fn monitor_file(store: &Store, id: &str) -> Option<MonitorFile> {
    read(&containers::dir(store, id).join(MONITOR_FILE))
}

pub fn exit_file(store: &Store, id: &str) -> Option<ExitFile> {
    read(&containers::dir(store, id).join(EXIT_FILE))
}

/// The monitor's pid, if it is still the process that wrote monitor.json.
pub fn monitor_alive(store: &Store, id: &str) -> Option<i32> {
    let m = monitor_file(store, id)?;
    let (state, start) = crate::kernel::procfs::process_stat(m.pid)?;
    (start == m.pid_start && state != 'Z' && state != 'X').then_some(m.pid)
}

/// The runtime's view: (status, init pid), or None when it has no state.
pub fn runtime_state(store: &Store, id: &str) -> Option<(String, i32)> {
    let v: Value = crate::container::state(&containers::runtime(store), id).ok()?;
    Some((v["status"].as_str()?.to_string(), v["pid"].as_i64()? as i32))
}

/// Derive the status; reconcile a container nobody saw end (see the table).
/// Not while holding the container's lock: use `live_locked` then.
pub fn live(store: &Store, id: &str) -> Live {
    derive(store, id, true)
}

/// The same for a caller holding the lock: nothing is written.
pub fn live_locked(store: &Store, id: &str) -> Live {
    derive(store, id, false)
}

fn derive(store: &Store, id: &str, settle: bool) -> Live {
    let monitor = monitor_alive(store, id);
    let started_at = monitor_file(store, id)
        .map(|m| m.started_at)
        .unwrap_or_default();
    let mut l = Live {
        phase: Phase::Created,
        pid: 0,
        exit_code: 0,
        started_at,
        finished_at: String::new(),
        monitor,
    };
    if let Some(e) = exit_file(store, id) {
        l.phase = Phase::Exited;
        l.exit_code = e.exit_code;
        l.finished_at = e.finished_at;
        if l.started_at.is_empty() {
            l.started_at = e.started_at;
        }
        return l;
    }
    match runtime_state(store, id) {
        Some((s, pid)) if s == "running" || s == "paused" => {
            l.phase = if s == "paused" {
                Phase::Paused
            } else {
                Phase::Running
            };
            l.pid = pid;
        }
        Some((s, _)) if s == "stopped" && monitor.is_some() => l.phase = Phase::Running,
        None if monitor.is_some() => {
            if let Some(r) = super::restart::read(store, id).filter(|r| r.restarting) {
                l.phase = Phase::Restarting;
                l.exit_code = r.exit_code;
                l.finished_at = r.finished_at;
            }
        }
        Some((s, _)) if s == "stopped" => {
            if settle {
                let _ = reconcile(store, id);
            }
            l.phase = Phase::Exited;
            l.exit_code = UNKNOWN_EXIT;
            if let Some(e) = exit_file(store, id) {
                l.exit_code = e.exit_code;
                l.finished_at = e.finished_at;
            }
        }
        _ => {}
    }
    l
}

/// A container whose init is dead and whose monitor is gone: record exit
/// 255 and drop the runtime's state (its cgroup goes with it).
pub fn reconcile(store: &Store, id: &str) -> Result<()> {
    let _lock = containers::lock(store, id)?;
    if exit_file(store, id).is_some() || monitor_alive(store, id).is_some() {
        return Ok(());
    }
    if let Some((s, _)) = runtime_state(store, id) {
        if s != "stopped" {
            return Ok(());
        }
    }
    let started_at = monitor_file(store, id)
        .map(|m| m.started_at)
        .unwrap_or_default();
    write_exit(store, id, UNKNOWN_EXIT, &started_at, "the monitor was gone")?;
    crate::container::delete(&containers::runtime(store), id, true)
}

pub fn write_exit(store: &Store, id: &str, code: i32, started_at: &str, error: &str) -> Result<()> {
    let e = ExitFile {
        exit_code: code,
        finished_at: crate::log::rfc3339_now(),
        started_at: started_at.to_string(),
        error: error.to_string(),
    };
    write_json(&containers::dir(store, id).join(EXIT_FILE), &e)
}

/// docker's STATUS column: "Up 2 minutes", "Exited (N) 3 minutes ago", "Created".
pub fn status_text(l: &Live, now: i64) -> String {
    let since = |t: &str| {
        let then = crate::image::time::parse_rfc3339(t).unwrap_or(now);
        crate::image::time::ago(then, now)
    };
    match l.phase {
        Phase::Created => "Created".into(),
        Phase::Running => format!("Up {}", since(&l.started_at).trim_end_matches(" ago")),
        Phase::Paused => format!(
            "Up {} (Paused)",
            since(&l.started_at).trim_end_matches(" ago")
        ),
        Phase::Exited => format!("Exited ({}) {}", l.exit_code, since(&l.finished_at)),
        Phase::Restarting => format!("Restarting ({}) {}", l.exit_code, since(&l.finished_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(phase: Phase, code: i32) -> Live {
        Live {
            phase,
            pid: 0,
            exit_code: code,
            started_at: "2020-09-13T12:24:40.5Z".into(),
            finished_at: "2020-09-13T12:23:40Z".into(),
            monitor: None,
        }
    }

    #[test]
    fn docker_status_words() {
        let now = 1_600_000_000;
        assert_eq!(status_text(&live(Phase::Created, 0), now), "Created");
        assert_eq!(status_text(&live(Phase::Running, 0), now), "Up 2 minutes");
        assert_eq!(
            status_text(&live(Phase::Paused, 0), now),
            "Up 2 minutes (Paused)"
        );
        assert_eq!(
            status_text(&live(Phase::Exited, 137), now),
            "Exited (137) 3 minutes ago"
        );
        assert_eq!(
            status_text(&live(Phase::Restarting, 1), now),
            "Restarting (1) 3 minutes ago"
        );
    }
}

//! What is saved about a container, and how its status is derived from the
//! live system (a saved "running" could be long dead).

use crate::kernel::cgroup::Cgroup;
use crate::plan::Hooks;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Is `pid` still running the binary it ran when `create` returned (the exec
/// stub waiting at the gate, or the runtime's sealed binary), not yet the
/// container's program?
fn still_runtime(pid: i32, init_exe: &str) -> bool {
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(p) => init_exe.is_empty() || p.to_string_lossy() == init_exe,
        // Unreadable: trust the gate.
        Err(_) => true,
    }
}

/// state.json in the container's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub pid: i32,
    /// Start time of `pid` (clock ticks since boot) so a reused pid is not mistaken for ours.
    pub pid_start: u64,
    /// What /proc/<pid>/exe showed when `create` returned (the exec stub, or
    /// the runtime's sealed binary).
    #[serde(default)]
    pub init_exe: String,
    pub created: String,
    /// The config it was created from, as JSON text (what `exec` starts from).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    pub owner: u32,
    pub annotations: BTreeMap<String, String>,
    pub hooks: Hooks,
    pub cgroup: Cgroup,
    /// Parts of the config that were not applied, and why (shown by `state`).
    pub not_applied: Vec<String>,
}

impl Saved {
    /// The status, from the process table and the start gate.
    pub fn status(&self, gate_exists: bool) -> Status {
        let alive = matches!(crate::kernel::procfs::process_stat(self.pid),
            Some((s, start)) if s != 'Z' && s != 'X' && start == self.pid_start);
        // A gate left behind (a `start` killed half-way) must not make a running
        // container look created: init runs what it ran at create until execve.
        let gate_exists = gate_exists && still_runtime(self.pid, &self.init_exe);
        match (alive, gate_exists) {
            (false, _) => Status::Stopped,
            (true, true) => Status::Created,
            (true, false) if self.cgroup.is_frozen() => Status::Paused,
            (true, false) => Status::Running,
        }
    }

    /// The runtime-spec State object (what `state` prints and hooks read).
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": "1.0.2",
            "id": self.id,
            "status": status.as_str(),
            "bundle": self.bundle,
        });
        if status != Status::Stopped {
            v["pid"] = self.pid.into();
        }
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::to_value(&self.annotations).unwrap_or_default();
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(pid: i32, start: u64) -> Saved {
        Saved {
            id: "c".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            pid,
            pid_start: start,
            init_exe: String::new(),
            created: "T".into(),
            config: String::new(),
            owner: 0,
            annotations: [("k".to_string(), "v".to_string())].into(),
            hooks: Hooks::default(),
            cgroup: Cgroup::None {
                reason: "test".into(),
            },
            not_applied: Vec::new(),
        }
    }

    #[test]
    fn status_follows_the_process_and_the_gate() {
        let me = std::process::id() as i32;
        let start = crate::kernel::procfs::process_stat(me).unwrap().1;
        assert_eq!(saved(me, start).status(true), Status::Created);
        // A process that has exec'd something else: a gate left behind is ignored.
        let mut exec_d = saved(me, start);
        exec_d.init_exe = "/some/other/binary".into();
        assert_eq!(exec_d.status(true), Status::Running);
        assert_eq!(saved(me, start).status(false), Status::Running);
        assert_eq!(
            saved(me, start + 1).status(false),
            Status::Stopped,
            "a reused pid is not ours"
        );
        assert_eq!(saved(i32::MAX, 0).status(false), Status::Stopped);
    }

    #[test]
    fn oci_state_has_the_spec_fields() {
        let v = saved(42, 0).oci_state(Status::Running);
        assert_eq!(v["ociVersion"], "1.0.2");
        assert_eq!(v["status"], "running");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["annotations"]["k"], "v");
        assert!(saved(42, 0).oci_state(Status::Stopped).get("pid").is_none());
    }
}

//! cgroups behind one small interface that varies over who owns the tree:
//! `create`, `enter`, `apply`, `procs`, `freeze`, `kill_all`, `destroy`.
//! Backends: v1/hybrid (one directory per mounted hierarchy), v2 (one
//! directory in the unified tree), and none (with the reason recorded).
//! Values are computed in `plan::cgroup`; this module only writes them.

mod exec;
mod fs;
pub use exec::SubCgroup;
pub use v2::{relative_base as v2_relative_base, ROOT as V2_ROOT};
pub mod stats;
mod v1;
mod v2;

use crate::error::Result;
use crate::host::CgroupLayout;
use crate::plan::cgroup::{CgroupPath, Write};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A container's cgroup, as saved in its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cgroup {
    /// One directory per v1 hierarchy: (hierarchy name as mounted, directory).
    V1 {
        dirs: Vec<(String, PathBuf)>,
        created: Vec<PathBuf>,
    },
    /// One directory in the cgroup2 tree.
    V2 { dir: PathBuf, created: Vec<PathBuf> },
    /// No cgroup: why.
    None { reason: String },
}

/// How a new process enters the container's cgroup, made before the fork.
///
/// Moving another process (a pid written to `cgroup.procs`) write-locks the
/// kernel's global cgroup_threadgroup_rwsem, and taking it waits for an RCU
/// grace period: 5-15 ms on these hosts, the longest step of a `create`.
/// Neither way below takes it:
/// - cgroup2 (v2, or a hybrid host's unified tree): the child is born in the
///   directory, clone3(CLONE_INTO_CGROUP) with `into`;
/// - v1: the child moves its own single thread by writing "0" to each
///   hierarchy's `tasks`: a thread moving itself is not locked against
///   (the kernel's "optimize single thread migration"; measured on 6.18: a
///   0.18 ms open and write against 5-14 ms for another pid into
///   `cgroup.procs`; an older kernel locks, which is only slower). The
///   files are opened by the runtime (cgroupfs checks the opener's
///   credentials) and close on exec.
pub struct Joining {
    pub into: Option<std::os::fd::OwnedFd>,
    tasks: Vec<(PathBuf, std::os::fd::OwnedFd)>,
    has_v2: bool,
}

impl Joining {
    /// Has the cgroup a cgroup2 part (v2, or a hybrid host's unified tree)?
    /// A child not cloned into it is moved there by the parent.
    pub fn has_v2(&self) -> bool {
        self.has_v2
    }

    /// In the new process, before anything else: move this thread (the
    /// process's only one) into each v1 hierarchy's directory.
    pub fn join_v1(&self) -> Result<()> {
        for (path, fd) in &self.tasks {
            fs::write_fd(fd, path, "0")?;
        }
        Ok(())
    }
}

/// What `apply` could not do, one line each, for the state's record.
pub type NotApplied = Vec<String>;

impl Cgroup {
    /// Make the directories (only the missing ones are remembered as ours).
    pub fn create(layout: &CgroupLayout, path: &CgroupPath) -> Result<Cgroup> {
        match layout {
            CgroupLayout::Legacy { controllers } => v1::create(controllers, path),
            CgroupLayout::Unified => v2::create(path),
            CgroupLayout::None => Ok(Cgroup::None {
                reason: "no cgroup filesystem is mounted".into(),
            }),
        }
    }

    /// `create` in two steps, on a v1 or hybrid host (else `None`): now only
    /// the directory in the unified tree (a clone3 target) is made; the v1
    /// hierarchies' follow with `make_v1`, while the container's init sets
    /// up (container::create, "v1 cgroups made meanwhile").
    pub fn create_in_steps(layout: &CgroupLayout, path: &CgroupPath) -> Option<Result<Cgroup>> {
        let CgroupLayout::Legacy { controllers } = layout else {
            return None;
        };
        let dirs = v1::layout(controllers, path);
        let mut created = Vec::new();
        let unified: Vec<_> = dirs.iter().filter(|(h, _)| h.is_empty()).cloned().collect();
        Some(match v1::make(&unified, &mut created) {
            Ok(()) => Ok(Cgroup::V1 { dirs, created }),
            Err(e) => {
                v1::remove_made(&created);
                Err(e)
            }
        })
    }

    /// The second step of `create_in_steps`: the v1 hierarchies' directories.
    /// What was made is recorded even on failure, for `destroy`.
    pub fn make_v1(&mut self) -> Result<()> {
        match self {
            Cgroup::V1 { dirs, created } => {
                let v1: Vec<_> = dirs
                    .iter()
                    .filter(|(h, _)| !h.is_empty())
                    .cloned()
                    .collect();
                v1::make(&v1, created)
            }
            _ => Ok(()),
        }
    }

    /// Write the values; what the hierarchy cannot take is returned, not failed,
    /// unless the kernel rejected a value (then it is an error naming the file).
    pub fn apply(&self, writes: &[Write]) -> Result<NotApplied> {
        match self {
            Cgroup::V1 { dirs, .. } => v1::apply(dirs, writes),
            Cgroup::V2 { dir, .. } => v2::apply(dir, writes),
            Cgroup::None { reason } => Ok(writes
                .iter()
                .map(|w| format!("{} = {}: not applied: {reason}", w.file, w.value))
                .collect()),
        }
    }

    /// Load the device program and attach it to the cgroup (v2). `Some(reason)` when
    /// this cgroup cannot take one; a refusal by the kernel is an error.
    pub fn apply_devices(&self, prog: &[crate::plan::cgroup::bpf::Insn]) -> Result<Option<String>> {
        match self {
            Cgroup::V2 { dir, .. } => {
                let fd = crate::kernel::bpf::load_device_program(prog)?;
                crate::kernel::bpf::attach_device_program(&fd, dir)?;
                Ok(None)
            }
            Cgroup::V1 { .. } => Ok(Some("a v1 hierarchy takes devices.allow/deny".into())),
            Cgroup::None { reason } => Ok(Some(reason.clone())),
        }
    }

    /// How the container's first process gets in without the runtime moving
    /// it (see `Joining`). Opened by the runtime before the fork.
    pub fn joining(&self) -> Result<Joining> {
        Ok(Joining {
            tasks: self.v1_tasks()?,
            ..self.joining_v2()
        })
    }

    /// `joining` of the cgroup2 part only: the v1 hierarchies of a cgroup
    /// made in steps (`create_in_steps`) are joined once made (`join_v1`).
    pub fn joining_v2(&self) -> Joining {
        let into = self
            .v2_dir()
            .and_then(|dir| std::fs::File::open(dir).ok().map(Into::into));
        Joining {
            into,
            tasks: Vec::new(),
            has_v2: self.v2_dir().is_some(),
        }
    }

    /// The calling process (single-threaded) moves itself into each v1
    /// hierarchy's directory, the files opened now (as `Joining::join_v1`).
    pub fn join_v1(&self) -> Result<()> {
        let tasks = self.v1_tasks()?;
        Joining {
            into: None,
            tasks,
            has_v2: false,
        }
        .join_v1()
    }

    fn v1_tasks(&self) -> Result<Vec<(PathBuf, std::os::fd::OwnedFd)>> {
        match self {
            Cgroup::V1 { dirs, .. } => dirs
                .iter()
                .filter(|(h, _)| !h.is_empty())
                .map(|(_, d)| fs::open_write(&d.join("tasks")))
                .collect(),
            _ => Ok(Vec::new()),
        }
    }

    /// The cgroup2 directory among ours: the v2 cgroup, or on a hybrid host
    /// the container's directory in the unified tree.
    fn v2_dir(&self) -> Option<&PathBuf> {
        match self {
            Cgroup::V2 { dir, .. } => Some(dir),
            Cgroup::V1 { dirs, .. } => dirs.iter().find(|(h, _)| h.is_empty()).map(|(_, d)| d),
            Cgroup::None { .. } => None,
        }
    }

    /// Move `pid` into the cgroup2 directory (for a process that could not be
    /// born there); v1 hierarchies are joined by the process itself
    /// (`Joining::join_v1`).
    pub fn enter(&self, pid: i32) -> Result<()> {
        match self.v2_dir() {
            Some(dir) => fs::write(&dir.join("cgroup.procs"), &pid.to_string()),
            None => Ok(()),
        }
    }

    /// The pids in the cgroup and its descendants (host pid namespace).
    pub fn procs(&self) -> Vec<i32> {
        let mut out = Vec::new();
        // The first hierarchy still there (a `destroy` cut short may have
        // removed some).
        if let Some(dir) = self.dirs().iter().find(|d| d.is_dir()) {
            fs::collect_procs(dir, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A directory of ours (any hierarchy) that holds processes other than
    /// `but` (the container's init, when it is there already), and how many
    /// (it and its descendants).
    pub fn occupied(&self, but: Option<i32>) -> Option<(PathBuf, usize)> {
        self.dirs().into_iter().find_map(|dir| {
            let mut pids = Vec::new();
            fs::collect_procs(&dir, &mut pids);
            pids.retain(|p| Some(*p) != but);
            (!pids.is_empty()).then_some((dir, pids.len()))
        })
    }

    pub fn freeze(&self, frozen: bool) -> Result<()> {
        match self {
            Cgroup::V1 { dirs, .. } => v1::freeze(dirs, frozen),
            Cgroup::V2 { dir, .. } => v2::freeze(dir, frozen),
            Cgroup::None { reason } => Err(crate::error::Error::unsupported(
                "pause",
                format!("no cgroup: {reason}"),
            )),
        }
    }

    pub fn is_frozen(&self) -> bool {
        match self {
            Cgroup::V1 { dirs, .. } => v1::is_frozen(dirs),
            Cgroup::V2 { dir, .. } => v2::is_frozen(dir),
            Cgroup::None { .. } => false,
        }
    }

    /// Signal every process in the cgroup; SIGKILL on v2 goes through cgroup.kill.
    pub fn kill_all(&self, sig: i32) -> Result<()> {
        match self {
            Cgroup::V2 { dir, .. } if sig == libc::SIGKILL && dir.join("cgroup.kill").exists() => {
                fs::write(&dir.join("cgroup.kill"), "1")
            }
            Cgroup::None { .. } => Ok(()),
            // Empty (the usual case after `run`): nothing can fork in it, no freeze needed.
            _ if self.procs().is_empty() => Ok(()),
            _ => {
                // Frozen, nothing can fork between listing and signalling.
                let was_frozen = self.is_frozen();
                let froze = !was_frozen && self.freeze(true).is_ok();
                for pid in self.procs() {
                    let _ = crate::kernel::process::kill_raw(pid, sig);
                }
                if froze {
                    self.freeze(false)?;
                }
                Ok(())
            }
        }
    }

    /// Remove what we created (children the container made first).
    pub fn destroy(&self) -> Result<()> {
        let created = match self {
            Cgroup::V1 { created, .. } | Cgroup::V2 { created, .. } => created,
            Cgroup::None { .. } => return Ok(()),
        };
        // Sub-cgroups are removed only below a leaf we made: never someone
        // else's tree. A leaf is tried first as it is (the usual case: no
        // sub-cgroups, no listing of each hierarchy's directory).
        let leaves = self.dirs();
        for dir in created.iter().rev() {
            if leaves.contains(dir) {
                if !fs::removed_at_once(dir) {
                    fs::remove_subtree(dir)?;
                    fs::remove_dir(dir)?;
                }
            } else {
                // A parent we made is shared by the containers made after us
                // (`nook/<id>`): removed only when no longer in use.
                let _ = std::fs::remove_dir(dir);
            }
        }
        Ok(())
    }

    /// `destroy`, for a cgroup that is most likely empty already (its init
    /// has died, taking the processes of its pid namespace with it): one
    /// rmdir per directory we made, no listing of processes, no waiting.
    /// `false` at the first leaf refused (processes or sub-cgroups left: the
    /// caller kills them and calls `destroy`, which finds the rest).
    pub fn destroy_if_empty(&self) -> bool {
        let (Cgroup::V1 { created, .. } | Cgroup::V2 { created, .. }) = self else {
            return true;
        };
        let leaves = self.dirs();
        for dir in created.iter().rev() {
            if !leaves.contains(dir) {
                // Shared by the containers made after us, as in `destroy`.
                let _ = std::fs::remove_dir(dir);
            } else if !fs::removed_at_once(dir) {
                return false;
            }
        }
        true
    }

    /// Did we make every leaf directory? Only then is everything in it the container's.
    pub fn owns_leaf(&self) -> bool {
        match self {
            Cgroup::V1 { created, .. } | Cgroup::V2 { created, .. } => {
                self.dirs().iter().all(|d| created.contains(d))
            }
            Cgroup::None { .. } => false,
        }
    }

    /// The leaf directories (one per hierarchy).
    pub fn dirs(&self) -> Vec<PathBuf> {
        match self {
            Cgroup::V1 { dirs, .. } => dirs.iter().map(|(_, d)| d.clone()).collect(),
            Cgroup::V2 { dir, .. } => vec![dir.clone()],
            Cgroup::None { .. } => Vec::new(),
        }
    }

    /// The directory holding `controller`'s files, if any.
    pub fn dir_of(&self, controller: &str) -> Option<PathBuf> {
        match self {
            Cgroup::V1 { dirs, .. } => v1::dir_of(dirs, controller).cloned(),
            Cgroup::V2 { dir, .. } => Some(dir.clone()),
            Cgroup::None { .. } => None,
        }
    }
}

//! cgroup v1 (and hybrid hosts): one directory per mounted hierarchy.

use super::{fs, Cgroup, NotApplied};
use crate::error::{Context, Result};
use crate::plan::cgroup::{CgroupPath, Write};
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
/// A hybrid host's cgroup2 tree, below ROOT.
const UNIFIED: &str = "unified";

/// The container's directory in each hierarchy and, on a hybrid host, in the
/// unified tree (named "" as in runc's paths: runc places the container there
/// too, so /proc/PID/cgroup's `0::` line names its own cgroup). Nothing is made.
pub fn layout(hierarchies: &[String], path: &CgroupPath) -> Vec<(String, PathBuf)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut dirs: Vec<(String, PathBuf)> = hierarchies
        .iter()
        .map(|h| {
            let rel = match path {
                CgroupPath::Relative(p) => {
                    let mine = crate::host::own_cgroup(&own, h).unwrap_or_default();
                    PathBuf::from(mine).join(p)
                }
                CgroupPath::Absolute(p) => PathBuf::from(p.trim_start_matches('/')),
            };
            (h.clone(), Path::new(ROOT).join(h).join(rel))
        })
        .collect();
    let unified = Path::new(ROOT).join(UNIFIED);
    if unified.join("cgroup.controllers").exists() {
        dirs.push((String::new(), unified.join(super::v2::relative(path, &own))));
    }
    dirs
}

/// Make the missing levels of each of `dirs` (from `layout`), adding each
/// level made to `created`; an existing v1 cpuset directory that is still
/// empty is filled in from its parent (as runc does).
pub fn make(dirs: &[(String, PathBuf)], created: &mut Vec<PathBuf>) -> Result<()> {
    for (h, leaf) in dirs {
        let base = Path::new(ROOT).join(if h.is_empty() { UNIFIED } else { h });
        let rel = leaf.strip_prefix(&base).unwrap_or(Path::new(""));
        let cpuset = h.split(',').any(|c| c == "cpuset");
        let mut dir = base;
        for comp in rel.components() {
            dir.push(comp);
            if fs::mkdir(&dir)? {
                created.push(dir.clone());
            }
            // Made now or before (a cgroupsPath prepared by the caller), as runc.
            if cpuset {
                inherit_cpuset(&dir)?;
            }
        }
    }
    Ok(())
}

/// `layout` and `make`; on failure the directories made so far are removed again.
pub fn create(hierarchies: &[String], path: &CgroupPath) -> Result<Cgroup> {
    let dirs = layout(hierarchies, path);
    let mut created = Vec::new();
    if let Err(e) = make(&dirs, &mut created) {
        remove_made(&created);
        return Err(e);
    }
    Ok(Cgroup::V1 { dirs, created })
}

/// Remove directories made by `make`, deepest first.
pub fn remove_made(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// A new v1 cpuset starts empty and cannot take tasks: copy the parent's
/// where still empty.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new(ROOT));
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if fs::read(&dir.join(f)).is_some_and(|v| v.is_empty()) {
            if let Some(v) = fs::read(&parent.join(f)) {
                fs::write(&dir.join(f), &v)?;
            }
        }
    }
    Ok(())
}

pub fn dir_of<'a>(dirs: &'a [(String, PathBuf)], controller: &str) -> Option<&'a PathBuf> {
    dirs.iter()
        .find(|(h, _)| h.split(',').any(|c| c == controller))
        .map(|(_, d)| d)
}

/// The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every
/// moment: when the new memory limit is above the current memsw limit (raising
/// both), memsw must be written first; otherwise (lowering) memory first.
fn memory_order<'a>(dirs: &[(String, PathBuf)], writes: &'a [Write]) -> Vec<&'a Write> {
    let mut order: Vec<&Write> = writes.iter().collect();
    let pos = |f: &str| order.iter().position(|w| w.file == f);
    if let (Some(l), Some(s), Some(dir)) = (
        pos("memory.limit_in_bytes"),
        pos("memory.memsw.limit_in_bytes"),
        dir_of(dirs, "memory"),
    ) {
        let current: i64 = fs::read(&dir.join("memory.memsw.limit_in_bytes"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(i64::MAX);
        let new: i64 = order[l].value.parse().unwrap_or(-1);
        if (new < 0 || new > current) && s > l {
            order.swap(l, s);
        }
    }
    order
}

pub fn apply(dirs: &[(String, PathBuf)], writes: &[Write]) -> Result<NotApplied> {
    let mut not_applied = Vec::new();
    let mut open = fs::Writes::default();
    for w in memory_order(dirs, writes) {
        let Some(dir) = dir_of(dirs, w.controller) else {
            not_applied.push(format!(
                "{} = {}: the {} controller is not mounted",
                w.file, w.value, w.controller
            ));
            continue;
        };
        // No stat first: a missing file (ENOENT) is reported by the write itself.
        let file = dir.join(&w.file);
        if let Some(why) = open
            .write_or_denied(&file, &w.value)
            .context(|| format!("cgroup {}", w.controller))?
        {
            not_applied.push(format!("{} = {}: {why}", w.file, w.value));
        }
    }
    Ok(not_applied)
}

pub fn freeze(dirs: &[(String, PathBuf)], frozen: bool) -> Result<()> {
    let dir = dir_of(dirs, "freezer").ok_or_else(|| {
        crate::error::Error::unsupported("pause", "the freezer controller is not mounted")
    })?;
    let want = if frozen { "FROZEN" } else { "THAWED" };
    fs::write(&dir.join("freezer.state"), want)?;
    let res = fs::wait_for("freezer.state", || {
        fs::read(&dir.join("freezer.state")).as_deref() == Some(want)
    });
    if res.is_err() && frozen {
        // Never leave a cgroup half-frozen behind an error.
        let _ = fs::write(&dir.join("freezer.state"), "THAWED");
    }
    res
}

pub fn is_frozen(dirs: &[(String, PathBuf)]) -> bool {
    dir_of(dirs, "freezer")
        .is_some_and(|d| fs::read(&d.join("freezer.state")).as_deref() == Some("FROZEN"))
}

//! cgroup v2: one directory in the unified tree; controllers enabled down the path.

use super::{fs, Cgroup, NotApplied};
use crate::error::{Context, Error, Result};
use crate::plan::cgroup::{CgroupPath, Write};
use std::path::{Path, PathBuf};

pub(super) const ROOT: &str = "/sys/fs/cgroup";

/// `path` below the cgroup2 root: a relative one below our own cgroup there
/// (the `0::` line of /proc/self/cgroup, given as `own`).
pub(super) fn relative(path: &CgroupPath, own: &str) -> PathBuf {
    match path {
        CgroupPath::Relative(p) => {
            let mine = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .unwrap_or("/");
            PathBuf::from(mine.trim_start_matches('/')).join(p)
        }
        CgroupPath::Absolute(p) => PathBuf::from(p.trim_start_matches('/')),
    }
}

pub fn create(path: &CgroupPath) -> Result<Cgroup> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = relative(path, &own);
    let mut dir = PathBuf::from(ROOT);
    let mut created = Vec::new();
    for comp in rel.components() {
        enable_controllers(&dir)?;
        dir.push(comp);
        if fs::mkdir(&dir)? {
            created.push(dir.clone());
        }
    }
    Ok(Cgroup::V2 { dir, created })
}

/// Let children of `dir` use every controller `dir` has.
fn enable_controllers(dir: &Path) -> Result<()> {
    let have = fs::read(&dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = fs::read(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = have
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    // One at a time, and failures tolerated: an ancestor we did not create may
    // hold processes (EBUSY) or refuse one controller; the leaf's own writes
    // then say precisely what is missing.
    for c in missing {
        let _ = fs::write(&dir.join("cgroup.subtree_control"), &c);
    }
    Ok(())
}

pub fn apply(dir: &Path, writes: &[Write]) -> Result<NotApplied> {
    let available = fs::read(&dir.join("cgroup.controllers")).unwrap_or_default();
    let mut not_applied = Vec::new();
    for w in writes {
        let core = matches!(w.controller, "cgroup");
        if !core && !available.split_whitespace().any(|c| c == w.controller) {
            not_applied.push(format!(
                "{} = {}: the {} controller is not available",
                w.file, w.value, w.controller
            ));
            continue;
        }
        let file = dir.join(&w.file);
        if !file.exists() {
            return Err(Error::unsupported(
                format!("cgroup {}", w.file),
                "no such file in this kernel's cgroup v2",
            ));
        }
        if let Some(why) =
            fs::write_or_denied(&file, &w.value).context(|| format!("cgroup {}", w.controller))?
        {
            not_applied.push(format!("{} = {}: {why}", w.file, w.value));
        }
    }
    Ok(not_applied)
}

pub fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    fs::write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let res = fs::wait_for("cgroup.events frozen", || is_frozen(dir) == frozen);
    if res.is_err() && frozen {
        let _ = fs::write(&dir.join("cgroup.freeze"), "0");
    }
    res
}

pub fn is_frozen(dir: &Path) -> bool {
    fs::read(&dir.join("cgroup.events")).is_some_and(|e| e.lines().any(|l| l == "frozen 1"))
}

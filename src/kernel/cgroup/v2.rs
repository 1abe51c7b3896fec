//! cgroup v2: one directory in the unified tree; controllers enabled down the path.

use super::{fs, Cgroup, NotApplied};
use crate::error::{Context, Error, Result};
use crate::plan::cgroup::{CgroupPath, Write};
use std::path::{Path, PathBuf};

/// Where the cgroup2 hierarchy is mounted on a v2 host.
pub const ROOT: &str = "/sys/fs/cgroup";

/// `path` below the cgroup2 root: a relative one below our own cgroup there
/// (the `0::` line of /proc/self/cgroup, given as `own`).
pub(super) fn relative(path: &CgroupPath, own: &str) -> PathBuf {
    relative_to(path, own_v2(own))
}

fn own_v2(own: &str) -> &str {
    own.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
}

fn relative_to(path: &CgroupPath, base: &str) -> PathBuf {
    match path {
        CgroupPath::Relative(p) => PathBuf::from(base.trim_start_matches('/')).join(p),
        CgroupPath::Absolute(p) => PathBuf::from(p.trim_start_matches('/')),
    }
}

/// Where a relative path starts on a pure v2 host: our own cgroup, or its parent
/// when ours is a `.scope` (as runc's fs2 driver does). A scope is the leaf systemd
/// made for the caller's processes: the kernel lets no controller be enabled for
/// the children of a cgroup that holds processes, so limits below it could never
/// apply, while its parent (a user's delegated `user@UID.service/app.slice`, say)
/// can hand them on.
pub fn relative_base(own: &str) -> &str {
    let mine = own_v2(own);
    match mine.rsplit_once('/') {
        Some((parent, leaf)) if leaf.ends_with(".scope") => {
            if parent.is_empty() {
                "/"
            } else {
                parent
            }
        }
        _ => mine,
    }
}

/// Make the directories down `path`, enabling controllers on the way; on failure
/// the directories made so far are removed again.
pub fn create(path: &CgroupPath) -> Result<Cgroup> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = relative_to(path, relative_base(&own));
    let mut dir = PathBuf::from(ROOT);
    let mut created = Vec::new();
    for comp in rel.components() {
        enable_controllers(&dir);
        dir.push(comp);
        match fs::mkdir(&dir) {
            Ok(true) => created.push(dir.clone()),
            Ok(false) => {}
            Err(e) => {
                for d in created.iter().rev() {
                    let _ = std::fs::remove_dir(d);
                }
                return Err(e);
            }
        }
    }
    Ok(Cgroup::V2 { dir, created })
}

/// Let children of `dir` use every controller `dir` has. Not in a cgroup other than
/// the root that holds processes (the caller's own, say): the kernel refuses the
/// domain controllers there (EBUSY) but takes the threaded ones (cpu, pids), which
/// would turn that cgroup into a thread root whose new children cannot hold
/// processes at all (EOPNOTSUPP).
fn enable_controllers(dir: &Path) {
    if dir != Path::new(ROOT) && fs::read(&dir.join("cgroup.procs")).is_some_and(|p| !p.is_empty())
    {
        return;
    }
    let have = fs::read(&dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = fs::read(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = have
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    // One at a time, and failures tolerated: an ancestor we did not create may
    // refuse one controller (or all: not ours to change); the leaf's own writes
    // then say precisely what is missing.
    for c in missing {
        let _ = fs::write(&dir.join("cgroup.subtree_control"), &c);
    }
}

pub fn apply(dir: &Path, writes: &[Write]) -> Result<NotApplied> {
    let available = fs::read(&dir.join("cgroup.controllers")).unwrap_or_default();
    let mut not_applied = Vec::new();
    let mut open = fs::Writes::default();
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
        if let Some(why) = open
            .write_or_denied(&file, &w.value)
            .context(|| format!("cgroup {}", w.controller))?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_path_starts_beside_a_scope_and_below_anything_else() {
        let rel = |own: &str| relative_to(&CgroupPath::Relative("c1".into()), relative_base(own));
        assert_eq!(rel("0::/\n"), PathBuf::from("c1"));
        assert_eq!(rel("0::/a/b\n"), PathBuf::from("a/b/c1"));
        assert_eq!(
            rel("0::/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope\n"),
            PathBuf::from("user.slice/user-1000.slice/user@1000.service/app.slice/c1")
        );
        assert_eq!(rel("0::/init.scope\n"), PathBuf::from("c1"));
        let abs = CgroupPath::Absolute("/x/y".into());
        assert_eq!(
            relative_to(&abs, relative_base("0::/a.scope")),
            PathBuf::from("x/y")
        );
        // The hybrid mirror keeps runc's v1 rule: below our own cgroup, scope or not.
        let own = "0::/s.scope\n";
        assert_eq!(
            relative(&CgroupPath::Relative("c".into()), own),
            PathBuf::from("s.scope/c")
        );
    }
}

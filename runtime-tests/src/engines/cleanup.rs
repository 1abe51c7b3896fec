//! Removing what an engine left: processes rooted in its dir, mounts under it, and the
//! cgroup parent the test told it to use (a tree only this test's engine created).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Every hierarchy under /sys/fs/cgroup (v1 controllers, name=systemd, unified), or
/// /sys/fs/cgroup itself on a pure v2 host.
fn hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.procs").exists() {
        return vec![base.to_path_buf()];
    }
    fs::read_dir(base)
        .map(|es| {
            es.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Directories of `dir`'s tree, deepest first.
fn tree(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                tree(&e.path(), out);
            }
        }
    }
    out.push(dir.to_path_buf());
}

/// The cgroup dirs at `parent` (absolute, e.g. `/nook-eng-x-1-0`) in every hierarchy.
pub fn cgroup_dirs(parent: &str) -> Vec<PathBuf> {
    let rel = parent.trim_start_matches('/');
    assert!(!rel.is_empty(), "refusing to clean the root cgroup");
    let mut dirs = Vec::new();
    for h in hierarchies() {
        let top = h.join(rel);
        if top.is_dir() {
            tree(&top, &mut dirs);
        }
    }
    dirs
}

/// SIGKILL what is still in the tree at `parent`, then remove it, deepest first.
pub fn remove_cgroup_tree(parent: &str) {
    for attempt in 0..20 {
        let dirs = cgroup_dirs(parent);
        if dirs.is_empty() {
            return;
        }
        for d in &dirs {
            let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = fs::remove_dir(d);
        }
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for d in cgroup_dirs(parent) {
        eprintln!("warning: could not remove cgroup {}", d.display());
    }
}

/// Kill processes rooted in `dir` and lazily detach every mount under it, deepest first.
pub fn unmount_under(dir: &Path) {
    crate::bundle::kill_processes_in(dir, dir);
    crate::bundle::detach_mounts_under(dir);
}

/// Remove `dir` without crossing into other mounts.
pub fn remove_dir(dir: &Path) {
    crate::bundle::remove_tree(dir);
}

//! What a runtime must not leave behind: state directories, mounts, processes, cgroups.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Bundle, Runtime};

/// Lines of this process's mountinfo that mention `dir`.
pub fn mounts_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle.as_ref()))
        .map(str::to_string)
        .collect()
}

/// Pids (other than ours) whose root or cwd link points into `dir`, or whose root is the
/// same directory as `rootfs` (a container's processes see their root as "/", so the link
/// text alone does not reveal them; the device and inode do). Unreadable entries (other
/// users' processes in `userns` mode) are ignored.
pub fn processes_in(dir: &Path, rootfs: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let root_id = fs::metadata(rootfs).ok().map(|m| (m.dev(), m.ino()));
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let p = e.path();
        let link_inside = ["root", "cwd"].iter().any(|l| {
            fs::read_link(p.join(l))
                .map(|t| t.starts_with(dir))
                .unwrap_or(false)
        });
        let same_root = root_id.is_some()
            && fs::metadata(p.join("root"))
                .map(|m| Some((m.dev(), m.ino())) == root_id)
                .unwrap_or(false);
        if link_inside || same_root {
            found.push(pid);
        }
    }
    found
}

fn describe(pid: i32) -> String {
    let cmd = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    format!(
        "pid {pid} [{}] {cmd}",
        stat.split(' ').nth(2).unwrap_or("?")
    )
}

/// cgroup directories named `id` next to or below this process's cgroups, in every
/// hierarchy under /sys/fs/cgroup (v1 controllers, name=systemd, unified).
pub fn cgroups_named(id: &str) -> Vec<String> {
    let own: Vec<String> = fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2).map(str::to_string))
        .collect();
    let mut hierarchies = vec![Path::new("/sys/fs/cgroup").to_path_buf()];
    if let Ok(entries) = fs::read_dir("/sys/fs/cgroup") {
        hierarchies.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    let mut found = Vec::new();
    for h in &hierarchies {
        let mut candidates = vec![h.join(id)];
        candidates.extend(
            own.iter()
                .map(|o| h.join(o.trim_start_matches('/')).join(id)),
        );
        for c in candidates {
            if c.is_dir() && !found.contains(&c.display().to_string()) {
                found.push(c.display().to_string());
            }
        }
    }
    found
}

/// Assert the runtime left nothing of container `id` from `bundle`: no state directory
/// under its `--root`, no mount mentioning the bundle, no process rooted or working in the
/// bundle, and no cgroup named after the id. Processes get two seconds to finish dying.
pub fn assert_nothing_left(bundle: &Bundle, runtime: &Runtime, id: &str) {
    let mut problems = Vec::new();
    let state = runtime.root().join(id);
    if state.exists() {
        problems.push(format!("state directory {} still exists", state.display()));
    }
    for line in mounts_mentioning(bundle.path()) {
        problems.push(format!("mount left: {line}"));
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut procs = processes_in(bundle.path(), &bundle.rootfs());
    while !procs.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        procs = processes_in(bundle.path(), &bundle.rootfs());
    }
    for pid in procs {
        problems.push(format!("process left: {}", describe(pid)));
    }
    for cg in cgroups_named(id) {
        problems.push(format!("cgroup left: {cg}"));
    }
    assert!(
        problems.is_empty(),
        "container {id} left things behind:\n  {}",
        problems.join("\n  ")
    );
}

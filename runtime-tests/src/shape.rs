//! How a runtime made the container's init, as a createRuntime hook (run by the
//! runtime, the state on stdin) sees it during `create`: whose child init is,
//! its pid in each pid namespace, its cgroups.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::{Bundle, ConfigExt, Runtime};

/// Writes `<runtime pid> <init pid> <init's PPid> <init's NSpid...>`, then init's
/// /proc/PID/cgroup, to `$1`.
const HOOK: &str = "#!/bin/busybox sh\n\
pid=$(/bin/busybox tr -d '\\n ' | /bin/busybox sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/')\n\
ppid=$(/bin/busybox awk '/^PPid:/ {print $2}' /proc/$pid/status)\n\
nspid=$(/bin/busybox awk '/^NSpid:/ {$1=\"\"; print}' /proc/$pid/status)\n\
echo \"$PPID $pid $ppid $nspid\" > \"$1\"\n\
/bin/busybox cat /proc/$pid/cgroup >> \"$1\"\n";

/// Write an executable script (for hooks).
pub fn write_script(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[derive(Debug)]
pub struct InitSeen {
    /// The runtime process (the hook's parent).
    pub runtime: i64,
    pub init: i64,
    /// init's parent.
    pub parent: i64,
    /// init's pid in each pid namespace it is in, outermost first.
    pub nspid: Vec<i64>,
    /// init's /proc/PID/cgroup lines.
    pub cgroups: Vec<String>,
}

/// Create container `id` from `b` (running `/probe exit 0` once started) with
/// the hook; what it saw. The container is left created.
pub fn init_during_create(rt: &Runtime, b: &mut Bundle, id: &str) -> InitSeen {
    let hook = b.path().join("hooks/shape.sh");
    write_script(&hook, HOOK);
    let out = b.host_dir("shape").join("out");
    b.config.add_hook(
        "createRuntime",
        &hook.to_string_lossy(),
        &["shape.sh", &out.to_string_lossy()],
    );
    b.config.probe_args(&["exit", "0"]);
    rt.create(b, id, &[]).ok();
    let text = fs::read_to_string(&out).unwrap_or_default();
    let mut lines = text.lines();
    let nums: Vec<i64> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(nums.len() >= 4, "hook output: {text:?}");
    InitSeen {
        runtime: nums[0],
        init: nums[1],
        parent: nums[2],
        nspid: nums[3..].to_vec(),
        cgroups: lines.map(String::from).collect(),
    }
}

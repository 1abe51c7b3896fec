//! Shared by tests/front_config.rs, front_security.rs, front_limits.rs and
//! front_isolation.rs: a store with the fixture busybox image, the probe's report
//! from a `nook run`, a `nook run` left running in the background, and the
//! "nothing left behind" check for a refused `nook run`.

use crate::images_support::Nook;
use runtime_tests::leftovers::{cgroups_named, mounts_mentioning};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// docker's default capabilities, written out here independently of nook's own list.
pub const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SYS_CHROOT",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",
];

/// A scratch directory (bind sources, profiles, env files), removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(prefix: &str) -> Scratch {
        Scratch(runtime_tests::env::fresh_dir(prefix))
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tests that compare the container cgroups before and after run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub use crate::images_support::nook_with_busybox;

/// `nook run --rm [flags] busybox /probe report`: the probe's report.
pub fn probe(n: &Nook, flags: &[&str]) -> Value {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "/probe", "report"]);
    let out = n.ok(&args);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("probe output {out:?}: {e}"))
}

/// Why no limit can be applied here, if so: rootless, a user may create a
/// cgroup only in a delegated cgroup v2 subtree (its own cgroup writable, as
/// systemd's `Delegate=yes` gives); without one nook records each limit as
/// not applied (docs/rootless.md).
pub fn no_cgroup() -> Option<String> {
    if runtime_tests::mode() != runtime_tests::Mode::Rootless {
        return None;
    }
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(String::from))
        });
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let writable = own
        .filter(|_| v2)
        .map(|p| format!("/sys/fs/cgroup{}", p.trim_end()))
        .is_some_and(|d| nix::unistd::access(d.as_str(), nix::unistd::AccessFlags::W_OK).is_ok());
    (!writable).then(|| {
        "limits need a cgroup: none is delegated to this user (no writable cgroup v2 \
         subtree; this host is hybrid v1 with no systemd), so nook records them as not applied"
            .to_string()
    })
}

#[macro_export]
macro_rules! setup {
    () => {{
        match config_support::nook_with_busybox() {
            Some(n) => n,
            None => runtime_tests::skip!("fixture images missing: run `make fixtures`"),
        }
    }};
}

/// `nook run ARGS` started in the background (its output discarded).
fn spawn(n: &Nook, args: &[&str]) -> Child {
    let mut run = vec!["run"];
    run.extend_from_slice(args);
    n.command(&run)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nook run")
}

/// A `nook run` in the background with its container running. Dropping it
/// kills the container's init from the host (SIGKILL: a shell or sleep as
/// PID 1 ignores the rest) and waits for `nook run`, which then cleans up;
/// killing `nook run` itself would leave the container behind.
pub struct Background {
    child: Child,
    pub id: String,
    pub pid: i32,
}

pub fn background(n: &Nook, args: &[&str]) -> Background {
    let mut bg = Background {
        child: spawn(n, args),
        id: String::new(),
        pid: 0,
    };
    (bg.id, bg.pid) = running(n);
    bg
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The (id, init pid) of the store's one container once it is running.
pub fn running(n: &Nook) -> (String, i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids: Vec<String> = std::fs::read_dir(n.root.join("containers"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            let state = n.root.join("runtime").join(&id).join("state.json");
            let pid = std::fs::read(&state)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["pid"].as_i64())
                .unwrap_or(0) as i32;
            // Running: init has exec'd the container's command (no start gate left).
            let gate = n.root.join("runtime").join(&id).join("exec.fifo");
            if pid > 0 && !gate.exists() {
                return (id, pid);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no container came up in {}",
            n.root.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The container cgroups (`nook/<id>` in every hierarchy) that exist now.
pub fn container_cgroups() -> BTreeSet<String> {
    cgroups_named("nook")
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter(|e| e.path().is_dir())
        .map(|e| e.path().display().to_string())
        .collect()
}

/// A refused `nook run`: no container directory, no mount of the store, no new cgroup.
pub fn assert_nothing_left(root: &Path, cgroups_before: &BTreeSet<String>) {
    let containers: Vec<_> = std::fs::read_dir(root.join("containers"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        containers.is_empty(),
        "container directories left: {containers:?}"
    );
    let mounts = mounts_mentioning(root);
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    // Other worktrees' containers come and go in the same `nook/` parents: a
    // cgroup left by a refused run is one that stays, empty, for two seconds
    // (a live container has processes; a finishing one is removed).
    let empty = |d: &String| {
        std::fs::read_to_string(Path::new(d).join("cgroup.procs"))
            .is_ok_and(|p| p.trim().is_empty())
    };
    let mut left: Vec<String> = container_cgroups()
        .difference(cgroups_before)
        .cloned()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left.retain(|d| Path::new(d).is_dir() && empty(d));
    }
    assert!(left.is_empty(), "cgroups left: {left:?}");
}

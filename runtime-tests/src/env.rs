//! Where things are and how the suite is being run: the workspace, the fixture rootfs, the
//! runtime under test and the oracle, the test mode, unique names, and the skip log.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("runtime-tests has a parent directory");
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The read-only fixture rootfs (`$NOOK_FIXTURE_ROOTFS`, default `<ws>/target/fixtures/rootfs`).
/// Panics with instructions when it has not been built.
pub fn fixture_rootfs() -> PathBuf {
    let dir = env_path("NOOK_FIXTURE_ROOTFS")
        .unwrap_or_else(|| workspace_root().join("target/fixtures/rootfs"));
    if !dir.join("probe").is_file() {
        panic!(
            "fixture rootfs missing or incomplete at {} (no /probe inside): run `make fixtures` \
             (or set NOOK_FIXTURE_ROOTFS)",
            dir.display()
        );
    }
    dir
}

/// The runtime under test: `$NOOK_RUNTIME`, default `<ws>/target/debug/nook-runtime`.
pub fn runtime_binary() -> PathBuf {
    env_path("NOOK_RUNTIME").unwrap_or_else(|| workspace_root().join("target/debug/nook-runtime"))
}

/// The oracle: `$RUNC`, default `/usr/sbin/runc`.
pub fn runc_binary() -> PathBuf {
    env_path("RUNC").unwrap_or_else(|| PathBuf::from("/usr/sbin/runc"))
}

/// True when the runtime under test is runc itself (the suite is being validated against
/// the oracle). Used only to mark documented divergences between runc and what nook promises.
pub fn is_runc() -> bool {
    let bin = runtime_binary();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    same(&bin, &runc_binary())
        || bin
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("runc"))
}

/// Where per-test temporary directories go: `$NOOK_TEST_TMP`, default `/tmp`.
pub fn test_tmp() -> PathBuf {
    env_path("NOOK_TEST_TMP").unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// How the suite is being run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Real root in the initial user namespace.
    Root,
    /// uid 0 inside `unshare -r`: a user namespace where only uid 0 (and gid 0) is mapped.
    Userns,
    /// A real unprivileged user (`make test-rootless`): every config gets a user namespace
    /// mapping the user to root, plus the user's /etc/subuid range through newuidmap
    /// unless `NOOK_TEST_IDMAP=single` (see [`rootless_maps`]).
    Rootless,
}

impl Mode {
    /// Does the container run in a user namespace below the host's (so no mknod, no
    /// sysfs for the host's network namespace)?
    pub fn in_userns(self) -> bool {
        self != Mode::Root
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::Userns => "userns",
            Mode::Rootless => "rootless",
        }
    }
}

/// Only uid/gid 0 exist for containers: `unshare -r`, or rootless with a single-id map.
pub fn only_root_mapped() -> bool {
    match mode() {
        Mode::Root => false,
        Mode::Userns => true,
        Mode::Rootless => rootless_range().is_none(),
    }
}

/// The calling user's first /etc/subuid and /etc/subgid ranges `(start, count)`, when
/// newuidmap and newgidmap are on PATH and `NOOK_TEST_IDMAP` is not `single`.
pub fn rootless_range() -> Option<((u32, u32), (u32, u32))> {
    if std::env::var("NOOK_TEST_IDMAP").as_deref() == Ok("single") {
        return None;
    }
    let on_path = |p: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .any(|d| d.join(p).is_file())
    };
    if !on_path("newuidmap") || !on_path("newgidmap") {
        return None;
    }
    let uid = nix::unistd::getuid().as_raw();
    let name = fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_default();
    let first = |file: &str| {
        fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                if f.len() < 3 || (f[0] != name && f[0] != uid.to_string()) {
                    return None;
                }
                Some((f[1].parse().ok()?, f[2].parse().ok()?))
            })
            .filter(|&(_, n): &(u32, u32)| n > 0)
    };
    Some((first("/etc/subuid")?, first("/etc/subgid")?))
}

/// The uid and gid maps a rootless config gets: the user as root, then (with a range)
/// container ids 1.. onto the user's delegated range.
pub fn rootless_maps() -> (serde_json::Value, serde_json::Value) {
    let (uid, gid) = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    let map = |own: u32, range: Option<(u32, u32)>| {
        let mut v = vec![serde_json::json!({"containerID": 0, "hostID": own, "size": 1})];
        if let Some((start, count)) = range {
            v.push(serde_json::json!({"containerID": 1, "hostID": start, "size": count}));
        }
        serde_json::Value::Array(v)
    };
    let r = rootless_range();
    (map(uid, r.map(|r| r.0)), map(gid, r.map(|r| r.1)))
}

/// The mode from `$NOOK_TEST_MODE` (`root` or `userns`), or detected from
/// /proc/self/uid_map when unset (an identity map of the whole range means `Root`).
pub fn mode() -> Mode {
    match std::env::var("NOOK_TEST_MODE").as_deref() {
        Ok("root") => Mode::Root,
        Ok("userns") => Mode::Userns,
        Ok("rootless") => Mode::Rootless,
        Ok(other) if !other.is_empty() => {
            panic!("NOOK_TEST_MODE={other}: expected `root`, `userns` or `rootless`")
        }
        _ if !nix::unistd::geteuid().is_root() => Mode::Rootless,
        _ => {
            let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
            let full: Vec<&str> = map.split_whitespace().collect();
            if full == ["0", "0", "4294967295"] {
                Mode::Root
            } else {
                Mode::Userns
            }
        }
    }
}

/// A process-wide counter for unique names.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The running test's name (libtest names each test's thread after the test).
pub fn current_test_name() -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    name.rsplit("::").next().unwrap_or(name).to_string()
}

/// A name unique to this process and call: `<test name, shortened>-<pid>-<counter>`,
/// made only of characters every runtime accepts in a container id.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut base: String = format!("{prefix}{}", current_test_name())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base.truncate(34);
    format!("{}-{}-{n}", base.trim_end_matches('-'), std::process::id())
}

/// Make a fresh directory under [`test_tmp`] named after the test.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    let dir = test_tmp().join(unique_name(prefix));
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove a stale test directory");
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// The skip log: `$NOOK_SKIP_LOG`, default `<ws>/target/test-skips.log`.
pub fn skip_log() -> PathBuf {
    env_path("NOOK_SKIP_LOG").unwrap_or_else(|| workspace_root().join("target/test-skips.log"))
}

/// The test binary's name without cargo's hash suffix (`isolation-0123abcd` → `isolation`).
fn test_binary() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
        _ => stem,
    }
}

/// Record a skip: one line on stderr and one line appended to the skip log, as
/// `SKIP <binary>::<test>: <reason> [<mode>]`. Use the [`skip!`](crate::skip) macro.
pub fn record_skip(reason: &str) {
    let mode = match mode() {
        Mode::Rootless if only_root_mapped() => "rootless, single id",
        m => m.name(),
    };
    let line = format!(
        "SKIP {}::{}: {} [{mode}]",
        test_binary(),
        current_test_name(),
        reason.replace('\n', " ")
    );
    eprintln!("{line}");
    let log = skip_log();
    if let Some(dir) = log.parent() {
        let _ = fs::create_dir_all(dir);
    }
    // One write of one line with O_APPEND: parallel tests do not interleave.
    match OpenOptions::new().create(true).append(true).open(&log) {
        Ok(mut f) => {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
        Err(e) => eprintln!("cannot append to skip log {}: {e}", log.display()),
    }
}

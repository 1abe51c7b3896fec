//! One function per check; each returns what it found and, unless ok, the fix.
#![forbid(unsafe_code)]

use super::probe::Tried;
use super::Check;
use crate::subid::{self, Kind};
use std::path::{Path, PathBuf};

/// Who is asking.
pub struct Who {
    pub uid: u32,
    pub name: String,
    /// uid 0 (of the host, or of a user namespace whose maps someone else
    /// decided): no subordinate ids or helpers are needed.
    pub root: bool,
}

impl Who {
    pub fn current() -> Who {
        let uid = nix::unistd::geteuid().as_raw();
        Who {
            uid,
            name: subid::user_name(uid),
            root: uid == 0,
        }
    }
}

fn read_sysctl(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The three knobs that can forbid unprivileged user namespaces.
pub fn user_namespace_sysctls() -> Check {
    const NAME: &str = "user namespaces";
    let max = read_sysctl("/proc/sys/user/max_user_namespaces");
    if max == Some(0) {
        return Check::fail(
            NAME,
            "user.max_user_namespaces is 0: no user namespace can be created",
            "as root: sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/ to keep it)",
        );
    }
    if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        return Check::fail(
            NAME,
            "kernel.unprivileged_userns_clone is 0: only root may create user namespaces",
            "as root: sysctl -w kernel.unprivileged_userns_clone=1",
        );
    }
    if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        return Check::fail(
            NAME,
            "kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor strips capabilities in new user namespaces",
            "as root: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give nook an AppArmor profile with `userns,`)",
        );
    }
    let max = max.map_or("unknown".into(), |m| m.to_string());
    Check::ok(NAME, format!("allowed (user.max_user_namespaces={max})"))
}

/// The sysctls, then a user namespace really made by the probe.
pub fn user_namespaces(tried: &Tried) -> Check {
    let c = user_namespace_sysctls();
    if c.status != super::Status::Ok {
        return c;
    }
    match &tried.userns {
        None => Check::ok(c.name, format!("{}; created one", c.detail)),
        Some(why) => Check::fail(
            c.name,
            format!("creating one failed: {why}"),
            "check the sysctls above and any seccomp or LSM policy of this session",
        ),
    }
}

/// The user's ranges in /etc/subuid or /etc/subgid and their size.
pub fn subids(who: &Who, kind: Kind) -> Check {
    let name = match kind {
        Kind::Uid => "subuid",
        Kind::Gid => "subgid",
    };
    if who.root {
        return Check::ok(name, "not needed: running as root");
    }
    let file = kind.file();
    let ranges = subid::ranges(kind, &who.name, who.uid);
    let total: u64 = ranges.iter().map(|r| u64::from(r.count)).sum();
    let listed: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}-{}", r.start, r.end() - 1))
        .collect();
    if ranges.is_empty() {
        return Check::fail(
            name,
            format!(
                "no entry for {} (uid {}) in {}",
                who.name,
                who.uid,
                file.display()
            ),
            subid::range_fix(kind, &who.name),
        );
    }
    if total < 65536 {
        return Check::warn(
            name,
            format!(
                "{} has only {total} ids in {} ({}): images with ids up to 65535 need 65536",
                who.name,
                file.display(),
                listed.join(", ")
            ),
            subid::range_fix(kind, &who.name),
        );
    }
    Check::ok(
        name,
        format!("{}: {} ({total} ids)", who.name, listed.join(", ")),
    )
}

/// newuidmap / newgidmap on PATH, setuid root or with file capabilities.
pub fn helper(who: &Who, kind: Kind) -> Check {
    let name = kind.helper();
    if who.root {
        return Check::ok(name, "not needed: running as root");
    }
    let Some(path) = subid::which(name) else {
        return Check::fail(name, "not found in PATH", subid::helper_fix(kind));
    };
    if !subid::helper_is_privileged(&path) {
        let cap = match kind {
            Kind::Uid => "cap_setuid",
            Kind::Gid => "cap_setgid",
        };
        return Check::fail(
            name,
            format!(
                "{} is neither setuid root nor has file capabilities",
                path.display()
            ),
            format!(
                "as root: chmod u+s {0} (or setcap {cap}+ep {0})",
                path.display()
            ),
        );
    }
    Check::ok(name, format!("{} (privileged)", path.display()))
}

/// The cgroup layout, and which v2 controllers are delegated to this user.
pub fn cgroups(who: &Who) -> Check {
    const NAME: &str = "cgroups";
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let layout = crate::host::cgroup_layout(&mountinfo);
    let (version, v2_mount) = match &layout {
        crate::host::CgroupLayout::Unified => ("v2", Some(PathBuf::from("/sys/fs/cgroup"))),
        crate::host::CgroupLayout::Legacy { .. } => {
            let unified = Path::new("/sys/fs/cgroup/unified");
            let has = mountinfo
                .lines()
                .any(|l| l.contains(" /sys/fs/cgroup/unified ") && l.contains(" - cgroup2 "));
            ("v1 (hybrid)", has.then(|| unified.to_path_buf()))
        }
        crate::host::CgroupLayout::None => {
            return Check::warn(
                NAME,
                "no cgroup filesystem mounted: containers run without limits",
                "as root: mount -t cgroup2 none /sys/fs/cgroup",
            )
        }
    };
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    if who.root && crate::host::is_initial_map(&uid_map) {
        return Check::ok(
            NAME,
            format!("{version}; root may create and limit cgroups"),
        );
    }
    // Where a container without an absolute cgroupsPath goes: below our own cgroup,
    // or beside it when that is a systemd scope (kernel/cgroup/v2.rs).
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let base = crate::kernel::cgroup::v2_relative_base(&own).trim_start_matches('/');
    let dir = v2_mount.map(|m| m.join(base));
    let writable = dir.as_ref().is_some_and(|d| {
        nix::unistd::access(d, nix::unistd::AccessFlags::W_OK).is_ok()
            && nix::unistd::access(&d.join("cgroup.procs"), nix::unistd::AccessFlags::W_OK).is_ok()
    });
    // Processes in it (ours, at least), and no controller can reach its children.
    let populated = !base.is_empty()
        && dir.as_ref().is_some_and(|d| {
            std::fs::read_to_string(d.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty())
        });
    let delegated = dir
        .as_ref()
        .filter(|_| writable && !populated)
        .and_then(|d| std::fs::read_to_string(d.join("cgroup.controllers")).ok())
        .map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
        .unwrap_or_default();
    let used = version == "v2";
    if writable && used && !delegated.is_empty() {
        return Check::ok(
            NAME,
            format!(
                "{version}; delegated to uid {}: {} ({})",
                who.uid,
                delegated.join(" "),
                dir.unwrap_or_default().display()
            ),
        );
    }
    let why = match (&layout, writable) {
        (crate::host::CgroupLayout::Legacy { .. }, _) => {
            "the v1 hierarchies are root's, and nook limits through them on a hybrid host"
                .to_string()
        }
        (_, true) if populated => format!(
            "cgroup {} holds processes, so no controller reaches a cgroup below it; \
             run from a systemd scope (systemd-run --user --scope) or give an absolute \
             cgroupsPath inside a delegated subtree",
            dir.as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ),
        (_, true) => "the delegated cgroup has no controllers".to_string(),
        (_, false) => format!(
            "own cgroup {} is not writable",
            dir.map(|d| d.display().to_string()).unwrap_or_default()
        ),
    };
    Check::warn(
        NAME,
        format!(
            "{version}; nothing delegated to uid {} ({why}): containers run without limits, \
             listed as notApplied in `nook-runtime state` (--strict-limits makes that an error)",
            who.uid
        ),
        "boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1) and delegate a subtree: \
         with systemd, Delegate=yes for user@.service; without, as root: \
         mkdir /sys/fs/cgroup/user-UID && chown -R UID /sys/fs/cgroup/user-UID, \
         then enable controllers in its parent's cgroup.subtree_control",
    )
}

/// XDG_RUNTIME_DIR: where the runtime keeps state when not root.
pub fn runtime_dir(who: &Who) -> Check {
    use std::os::unix::fs::MetadataExt;
    const NAME: &str = "XDG_RUNTIME_DIR";
    if who.root {
        return Check::ok(NAME, "not needed: state in /run/nook-runtime");
    }
    let fix = format!(
        "as root: install -d -m 0700 -o {0} /run/user/{0}; then export XDG_RUNTIME_DIR=/run/user/{0}",
        who.uid
    );
    let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) else {
        return Check::warn(
            NAME,
            format!(
                "unset: state goes to a private /tmp/nook-runtime-{}",
                who.uid
            ),
            fix,
        );
    };
    let dir = PathBuf::from(dir);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() && m.uid() == who.uid && m.mode() & 0o077 == 0 => Check::ok(
            NAME,
            format!("{} (state in its nook-runtime/)", dir.display()),
        ),
        Ok(m) if m.is_dir() && m.uid() == who.uid => Check::warn(
            NAME,
            format!(
                "{} has mode {:o}: others can look in",
                dir.display(),
                m.mode() & 0o7777
            ),
            format!("chmod 0700 {}", dir.display()),
        ),
        _ => Check::fail(
            NAME,
            format!(
                "{} is not a directory owned by uid {}: state would go to /tmp/nook-runtime-{}",
                dir.display(),
                who.uid,
                who.uid
            ),
            fix,
        ),
    }
}

/// overlayfs inside a user namespace, as tried by the probe.
pub fn overlay(tried: &Tried) -> Check {
    const NAME: &str = "overlay in userns";
    match &tried.overlay {
        None => Check::ok(
            NAME,
            "mounted overlayfs (userxattr) inside a user namespace",
        ),
        Some(why) => Check::warn(
            NAME,
            format!("{why}: container rootfs are full copies of the image (slower, more disk)"),
            "use a kernel >= 5.11 (overlayfs in user namespaces) on a filesystem with user xattrs",
        ),
    }
}

/// fuse-overlayfs: only wanted when the kernel's overlayfs fails in a user namespace.
pub fn fuse_overlayfs(tried: &Tried) -> Check {
    const NAME: &str = "fuse-overlayfs";
    match (subid::which("fuse-overlayfs"), &tried.overlay) {
        (Some(p), _) => Check::ok(
            NAME,
            format!(
                "{} (not needed by nook, which uses the kernel's overlayfs or copies)",
                p.display()
            ),
        ),
        (None, None) => Check::ok(
            NAME,
            "not installed; not needed: the kernel's overlayfs works in a user namespace",
        ),
        (None, Some(_)) => Check::warn(
            NAME,
            "not installed, and the kernel's overlayfs does not work in a user namespace",
            "as root: apt-get install fuse-overlayfs",
        ),
    }
}

/// pasta or slirp4netns: user-mode networking for rootless containers.
pub fn network() -> Check {
    const NAME: &str = "network";
    match subid::which("pasta").or_else(|| subid::which("slirp4netns")) {
        Some(p) => Check::ok(NAME, format!("{} found", p.display())),
        None => Check::warn(
            NAME,
            "neither pasta nor slirp4netns: rootless containers get only a loopback interface",
            "as root: apt-get install passt (or slirp4netns)",
        ),
    }
}

/// Free space where images are stored (or would be).
pub fn disk(store: &Path) -> Check {
    const NAME: &str = "disk space";
    let at = store
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let st = match nix::sys::statvfs::statvfs(at) {
        Ok(s) => s,
        Err(e) => {
            return Check::warn(
                NAME,
                format!("statvfs {}: {e}", at.display()),
                "check the store path (--root)",
            )
        }
    };
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    let mib = free / (1 << 20);
    let detail = format!(
        "{mib} MiB free at {} (store {})",
        at.display(),
        store.display()
    );
    let fix = format!(
        "free space on {} or choose another store with --root",
        at.display()
    );
    match mib {
        0..512 => Check::fail(NAME, detail, fix),
        512..2048 => Check::warn(NAME, detail, fix),
        _ => Check::ok(NAME, detail),
    }
}

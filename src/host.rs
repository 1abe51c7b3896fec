//! Facts about the host, gathered once per command and handed to `plan`.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// How cgroups are mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayout {
    /// cgroup2 mounted at /sys/fs/cgroup.
    Unified,
    /// v1 controllers in mount order (possibly with an empty cgroup2 beside them).
    Legacy { controllers: Vec<String> },
    /// No cgroup filesystem is visible.
    None,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub euid: u32,
    pub egid: u32,
    /// We already run inside a user namespace (e.g. `unshare -r`, rootless podman).
    pub in_userns: bool,
    pub cgroups: CgroupLayout,
    /// When not root: the user's delegated id ranges and map helpers.
    pub delegation: Option<crate::subid::Delegation>,
    /// Where `/proc/self/exe` points: the runtime binary, for the hooks' env and logging.
    pub exe: PathBuf,
}

impl Host {
    pub fn detect() -> Host {
        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let euid = nix::unistd::geteuid().as_raw();
        Host {
            euid,
            delegation: (euid != 0).then(|| crate::subid::Delegation::detect(euid)),
            egid: nix::unistd::getegid().as_raw(),
            in_userns: !is_initial_map(&uid_map),
            cgroups: detect_cgroup_layout(),
            exe: std::fs::read_link("/proc/self/exe").unwrap_or_default(),
        }
    }

    /// Device nodes can be created with mknod only by real root outside any user namespace.
    pub fn can_mknod(&self) -> bool {
        self.euid == 0 && !self.in_userns
    }
}

/// The initial user namespace maps the whole 32-bit range onto itself.
pub fn is_initial_map(uid_map: &str) -> bool {
    let fields: Vec<&str> = uid_map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// The cgroup layout from the filesystem types under /sys/fs/cgroup (a few
/// statfs calls instead of a scan of every mount in mountinfo): cgroup2 there
/// is the unified layout; else each directory that is a v1 cgroup mount (not
/// the symlinks such as cpu -> cpu,cpuacct) is a hierarchy, in name order.
pub fn detect_cgroup_layout() -> CgroupLayout {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
    let root = std::path::Path::new("/sys/fs/cgroup");
    match statfs(root) {
        Ok(s) if s.filesystem_type() == CGROUP2_SUPER_MAGIC => return CgroupLayout::Unified,
        Ok(_) => {}
        Err(_) => return CgroupLayout::None,
    }
    let mut controllers: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| statfs(&e.path()).is_ok_and(|s| s.filesystem_type() == CGROUP_SUPER_MAGIC))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    controllers.sort();
    if controllers.is_empty() {
        CgroupLayout::None
    } else {
        CgroupLayout::Legacy { controllers }
    }
}

/// Read the cgroup layout from mountinfo text.
pub fn cgroup_layout(mountinfo: &str) -> CgroupLayout {
    let mut controllers = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let target = left.split_whitespace().nth(4).unwrap_or("");
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or("");
        if fstype == "cgroup2" && target == "/sys/fs/cgroup" {
            return CgroupLayout::Unified;
        }
        if fstype == "cgroup" {
            if let Some(name) = target.strip_prefix("/sys/fs/cgroup/") {
                controllers.push(name.to_string());
            }
        }
    }
    if controllers.is_empty() {
        CgroupLayout::None
    } else {
        CgroupLayout::Legacy { controllers }
    }
}

/// This process's cgroup in the v1 hierarchy `ctrl` (e.g. "cpu,cpuacct" or
/// "systemd" for name=systemd), relative to the hierarchy's root.
pub fn own_cgroup(proc_self_cgroup: &str, ctrl: &str) -> Option<String> {
    proc_self_cgroup.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, names, path) = (f.next()?, f.next()?, f.next()?);
        (names.trim_start_matches("name=") == ctrl)
            .then(|| path.trim_start_matches('/').to_string())
    })
}

/// The mount point holding `path`, if that mount is shared (mountinfo text).
pub fn shared_parent_mount(mountinfo: &str, path: &std::path::Path) -> Option<PathBuf> {
    let mut best: Option<(PathBuf, bool)> = None;
    for line in mountinfo.lines() {
        let Some((left, _)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split_whitespace().collect();
        let Some(target) = fields
            .get(4)
            .map(|t| PathBuf::from(t.replace("\\040", " ")))
        else {
            continue;
        };
        if path.starts_with(&target)
            && best
                .as_ref()
                .is_none_or(|(b, _)| target.as_os_str().len() >= b.as_os_str().len())
        {
            let shared = fields.iter().skip(6).any(|f| f.starts_with("shared:"));
            best = Some((target, shared));
        }
    }
    best.filter(|(_, shared)| *shared).map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_map_is_recognised() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("         0       1000          1\n"));
    }

    #[test]
    fn shared_parent_is_the_longest_prefix() {
        let mi = "1 0 8:1 / / rw shared:1 - ext4 /dev/vda rw\n\
                  2 1 0:5 / /tmp rw - tmpfs tmpfs rw\n\
                  3 1 0:6 / /srv rw shared:7 - tmpfs tmpfs rw\n";
        assert_eq!(
            shared_parent_mount(mi, std::path::Path::new("/srv/b/rootfs")),
            Some(PathBuf::from("/srv"))
        );
        assert_eq!(
            shared_parent_mount(mi, std::path::Path::new("/tmp/b/rootfs")),
            None
        );
        assert_eq!(
            shared_parent_mount(mi, std::path::Path::new("/var/b")),
            Some(PathBuf::from("/"))
        );
    }

    #[test]
    fn own_cgroup_per_hierarchy() {
        let text = "12:memory:/a/b\n11:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n";
        assert_eq!(own_cgroup(text, "memory").as_deref(), Some("a/b"));
        assert_eq!(own_cgroup(text, "cpu,cpuacct").as_deref(), Some(""));
        assert_eq!(own_cgroup(text, "systemd").as_deref(), Some("s"));
        assert_eq!(own_cgroup(text, "pids"), None);
    }

    #[test]
    fn hybrid_layout_lists_v1_controllers() {
        let mi = "30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                  31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                  32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        assert_eq!(
            cgroup_layout(mi),
            CgroupLayout::Legacy {
                controllers: vec!["memory".into(), "cpu,cpuacct".into()]
            }
        );
        let v2 = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup_layout(v2), CgroupLayout::Unified);
        assert_eq!(cgroup_layout(""), CgroupLayout::None);
    }
}

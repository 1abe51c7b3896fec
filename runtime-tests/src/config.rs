//! The base config.json (what `runc spec` writes, with `terminal: false`, a writable root
//! and `args: ["/probe"]`) and small editing helpers over its JSON.

use serde_json::{json, Value};

pub use crate::edit::ConfigExt;
use crate::env::Mode;

/// The three capabilities `runc spec` grants.
pub const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// A runtime-spec 1.0.2 config equivalent to `runc spec` (runc 1.1), except: `terminal`
/// false, `args` `["/probe"]`, hostname `nook`, and `root.readonly` false (tests that want
/// a read-only root say so). Like runc's, the capabilities list `ambient` without
/// `inheritable`, so the ambient set ends up empty.
pub fn base_config() -> Value {
    let caps = json!(DEFAULT_CAPS);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/probe"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "nook",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// What a mode needs changed in any config before a runtime sees it. The one place for
/// mode adaptations; applied by [`crate::Bundle::save`].
///
/// In `userns` mode (uid 0 of `unshare -r`, only uid/gid 0 mapped) runc 1.1 needs only one
/// change: devpts' `gid=5` names an unmapped group (mount fails with EINVAL), so it goes, as in
/// `runc spec --rootless`. Everything else works there as measured with runc: the new network
/// namespace is owned by our user namespace so sysfs mounts; device nodes cannot be made,
/// and runc bind-mounts the host's instead; the cgroup mount binds the host's hierarchies
/// read-only (runc's rootless cgroup manager creates no cgroup).
///
/// In `rootless` mode (a real unprivileged user) a config without a user namespace gets one,
/// with [`crate::env::rootless_maps`] (as `runc spec --rootless` does with a single id); with
/// only the user's id mapped, gid 5 is unmapped too and goes from devpts.
pub fn adapt_for_mode(config: &mut Value, mode: Mode) {
    if mode == Mode::Rootless {
        let has_user = config["linux"]["namespaces"]
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n["type"] == "user"));
        if has_user {
            return;
        }
        if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
            ns.push(json!({"type": "user"}));
        }
        let (uid, gid) = crate::env::rootless_maps();
        config["linux"]["uidMappings"] = uid;
        config["linux"]["gidMappings"] = gid;
        if !crate::env::only_root_mapped() {
            return;
        }
    } else if mode != Mode::Userns {
        return;
    }
    if let Some(mounts) = config.pointer_mut("/mounts").and_then(Value::as_array_mut) {
        for m in mounts.iter_mut() {
            if m["type"] == "devpts" {
                if let Some(opts) = m.get_mut("options").and_then(Value::as_array_mut) {
                    opts.retain(|o| o.as_str().is_none_or(|o| !o.starts_with("gid=")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_creates_the_path_and_push_appends() {
        let mut c = base_config();
        c.set("/linux/sysctl/kernel.shmmax", json!("1"));
        assert_eq!(c["linux"]["sysctl"]["kernel.shmmax"], "1");
        c.add_hook("prestart", "/bin/true", &["true"]);
        c.add_hook("prestart", "/bin/false", &["false"]);
        assert_eq!(c["hooks"]["prestart"].as_array().unwrap().len(), 2);
        c.namespace("network", Some("/proc/1/ns/net"));
        let nets: Vec<_> = c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "network")
            .collect();
        assert_eq!(nets.len(), 1);
        assert_eq!(nets[0]["path"], "/proc/1/ns/net");
    }

    #[test]
    fn userns_adaptation_drops_the_devpts_gid() {
        let mut c = base_config();
        adapt_for_mode(&mut c, Mode::Userns);
        let devpts = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["type"] == "devpts")
            .unwrap();
        assert!(!devpts["options"].to_string().contains("gid=5"));
        c.rlimit("RLIMIT_NOFILE", 10, 20);
        assert_eq!(c["process"]["rlimits"].as_array().unwrap().len(), 1);
        c.unset("/process/rlimits/0");
        assert_eq!(c["process"]["rlimits"].as_array().unwrap().len(), 0);
    }
}

//! The base config.json (what `runc spec` writes, with `terminal: false`, a writable root
//! and `args: ["/probe"]`) and small editing helpers over its JSON.

use serde_json::{json, Value};

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
pub fn adapt_for_mode(config: &mut Value, mode: Mode) {
    if mode != Mode::Userns {
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

/// Editing helpers over a config's JSON. Each returns `&mut Self` so edits chain.
pub trait ConfigExt {
    /// Set the value at a JSON pointer, creating objects on the way.
    fn set(&mut self, pointer: &str, value: Value) -> &mut Self;
    /// Remove the value at a JSON pointer (object key or array index), if present.
    fn unset(&mut self, pointer: &str) -> &mut Self;
    /// Push onto the array at `pointer`, creating it when missing.
    fn push(&mut self, pointer: &str, value: Value) -> &mut Self;

    fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }
    /// `["/probe", sub...]`.
    fn probe_args(&mut self, sub: &[&str]) -> &mut Self {
        let mut args = vec!["/probe"];
        args.extend_from_slice(sub);
        self.args(&args)
    }
    fn hostname(&mut self, name: &str) -> &mut Self {
        self.set("/hostname", json!(name))
    }
    fn domainname(&mut self, name: &str) -> &mut Self {
        self.set("/domainname", json!(name))
    }
    fn env(&mut self, vars: &[&str]) -> &mut Self {
        self.set("/process/env", json!(vars))
    }
    fn cwd(&mut self, dir: &str) -> &mut Self {
        self.set("/process/cwd", json!(dir))
    }
    fn user(&mut self, uid: u32, gid: u32, additional: &[u32]) -> &mut Self {
        self.set("/process/user", json!({"uid": uid, "gid": gid}));
        if !additional.is_empty() {
            self.set("/process/user/additionalGids", json!(additional));
        }
        self
    }
    fn umask(&mut self, umask: u32) -> &mut Self {
        self.set("/process/user/umask", json!(umask))
    }
    /// The same list for all five capability sets.
    fn caps(&mut self, caps: &[&str]) -> &mut Self {
        for set in [
            "bounding",
            "effective",
            "permitted",
            "inheritable",
            "ambient",
        ] {
            self.cap_set(set, caps);
        }
        self
    }
    /// One set: `bounding`, `effective`, `permitted`, `inheritable` or `ambient`.
    fn cap_set(&mut self, set: &str, caps: &[&str]) -> &mut Self {
        self.set(&format!("/process/capabilities/{set}"), json!(caps))
    }
    fn no_new_privileges(&mut self, on: bool) -> &mut Self {
        self.set("/process/noNewPrivileges", json!(on))
    }
    /// Replace the rlimit of that type (or add it).
    fn rlimit(&mut self, kind: &str, soft: u64, hard: u64) -> &mut Self;
    fn oom_score_adj(&mut self, adj: i32) -> &mut Self {
        self.set("/process/oomScoreAdj", json!(adj))
    }
    fn sysctl(&mut self, key: &str, value: &str) -> &mut Self {
        self.set(&format!("/linux/sysctl/{key}"), json!(value))
    }
    fn terminal(&mut self, on: bool) -> &mut Self {
        self.set("/process/terminal", json!(on))
    }
    fn root_readonly(&mut self, on: bool) -> &mut Self {
        self.set("/root/readonly", json!(on))
    }
    fn add_mount(&mut self, dest: &str, kind: &str, source: &str, options: &[&str]) -> &mut Self {
        let m = json!({"destination": dest, "type": kind, "source": source, "options": options});
        self.push("/mounts", m)
    }
    /// Remove every mount with that destination.
    fn remove_mount(&mut self, dest: &str) -> &mut Self;
    /// Add a namespace (`path` to join an existing one), replacing one of the same type.
    fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self;
    fn remove_namespace(&mut self, kind: &str) -> &mut Self;
    /// Append a hook of `kind` (prestart, createRuntime, ..., poststop).
    fn add_hook(&mut self, kind: &str, path: &str, args: &[&str]) -> &mut Self {
        let hook = json!({"path": path, "args": args, "timeout": 30});
        self.push(&format!("/hooks/{kind}"), hook)
    }
    fn masked_paths(&mut self, paths: &[&str]) -> &mut Self {
        self.set("/linux/maskedPaths", json!(paths))
    }
    fn readonly_paths(&mut self, paths: &[&str]) -> &mut Self {
        self.set("/linux/readonlyPaths", json!(paths))
    }
    /// A `linux.devices` entry (`kind` "c", "b", "p" or "u"), with an allow rule for it.
    fn add_device(
        &mut self,
        path: &str,
        kind: &str,
        major: u64,
        minor: u64,
        mode: u32,
    ) -> &mut Self {
        let dev = json!({"path": path, "type": kind, "major": major, "minor": minor,
                         "fileMode": mode, "uid": 0, "gid": 0});
        self.push("/linux/devices", dev);
        let rule = json!({"allow": true, "type": kind, "major": major, "minor": minor,
                          "access": "rwm"});
        self.push("/linux/resources/devices", rule)
    }
}

impl ConfigExt for Value {
    fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        let mut cur = &mut *self;
        for key in pointer.split('/').skip(1) {
            let key = key.replace("~1", "/").replace("~0", "~");
            if !cur.is_object() {
                *cur = json!({});
            }
            cur = cur
                .as_object_mut()
                .expect("object")
                .entry(key)
                .or_insert(Value::Null);
        }
        *cur = value;
        self
    }

    fn unset(&mut self, pointer: &str) -> &mut Self {
        let (parent, last) = pointer.rsplit_once('/').expect("pointer starts with /");
        match self.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(last);
            }
            Some(Value::Array(items)) => {
                if let Ok(i) = last.parse::<usize>() {
                    if i < items.len() {
                        items.remove(i);
                    }
                }
            }
            _ => {}
        }
        self
    }

    fn push(&mut self, pointer: &str, value: Value) -> &mut Self {
        if !self.pointer(pointer).is_some_and(Value::is_array) {
            self.set(pointer, json!([]));
        }
        self.pointer_mut(pointer)
            .and_then(Value::as_array_mut)
            .expect("array")
            .push(value);
        self
    }

    fn rlimit(&mut self, kind: &str, soft: u64, hard: u64) -> &mut Self {
        if let Some(list) = self
            .pointer_mut("/process/rlimits")
            .and_then(Value::as_array_mut)
        {
            list.retain(|r| r["type"] != kind);
        }
        self.push(
            "/process/rlimits",
            json!({"type": kind, "soft": soft, "hard": hard}),
        )
    }

    fn remove_mount(&mut self, dest: &str) -> &mut Self {
        if let Some(list) = self.pointer_mut("/mounts").and_then(Value::as_array_mut) {
            list.retain(|m| m["destination"] != dest);
        }
        self
    }

    fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(kind);
        let mut ns = json!({"type": kind});
        if let Some(p) = path {
            ns["path"] = json!(p);
        }
        self.push("/linux/namespaces", ns)
    }

    fn remove_namespace(&mut self, kind: &str) -> &mut Self {
        if let Some(list) = self
            .pointer_mut("/linux/namespaces")
            .and_then(Value::as_array_mut)
        {
            list.retain(|n| n["type"] != kind);
        }
        self
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

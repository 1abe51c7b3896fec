//! `ConfigExt`: small editing helpers over a config's JSON (`serde_json::Value`), so a
//! test states only what it changes: `b.config.hostname("x").user(1000, 1000, &[29])`.

use serde_json::{json, Value};

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
    /// A user namespace of the container's own mapping its ids 0..`size` onto host
    /// ids `host_id`.. (uids and gids alike), without the mounts' `gid=` options
    /// (the group they name may not be mapped).
    fn own_user_namespace(&mut self, host_id: u64, size: u64) -> &mut Self;
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

    fn own_user_namespace(&mut self, host_id: u64, size: u64) -> &mut Self {
        let map = json!([{"containerID": 0, "hostID": host_id, "size": size}]);
        self.namespace("user", None)
            .set("/linux/uidMappings", map.clone())
            .set("/linux/gidMappings", map);
        if let Some(mounts) = self.pointer_mut("/mounts").and_then(Value::as_array_mut) {
            for m in mounts {
                if let Some(o) = m.get_mut("options").and_then(Value::as_array_mut) {
                    o.retain(|x| !x.as_str().unwrap_or("").starts_with("gid="));
                }
            }
        }
        self
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

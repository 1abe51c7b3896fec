//! Named checks over a parsed spec. Each failure names the JSON field.

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashSet;

/// Check what the parser cannot: required fields, consistency between fields.
pub fn validate(spec: &Spec) -> Result<()> {
    if spec.version().is_empty() {
        return Err(Error::config("ociVersion", "missing"));
    }
    if !spec.version().starts_with("1.") {
        return Err(Error::config(
            "ociVersion",
            format!("unsupported version {:?} (nook reads 1.x)", spec.version()),
        ));
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "missing"))?;
    if root.path().as_os_str().is_empty() {
        return Err(Error::config("root.path", "empty"));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => {
            return Err(Error::config(
                "process.args",
                "must name the program to run",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        if !e.contains('=') {
            return Err(Error::config(
                format!("process.env[{i}]"),
                format!("{e:?} is not KEY=VALUE"),
            ));
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                format!("{:?} is not an absolute path", m.destination()),
            ));
        }
    }
    validate_linux(spec)
}

fn validate_linux(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Err(Error::config("linux", "missing"));
    };
    let mut seen = HashSet::new();
    let mut user_ns = false;
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(Error::config(
                format!("linux.namespaces[{i}].type"),
                format!("namespace {} given twice", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
        if ns.typ() == LinuxNamespaceType::User {
            user_ns = true;
        }
    }
    if !seen.contains(&LinuxNamespaceType::Mount) {
        return Err(Error::config(
            "linux.namespaces",
            "a mount namespace is required (nook never changes the host's mounts)",
        ));
    }
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if has_maps && !user_ns {
        return Err(Error::config(
            "linux.uidMappings",
            "id mappings given without a user namespace",
        ));
    }
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_ref().is_some_and(|h| !h.is_empty()) && !seen.contains(&LinuxNamespaceType::Uts)
        {
            return Err(Error::config(
                field,
                format!("setting a {field} needs a new uts namespace"),
            ));
        }
    }
    for key in linux.sysctl().iter().flat_map(|m| m.keys()) {
        let needs = sysctl_namespace(key).ok_or_else(|| {
            Error::config(
                format!("linux.sysctl.{key}"),
                "not in a separate kernel namespace: it would change the host",
            )
        })?;
        if !seen.contains(&needs) {
            return Err(Error::config(
                format!("linux.sysctl.{key}"),
                format!("needs a {} namespace of the container's own", needs),
            ));
        }
    }
    if let Some(p) = linux.rootfs_propagation() {
        if crate::plan::propagation_flag(p).is_none() {
            return Err(Error::config(
                "linux.rootfsPropagation",
                format!("unknown value {p:?}"),
            ));
        }
    }
    Ok(())
}

/// The namespace a sysctl belongs to (runc's list); `None` for host-wide ones.
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]},
            "hostname": "h"
        })
    }

    fn check(v: serde_json::Value) -> String {
        let spec = parse(v.to_string().as_bytes()).unwrap();
        match validate(&spec) {
            Ok(()) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_a_minimal_config() {
        assert_eq!(check(base()), "ok");
    }

    #[test]
    fn names_missing_and_wrong_fields() {
        let mut v = base();
        v["process"]["args"] = serde_json::json!([]);
        assert!(check(v).starts_with("config.json: process.args:"));
        let mut v = base();
        v["process"]["cwd"] = "rel".into();
        assert!(check(v).starts_with("config.json: process.cwd:"));
        let mut v = base();
        v.as_object_mut().unwrap().remove("root");
        assert_eq!(check(v), "config.json: root: missing");
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}, {"type": "pid"}]);
        assert!(check(v).starts_with("config.json: linux.namespaces[1].type:"));
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}, {"type": "mount"}]);
        assert!(check(v).starts_with("config.json: hostname:"));
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}, {"type": "uts"}]);
        assert!(
            check(v).starts_with("config.json: linux.namespaces: a mount namespace is required")
        );
        let mut v = base();
        v["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"});
        assert!(check(v).starts_with("config.json: linux.sysctl.kernel.panic: not in a separate"));
        let mut v = base();
        v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        assert!(check(v).starts_with("config.json: linux.sysctl.net.ipv4.ip_forward: needs a"));
        let mut v = base();
        v["domainname"] = "example".into();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
        v.as_object_mut().unwrap().remove("hostname");
        assert!(check(v).starts_with("config.json: domainname:"));
        let mut v = base();
        v["ociVersion"] = "2.0".into();
        assert!(check(v).starts_with("config.json: ociVersion:"));
        let mut v = base();
        v["linux"]["rootfsPropagation"] = "sideways".into();
        assert!(check(v).starts_with("config.json: linux.rootfsPropagation:"));
        let mut v = base();
        v["mounts"] = serde_json::json!([{"destination": "tmp", "type": "tmpfs"}]);
        assert!(check(v).starts_with("config.json: mounts[0].destination:"));
    }
}

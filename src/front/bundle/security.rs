//! Capabilities (`--cap-add/--cap-drop`, docker's rules), `--privileged`,
//! `--security-opt` (seccomp, no-new-privileges) and `--network`.

use crate::error::{Error, Result};
use caps::Capability;
use serde_json::{json, Value};
use std::str::FromStr;

/// docker's default capabilities.
pub const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `ALL` stays `ALL`.
fn cap_name(flag: &str, given: &str) -> Result<String> {
    let up = given.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let name = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    match Capability::from_str(&name) {
        Ok(c) if c.index() as u32 <= crate::kernel::caps::last_cap() => Ok(name),
        _ => Err(Error::Usage(format!(
            "{flag} {given:?}: unknown capability {name:?}"
        ))),
    }
}

/// Every capability this kernel knows and nook itself may hand on (its
/// bounding set: root here may lack some, e.g. CAP_SYS_RESOURCE), in index order.
pub fn all_caps() -> Vec<String> {
    let last = crate::kernel::caps::last_cap();
    let ours = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    let mut all: Vec<Capability> = ours
        .into_iter()
        .filter(|c| c.index() as u32 <= last)
        .collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}

/// docker's TweakCapabilities: `--cap-add ALL` is everything but the drops;
/// `--cap-drop ALL` is only the adds; otherwise the defaults minus the drops
/// plus the adds (an add wins over a drop of the same capability).
pub fn tweak(add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let add: Vec<String> = add
        .iter()
        .map(|c| cap_name("--cap-add", c))
        .collect::<Result<_>>()?;
    let drop: Vec<String> = drop
        .iter()
        .map(|c| cap_name("--cap-drop", c))
        .collect::<Result<_>>()?;
    let has = |l: &[String], c: &str| l.iter().any(|x| x == c);
    let mut out: Vec<String> = if has(&add, "ALL") {
        all_caps().into_iter().filter(|c| !has(&drop, c)).collect()
    } else if has(&drop, "ALL") {
        add.clone()
    } else {
        let mut v: Vec<String> = DOCKER_CAPS
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !has(&drop, c))
            .collect();
        v.extend(add.iter().cloned());
        v
    };
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|c| seen.insert(c.clone()));
    Ok(out)
}

/// Bit N set for capability N.
pub fn mask(list: &[String]) -> u64 {
    list.iter()
        .filter_map(|c| Capability::from_str(c).ok())
        .fold(0, |m, c| m | (1u64 << c.index()))
}

/// What `--security-opt seccomp=` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Seccomp {
    #[default]
    Default,
    Unconfined,
    /// The profile, already in the OCI `linux.seccomp` shape.
    Profile(Value),
}

/// `--security-opt`: (seccomp, no_new_privileges); `caps` is the container's
/// final capability set (docker's profiles have rules conditional on it).
pub fn security_opts(opts: &[String], caps: &[String]) -> Result<(Seccomp, bool)> {
    let mut seccomp = Seccomp::Default;
    let mut nnp = false;
    for opt in opts {
        let bad = |why: &str| Error::Usage(format!("--security-opt {opt:?}: {why}"));
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt, ""));
        match key {
            "seccomp" if value == "unconfined" => seccomp = Seccomp::Unconfined,
            "seccomp" if value.is_empty() => {
                return Err(bad("a profile file or unconfined is required"))
            }
            "seccomp" => seccomp = Seccomp::Profile(load_profile(opt, value, caps)?),
            "no-new-privileges" => {
                nnp = match value {
                    "" | "true" => true,
                    "false" => false,
                    _ => return Err(bad("expected true or false")),
                }
            }
            "apparmor" | "label" => {
                return Err(bad("not supported by nook (no LSM profiles here)"))
            }
            _ => return Err(bad("unknown option (seccomp=, no-new-privileges)")),
        }
    }
    Ok((seccomp, nnp))
}

/// Does a docker rule's `includes`/`excludes` hold for this container
/// (capabilities, the amd64 architecture, the running kernel)?
fn rule_applies(rule: &Value, caps: &[String]) -> bool {
    let list = |cond: &str, key: &str| -> Vec<String> {
        rule[cond][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let has = |c: &String| caps.contains(c);
    let arch = |a: &String| a == "amd64" || a == "x86_64";
    let kernel_ok = match rule["includes"]["minKernel"].as_str() {
        None => true,
        Some(min) => {
            let version = |s: &str| -> Vec<u32> {
                s.split(['.', '-'])
                    .take(2)
                    .map(|p| p.parse().unwrap_or(0))
                    .collect()
            };
            let release = nix::sys::utsname::uname()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default();
            version(&release) >= version(min)
        }
    };
    let (inc_arch, exc_arch) = (list("includes", "arches"), list("excludes", "arches"));
    list("includes", "caps").iter().all(has)
        && !list("excludes", "caps").iter().any(has)
        && (inc_arch.is_empty() || inc_arch.iter().any(arch))
        && !exc_arch.iter().any(arch)
        && kernel_ok
}

/// Read a profile in docker's format: the OCI one plus `archMap` (which
/// becomes `architectures`) and rules conditional on capabilities, arches and
/// kernel version (kept or dropped here, as docker does).
fn load_profile(opt: &str, path: &str, caps: &[String]) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("--security-opt {opt:?}: {e}")))?;
    let mut v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "--security-opt {opt:?}: not a seccomp profile: {e}"
        ))
    })?;
    if !v.is_object() || v.get("defaultAction").is_none() {
        return Err(Error::Usage(format!(
            "--security-opt {opt:?}: not a seccomp profile: no defaultAction"
        )));
    }
    if let Some(map) = v.as_object_mut().and_then(|o| o.remove("archMap")) {
        let mut arches = Vec::new();
        for a in map.as_array().into_iter().flatten() {
            arches.extend(a.get("architecture").cloned());
            arches.extend(
                a["subArchitectures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        v["architectures"] = arches.into();
    }
    if let Some(rules) = v.get_mut("syscalls").and_then(Value::as_array_mut) {
        rules.retain(|r| rule_applies(r, caps));
        for r in rules.iter_mut().filter_map(Value::as_object_mut) {
            for k in ["includes", "excludes", "comment"] {
                r.remove(k);
            }
        }
    }
    Ok(v)
}

/// `--network`: whether the container gets its own network namespace.
pub fn own_netns(network: Option<&str>) -> Result<bool> {
    match network.unwrap_or("private") {
        "private" | "none" | "default" => Ok(true),
        "host" => Ok(false),
        other => Err(Error::Usage(format!(
            "--network {other:?}: not available: nook has no bridge or user networks (none, private or host)"
        ))),
    }
}

/// The host's device nodes, as docker's --privileged hands them over (minus
/// the per-container pts, shm, mqueue, the console, and /dev/ptmx: the
/// runtime makes that the link to the container's own pts/ptmx, and a host
/// node bound there in a user namespace could not be unlinked: EBUSY).
pub fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/dev")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let ft = md.file_type();
            let name = e.file_name();
            if ft.is_dir() {
                if !["pts", "shm", "mqueue", "fd", ".lxc", ".udev"]
                    .contains(&name.to_str().unwrap_or(""))
                {
                    stack.push(p);
                }
                continue;
            }
            let kind = if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else {
                continue;
            };
            if ["/dev/console", "/dev/ptmx"]
                .iter()
                .any(|x| p == std::path::Path::new(x))
                || md.rdev() == 0
            {
                continue;
            }
            let (major, minor) = (
                nix::sys::stat::major(md.rdev()),
                nix::sys::stat::minor(md.rdev()),
            );
            out.push(
                json!({"path": p, "type": kind, "major": major, "minor": minor,
                "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid()}),
            );
        }
    }
    out.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    out
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;

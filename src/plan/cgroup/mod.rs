//! cgroup placement and limits as data: where the container's cgroup goes and
//! which file gets which value, for a v1/hybrid host or a v2 host.

use crate::error::{Error, Result};

pub mod bpf;
mod devices;
mod v1;
mod v2;

pub use devices::{device_rules, v1_device_rules, DeviceRule, DEFAULT_ALLOW};
pub use v1::v1_writes;
pub use v2::{v2_writes, V2_CONTROLLERS};

/// Where the container's cgroup lives, relative to each hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CgroupPath {
    /// Below the runtime's own cgroup (no `cgroupsPath`, or a relative one), as runc does.
    Relative(String),
    /// From the hierarchy's root.
    Absolute(String),
}

/// One value for one cgroup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The v1 hierarchy (`memory`, `cpu`, ...) or, on v2, the controller that owns the file.
    pub controller: &'static str,
    pub file: String,
    pub value: String,
}

pub(super) fn w(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        controller,
        file: file.into(),
        value: value.to_string(),
    }
}

/// `linux.cgroupsPath` → a path; `slice:prefix:name` (systemd) maps onto cgroupfs as
/// `<slice dirs>/<prefix>-<name>.scope`, there being no systemd here.
pub fn path(cgroups_path: Option<&str>, id: &str) -> Result<CgroupPath> {
    let Some(p) = cgroups_path.filter(|p| !p.is_empty()) else {
        return Ok(CgroupPath::Relative(id.to_string()));
    };
    if p.split('/').any(|c| c == "..") {
        return Err(Error::config(
            "linux.cgroupsPath",
            format!("{p:?} must not contain \"..\""),
        ));
    }
    if p.starts_with('/') {
        let trimmed = p.trim_end_matches('/');
        if trimmed.split('/').all(|c| c.is_empty() || c == ".") {
            return Err(Error::config(
                "linux.cgroupsPath",
                format!(
                    "{p:?} is the root of the hierarchy: a container needs a cgroup of its own"
                ),
            ));
        }
        return Ok(CgroupPath::Absolute(trimmed.to_string()));
    }
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() == 3 {
        let (slice, prefix, name) = (parts[0], parts[1], parts[2]);
        let slice = if slice.is_empty() {
            "system.slice"
        } else {
            slice
        };
        return Ok(CgroupPath::Absolute(format!(
            "{}/{prefix}-{name}.scope",
            expand_slice(slice)?
        )));
    }
    Ok(CgroupPath::Relative(p.trim_end_matches('/').to_string()))
}

/// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (systemd's nesting rule).
fn expand_slice(slice: &str) -> Result<String> {
    let base = slice.strip_suffix(".slice").ok_or_else(|| {
        Error::config(
            "linux.cgroupsPath",
            format!("{slice:?} is not a .slice name"),
        )
    })?;
    if base == "-" {
        return Ok("/".into());
    }
    let mut out = String::new();
    let mut acc = String::new();
    for part in base.split('-') {
        if !acc.is_empty() {
            acc.push('-');
        }
        acc.push_str(part);
        out.push('/');
        out.push_str(&acc);
        out.push_str(".slice");
    }
    Ok(out)
}

/// runc's conversion of cpu.shares (2..262144) to cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262144) - 2) * 9999 / 262142
}

/// cpuset.cpus and cpuset.mems: the same files on v1 and v2.
pub(super) fn cpuset_writes(c: &oci_spec::runtime::LinuxCpu, out: &mut Vec<Write>) {
    if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.cpus", cpus));
    }
    if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.mems", mems));
    }
}

/// pids.max: the same file on v1 and v2.
pub(super) fn pids_writes(r: &oci_spec::runtime::LinuxResources, out: &mut Vec<Write>) {
    if let Some(p) = r.pids() {
        out.push(w("pids", "pids.max", pids_value(p.limit())));
    }
}

fn pids_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

#[cfg(test)]
mod tests;

//! cgroup placement and limits as data: where the container's cgroup goes and
//! which file gets which value, for a v1/hybrid host or a v2 host.

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

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

fn w(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Write {
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
        return Ok(CgroupPath::Absolute(p.trim_end_matches('/').to_string()));
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

/// The writes for a v1 (or hybrid) host, in a safe order.
pub fn v1_writes(r: &LinuxResources) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        // Raising: memsw first would fail below the limit; lowering the other way round.
        // Setting memory first then memsw works when memsw >= memory, which runc requires.
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.limit_in_bytes", l));
        }
        if let Some(s) = m.swap() {
            out.push(w("memory", "memory.memsw.limit_in_bytes", s));
        }
        if let Some(r) = m.reservation() {
            out.push(w("memory", "memory.soft_limit_in_bytes", r));
        }
        if let Some(s) = m.swappiness() {
            out.push(w("memory", "memory.swappiness", s));
        }
        if m.disable_oom_killer() == Some(true) {
            out.push(w("memory", "memory.oom_control", 1));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            out.push(w("cpu", "cpu.shares", s));
        }
        if let Some(p) = c.period().filter(|p| *p > 0) {
            out.push(w("cpu", "cpu.cfs_period_us", p));
        }
        if let Some(q) = c.quota().filter(|q| *q != 0) {
            out.push(w("cpu", "cpu.cfs_quota_us", q));
        }
        if let Some(b) = c.burst() {
            out.push(w("cpu", "cpu.cfs_burst_us", b));
        }
        if let Some(p) = c.realtime_period().filter(|p| *p > 0) {
            out.push(w("cpu", "cpu.rt_period_us", p));
        }
        if let Some(rt) = c.realtime_runtime().filter(|r| *r != 0) {
            out.push(w("cpu", "cpu.rt_runtime_us", rt));
        }
        if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
            out.push(w("cpuset", "cpuset.cpus", cpus));
        }
        if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
            out.push(w("cpuset", "cpuset.mems", mems));
        }
    }
    if let Some(p) = r.pids() {
        out.push(w("pids", "pids.max", pids_value(p.limit())));
    }
    if let Some(b) = r.block_io() {
        if let Some(wt) = b.weight() {
            out.push(w("blkio", "blkio.weight", wt));
        }
        if let Some(wt) = b.leaf_weight() {
            out.push(w("blkio", "blkio.leaf_weight", wt));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(wt) = d.weight() {
                out.push(w(
                    "blkio",
                    "blkio.weight_device",
                    format!("{}:{} {wt}", d.major(), d.minor()),
                ));
            }
        }
        for (file, list) in [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ] {
            for d in list.iter().flatten() {
                out.push(w(
                    "blkio",
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            h.limit(),
        ));
    }
    out
}

fn pids_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

/// The writes for a v2 host. `unified` keys come last and win; an unknown
/// controller prefix is an error naming the key.
pub fn v2_writes(r: &LinuxResources) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.max", max_or(l)));
        }
        if let Some(s) = m.swap() {
            // v1's memsw counts memory + swap; v2's swap.max counts swap alone.
            let swap = match (s, m.limit()) {
                (s, _) if s < 0 => "max".to_string(),
                (s, Some(l)) if l > 0 => (s - l).max(0).to_string(),
                (s, _) => s.to_string(),
            };
            out.push(w("memory", "memory.swap.max", swap));
        }
        if let Some(r) = m.reservation() {
            out.push(w("memory", "memory.low", max_or(r)));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            out.push(w("cpu", "cpu.weight", shares_to_weight(s)));
        }
        if c.quota().is_some() || c.period().is_some() {
            let quota = match c.quota() {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            out.push(w(
                "cpu",
                "cpu.max",
                format!("{quota} {}", c.period().unwrap_or(100000)),
            ));
        }
        if let Some(b) = c.burst() {
            out.push(w("cpu", "cpu.max.burst", b));
        }
        if let Some(i) = c.idle() {
            out.push(w("cpu", "cpu.idle", i));
        }
        if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
            out.push(w("cpuset", "cpuset.cpus", cpus));
        }
        if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
            out.push(w("cpuset", "cpuset.mems", mems));
        }
    }
    if let Some(p) = r.pids() {
        out.push(w("pids", "pids.max", pids_value(p.limit())));
    }
    if let Some(b) = r.block_io() {
        if let Some(wt) = b.weight() {
            out.push(w("io", "io.bfq.weight", wt));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(wt) = d.weight() {
                out.push(w(
                    "io",
                    "io.bfq.weight",
                    format!("{}:{} {wt}", d.major(), d.minor()),
                ));
            }
        }
        for (key, list) in [
            ("rbps", b.throttle_read_bps_device()),
            ("wbps", b.throttle_write_bps_device()),
            ("riops", b.throttle_read_iops_device()),
            ("wiops", b.throttle_write_iops_device()),
        ] {
            for d in list.iter().flatten() {
                out.push(w(
                    "io",
                    "io.max",
                    format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.max", h.page_size()),
            max_or(h.limit()),
        ));
    }
    let mut unified: Vec<(&String, &String)> = r.unified().iter().flatten().collect();
    unified.sort();
    for (k, v) in unified {
        let controller = V2_CONTROLLERS
            .iter()
            .find(|c| {
                k.strip_prefix(**c)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
            .ok_or_else(|| {
                Error::config(
                    format!("linux.resources.unified.{k}"),
                    "no such cgroup v2 file",
                )
            })?;
        if k.contains('/') {
            return Err(Error::config(
                format!("linux.resources.unified.{k}"),
                "not a file name",
            ));
        }
        out.push(w(controller, k.clone(), v));
    }
    Ok(out)
}

/// Prefixes of v2 interface files, by the controller (or core) that owns them.
pub const V2_CONTROLLERS: [&str; 10] = [
    "cgroup", "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc", "freezer",
];

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// runc's default device rules, appended after the configured ones: the
/// standard nodes, ptys, and mknod (not open) of anything.
pub const DEFAULT_ALLOW: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:8 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:5 rwm",
    "c 1:9 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// v1 devices-controller rules as (file, rule), in order: deny all, then the config's
/// rules, then the defaults and the config's device nodes.
pub fn v1_device_rules(rules: &[LinuxDeviceCgroup], nodes: &[crate::plan::Device]) -> Vec<Write> {
    let mut out = vec![w("devices", "devices.deny", "a")];
    for r in rules {
        let file = if r.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(w("devices", file, device_rule(r)));
    }
    for rule in DEFAULT_ALLOW {
        out.push(w("devices", "devices.allow", rule));
    }
    for d in nodes {
        let t = match d.kind {
            crate::plan::DeviceKind::Char => 'c',
            crate::plan::DeviceKind::Block => 'b',
            crate::plan::DeviceKind::Fifo => continue,
        };
        out.push(w(
            "devices",
            "devices.allow",
            format!("{t} {}:{} rwm", d.major, d.minor),
        ));
    }
    out
}

fn device_rule(r: &LinuxDeviceCgroup) -> String {
    let t = match r.typ() {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::P) => 'p',
        Some(LinuxDeviceType::A) | None => 'a',
    };
    if t == 'a' {
        return "a".into();
    }
    let num = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_string(), |n| n.to_string())
    };
    let access = r
        .access()
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "rwm".into());
    format!("{t} {}:{} {access}", num(r.major()), num(r.minor()))
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;

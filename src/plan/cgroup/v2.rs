//! Values for cgroup v2 files.

use super::{cpuset_writes, pids_writes, shares_to_weight, w, Write};
use crate::error::{Error, Result};
use oci_spec::runtime::LinuxResources;

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
        cpuset_writes(c, &mut out);
    }
    pids_writes(r, &mut out);
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

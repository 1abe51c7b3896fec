//! The per-process parts of a report (ids, capabilities, no_new_privs,
//! seccomp, umask, namespaces, rlimits, cgroup), readable for this process
//! or, from outside, for any pid through /proc/PID.

use super::{parse, Report, CAPS};
use nix::sys::resource::Resource;
use std::collections::BTreeMap;
use std::fs;

/// (report name, label in /proc/PID/limits, resource).
pub const RLIMITS: [(&str, &str, Resource); 16] = [
    ("RLIMIT_CPU", "Max cpu time", Resource::RLIMIT_CPU),
    ("RLIMIT_FSIZE", "Max file size", Resource::RLIMIT_FSIZE),
    ("RLIMIT_DATA", "Max data size", Resource::RLIMIT_DATA),
    ("RLIMIT_STACK", "Max stack size", Resource::RLIMIT_STACK),
    ("RLIMIT_CORE", "Max core file size", Resource::RLIMIT_CORE),
    ("RLIMIT_RSS", "Max resident set", Resource::RLIMIT_RSS),
    ("RLIMIT_NPROC", "Max processes", Resource::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", "Max open files", Resource::RLIMIT_NOFILE),
    (
        "RLIMIT_MEMLOCK",
        "Max locked memory",
        Resource::RLIMIT_MEMLOCK,
    ),
    ("RLIMIT_AS", "Max address space", Resource::RLIMIT_AS),
    ("RLIMIT_LOCKS", "Max file locks", Resource::RLIMIT_LOCKS),
    (
        "RLIMIT_SIGPENDING",
        "Max pending signals",
        Resource::RLIMIT_SIGPENDING,
    ),
    (
        "RLIMIT_MSGQUEUE",
        "Max msgqueue size",
        Resource::RLIMIT_MSGQUEUE,
    ),
    ("RLIMIT_NICE", "Max nice priority", Resource::RLIMIT_NICE),
    (
        "RLIMIT_RTPRIO",
        "Max realtime priority",
        Resource::RLIMIT_RTPRIO,
    ),
    (
        "RLIMIT_RTTIME",
        "Max realtime timeout",
        Resource::RLIMIT_RTTIME,
    ),
];

/// Fill the fields that come from a /proc/PID/status text.
pub fn status_fields(r: &mut Report, status: &str) {
    let field = |key: &str| parse::status_field(status, key);
    r.uid = field("Uid").and_then(parse::id_quad);
    r.gid = field("Gid").and_then(parse::id_quad);
    r.caps = CAPS
        .iter()
        .map(|(name, key)| (name.to_string(), field(key).map(str::to_string)))
        .collect();
    r.no_new_privs = field("NoNewPrivs").map(|v| v == "1");
    r.seccomp = field("Seccomp").and_then(|v| v.parse().ok()).unwrap_or(0);
    r.umask = field("Umask").and_then(parse::octal);
}

/// The lines of /proc/PID/cgroup.
pub fn cgroup_lines(proc: &str) -> Vec<String> {
    fs::read_to_string(format!("/proc/{proc}/cgroup"))
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// /proc/PID/limits as [soft, hard] per resource ("unlimited" is u64::MAX).
pub fn parse_limits(text: &str) -> BTreeMap<String, Option<[u64; 2]>> {
    let value = |w: &str| match w {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    };
    RLIMITS
        .iter()
        .map(|(name, label, _)| {
            let got = text.lines().find_map(|l| {
                let rest = l.strip_prefix(label)?;
                let mut w = rest.split_whitespace();
                Some([value(w.next()?)?, value(w.next()?)?])
            });
            (name.to_string(), got)
        })
        .collect()
}

/// Replace the per-process fields of `r` with those of process `pid` (read
/// from the outside): what a container's init really runs with.
pub fn of_pid(r: &mut Report, pid: i32) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status_fields(r, &status);
    r.groups = parse::status_field(&status, "Groups").map(|g| {
        let mut v: Vec<u32> = g
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        v.sort_unstable();
        v
    });
    r.pid = pid as u32;
    r.namespaces = super::namespaces(&pid.to_string());
    r.rlimits =
        parse_limits(&fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default());
    r.cgroup = cgroup_lines(&pid.to_string());
    r.oom_score_adj = fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
        .ok()
        .and_then(|v| v.trim().parse().ok());
}

/// The number of seccomp filters (`Seccomp_filters:`, Linux 5.9+).
pub fn seccomp_filters(proc: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{proc}/status")).ok()?;
    parse::status_field(&status, "Seccomp_filters")?
        .parse()
        .ok()
}

/// A uid_map or gid_map, one `inside outside count` triple per line, spaces squeezed.
pub fn id_map(proc: &str, which: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{proc}/{which}")).ok()?;
    Some(
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// A host id as the process's user namespace sees it, through `/proc/PID/uid_map`
/// text (`inside outside count` lines, read from the host); unmapped ids show
/// as the overflow id 65534, as the kernel shows them.
pub fn to_inside(host_id: u32, map: &str) -> u32 {
    map.lines()
        .find_map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            let (inside, outside, count) = (*v.first()?, *v.get(1)?, *v.get(2)?);
            let id = u64::from(host_id);
            (outside..outside + count)
                .contains(&id)
                .then(|| (id - outside + inside) as u32)
        })
        .unwrap_or(65534)
}

/// The ids of a report read from the host (`of_pid`) as the process itself sees
/// them, when it has a user namespace of its own.
pub fn ids_inside(r: &mut Report, pid: i32) {
    let map = |which: &str| fs::read_to_string(format!("/proc/{pid}/{which}")).unwrap_or_default();
    let (uids, gids) = (map("uid_map"), map("gid_map"));
    if let Some(u) = r.uid.as_mut() {
        u.iter_mut().for_each(|id| *id = to_inside(*id, &uids));
    }
    if let Some(g) = r.gid.as_mut() {
        g.iter_mut().for_each(|id| *id = to_inside(*id, &gids));
    }
    if let Some(groups) = r.groups.as_mut() {
        groups.iter_mut().for_each(|id| *id = to_inside(*id, &gids));
    }
}

/// Capability names of a hex mask as /proc prints it.
pub fn cap_names(hex: &str) -> Vec<String> {
    let mask = u64::from_str_radix(hex, 16).unwrap_or(0);
    let mut all: Vec<caps::Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.into_iter()
        .filter(|c| mask & (1u64 << c.index()) != 0)
        .map(|c| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_file() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 1048576              files     \n";
        let l = parse_limits(text);
        assert_eq!(l["RLIMIT_CPU"], Some([u64::MAX, u64::MAX]));
        assert_eq!(l["RLIMIT_NOFILE"], Some([1024, 1048576]));
        assert_eq!(l["RLIMIT_CORE"], None);
    }

    #[test]
    fn own_process_from_outside_matches_inside() {
        let inside = super::super::collect();
        let mut outside = inside.clone();
        of_pid(&mut outside, std::process::id() as i32);
        assert_eq!(inside.rlimits, outside.rlimits);
        assert_eq!(inside.caps, outside.caps);
        assert_eq!(inside.namespaces, outside.namespaces);
        assert_eq!(inside.groups, outside.groups);
        assert_eq!(cap_names("3"), ["CAP_CHOWN", "CAP_DAC_OVERRIDE"]);
        let map = "0 100000 65536\n65536 5000 1\n";
        assert_eq!(to_inside(100000, map), 0);
        assert_eq!(to_inside(101000, map), 1000);
        assert_eq!(to_inside(5000, map), 65536);
        assert_eq!(to_inside(0, map), 65534);
    }
}

//! cgroup checks shared by tests/cgroups*.rs and tests/cgroup_v2.rs.

use crate::Output;

/// Is /sys/fs/cgroup/memory a cgroup v1 hierarchy (a v1 or hybrid host)?
pub fn v1_host() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup/memory ") && l.contains(" - cgroup "))
}

/// The number after `key` on the first stdout line that starts with it
/// (`nr_throttled `, `usage=`, ...); panics with the output when there is none.
pub fn stat_value(out: &Output, key: &str) -> u64 {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
}

/// A busy loop ran under a cpu quota of `quota_us` per period, and `out` holds its
/// cpu.stat and a usage line (`usage_key`, in `units_per_us` units a microsecond:
/// 1000 for v1's cpuacct.usage in ns, 1 for v2's usage_usec): it was throttled, and
/// used at most the quota of each period that ran (one more, for the period cut
/// short, and a fifth of slack: slow machines stretch the run over more periods).
pub fn assert_cpu_quota_held(out: &Output, quota_us: u64, usage_key: &str, units_per_us: u64) {
    assert!(
        stat_value(out, "nr_throttled ") > 0,
        "never throttled:\n{out}"
    );
    let allowed = (stat_value(out, "nr_periods ") + 1) * quota_us * units_per_us * 6 / 5;
    assert!(
        stat_value(out, usage_key) <= allowed,
        "more CPU than the quota of the periods that ran:\n{out}"
    );
}

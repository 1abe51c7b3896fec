//! Helpers shared by tests/cgroup_v2.rs and tests/cgroup_v2_delegated.rs (run in
//! the cgroup v2 guest by `make test-cgroup2`).

use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// /sys/fs/cgroup is a pure cgroup2 hierarchy.
pub fn pure_v2() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))
}

/// Skip the test unless /sys/fs/cgroup is a pure cgroup2 hierarchy.
#[macro_export]
macro_rules! need_v2 {
    () => {
        if !cgroup_v2_support::pure_v2() {
            runtime_tests::skip!(
                "/sys/fs/cgroup is not cgroup2 here (make test-cgroup2 runs this in a v2 guest)"
            );
        }
    };
}

pub fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The limits both suites set: memory (limit, reservation), pids, cpu.
pub fn limits() -> Value {
    json!({"memory": {"limit": 67108864, "reservation": 33554432}, "pids": {"limit": 32},
           "cpu": {"shares": 1024, "quota": 50000, "period": 100000}})
}

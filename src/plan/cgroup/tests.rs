use super::*;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};

fn res(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

fn pairs(ws: &[Write]) -> Vec<(&str, &str)> {
    ws.iter()
        .map(|w| (w.file.as_str(), w.value.as_str()))
        .collect()
}

#[test]
fn paths_relative_absolute_and_systemd() {
    assert_eq!(path(None, "c1").unwrap(), CgroupPath::Relative("c1".into()));
    assert_eq!(
        path(Some("/a/b/"), "c1").unwrap(),
        CgroupPath::Absolute("/a/b".into())
    );
    assert_eq!(
        path(Some("x/y"), "c1").unwrap(),
        CgroupPath::Relative("x/y".into())
    );
    assert_eq!(
        path(Some("machine-test.slice:nook:c1"), "c1").unwrap(),
        CgroupPath::Absolute("/machine.slice/machine-test.slice/nook-c1.scope".into())
    );
    assert_eq!(
        path(Some(":nook:c1"), "c1").unwrap(),
        CgroupPath::Absolute("/system.slice/nook-c1.scope".into())
    );
    assert!(path(Some("/"), "c")
        .unwrap_err()
        .to_string()
        .contains("root of the hierarchy"));
    assert!(path(Some("/a/../b"), "c")
        .unwrap_err()
        .to_string()
        .starts_with("config.json: linux.cgroupsPath:"));
}

#[test]
fn shares_convert_like_runc() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262144), 10000);
}

#[test]
fn v1_values() {
    let r = res(serde_json::json!({
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 1000},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 32},
        "blockIO": {"weight": 100, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}
    }));
    assert_eq!(
        pairs(&v1_writes(&r)),
        vec![
            ("memory.limit_in_bytes", "67108864"),
            ("memory.memsw.limit_in_bytes", "134217728"),
            ("memory.soft_limit_in_bytes", "1000"),
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpuset.cpus", "0"),
            ("pids.max", "32"),
            ("blkio.weight", "100"),
            ("blkio.throttle.read_bps_device", "8:0 1048576"),
        ]
    );
}

#[test]
fn v2_values_and_unified() {
    let r = res(serde_json::json!({
        "memory": {"limit": 67108864, "swap": 134217728},
        "cpu": {"shares": 1024, "quota": -1, "period": 100000},
        "pids": {"limit": 0},
        "unified": {"memory.high": "50000000"}
    }));
    assert_eq!(
        pairs(&v2_writes(&r).unwrap()),
        vec![
            ("memory.max", "67108864"),
            ("memory.swap.max", "67108864"),
            ("cpu.weight", "39"),
            ("cpu.max", "max 100000"),
            ("pids.max", "max"),
            ("memory.high", "50000000"),
        ]
    );
    let bad = res(serde_json::json!({"unified": {"bogus.knob": "1"}}));
    assert_eq!(
        v2_writes(&bad).unwrap_err().to_string(),
        "config.json: linux.resources.unified.bogus.knob: no such cgroup v2 file"
    );
}

#[test]
fn device_rules_deny_then_allow() {
    let rules: Vec<LinuxDeviceCgroup> =
        serde_json::from_value(serde_json::json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}])).unwrap();
    let out = v1_device_rules(&rules, &[]);
    assert_eq!(out[0].value, "a");
    // The config's `deny a` right after ours changes nothing: not written twice.
    assert_eq!(
        (out[1].file.as_str(), out[1].value.as_str()),
        ("devices.allow", "c 10:229 rw")
    );
    assert!(out.iter().any(|w| w.value == "c 1:3 rwm"));
    let lines: Vec<_> = out.iter().map(|w| (&w.file, &w.value)).collect();
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(lines.len(), unique.len(), "a repeated write: {lines:?}");
}

#[test]
fn device_rules_keep_what_changes_the_list() {
    // allow X, deny X, allow X again: the second allow matters; a later `deny a` too.
    let rules: Vec<LinuxDeviceCgroup> = serde_json::from_value(serde_json::json!([
        {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
        {"allow": false, "access": "rwm"}
    ]))
    .unwrap();
    let out: Vec<_> = v1_device_rules(&rules, &[])
        .into_iter()
        .map(|w| format!("{} {}", w.file, w.value))
        .collect();
    assert_eq!(
        &out[..5],
        [
            "devices.deny a",
            "devices.allow c 10:200 rwm",
            "devices.deny c 10:200 rwm",
            "devices.allow c 10:200 rwm",
            "devices.deny a"
        ]
    );
}

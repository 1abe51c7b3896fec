//! Reading the probe's JSON: mounts by target, namespace inodes, access results.

use std::os::unix::fs::MetadataExt;

use serde_json::Value;

/// The mounts of a report (`mounts` array).
pub fn mounts(report: &Value) -> &[Value] {
    report["mounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The top-most mount at `target` (the last one listed in mountinfo), if any.
pub fn mount_at<'a>(report: &'a Value, target: &str) -> Option<&'a Value> {
    mounts(report).iter().rev().find(|m| m["target"] == target)
}

/// Like [`mount_at`], panicking with the list of targets when there is none.
pub fn expect_mount<'a>(report: &'a Value, target: &str) -> &'a Value {
    mount_at(report, target).unwrap_or_else(|| {
        let targets: Vec<&str> = mounts(report)
            .iter()
            .filter_map(|m| m["target"].as_str())
            .collect();
        panic!("no mount at {target}; mounts: {targets:?}")
    })
}

/// Whether a mount's per-mount options (or, failing that, its superblock options) list `opt`.
pub fn has_option(mount: &Value, opt: &str) -> bool {
    let listed = |key: &str| {
        mount[key]
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o == opt))
    };
    listed("options") || listed("super_options")
}

/// A namespace inode reported by the probe (`namespaces.<kind>`, kinds as in /proc/PID/ns).
pub fn ns_inode(report: &Value, kind: &str) -> u64 {
    report["namespaces"][kind]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no namespaces.{kind}: {}", report["namespaces"]))
}

/// The inode of /proc/<pid>/ns/<kind> as seen from the host ("self" for this process).
pub fn proc_ns_inode(pid: &str, kind: &str) -> u64 {
    let path = format!("/proc/{pid}/ns/{kind}");
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))
        .ino()
}

/// One path's entry of a `probe access` answer.
pub fn access<'a>(answer: &'a Value, path: &str) -> &'a Value {
    let v = &answer[path];
    assert!(v.is_object(), "no access entry for {path} in {answer}");
    v
}

/// A string field, panicking with the report when absent.
pub fn str_field<'a>(report: &'a Value, pointer: &str) -> &'a str {
    report
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {report}"))
}

/// The rlimit pair `[soft, hard]` the probe reports for `name` (e.g. "RLIMIT_NOFILE").
pub fn rlimit(report: &Value, name: &str) -> (u64, u64) {
    let pair = &report["rlimits"][name];
    match (pair[0].as_u64(), pair[1].as_u64()) {
        (Some(s), Some(h)) => (s, h),
        _ => panic!("no rlimits.{name} in {}", report["rlimits"]),
    }
}

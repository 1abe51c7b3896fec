//! cgroup v2, run inside a guest whose only cgroup hierarchy is cgroup2 with every
//! controller enabled (`make test-cgroup2` boots it; see docs/vm.md). On a host
//! without such a hierarchy each test skips with the reason.

#[macro_use]
mod cgroup_v2_support;

use cgroup_v2_support::{limits, wait_until};
use std::time::Duration;

use runtime_tests::{assert_nothing_left, error_text, is_runc, skip, Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

/// The bundle with a cgroup namespace (so /sys/fs/cgroup inside is the container's own).
fn bundle_with(res: Value, script: &str) -> Bundle {
    let b = Bundle::new();
    b.save_with(|c| {
        c["linux"]["resources"] = res;
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "cgroup"}));
        c["process"]["args"] = json!(["/bin/sh", "-c", script]);
    });
    b
}

const READ: &str = "for f in memory.max memory.low pids.max cpu.max cpu.weight; do echo $f=$(cat /sys/fs/cgroup/$f); done; cat /proc/self/cgroup";

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn limits_are_written_and_seen_from_inside() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = bundle_with(limits(), READ);
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "memory.max=67108864",
            "memory.low=33554432",
            "pids.max=32",
            "cpu.max=50000 100000",
            "cpu.weight=39",
            "0::/"
        ],
        "{out}"
    );
    assert_nothing_left(&b, &rt, &id);
}

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn limits_equal_runcs() {
    need_v2!();
    if is_runc() {
        skip!("runc against itself says nothing");
    }
    let b = bundle_with(limits(), READ);
    let ours = Runtime::under_test().run_saved(&b, "v2-diff-nook", &[]);
    let theirs = Runtime::runc().run_saved(&b, "v2-diff-runc", &[]);
    ours.ok();
    theirs.ok();
    assert_eq!(
        ours.stdout, theirs.stdout,
        "cgroup v2 values differ from runc's"
    );
}

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn memory_and_pids_limits_are_enforced() {
    need_v2!();
    let rt = Runtime::under_test();
    let hog = "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}";
    let b = bundle_with(
        json!({"memory": {"limit": 16777216, "swap": 16777216}}),
        hog,
    );
    let out = rt.run_saved(&b, &rt.new_id(), &[]);
    assert_eq!(out.status, 137, "the hog should be OOM-killed:\n{out}");
    let b = bundle_with(
        json!({"pids": {"limit": 4}}),
        "for i in 1 2 3 4 5 6; do sleep 5 & done; echo done",
    );
    let out = rt.run_saved(&b, &rt.new_id(), &[]);
    assert!(
        out.stderr.contains("can't fork"),
        "fork should fail under pids.max=4:\n{out}"
    );
}

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn update_pause_kill_all_and_delete() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = bundle_with(
        json!({"pids": {"limit": 32}}),
        "sleep 300 & sleep 300 & sleep 300",
    );
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    rt.exec(&["update", "--memory", "32m", "--pids-limit", "20", &id])
        .ok();
    let stats: Value =
        serde_json::from_str(rt.exec(&["events", "--stats", &id]).stdout.trim()).unwrap();
    assert_eq!(
        stats["data"]["memory"]["usage"]["limit"], 33554432,
        "{stats}"
    );
    assert_eq!(stats["data"]["pids"]["limit"], 20, "{stats}");
    rt.exec(&["pause", &id]).ok();
    assert_eq!(rt.status_of(&id).as_deref(), Some("paused"));
    rt.exec(&["resume", &id]).ok();
    assert_eq!(rt.status_of(&id).as_deref(), Some("running"));
    let pids = || -> Vec<i64> {
        serde_json::from_str(rt.exec(&["ps", "--format", "json", &id]).stdout.trim())
            .unwrap_or_default()
    };
    wait_until("three processes", || pids().len() == 3);
    rt.exec(&["kill", "--all", &id, "KILL"]).ok();
    wait_until("the container to stop", || {
        rt.status_of(&id).as_deref() == Some("stopped")
    });
    rt.exec(&["delete", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn unified_keys_apply_and_unknown_ones_are_refused() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = bundle_with(
        json!({"unified": {"memory.high": "50000000"}}),
        "cat /sys/fs/cgroup/memory.high",
    );
    let out = rt.run_saved(&b, &rt.new_id(), &[]);
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "49999872",
        "memory.high is rounded down to pages:\n{out}"
    );
    if is_runc() {
        return;
    }
    let b = bundle_with(json!({"unified": {"bogus.knob": "1"}}), "true");
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    out.failed();
    assert!(
        error_text(&out).contains("linux.resources.unified.bogus.knob"),
        "{out}"
    );
    assert_nothing_left(&b, &rt, &id);
}

/// Opens each node for reading and for writing after making a block node 8:0 (the
/// first SCSI disk) in the container's /dev: one line per open, `ok` or the shell's error.
const OPEN_NODES: &str = "mknod /dev/sda b 8 0 || echo mknod failed
for f in /dev/null /dev/zero /dev/sda; do
  printf '%s r: ' $f; (exec 3<$f) 2>&1 && echo ok
  printf '%s w: ' $f; (exec 3>$f) 2>&1 && echo ok
done
true";

fn device_bundle(rules: Value) -> Bundle {
    let b = Bundle::new();
    b.save_with(|c| {
        c["linux"]["resources"] = json!({"devices": rules});
        c["process"]["args"] = json!(["/bin/sh", "-c", OPEN_NODES]);
        c.caps(&["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
    });
    b
}

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{out}"))
}

const EPERM: &str = "Operation not permitted";

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn device_program_denies_all_but_the_defaults() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = device_bundle(json!([{"allow": false, "access": "rwm"}]));
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    let text = out.stdout.as_str();
    assert!(!text.contains("mknod failed"), "mknod is allowed:\n{out}");
    for ok in ["/dev/null r: ok", "/dev/null w: ok", "/dev/zero r: ok"] {
        assert_eq!(line(text, ok), ok, "{out}");
    }
    for denied in ["/dev/sda r: ", "/dev/sda w: "] {
        assert!(line(text, denied).contains(EPERM), "{out}");
    }
    assert_nothing_left(&b, &rt, &id);
    if is_runc() {
        return;
    }
    let theirs = Runtime::runc().run_saved(&b, "v2-devices-runc", &[]);
    theirs.ok();
    assert_eq!(
        out.stdout, theirs.stdout,
        "device access differs from runc's"
    );
}

#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn a_device_allowed_read_only_opens_for_reading_only() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = device_bundle(json!([{"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}]));
    let out = rt.run_saved(&b, &rt.new_id(), &[]);
    out.ok();
    let text = out.stdout.as_str();
    // Allowed by the cgroup, the open reaches the driver (ENXIO when there is no disk).
    assert!(!line(text, "/dev/sda r: ").contains(EPERM), "{out}");
    assert!(line(text, "/dev/sda w: ").contains(EPERM), "{out}");
    assert_eq!(line(text, "/dev/null w: "), "/dev/null w: ok", "{out}");
    if is_runc() {
        return;
    }
    let theirs = Runtime::runc().run_saved(&b, "v2-devices-ro-runc", &[]);
    theirs.ok();
    assert_eq!(
        out.stdout, theirs.stdout,
        "device access differs from runc's"
    );
}

/// A container whose cgroup became an inner node (init moved to a child,
/// controllers enabled for children: the kernel refuses processes there with
/// EBUSY): exec goes where init is, and `--cgroup` picks a sub-cgroup.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn exec_into_a_container_whose_cgroup_has_children() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = Bundle::new();
    b.save_with(|c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 20}});
        c["process"]["args"] = json!(["sleep", "100"]);
    });
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let pid = rt.state_json(&id)["pid"].as_i64().expect("pid");
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = own.trim().strip_prefix("0::").unwrap().to_string();
    let dir = format!("/sys/fs/cgroup{rel}");
    for sub in ["leaf", "other"] {
        std::fs::create_dir(format!("{dir}/{sub}")).unwrap();
    }
    std::fs::write(format!("{dir}/leaf/cgroup.procs"), pid.to_string()).unwrap();
    std::fs::write(format!("{dir}/cgroup.subtree_control"), "+pids").unwrap();
    let plain = rt.exec(&["exec", &id, "cat", "/proc/self/cgroup"]);
    plain.ok();
    assert_eq!(
        plain.stdout.trim(),
        format!("0::{rel}/leaf"),
        "init's cgroup"
    );
    let chosen = rt.exec(&["exec", "--cgroup", "other", &id, "cat", "/proc/self/cgroup"]);
    chosen.ok();
    assert_eq!(chosen.stdout.trim(), format!("0::{rel}/other"));
    let bad = rt.exec(&["exec", "--cgroup", "pids:other", &id, "true"]);
    assert_ne!(bad.status, 0, "controllers cannot be named on v2: {bad}");
    rt.exec(&["delete", "--force", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

/// hugepageLimits land in hugetlb.<size>.max, seen from inside (cgroup namespace).
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn hugetlb_limits_are_written() {
    need_v2!();
    let controllers = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap();
    if !controllers.split_whitespace().any(|c| c == "hugetlb") {
        skip!("this kernel has no hugetlb controller");
    }
    let rt = Runtime::under_test();
    let b = bundle_with(
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}),
        "cat /sys/fs/cgroup/hugetlb.2MB.max",
    );
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    assert_eq!(out.stdout.trim(), "4194304");
    if !is_runc() {
        let runc = Runtime::runc();
        let id2 = runc.new_id();
        let theirs = runc.run_saved(&b, &id2, &[]);
        theirs.ok();
        assert_eq!(out.stdout, theirs.stdout, "runc differs");
    }
}
/// A container starts and runs `true` under memory.max = 1 MiB (init is born in
/// the cgroup with CLONE_INTO_CGROUP; the runtime's own pages stay charged
/// to the runtime). The smallest limit that works is measured by `make bench-v2`.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn true_runs_under_a_1_mib_memory_limit() {
    need_v2!();
    runtime_tests::assert_true_runs_under_memory_limit(1 << 20);
}

/// cpu.max is enforced: a busy loop under 20% of a CPU is throttled.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn cpu_max_throttles_a_busy_loop() {
    need_v2!();
    let rt = Runtime::under_test();
    let b = bundle_with(
        json!({"cpu": {"quota": 20000, "period": 100000}}),
        "timeout 1 sh -c 'while :; do :; done'; cat /sys/fs/cgroup/cpu.stat",
    );
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    runtime_tests::cgroups::assert_cpu_quota_held(&out, 20_000, "usage_usec ", 1);
}

// ---- A delegated subtree: the runtime as an unprivileged user ----------------------

/// The uid the delegated-subtree tests run the runtime as (no passwd entry needed).
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn init_is_cloned_into_the_cgroup_by_the_runtime() {
    need_v2!();
    if is_runc() {
        skip!("nook's launch shape: runc's init is the grandchild of `runc init`");
    }
    // One clone3 with the namespace flags and CLONE_INTO_CGROUP: init is the
    // runtime's own child, PID 1, in the container's cgroup (had the kernel
    // refused, an intermediate would have forked it).
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config
        .push("/linux/namespaces", json!({"type": "cgroup"}));
    let id = rt.new_id();
    let seen = runtime_tests::shape::init_during_create(&rt, &mut b, &id);
    assert_eq!(
        seen.parent, seen.runtime,
        "init's parent is the runtime: {seen:?}"
    );
    assert_eq!(seen.nspid.last(), Some(&1), "PID 1: {seen:?}");
    assert!(
        seen.cgroups.len() == 1
            && seen.cgroups[0].starts_with("0::/")
            && seen.cgroups[0].ends_with(&id),
        "in the container's cgroup: {seen:?}"
    );
    rt.start(&id).ok();
    rt.wait_status(&id, "stopped", Duration::from_secs(30));
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

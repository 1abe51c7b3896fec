//! cgroups on this host's layout (v1/hybrid here; the v2 suite runs in a VM):
//! limits land in the right files (seen from inside and compared with runc),
//! are enforced, change with `update`, and `pause`/`resume`, `ps`, `events`,
//! `kill --all` and `delete --force` work through the container's cgroup.
//! `exec --cgroup`, hybrid placement, blkio throttles and cpu quotas are in
//! cgroups_more.rs.

#[macro_use]
mod cgroups_support;

use std::time::{Duration, Instant};

use cgroups_support::detached;
use runtime_tests::leftovers::cgroups_named;
use runtime_tests::{assert_nothing_left, error_text, is_runc, mode, skip, Bundle, Mode, Runtime};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn resources() -> Value {
    json!({
        "memory": {"limit": 67108864, "reservation": 33554432},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 32},
        "blockIO": {"weight": 100}
    })
}

const FILES: [&str; 7] = [
    "memory/memory.limit_in_bytes",
    "memory/memory.soft_limit_in_bytes",
    "cpu/cpu.shares",
    "cpu/cpu.cfs_quota_us",
    "cpu/cpu.cfs_period_us",
    "cpuset/cpuset.cpus",
    "pids/pids.max",
];

/// `sh -c` printing `file=value` for each cgroup file, as the container sees it.
fn read_inside(rt: &Runtime, b: &Bundle, res: Value) -> Vec<String> {
    let script: String = FILES
        .iter()
        .map(|f| format!("echo {f}=$(cat /sys/fs/cgroup/{f}); "))
        .collect();
    b.save_with(|c| {
        c["linux"]["resources"] = res;
        c["process"]["args"] = json!(["/bin/sh", "-c", script]);
    });
    let id = rt.new_id();
    let out = rt.run_saved(b, &id, &[]);
    out.ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn limits_are_written_where_the_container_sees_them() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let lines = read_inside(&rt, &b, resources());
    let want = [
        "memory/memory.limit_in_bytes=67108864",
        "memory/memory.soft_limit_in_bytes=33554432",
        "cpu/cpu.shares=512",
        "cpu/cpu.cfs_quota_us=50000",
        "cpu/cpu.cfs_period_us=100000",
        "cpuset/cpuset.cpus=0",
        "pids/pids.max=32",
    ];
    assert_eq!(lines, want);
}

#[test]
fn limits_equal_runcs() {
    need_v1!();
    if is_runc() {
        skip!("runc against itself says nothing");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let ours = read_inside(&rt, &b, resources());
    let runc = Runtime::runc();
    let theirs = read_inside(&runc, &b, resources());
    assert_eq!(ours, theirs, "cgroup values differ from runc's");
}

fn pids_of(rt: &Runtime, id: &str) -> Vec<i64> {
    let out = rt.exec(&["ps", "--format", "json", id]);
    out.ok();
    serde_json::from_str::<Vec<i64>>(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ps json: {e}\n{out}"))
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stats(rt: &Runtime, id: &str) -> Value {
    let out = rt.exec(&["events", "--stats", id]);
    out.ok();
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("events JSON: {e}\n{out}"))
}

#[test]
fn pids_limit_stops_fork() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 4}});
        c["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo done"
        ]);
    });
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    assert!(
        out.stderr.contains("can't fork"),
        "fork should fail under pids.max=4:\n{out}"
    );
}

#[test]
fn memory_limit_oom_kills_and_events_report_it() {
    need_v1!();
    if is_runc() {
        skip!("runc 1.1's stats have no oom-kill count");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let hog =
        // The hog volunteers as the OOM killer's victim, so init (the shell) survives.
        "(echo 1000 > /proc/self/oom_score_adj; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}); echo survived; sleep 100";
    let id = detached(
        &rt,
        &b,
        json!({"memory": {"limit": 16777216, "swap": 16777216}}),
        hog,
    );
    wait_until("the OOM kill", || {
        stats(&rt, &id)["data"]["memory"]["oomKill"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });
    assert_eq!(
        stats(&rt, &id)["data"]["memory"]["usage"]["limit"],
        16777216
    );
    rt.exec(&["delete", "--force", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn update_changes_live_limits() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(
        &rt,
        &b,
        json!({"memory": {"limit": 67108864}, "pids": {"limit": 32}}),
        "sleep 100",
    );
    rt.exec(&["update", "--memory", "32m", "--pids-limit", "20", &id])
        .ok();
    let s = stats(&rt, &id);
    assert_eq!(s["data"]["memory"]["usage"]["limit"], 33554432, "{s}");
    assert_eq!(s["data"]["pids"]["limit"], 20, "{s}");
    let mut cmd = rt.command(&["update", "--resources", "-", &id]);
    cmd.stdin(std::process::Stdio::piped());
    let text = r#"{"pids": {"limit": 9}}"#;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn update");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(stats(&rt, &id)["data"]["pids"]["limit"], 9);
}

#[test]
fn update_raises_memory_and_swap_together() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(
        &rt,
        &b,
        json!({"memory": {"limit": 33554432, "swap": 33554432}}),
        "sleep 100",
    );
    rt.exec(&["update", "--memory", "128m", "--memory-swap", "256m", &id])
        .ok();
    let s = stats(&rt, &id);
    assert_eq!(s["data"]["memory"]["usage"]["limit"], 134217728, "{s}");
    assert_eq!(s["data"]["memory"]["swap"]["limit"], 268435456, "{s}");
    rt.exec(&["update", "--memory", "16m", "--memory-swap", "24m", &id])
        .ok();
    assert_eq!(
        stats(&rt, &id)["data"]["memory"]["usage"]["limit"],
        16777216
    );
}

#[test]
fn update_below_usage_is_a_one_line_error() {
    need_v1!();
    if is_runc() {
        skip!("runc's message does not name the file");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(&rt, &b, json!({}), "sleep 100");
    let out = rt.exec(&["update", "--memory", "4096", &id]);
    out.failed();
    let msg = error_text(&out);
    assert!(
        msg.contains("memory.limit_in_bytes"),
        "should name the file: {out}"
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
}

#[test]
fn pause_and_resume() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(&rt, &b, json!({}), "sleep 100");
    rt.exec(&["pause", &id]).ok();
    assert_eq!(rt.status_of(&id).as_deref(), Some("paused"));
    let pid = pids_of(&rt, &id)[0];
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = st.rsplit(") ").next().unwrap_or("").chars().next();
    assert_eq!(
        state,
        Some('D'),
        "a frozen task sleeps uninterruptibly: {st}"
    );
    rt.exec(&["resume", &id]).ok();
    assert_eq!(rt.status_of(&id).as_deref(), Some("running"));
    let out = rt.exec(&["resume", &id]);
    assert!(error_text(&out).contains("not paused"), "{out}");
}

#[test]
fn kill_all_reaches_every_process() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(&rt, &b, json!({}), "sleep 100 & sleep 100 & sleep 100");
    wait_until("three processes", || pids_of(&rt, &id).len() == 3);
    let pids = pids_of(&rt, &id);
    rt.exec(&["kill", "--all", &id, "KILL"]).ok();
    wait_until("every process to die", || {
        pids.iter().all(|p| {
            let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            st.is_empty() || st.rsplit(") ").next().is_some_and(|s| s.starts_with('Z'))
        })
    });
    rt.exec(&["delete", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn delete_force_leaves_no_cgroup() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(&rt, &b, json!({"pids": {"limit": 10}}), "sleep 100");
    assert!(
        !cgroups_named(&id).is_empty(),
        "the container should have cgroups"
    );
    rt.exec(&["delete", "--force", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn impossible_cpuset_is_a_one_line_error_and_leaves_nothing() {
    need_v1!();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| c["linux"]["resources"] = json!({"cpu": {"cpus": "97"}}));
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    out.failed();
    assert!(error_text(&out).contains("cpuset.cpus"), "{out}");
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn unified_keys_are_refused_on_a_v1_host() {
    need_v1!();
    if is_runc() {
        skip!("runc's wording differs");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| c["linux"]["resources"] = json!({"unified": {"memory.high": "1000000"}}));
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    assert!(
        error_text(&out).contains("linux.resources.unified"),
        "{out}"
    );
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn device_rules_need_real_root_and_say_so() {
    if mode() != Mode::Userns || is_runc() {
        skip!("only a user namespace lacks the right to write devices.allow");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = detached(&rt, &b, json!({}), "sleep 100");
    let state = rt.state_json(&id);
    let notes = state["notApplied"].as_array().cloned().unwrap_or_default();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|s| s.starts_with("devices."))),
        "{state}"
    );
}

/// A container starts and runs `true` under a 1 MiB memory limit: the runtime's own
/// memory is not charged to the container (runc 1.1 needs about 2.2 MiB here; the
/// smallest working limit of each runtime is in `make bench`).
#[test]
fn true_runs_under_a_1_mib_memory_limit() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroup can be created in a user namespace: the limit would not apply");
    }
    runtime_tests::assert_true_runs_under_memory_limit(1 << 20);
}

/// Without a pid namespace of its own, the container's processes outlive its
/// init: `delete --force` kills them too and removes the cgroup (nook first
/// tries one rmdir, which they make fail, then lists and kills them).
#[test]
fn delete_force_kills_what_outlives_init_without_a_pid_namespace() {
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
        c["process"]["args"] = json!(["/bin/sh", "-c", "sleep 100 & exec sleep 101"]);
    });
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let init = rt.state_json(&id)["pid"].as_i64().expect("pid");
    wait_until("the background sleep", || pids_of(&rt, &id).len() == 2);
    let other = *pids_of(&rt, &id).iter().find(|&&p| p != init).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(init as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until("init to die", || {
        rt.status_of(&id).as_deref() == Some("stopped")
    });
    let pids_dir = cgroups_named(&id)
        .into_iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/pids/"))
        .expect("a pids cgroup");
    let procs = std::fs::read_to_string(format!("{pids_dir}/cgroup.procs")).unwrap();
    assert_eq!(procs.trim(), other.to_string(), "it outlives init");
    rt.exec(&["delete", "--force", &id]).ok();
    let stat = std::fs::read_to_string(format!("/proc/{other}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')),
        "the background sleep survived delete: {stat}"
    );
    assert_nothing_left(&b, &rt, &id);
}

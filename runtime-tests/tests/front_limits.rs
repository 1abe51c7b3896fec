//! `nook run`'s limits: --memory, --pids-limit and --cpus read back inside the
//! container and from the host, `nook stats --no-stream` (table and JSON)
//! showing them, the pids limit enforced, and a limit the host cannot apply
//! (a `WARNING:` line, or with --strict-limits a one-line refusal leaving
//! nothing behind).

#[allow(dead_code)]
mod images_support;
#[allow(dead_code)]
#[macro_use]
mod config_support;

use config_support::{assert_nothing_left, background, container_cgroups, serial};
use serde_json::Value;

/// The init's cgroup directory of one v1 controller (or the v2 directory), seen from the host.
fn host_cgroup_file(pid: i32, controller: &str, v1: &str, v2: &str) -> String {
    let lines = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for l in lines.lines() {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let path = path.trim_start_matches('/');
        if ctrls.split(',').any(|c| c == controller) {
            return std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrls}/{path}/{v1}"))
                .unwrap()
                .trim()
                .into();
        }
        if ctrls.is_empty() && std::path::Path::new(&format!("/sys/fs/cgroup/{path}/{v2}")).exists()
        {
            return std::fs::read_to_string(format!("/sys/fs/cgroup/{path}/{v2}"))
                .unwrap()
                .trim()
                .into();
        }
    }
    panic!("no {controller} cgroup for {pid}: {lines}")
}

#[test]
fn memory_pids_cpus_applied_read_back_and_stats() {
    if let Some(why) = config_support::no_cgroup() {
        runtime_tests::skip!("{why}");
    }
    let _s = serial();
    let n = setup!();
    // From inside: the container's own cgroup files (v1 here, v2 names otherwise).
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
                  cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; \
                  cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max";
    let out = n.ok(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "67108864");
    assert_eq!(lines[1], "20");
    assert!(lines[2] == "50000" || lines[2] == "50000 100000", "{out}");
    // From the host, while it runs; and `nook stats` shows the same memory limit.
    let bg = background(
        &n,
        &[
            "--memory",
            "48m",
            "--pids-limit",
            "10",
            "busybox",
            "sleep",
            "60",
        ],
    );
    let (id, pid) = (bg.id.clone(), bg.pid);
    // (This is what the leftover checks look for.)
    assert!(
        container_cgroups().iter().any(|c| c.ends_with(&id)),
        "{:?}",
        container_cgroups()
    );
    assert_eq!(
        host_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max"),
        "50331648"
    );
    assert_eq!(host_cgroup_file(pid, "pids", "pids.max", "pids.max"), "10");
    let stats = n.ok(&["stats", "--no-stream"]);
    let row = stats
        .lines()
        .find(|l| l.starts_with(&id[..12]))
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(row.contains("/ 48MiB"), "memory limit in stats: {row}");
    let json: Value = serde_json::from_str(
        n.ok(&["stats", "--no-stream", "--format", "json", &id[..12]])
            .trim(),
    )
    .unwrap();
    assert_eq!(json["MemLimit"], 48 << 20);
    assert_eq!(json["PIDs"], "1");
    drop(bg);
}

#[test]
fn pids_limit_is_enforced() {
    if let Some(why) = config_support::no_cgroup() {
        runtime_tests::skip!("{why}");
    }
    let _s = serial();
    let n = setup!();
    let o = n.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
    ]);
    assert!(
        o.stderr.contains("can't fork") || o.stderr.contains("Resource temporarily unavailable"),
        "fork must fail under the pids limit: {}",
        o.stderr
    );
}

#[test]
fn limit_not_applied_warns_or_refuses_with_strict_limits() {
    let _s = serial();
    if std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || std::path::Path::new("/sys/fs/cgroup/io.weight").exists()
    {
        runtime_tests::skip!("this host can apply --blkio-weight: no limit to see refused");
    }
    if !std::path::Path::new("/sys/fs/cgroup/blkio").is_dir() {
        runtime_tests::skip!("no blkio hierarchy");
    }
    let n = setup!();
    let o = n.run(&["run", "--rm", "--blkio-weight", "300", "busybox", "true"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .starts_with("WARNING: limit not applied: blkio.weight = 300"),
        "{}",
        o.stderr
    );
    let before = container_cgroups();
    let o = n.run(&[
        "run",
        "--rm",
        "--strict-limits",
        "--blkio-weight",
        "300",
        "busybox",
        "true",
    ]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("--strict-limits") && o.stderr.contains("blkio.weight"),
        "{}",
        o.stderr
    );
    assert_nothing_left(&n.root, &before);
}

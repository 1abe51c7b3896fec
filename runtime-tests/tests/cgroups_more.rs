//! cgroups on this host's layout, continued from cgroups.rs: `exec --cgroup`
//! into a sub-cgroup, placement in the unified tree of a hybrid host, blkio
//! throttles and an enforced cpu quota, each compared with runc where it applies.

#[macro_use]
mod cgroups_support;

use cgroups_support::detached;
use runtime_tests::cgroups::assert_cpu_quota_held;
use runtime_tests::{assert_nothing_left, is_runc, mode, skip, Bundle, Mode, Runtime};
use serde_json::{json, Value};

/// `exec --cgroup memory:sub` under `rt`: the memory and pids lines of the
/// exec'd process's /proc/self/cgroup, relative to init's.
fn exec_in_sub_cgroup(rt: &Runtime) -> Value {
    let b = Bundle::new();
    let id = detached(rt, &b, json!({"pids": {"limit": 10}}), "sleep 100");
    let pid = rt.state_json(&id)["pid"].as_i64().expect("pid");
    let init = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line_of = |text: &str, ctrl: &str| {
        text.lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .unwrap_or("")
                    .split(',')
                    .any(|c| c == ctrl)
            })
            .map(|l| l.splitn(3, ':').nth(2).unwrap().to_string())
            .unwrap_or_default()
    };
    let mem = line_of(&init, "memory");
    std::fs::create_dir(format!("/sys/fs/cgroup/memory{mem}/sub")).unwrap();
    let out = rt.exec(&[
        "exec",
        "--cgroup",
        "memory:sub",
        &id,
        "cat",
        "/proc/self/cgroup",
    ]);
    out.ok();
    let missing = rt.exec(&["exec", "--cgroup", "memory:nosuch", &id, "true"]);
    rt.exec(&["delete", "--force", &id]).ok();
    assert_nothing_left(&b, rt, &id);
    json!({
        "memory": line_of(&out.stdout, "memory").strip_prefix(&mem).map(str::to_string),
        "pids same as init": line_of(&out.stdout, "pids") == line_of(&init, "pids"),
        "missing sub-cgroup refused": missing.status != 0,
    })
}

#[test]
fn exec_cgroup_runs_in_a_sub_cgroup() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here: --cgroup has nothing to name");
    }
    let got = exec_in_sub_cgroup(&Runtime::under_test());
    assert_eq!(
        got,
        json!({"memory": "/sub", "pids same as init": true, "missing sub-cgroup refused": true})
    );
    if !is_runc() {
        assert_eq!(got, exec_in_sub_cgroup(&Runtime::runc()), "runc differs");
    }
}

/// On a hybrid host the container is placed in the cgroup2 tree beside the v1
/// controllers too (as runc does): its `0::` line names its own cgroup, and
/// `delete` removes it.
fn unified_line(rt: &Runtime) -> Value {
    let b = Bundle::new();
    let id = rt.new_id();
    let path = format!("/nook-hybrid-{id}");
    b.save_with(|c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["process"]["args"] = json!(["cat", "/proc/self/cgroup"]);
    });
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or("")
        .replace(&id, "<id>");
    let left = std::path::Path::new("/sys/fs/cgroup/unified").join(path.trim_start_matches('/'));
    json!({"0:: line": line, "left in unified": left.exists()})
}

#[test]
fn hybrid_hosts_place_the_container_in_the_unified_tree_too() {
    need_v1!();
    if !std::path::Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        skip!("no cgroup2 beside the v1 controllers here (not a hybrid host)");
    }
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let got = unified_line(&Runtime::under_test());
    assert_eq!(
        got,
        json!({"0:: line": "0::/nook-hybrid-<id>", "left in unified": false})
    );
    if !is_runc() {
        assert_eq!(got, unified_line(&Runtime::runc()), "runc differs");
    }
}

/// blockIO throttles on the host's first disk, read back from inside.
fn blkio_throttles(rt: &Runtime, dev: (u64, u64)) -> Vec<String> {
    let b = Bundle::new();
    let (major, minor) = dev;
    b.save_with(|c| {
        c["linux"]["resources"] = json!({"blockIO": {
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}});
        c["process"]["args"] = json!(["/bin/sh", "-c",
            "cd /sys/fs/cgroup/blkio; cat blkio.throttle.read_bps_device blkio.throttle.write_iops_device blkio.throttle.write_bps_device"]);
    });
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn blkio_throttles_are_written_like_runcs() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let disk = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| !n.starts_with("loop") && !n.starts_with("zram") && !n.starts_with("ram"));
    let Some(disk) = disk else {
        skip!("no disk in /sys/block to throttle");
    };
    let dev = std::fs::read_to_string(format!("/sys/block/{disk}/dev")).unwrap();
    let (ma, mi) = dev.trim().split_once(':').unwrap();
    let dev = (ma.parse().unwrap(), mi.parse().unwrap());
    let got = blkio_throttles(&Runtime::under_test(), dev);
    assert_eq!(
        got,
        [format!("{ma}:{mi} 1048576"), format!("{ma}:{mi} 100")]
    );
    if !is_runc() {
        assert_eq!(got, blkio_throttles(&Runtime::runc(), dev), "runc differs");
    }
}

/// A cpu quota is enforced, not just written: a busy loop under 20% of a CPU
/// gets throttled (cpu.stat's nr_throttled), and uses well under the wall time.
#[test]
fn cpu_quota_throttles_a_busy_loop() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let script = "timeout 1 sh -c 'while :; do :; done'; \
                  cat /sys/fs/cgroup/cpu/cpu.stat; echo usage=$(cat /sys/fs/cgroup/cpuacct/cpuacct.usage)";
    b.save_with(|c| {
        c["linux"]["resources"] = json!({"cpu": {"quota": 20000, "period": 100000}});
        c["process"]["args"] = json!(["/bin/sh", "-c", script]);
    });
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    // cpuacct.usage is in nanoseconds.
    assert_cpu_quota_held(&out, 20_000, "usage=", 1_000);
}

/// When `create` returns, init is in the container's cgroup in every
/// hierarchy, whatever it did meanwhile (nook moves init while it sets up:
/// launch/parent.rs `place`), and the same under runc.
#[test]
fn init_is_in_the_cgroup_when_create_returns() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let rt = Runtime::under_test();
    let b = Bundle::new();
    let path = format!("/nook-test-placed-{}", std::process::id());
    b.save_with(|c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
        c["process"]["args"] = json!(["/bin/true"]);
    });
    let id = rt.new_id();
    rt.create_saved(&b, &id, &[]).ok();
    let pid = rt.state_json(&id)["pid"].as_i64().expect("pid");
    let lines = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // Every v1 hierarchy (the unified `0::` line of a hybrid host aside).
    let v1: Vec<&str> = lines.lines().filter(|l| !l.starts_with("0::")).collect();
    assert!(v1.iter().any(|l| l.contains(":memory:")), "{lines}");
    for l in v1 {
        assert!(
            l.ends_with(&path),
            "init outside the container's cgroup: {l}"
        );
    }
    rt.exec(&["delete", "--force", &id]).ok();
    assert_nothing_left(&b, &rt, &id);
}

/// A v1 cpuset given as cgroupsPath that already exists but has no cpus yet
/// (a new v1 cpuset starts empty and refuses tasks): the runtime fills in the
/// parent's cpus and mems, as runc does, and init gets in (nook: init moves
/// itself by writing "0" to `tasks`, see kernel::cgroup::Joining; runc writes
/// init's pid to `cgroup.procs`).
#[test]
fn an_existing_empty_cpuset_is_filled_in_and_taken() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    let rt = Runtime::under_test();
    let b = Bundle::new();
    let name = format!("nook-test-emptycpuset-{}", std::process::id());
    let cpuset = std::path::PathBuf::from("/sys/fs/cgroup/cpuset").join(&name);
    std::fs::create_dir(&cpuset).unwrap();
    let read = |f: &str| std::fs::read_to_string(cpuset.join(f)).unwrap_or_default();
    let empty = read("cpuset.cpus");
    b.save_with(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{name}"));
        c["process"]["args"] = json!(["/bin/true"]);
    });
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    let (cpus, procs) = (read("cpuset.cpus"), read("cgroup.procs"));
    rt.exec(&["delete", "--force", &id]).ok();
    let _ = std::fs::remove_dir(&cpuset);
    assert!(
        empty.trim().is_empty(),
        "a new v1 cpuset has no cpus: {empty:?}"
    );
    assert_eq!(out.status, 0, "{out}");
    let parent = std::fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus").unwrap();
    assert_eq!(
        cpus.trim(),
        parent.trim(),
        "cpus not filled in from the parent"
    );
    assert_eq!(
        procs.lines().count(),
        1,
        "init not in the cpuset: {procs:?}"
    );
    assert_nothing_left(&b, &rt, &id);
}

/// A cgroupsPath that already holds a process is someone else's: `create`
/// fails naming it, and leaves nothing (on a v1 host nook makes and checks
/// the hierarchies once init is cloned: init must be gone as well), while
/// that process stays where it was.
#[test]
fn a_cgroup_holding_a_process_is_refused() {
    need_v1!();
    if mode() == Mode::Userns {
        skip!("no cgroups in a user namespace here");
    }
    if is_runc() {
        skip!("runc 1.1 only warns about a non-empty cgroup");
    }
    let rt = Runtime::under_test();
    let b = Bundle::new();
    let name = format!("nook-test-busy-{}", std::process::id());
    let sleeper = std::process::Command::new("sleep")
        .arg("100")
        .spawn()
        .unwrap();
    let pid = sleeper.id().to_string();
    let hierarchies: Vec<std::path::PathBuf> = ["pids", "memory", "freezer"]
        .iter()
        .map(|h| std::path::Path::new("/sys/fs/cgroup").join(h).join(&name))
        .collect();
    // Gone however the test ends: the host's cgroups are not ours to leave things in.
    let mut busy = Busy {
        sleeper,
        dirs: hierarchies.clone(),
    };
    for dir in &hierarchies {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("cgroup.procs"), &pid).unwrap();
    }
    b.save_with(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{name}"));
        c["process"]["args"] = json!(["/bin/true"]);
    });
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    let still: Vec<String> = hierarchies
        .iter()
        .map(|d| std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default())
        .collect();
    busy.clear();
    out.failed();
    assert!(
        runtime_tests::error_text(&out).contains("is not empty"),
        "{out}"
    );
    for procs in still {
        assert_eq!(procs.trim(), pid, "only the other process in its cgroup");
    }
    // Named after the path, not the id: what nook made there is gone too.
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join(&name))
        .filter(|d| d.exists())
        .collect();
    assert!(left.is_empty(), "cgroups left: {left:?}");
    assert_nothing_left(&b, &rt, &id);
}

/// A process in cgroups made for a test: killed and the cgroups removed.
struct Busy {
    sleeper: std::process::Child,
    dirs: Vec<std::path::PathBuf>,
}

impl Busy {
    fn clear(&mut self) {
        self.sleeper.kill().ok();
        self.sleeper.wait().ok();
        for dir in self.dirs.drain(..) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.clear();
    }
}

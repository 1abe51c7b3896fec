//! cgroup v2, run inside a guest whose only cgroup hierarchy is cgroup2 with every
//! controller enabled (`make test-cgroup2` boots it; see docs/vm.md). On a host
//! without such a hierarchy each test skips with the reason.

use std::time::{Duration, Instant};

use runtime_tests::{assert_nothing_left, error_text, is_runc, skip, Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

fn pure_v2() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))
}

macro_rules! need_v2 {
    () => {
        if !pure_v2() {
            skip!("/sys/fs/cgroup is not cgroup2 here (make test-cgroup2 runs this in a v2 guest)");
        }
    };
}

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

fn limits() -> Value {
    json!({"memory": {"limit": 67108864, "reservation": 33554432}, "pids": {"limit": 32},
           "cpu": {"shares": 1024, "quota": 50000, "period": 100000}})
}

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

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
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
const DELEGATE_UID: u32 = 1001;

/// A cgroup subtree shaped like systemd's `Delegate=yes` for [`DELEGATE_UID`]:
/// `/<test>.slice` (root's, as `user.slice` is) holds `user@UID.service`, whose
/// directory, `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads` belong to
/// the uid, with memory, pids and cpu enabled for its children on the way down; the
/// uid's own processes live in the leaf `<leaf>` below it (`session.scope`, as a
/// user's shell does). Every runtime command runs from that leaf, as the uid.
/// Dropping it kills what is left in it and removes it.
struct Delegated {
    top: std::path::PathBuf,
    service: std::path::PathBuf,
    leaf: std::path::PathBuf,
}

impl Delegated {
    fn new(leaf: &str) -> Self {
        let name = format!("{}.slice", runtime_tests::env::unique_name("dg"));
        let top = std::path::Path::new("/sys/fs/cgroup").join(name);
        let service = top.join(format!("user@{DELEGATE_UID}.service"));
        let leaf = service.join(leaf);
        let d = Delegated { top, service, leaf };
        for dir in [&d.top, &d.service, &d.leaf] {
            std::fs::create_dir(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        }
        for dir in [&d.top, &d.service] {
            std::fs::write(dir.join("cgroup.subtree_control"), "+memory +pids +cpu").unwrap();
        }
        let mut owned = vec![d.service.clone(), d.leaf.clone()];
        for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
            owned.push(d.service.join(f));
            owned.push(d.leaf.join(f));
        }
        for p in owned {
            std::os::unix::fs::chown(&p, Some(DELEGATE_UID), Some(DELEGATE_UID))
                .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
        }
        d
    }

    /// The service's path as `cgroupsPath` spells it (from the hierarchy's root).
    fn path(&self) -> String {
        let rel = self.service.strip_prefix("/sys/fs/cgroup").unwrap();
        format!("/{}", rel.display())
    }

    /// A runtime whose state root belongs to the uid.
    fn runtime(&self) -> Runtime {
        let rt = Runtime::under_test();
        chown_tree(&rt.root());
        rt
    }

    /// `PROGRAM ARGS...` as the uid, from the leaf.
    fn command(&self, program: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec setpriv --reuid={DELEGATE_UID} \
                 --regid={DELEGATE_UID} --clear-groups -- \"$@\"",
                self.leaf.display()
            ))
            .arg("sh")
            .arg(program)
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `nook-runtime --root R ARGS...` as the uid, from the leaf.
    fn run(&self, rt: &Runtime, args: &[&str]) -> runtime_tests::Output {
        let mut cmd = self.command(rt.binary());
        cmd.arg("--root").arg(rt.root()).args(args);
        rt.output_of(cmd)
    }

    /// `state ID` as the uid, parsed.
    fn state(&self, rt: &Runtime, id: &str) -> Value {
        let out = self.run(rt, &["state", id]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("state's JSON: {e}:\n{out}"))
    }

    /// `nook doctor`'s cgroups check, run as the uid from the leaf.
    fn doctor_cgroups(&self, rt: &Runtime) -> Value {
        let nook = std::env::var_os("NOOK_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| runtime_tests::env::workspace_root().join("target/debug/nook"));
        let mut cmd = self.command(&nook);
        cmd.args(["doctor", "--format", "json"]).env("HOME", "/tmp");
        let out = rt.output_of(cmd);
        let report: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor's JSON: {e}:\n{out}"));
        report["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "cgroups"))
            .cloned()
            .unwrap_or_else(|| panic!("no cgroups check: {report}"))
    }

    /// A `spec --rootless` bundle owned by the uid running `script`, with `res` and,
    /// when given, `cgroupsPath`.
    fn bundle(&self, rt: &Runtime, res: Value, cgroups_path: Option<&str>, script: &str) -> Bundle {
        let mut b = Bundle::new();
        b.remove_config();
        chown_tree(b.path());
        let bundle_dir = b.path().to_string_lossy().to_string();
        self.run(rt, &["spec", "--rootless", "--bundle", &bundle_dir])
            .ok();
        let text = std::fs::read_to_string(b.path().join("config.json")).unwrap();
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(["/bin/sh", "-c", script]);
        spec["linux"]["resources"] = res;
        if let Some(p) = cgroups_path {
            spec["linux"]["cgroupsPath"] = json!(p);
        }
        b.write_raw_config(&spec.to_string());
        chown_tree(b.path());
        b
    }

    /// The subdirectories of the service (cgroups), by name.
    fn children(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.service)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = std::fs::write(self.top.join("cgroup.kill"), "1");
        remove_cgroup_tree(&self.top);
    }
}

/// rmdir a cgroup and everything below it, deepest first (retrying while the
/// killed processes leave).
fn remove_cgroup_tree(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chown_tree(path: &std::path::Path) {
    let out = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{DELEGATE_UID}:{DELEGATE_UID}"))
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "chown -R {}: {out:?}", path.display());
}

macro_rules! need_delegation {
    () => {
        need_v2!();
        if is_runc() {
            skip!("notApplied and the defaults for a relative path are nook's");
        }
        if !std::path::Path::new("/usr/bin/setpriv").exists() {
            skip!("no /usr/bin/setpriv to run the runtime as another uid");
        }
    };
}

/// Reads the container's own cgroup through /sys/fs/cgroup from inside: `spec
/// --rootless` has no cgroup namespace, so the runtime binds the host's tree there
/// (read-only) instead of mounting cgroup2, which only the namespace's owner may.
const READ_OWN: &str = "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); echo cgroup=$cg
for f in memory.max memory.low pids.max cpu.max cpu.weight; do echo $f=$(cat /sys/fs/cgroup$cg/$f); done
(echo 1 > /sys/fs/cgroup$cg/pids.max) 2>/dev/null && echo writable || echo read-only";

fn read_file(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(name).display()))
        .trim()
        .to_string()
}

/// The limits of [`limits`] as the files hold them, and as READ_OWN prints them.
const LIMIT_FILES: [(&str, &str); 5] = [
    ("memory.max", "67108864"),
    ("memory.low", "33554432"),
    ("pids.max", "32"),
    ("cpu.max", "50000 100000"),
    ("cpu.weight", "39"),
];

/// Only the default device rules may be missing (loading an eBPF program needs
/// privileges no user has); every limit must have been applied.
fn assert_only_devices_not_applied(state: &Value) {
    let notes = state["notApplied"].as_array().cloned().unwrap_or_default();
    let others: Vec<&Value> = notes
        .iter()
        .filter(|n| {
            !n.as_str()
                .is_some_and(|s| s.starts_with("linux.resources.devices: "))
        })
        .collect();
    assert!(others.is_empty(), "limits not applied: {state}");
}

/// READ_OWN's output: the container's cgroup as it sees it (`cg`), the limits of
/// [`limits`], and no way to write them.
fn assert_seen_inside(printed: &str, cg: &str) {
    let mut want = vec![format!("cgroup={cg}")];
    want.extend(LIMIT_FILES.iter().map(|(f, v)| format!("{f}={v}")));
    want.push("read-only".into());
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        want,
        "seen from inside"
    );
}

/// Waits for the container to stop (as the uid), then returns what it printed.
fn output_when_stopped(
    d: &Delegated,
    rt: &Runtime,
    id: &str,
    created: &runtime_tests::Output,
) -> String {
    wait_until("the container to stop", || {
        let st = d.run(rt, &["state", id]);
        serde_json::from_str::<Value>(&st.stdout).is_ok_and(|s| s["status"] == "stopped")
    });
    std::fs::read_to_string(&created.stdout_path).unwrap()
}

/// A user's delegated subtree (systemd's Delegate=yes shape): the runtime, run as
/// that user from a leaf of it with a single-id user namespace, makes the
/// container's cgroup at an absolute cgroupsPath inside it, writes every limit
/// (seen from the host and from inside), records none as not applied, and
/// `delete` removes the cgroup again.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn a_delegated_subtree_takes_a_rootless_containers_limits() {
    need_delegation!();
    let d = Delegated::new("session.scope");
    let rt = d.runtime();
    let id = rt.new_id();
    let path = format!("{}/{id}", d.path());
    let b = d.bundle(&rt, limits(), Some(&path), READ_OWN);
    let created = d.run(
        &rt,
        &["create", "--bundle", &b.path().to_string_lossy(), &id],
    );
    created.ok();
    let dir = d.service.join(&id);
    for (file, value) in LIMIT_FILES {
        assert_eq!(read_file(&dir, file), value, "{file} from the host");
    }
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta),
        DELEGATE_UID,
        "the user made the container's cgroup"
    );
    let state: Value = d.state(&rt, &id);
    assert_eq!(state["status"], "created", "{state}");
    assert_only_devices_not_applied(&state);
    d.run(&rt, &["start", &id]).ok();
    let printed = output_when_stopped(&d, &rt, &id, &created);
    assert_seen_inside(&printed, &path);
    d.run(&rt, &["delete", &id]).ok();
    assert!(!dir.exists(), "delete leaves {}", dir.display());
    assert_eq!(
        d.children(),
        ["session.scope"],
        "only the user's leaf is left"
    );
    assert_nothing_left(&b, &rt, &id);
}

/// A cgroupsPath outside the user's subtree (the root-owned slice above it): with
/// --strict-limits a one-line error naming the path and nothing left; without, the
/// container runs with every limit recorded as not applied, naming the path.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn a_cgroups_path_outside_the_delegated_subtree_is_recorded_or_refused() {
    need_delegation!();
    let d = Delegated::new("session.scope");
    let rt = d.runtime();
    // A container id, its cgroup in the root-owned slice, and its bundle.
    let outside_of_subtree = || {
        let id = rt.new_id();
        let outside = d.top.join(&id);
        let path = format!(
            "/{}",
            outside.strip_prefix("/sys/fs/cgroup").unwrap().display()
        );
        let b = d.bundle(&rt, limits(), Some(&path), "true");
        let bundle_dir = b.path().to_string_lossy().to_string();
        (id, outside, b, bundle_dir)
    };
    let (id, outside, b, bundle_dir) = outside_of_subtree();
    let refused = d.run(
        &rt,
        &["create", "--strict-limits", "--bundle", &bundle_dir, &id],
    );
    refused.failed();
    let err = error_text(&refused);
    assert_eq!(err.trim().lines().count(), 1, "one line: {refused}");
    assert!(
        err.contains(&outside.display().to_string())
            && err.contains("Permission denied")
            && err.contains("(--strict-limits)"),
        "names the path and why: {refused}"
    );
    assert!(!outside.exists() && !rt.root().join(&id).exists());
    assert_nothing_left(&b, &rt, &id);

    let (id, outside, b, bundle_dir) = outside_of_subtree();
    let created = d.run(&rt, &["create", "--bundle", &bundle_dir, &id]);
    created.ok();
    let state: Value = d.state(&rt, &id);
    let notes = state["notApplied"].to_string();
    for file in [
        "memory.max",
        "memory.low",
        "pids.max",
        "cpu.max",
        "cpu.weight",
    ] {
        assert!(
            notes.contains(&format!("{file} = ")),
            "{file} missing: {notes}"
        );
    }
    assert!(
        notes.contains(&outside.display().to_string()) && notes.contains("Permission denied"),
        "names the path and why: {notes}"
    );
    d.run(&rt, &["start", &id]).ok();
    output_when_stopped(&d, &rt, &id, &created);
    d.run(&rt, &["delete", &id]).ok();
    assert!(!outside.exists());
    assert_eq!(d.children(), ["session.scope"]);
    assert_nothing_left(&b, &rt, &id);
}

/// No cgroupsPath (or a relative one) for a user whose processes sit in a
/// `.scope`: the container's cgroup goes beside the scope, in the delegated
/// service (as runc does), where the limits can apply; the scope is left as it was.
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn without_a_cgroups_path_a_user_gets_a_cgroup_beside_its_scope() {
    need_delegation!();
    let d = Delegated::new("session.scope");
    let rt = d.runtime();
    let doctor = d.doctor_cgroups(&rt);
    let want = format!(
        "v2; delegated to uid {DELEGATE_UID}: cpu memory pids ({})",
        d.service.display()
    );
    assert_eq!(
        (&doctor["status"], doctor["detail"].as_str()),
        (&json!("ok"), Some(want.as_str())),
        "{doctor}"
    );
    // The second also has a cgroup namespace: /sys/fs/cgroup is then a cgroup2 mount
    // of its own (owned by its user namespace), showing the container's cgroup as `/`.
    for (relative, cgroupns) in [(None, false), (Some("mine"), true)] {
        let id = rt.new_id();
        let path = relative.map(|r| format!("{r}/{id}"));
        let mut b = d.bundle(&rt, limits(), path.as_deref(), READ_OWN);
        if cgroupns {
            let text = std::fs::read_to_string(b.path().join("config.json")).unwrap();
            let mut spec: Value = serde_json::from_str(&text).unwrap();
            spec["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "cgroup"}));
            b.write_raw_config(&spec.to_string());
        }
        let created = d.run(
            &rt,
            &["create", "--bundle", &b.path().to_string_lossy(), &id],
        );
        created.ok();
        let dir = d.service.join(path.as_deref().unwrap_or(&id));
        for (file, value) in LIMIT_FILES {
            assert_eq!(read_file(&dir, file), value, "{file} in {}", dir.display());
        }
        let state: Value = d.state(&rt, &id);
        assert_only_devices_not_applied(&state);
        d.run(&rt, &["start", &id]).ok();
        let printed = output_when_stopped(&d, &rt, &id, &created);
        let rel = dir
            .strip_prefix("/sys/fs/cgroup")
            .unwrap()
            .display()
            .to_string();
        let seen = if cgroupns {
            "/".to_string()
        } else {
            format!("/{rel}")
        };
        assert_seen_inside(&printed, &seen);
        d.run(&rt, &["delete", &id]).ok();
        assert_eq!(
            d.children(),
            ["session.scope"],
            "delete removes what it made"
        );
        assert_nothing_left(&b, &rt, &id);
    }
    assert_eq!(read_file(&d.leaf, "cgroup.type"), "domain");
    assert_eq!(read_file(&d.leaf, "cgroup.subtree_control"), "");
}

/// A user whose own cgroup holds processes and is not a scope: the container's
/// cgroup goes below it, where the kernel lets no controller be enabled (no
/// internal processes), so the limits are recorded as not applied, and the user's
/// cgroup is not touched (enabling only the threaded controllers there would make
/// it a thread root in which no new child could hold a process).
#[test]
#[ignore = "needs a cgroup v2 host: make test-cgroup2 runs it in a guest"]
fn below_a_populated_cgroup_limits_are_recorded_and_it_is_left_alone() {
    need_delegation!();
    let d = Delegated::new("session");
    let rt = d.runtime();
    let doctor = d.doctor_cgroups(&rt);
    assert_eq!(doctor["status"], "warn", "{doctor}");
    let why = format!("cgroup {} holds processes", d.leaf.display());
    assert!(
        doctor["detail"].as_str().is_some_and(|t| t.contains(&why)),
        "{doctor}"
    );
    let id = rt.new_id();
    let b = d.bundle(&rt, limits(), None, "cat /proc/self/cgroup");
    let out = d.run(&rt, &["run", "--bundle", &b.path().to_string_lossy(), &id]);
    out.ok();
    let rel = d
        .leaf
        .strip_prefix("/sys/fs/cgroup")
        .unwrap()
        .display()
        .to_string();
    assert_eq!(out.stdout.trim(), format!("0::/{rel}/{id}"), "{out}");
    assert_eq!(read_file(&d.leaf, "cgroup.type"), "domain");
    assert_eq!(read_file(&d.leaf, "cgroup.subtree_control"), "");
    assert!(
        !d.leaf.join(&id).exists(),
        "run's delete removes the cgroup"
    );
    assert_nothing_left(&b, &rt, &id);
    let id = rt.new_id();
    let b = d.bundle(&rt, limits(), None, "true");
    d.run(
        &rt,
        &["create", "--bundle", &b.path().to_string_lossy(), &id],
    )
    .ok();
    let notes = d.state(&rt, &id)["notApplied"].to_string();
    assert!(
        notes.contains("memory.max = 67108864: the memory controller is not available"),
        "{notes}"
    );
    d.run(&rt, &["delete", "--force", &id]).ok();
    assert!(!d.leaf.join(&id).exists());
    assert_nothing_left(&b, &rt, &id);
}

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

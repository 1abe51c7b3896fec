//! cgroup v2 delegated to a user (systemd's Delegate=yes shape, made by hand in the
//! v2 guest): nook-runtime run as that uid with a `spec --rootless` config places
//! and limits containers inside the subtree, records what it cannot, leaves
//! nothing. `make test-cgroup2` runs it in the guest; elsewhere each test skips.

#[macro_use]
mod cgroup_v2_support;
mod delegated_support;

use cgroup_v2_support::{limits, wait_until};
use delegated_support::{Delegated, DELEGATE_UID};

use runtime_tests::{assert_nothing_left, error_text, is_runc, skip, Runtime};
use serde_json::{json, Value};

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

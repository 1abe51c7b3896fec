//! `nook isolation` of a running container: its own namespaces (by inode,
//! checked against /proc/<pid>/ns from the host), the short-id hostname,
//! docker's capability set, seccomp mode 2, limits in effect, and `--expect`
//! failing on a wrong expectation and passing on right ones; the same fields
//! as the probe reports from inside (one implementation, nook::report).

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_config.rs and others; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod config_support;

use config_support::{background, serial, DOCKER_CAPS};
use runtime_tests::report::proc_ns_inode;
use serde_json::{json, Value};

#[test]
fn isolation_report_of_a_running_container() {
    let _s = serial();
    let n = setup!();
    // Rootless with no delegated cgroup there is no limit to see (front_limits).
    let limits = config_support::no_cgroup().is_none();
    let flags: &[&str] = if limits {
        &["--memory", "32m", "busybox", "sleep", "60"]
    } else {
        &["busybox", "sleep", "60"]
    };
    let bg = background(&n, flags);
    let (id, pid) = (bg.id.clone(), bg.pid);
    let out = n.ok(&["isolation", "--format", "json", &id[..12]]);
    let rep: Value = serde_json::from_str(out.trim()).unwrap();
    let p = &rep["properties"];
    assert_eq!(rep["pid"], pid);
    for kind in ["mnt", "uts", "ipc", "pid", "net"] {
        assert_eq!(p[format!("namespaces.{kind}.own")], true, "{kind}");
        let theirs = proc_ns_inode(&pid.to_string(), kind);
        assert_eq!(
            p[format!("namespaces.{kind}")],
            theirs,
            "{kind} inode as the host sees it"
        );
        assert_eq!(
            rep["host"][format!("namespaces.{kind}")],
            proc_ns_inode("self", kind)
        );
    }
    // As a user the container is in the user namespace nook made for it.
    let rootless = runtime_tests::mode() == runtime_tests::Mode::Rootless;
    assert_eq!(p["namespaces.user.own"], rootless);
    assert_eq!(p["hostname"], &id[..12]);
    let mut want: Vec<&str> = DOCKER_CAPS.to_vec();
    want.sort();
    for set in ["effective", "permitted", "bounding"] {
        let mut got: Vec<&str> = p[format!("caps.{set}")]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, want, "caps.{set}");
    }
    assert_eq!(p["seccomp.mode"], 2);
    assert!(p["seccomp.filters"].as_u64().unwrap_or(1) >= 1);
    assert_eq!(p["no_new_privs"], false);
    if limits {
        assert_eq!(p["limits.memory"], 32 << 20);
    }
    assert_eq!(
        p["processes"],
        json!([1]),
        "only the container's init is visible"
    );
    assert!(p["masked_paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "/proc/keys"));
    assert_eq!(p["masked_paths.unmasked"], json!([]));
    assert!(p["readonly_paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "/proc/sys"));
    assert!(p["mounts.count"].as_u64().unwrap() > 5);
    // The table: one row per property, container and host side by side.
    let table = n.ok(&["isolation", &id]);
    let row = table
        .lines()
        .find(|l| l.starts_with("seccomp.mode "))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["seccomp.mode", "2", "0"]
    );

    let dir = config_support::Scratch::new("isolation-expect");
    let right = dir.join("right.json");
    let short = &id[..12];
    let mut expect = json!({"hostname": short, "seccomp.mode": 2, "namespaces.net.own": true,
                            "no_new_privs": false});
    if limits {
        expect["limits.memory"] = json!(32 << 20);
    }
    std::fs::write(&right, expect.to_string()).unwrap();
    let o = n.run(&["isolation", "--expect", &right.to_string_lossy(), short]);
    assert_eq!(o.code, 0, "right expectations hold: {}", o.stderr);
    let wrong = dir.join("wrong.json");
    std::fs::write(
        &wrong,
        json!({"seccomp.mode": 0, "hostname": short}).to_string(),
    )
    .unwrap();
    let o = n.run(&["isolation", "--expect", &wrong.to_string_lossy(), short]);
    assert_ne!(o.code, 0, "a wrong expectation fails");
    assert!(
        o.stderr.contains("seccomp.mode: expected 0, got 2"),
        "{}",
        o.stderr
    );
    assert!(
        !o.stderr.contains("hostname"),
        "only the failing property: {}",
        o.stderr
    );
    drop(bg);
}

#[test]
fn isolation_sees_flags_the_container_was_given() {
    let _s = serial();
    let n = setup!();
    let bg = background(
        &n,
        &[
            "--network",
            "host",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--ulimit",
            "nofile=64:128",
            "--read-only",
            "busybox",
            "sleep",
            "60",
        ],
    );
    let (id, _) = (bg.id.clone(), bg.pid);
    let rep: Value =
        serde_json::from_str(n.ok(&["isolation", "--format", "json", &id]).trim()).unwrap();
    let p = &rep["properties"];
    assert_eq!(p["namespaces.net.own"], false);
    assert_eq!(p["caps.effective"], json!([]));
    assert_eq!(p["no_new_privs"], true);
    assert_eq!(p["rlimits.RLIMIT_NOFILE"], json!([64, 128]));
    assert_eq!(p["rootfs.readonly"], true);
    drop(bg);
}

#[test]
fn isolation_of_an_unknown_or_stopped_container_is_an_error() {
    let _s = serial();
    let n = setup!();
    let o = n.run(&["isolation", "nosuchcontainer"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("no such container"), "{}", o.stderr);
}

/// The probe inside one container and `nook isolation` of another with the
/// same flags agree on what they both report (they share nook::report).
#[test]
fn isolation_and_probe_agree() {
    let _s = serial();
    let n = setup!();
    let flags = ["--cap-add", "SYS_PTRACE", "--ulimit", "nproc=77:88"];
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(&flags);
    args.extend_from_slice(&["busybox", "/probe", "report"]);
    let probe: Value = serde_json::from_str(n.ok(&args).trim()).unwrap();
    let mut run_args = flags.to_vec();
    run_args.extend_from_slice(&["busybox", "sleep", "60"]);
    let bg = background(&n, &run_args);
    let (id, _) = (bg.id.clone(), bg.pid);
    let rep: Value =
        serde_json::from_str(n.ok(&["isolation", "--format", "json", &id]).trim()).unwrap();
    let p = &rep["properties"];
    assert_eq!(p["seccomp.mode"], probe["seccomp"]);
    assert_eq!(p["no_new_privs"], probe["no_new_privs"]);
    assert_eq!(p["user.uid"], probe["uid"][1]);
    for set in [
        "effective",
        "bounding",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        let mask = probe["caps"][set]
            .as_str()
            .map(|h| u64::from_str_radix(h, 16).unwrap())
            .unwrap();
        assert_eq!(
            p[format!("caps.{set}")].as_array().unwrap().len() as u32,
            mask.count_ones(),
            "{set}"
        );
    }
    assert_eq!(p["rlimits.RLIMIT_NPROC"], json!([77, 88]));
    assert_eq!(probe["rlimits"]["RLIMIT_NPROC"], json!([77, 88]));
    let targets = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v
    };
    let iso = targets(
        rep["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().split(' ').next().unwrap().to_string())
            .collect(),
    );
    let inside = targets(
        probe["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["target"].as_str().unwrap().to_string())
            .collect(),
    );
    assert_eq!(iso, inside, "the same mount table");
    drop(bg);
}

/// Entering a container with its own user namespace (joined first): `nook run`
/// cannot make one yet, so nook-runtime runs it and a store is pointed at its state.
#[test]
fn isolation_enters_a_container_with_its_own_user_namespace() {
    use runtime_tests::{mode, skip, Bundle, ConfigExt, Mode, Runtime};
    if mode() == Mode::Userns {
        skip!("only uid 0 is mapped here: a container user namespace cannot map 100000");
    }
    let _s = serial();
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        c.own_user_namespace(100000, 65536)
            .remove_mount("/sys/fs/cgroup");
        c["hostname"] = json!("userns-box");
        c["process"]["args"] = json!(["/probe", "sleep", "300"]);
    });
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let n = images_support::Nook::new();
    std::os::unix::fs::symlink(rt.root(), n.root.join("runtime")).unwrap();
    let dir = n.root.join("containers").join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("container.json"),
        json!({"id": id, "name": "userns-box"}).to_string(),
    )
    .unwrap();
    let rep: Value = serde_json::from_str(
        n.ok(&["isolation", "--format", "json", "userns-box"])
            .trim(),
    )
    .unwrap();
    let p = &rep["properties"];
    assert_eq!(p["namespaces.user.own"], true);
    assert_eq!(p["uid_map"], "0 100000 65536");
    assert_eq!(p["gid_map"], "0 100000 65536");
    assert_eq!(p["user.uid"], 0, "root inside");
    assert_eq!(p["user.uid.host"], 100000, "an unprivileged id outside");
    assert_eq!(p["hostname"], "userns-box", "the uts namespace was joined");
    assert_eq!(p["processes"], json!([1]), "the pid namespace was joined");
    assert_eq!(rep["host"]["uid_map"], "0 0 4294967295");
}

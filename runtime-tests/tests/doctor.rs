//! `nook doctor` and the doctor's wording where a prerequisite is missing: all ok on this
//! host as set up by scripts/rootless-user.sh; each prerequisite broken in a sandbox (an
//! empty subuid file, no newuidmap on PATH, `user.max_user_namespaces=0` in a user
//! namespace of our own) fails its check with the fix; `nook run` and `nook-runtime` say
//! the same. Run as the test user by `make test-rootless`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use runtime_tests::env::fresh_dir;
use runtime_tests::{mode, skip, Bundle, ConfigExt, Mode, Runtime};
use serde_json::Value;

macro_rules! rootless_only {
    () => {
        if mode() != Mode::Rootless {
            skip!("needs an unprivileged user (make test-rootless)");
        }
    };
}

/// `nook doctor --format json` with extra environment; (exit code, report).
fn doctor(env: &[(&str, &Path)], wrap: Option<&str>) -> (i32, Value) {
    let bin = std::env::var_os("NOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| runtime_tests::env::workspace_root().join("target/debug/nook"));
    let mut c = match wrap {
        Some(script) => {
            let mut c = Command::new("unshare");
            c.args(["-r", "sh", "-c", script, "sh"]).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    c.args(["doctor", "--format", "json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor's JSON: {e}: {}", String::from_utf8_lossy(&o.stdout)));
    (o.status.code().unwrap_or(-1), v)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[test]
fn doctor_is_ok_on_this_host_as_set_up() {
    rootless_only!();
    let (code, r) = doctor(&[], None);
    for c in r["checks"].as_array().unwrap() {
        if c["status"] == "warn" {
            // Only what this host really lacks (no delegated cgroup, no pasta).
            eprintln!(
                "doctor warns: {}: {} (fix: {})",
                c["name"], c["detail"], c["fix"]
            );
        }
        assert_ne!(c["status"], "fail", "{c}");
    }
    assert_eq!(code, 0);
    for name in [
        "user namespaces",
        "subuid",
        "subgid",
        "newuidmap",
        "newgidmap",
        "overlay in userns",
    ] {
        assert_eq!(check(&r, name)["status"], "ok", "{}", check(&r, name));
    }
}

/// The overlay probe's scratch directory is gone afterwards (overlayfs leaves a
/// mode-000 `work` directory in it, which its owner cannot list from outside).
#[test]
fn doctor_leaves_no_scratch_directory() {
    rootless_only!();
    let sandbox = fresh_dir("rootless-doctor-scratch");
    let tmp = sandbox.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    // No store under this XDG_DATA_HOME: the probe works in TMPDIR.
    let data = sandbox.join("data");
    let (_, r) = doctor(&[("TMPDIR", &tmp), ("XDG_DATA_HOME", &data)], None);
    assert_eq!(check(&r, "overlay in userns")["status"], "ok", "{r}");
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
}

#[test]
fn doctor_fails_each_broken_prerequisite_with_its_fix() {
    rootless_only!();
    let sandbox = fresh_dir("rootless-doctor");
    let empty = sandbox.join("subuid");
    fs::write(&empty, "").unwrap();
    let (code, r) = doctor(
        &[("NOOK_SUBUID_FILE", &empty), ("NOOK_SUBGID_FILE", &empty)],
        None,
    );
    assert_eq!(code, 1);
    for name in ["subuid", "subgid"] {
        let c = check(&r, name);
        assert_eq!(c["status"], "fail", "{c}");
        assert!(
            c["detail"].as_str().unwrap().starts_with("no entry for"),
            "{c}"
        );
        assert!(
            c["fix"]
                .as_str()
                .unwrap()
                .contains(&format!("usermod --add-{name}s")),
            "{c}"
        );
    }
    let (code, r) = doctor(&[("PATH", &sandbox)], None);
    assert_eq!(code, 1);
    for name in ["newuidmap", "newgidmap"] {
        let c = check(&r, name);
        assert_eq!(c["status"], "fail", "{c}");
        assert_eq!(c["detail"], "not found in PATH");
        assert!(
            c["fix"]
                .as_str()
                .unwrap()
                .contains("apt-get install uidmap"),
            "{c}"
        );
    }
    // user.max_user_namespaces=0 in a user namespace of our own.
    let (code, r) = doctor(
        &[],
        Some("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$1\" doctor --format json"),
    );
    assert_eq!(code, 1);
    let c = check(&r, "user namespaces");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("user.max_user_namespaces is 0"),
        "{c}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("sysctl -w user.max_user_namespaces="),
        "{c}"
    );
    let _ = fs::remove_dir_all(&sandbox);
}

#[test]
fn nook_run_without_a_subuid_entry_says_what_the_doctor_says() {
    rootless_only!();
    let sandbox = fresh_dir("rootless-norange");
    let empty = sandbox.join("subuid");
    fs::write(&empty, "").unwrap();
    let bin = std::env::var_os("NOOK_BIN").map(PathBuf::from).unwrap();
    let o = Command::new(bin)
        .arg("--root")
        .arg(sandbox.join("store"))
        .args(["run", "--rm", "busybox", "true"])
        .env("NOOK_SUBUID_FILE", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with("nook: rootless: subuid: no entry for ")
            && err.contains("; fix: as root: usermod --add-subuids")
            && err.contains("see `nook doctor`"),
        "{err}"
    );
    let _ = fs::remove_dir_all(&sandbox);
}

#[test]
fn runtime_names_the_sysctl_that_forbids_user_namespaces() {
    rootless_only!();
    // In a user namespace of our own where user.max_user_namespaces is 0, as its root.
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        c.own_user_namespace(0, 1);
    });
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-r",
        "sh",
        "-c",
        "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"",
        "sh",
    ])
    .arg(rt.binary())
    .arg("--root")
    .arg(rt.root())
    .args(["run", "--bundle"])
    .arg(b.path())
    .arg(rt.new_id());
    let out = rt.output_of(cmd);
    out.failed();
    assert!(
        out.stderr.contains(
            "creating the user namespace (user namespaces: user.max_user_namespaces is 0"
        ) && out
            .stderr
            .contains("fix: as root: sysctl -w user.max_user_namespaces="),
        "{}",
        out.stderr
    );
}

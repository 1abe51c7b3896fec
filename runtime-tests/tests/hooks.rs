//! OCI hooks: all six kinds, their order, where they run, and the state they receive.
//!
//! What runc 1.1.5 does (measured), against the runtime-spec text:
//! - prestart, createRuntime: runtime namespace, status "creating", pid = init's host pid.
//! - createContainer: path resolved in the runtime namespace, run in the container's
//!   mount namespace before pivot_root; status "creating"; runc reports pid 1 (the pid as
//!   seen inside, where the spec says "as seen by the host").
//! - startContainer: path resolved in the container, run inside it; status "created"; pid 1.
//! - poststart: runtime namespace; status "created" (the spec's reading would be
//!   "running"); runc runs it during `create`, right after starting its init, so before
//!   startContainer, whereas the spec orders startContainer before the user process and
//!   poststart after it, as part of `start`.
//! - poststop: runtime namespace, status "stopped", no pid; runs at `delete`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use runtime_tests::report::proc_ns_inode;
use runtime_tests::{assert_nothing_left, is_runc, Bundle, ConfigExt, Runtime};
use serde_json::Value;

/// The hook: append `<kind> <mount ns inode> <state JSON on one line>` to the log (`$2`).
const HOOK: &str = "#!/bin/busybox sh\n\
state=$(/bin/busybox tr -d '\\n')\n\
ns=$(/bin/busybox stat -L -c %i /proc/self/ns/mnt)\n\
echo \"$1 $ns $state\" >> \"$2\"\n";

fn write_script(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

struct Entry {
    kind: String,
    mnt_ns: u64,
    state: Value,
}

fn read_log(path: &Path) -> Vec<Entry> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let kind = parts.next().unwrap_or_default().to_string();
            let mnt_ns = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let json = parts.next().unwrap_or_default();
            let state = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("{kind}: stdin is not State JSON ({e}): {json}"));
            Entry {
                kind,
                mnt_ns,
                state,
            }
        })
        .collect()
}

fn find<'a>(log: &'a [Entry], kind: &str) -> (usize, &'a Entry) {
    let all: Vec<_> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == kind)
        .collect();
    assert_eq!(
        all.len(),
        1,
        "{kind} should run once; log kinds: {:?}",
        kinds(log)
    );
    all[0]
}

fn kinds(log: &[Entry]) -> Vec<&str> {
    log.iter().map(|e| e.kind.as_str()).collect()
}

#[test]
fn all_six_hooks_in_order_with_state() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let log_dir = b.host_dir("hooklog");
    let log = log_dir.join("log");
    let host_hook = b.path().join("hooks/hook.sh");
    write_script(&host_hook, HOOK);
    write_script(&b.in_rootfs("/hooks/hook.sh"), HOOK);
    let (hh, hl) = (host_hook.to_string_lossy(), log.to_string_lossy());
    b.config
        .add_mount("/hooklog", "bind", &log_dir.to_string_lossy(), &["rbind"]);
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        // createContainer runs in the container's mount namespace but before pivot_root,
        // so host paths still resolve.
        b.config.add_hook(kind, &hh, &["hook.sh", kind, &hl]);
    }
    b.config.add_hook(
        "startContainer",
        "/hooks/hook.sh",
        &["hook.sh", "startContainer", "/hooklog/log"],
    );
    b.config.probe_args(&["exit", "0"]);

    let id = rt.new_id();
    rt.create(&b, &id, &[]).ok();
    let init_pid = rt.state_json(&id)["pid"].as_i64().expect("pid");
    // A created init is non-dumpable: an unprivileged caller may not read its /proc/PID/ns
    // (ptrace access check). Rootless, the container's hooks must agree among themselves.
    let container_mnt = (runtime_tests::mode() != runtime_tests::Mode::Rootless)
        .then(|| proc_ns_inode(&init_pid.to_string(), "mnt"));
    let by_create = kinds(&read_log(&log)).join(" ");
    if is_runc() {
        // DIVERGENCE: runc 1.1 runs poststart at `create` (after starting its init), not
        // after the user process has started.
        assert_eq!(
            by_create,
            "prestart createRuntime createContainer poststart"
        );
    } else {
        assert_eq!(
            by_create, "prestart createRuntime createContainer",
            "hooks run by create"
        );
    }
    rt.start(&id).ok();
    assert_eq!(
        rt.wait_status(&id, "stopped", Duration::from_secs(10))
            .as_deref(),
        Some("stopped")
    );
    rt.delete(&id).ok();

    let entries = read_log(&log);
    let host_mnt = proc_ns_inode("self", "mnt");
    let bundle = b.path().to_string_lossy().into_owned();
    let expect = [
        ("prestart", "creating", true),
        ("createRuntime", "creating", true),
        ("createContainer", "creating", false),
        ("startContainer", "created", false),
        ("poststart", "created", true),
        ("poststop", "stopped", true),
    ];
    let mut pos = Vec::new();
    for (kind, status, on_host) in expect {
        let (i, e) = find(&entries, kind);
        pos.push(i);
        assert_eq!(e.state["id"], id.as_str(), "{kind}: {}", e.state);
        assert_eq!(e.state["bundle"], bundle.as_str(), "{kind}: {}", e.state);
        assert!(e.state["ociVersion"].is_string(), "{kind}: {}", e.state);
        let got = e.state["status"].as_str().unwrap_or_default();
        if kind == "poststart" {
            // runc says "created"; "running" is the spec's reading. Both accepted.
            assert!(["created", "running"].contains(&got), "{kind}: {}", e.state);
        } else {
            assert_eq!(got, status, "{kind}: {}", e.state);
        }
        if on_host {
            assert_eq!(
                e.mnt_ns, host_mnt,
                "{kind} ran in the wrong mount namespace"
            );
        } else {
            let want = container_mnt.unwrap_or(find(&entries, "createContainer").1.mnt_ns);
            assert_eq!(e.mnt_ns, want, "{kind} ran in the wrong mount namespace");
            assert_ne!(
                e.mnt_ns, host_mnt,
                "{kind} ran in the host's mount namespace"
            );
        }
        match kind {
            "poststop" => {}
            // runc reports the pid as seen inside (1) for hooks run inside.
            "createContainer" | "startContainer" => {
                let pid = e.state["pid"].as_i64();
                assert!(
                    pid == Some(1) || pid == Some(init_pid),
                    "{kind}: {}",
                    e.state
                );
            }
            _ => assert_eq!(e.state["pid"], init_pid, "{kind}: {}", e.state),
        }
    }
    // prestart < createRuntime < createContainer < startContainer < poststop, and
    // createContainer < poststart < poststop.
    assert!(
        pos[0] < pos[1] && pos[1] < pos[2] && pos[2] < pos[3],
        "{:?}",
        kinds(&entries)
    );
    assert!(
        pos[2] < pos[4] && pos[3] < pos[5] && pos[4] < pos[5],
        "{:?}",
        kinds(&entries)
    );
    if !is_runc() {
        // DIVERGENCE: runc 1.1 runs poststart during create, before startContainer.
        assert!(
            pos[3] < pos[4],
            "startContainer before poststart: {:?}",
            kinds(&entries)
        );
    }
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn failing_prestart_hook_fails_create() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let hook = b.path().join("hooks/fail.sh");
    write_script(&hook, "#!/bin/busybox sh\necho hook-says-no >&2\nexit 3\n");
    b.config
        .add_hook("prestart", &hook.to_string_lossy(), &["fail.sh"]);
    let id = rt.new_id();
    let out = rt.create(&b, &id, &[]);
    out.failed();
    assert!(
        out.stderr.contains("hook"),
        "the error names the hook:\n{out}"
    );
    assert!(
        !rt.state(&id).success(),
        "no container after a failed create"
    );
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn poststop_runs_after_run() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let log = b.host_dir("hooklog").join("log");
    let hook = b.path().join("hooks/hook.sh");
    write_script(&hook, HOOK);
    let (h, l) = (hook.to_string_lossy(), log.to_string_lossy());
    b.config
        .add_hook("poststop", &h, &["hook.sh", "poststop", &l]);
    let (out, _) = rt.run_probe_output(&b, &["exit", "5"]);
    assert_eq!(out.status, 5, "{out}");
    let entries = read_log(&log);
    assert_eq!(kinds(&entries), ["poststop"]);
    assert_eq!(entries[0].state["status"], "stopped");
}

/// `run` starts the container without a start gate (nook: init runs its
/// startContainer hooks and execs at once): a failing startContainer hook
/// still fails `run` with the hook named, the program never runs, and
/// nothing is left.
#[test]
fn failing_start_container_hook_fails_run() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    write_script(
        &b.in_rootfs("/fail.sh"),
        "#!/bin/busybox sh\necho hook-says-no >&2\nexit 3\n",
    );
    b.config
        .add_hook("startContainer", "/fail.sh", &["fail.sh"]);
    let marker = b.in_rootfs("/ran");
    b.config.args(&["/bin/busybox", "touch", "/ran"]);
    let id = rt.new_id();
    b.save();
    let out = rt.run_saved(&b, &id, &[]);
    out.failed();
    assert!(
        out.stderr.contains("hook"),
        "the error names the hook:\n{out}"
    );
    assert!(
        !marker.exists(),
        "the program ran after a failed startContainer hook"
    );
    assert_nothing_left(&b, &rt, &id);
}

/// Under `run` the hooks keep their order: startContainer (in the container,
/// status "created") before the program, poststart after it, poststop last.
#[test]
fn run_keeps_the_order_of_the_start_hooks() {
    if is_runc() {
        // DIVERGENCE: runc 1.1 runs poststart at create, before startContainer.
        return;
    }
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let log_dir = b.host_dir("hooklog");
    let log = log_dir.join("log");
    write_script(&b.path().join("hooks/hook.sh"), HOOK);
    write_script(&b.in_rootfs("/hook.sh"), HOOK);
    let hook = b.path().join("hooks/hook.sh");
    let h = hook.to_string_lossy();
    let l = log.to_string_lossy();
    b.config
        .add_mount("/hooklog", "bind", &log_dir.to_string_lossy(), &["rbind"]);
    b.config.add_hook(
        "startContainer",
        "/hook.sh",
        &["hook.sh", "startContainer", "/hooklog/log"],
    );
    for kind in ["poststart", "poststop"] {
        b.config.add_hook(kind, &h, &["hook.sh", kind, &l]);
    }
    let (out, _) = rt.run_probe_output(&b, &["exit", "0"]);
    assert_eq!(out.status, 0, "{out}");
    let entries = read_log(&log);
    assert_eq!(kinds(&entries), ["startContainer", "poststart", "poststop"]);
    assert_eq!(entries[0].state["status"], "created");
    assert_eq!(entries[2].state["status"], "stopped");
}

//! Bad configs and wrong-state commands: each fails with a non-zero status and one line
//! of error naming the problem, and leaves nothing behind.
//!
//! runc 1.1.5's wording (stderr is one logrus line: `time=... level=error msg="..."`):
//! - no config.json:       `runc create failed: JSON specification file config.json not found`
//! - invalid JSON:         `runc create failed: invalid character 'b' looking for beginning of object key string`
//! - args not a list:      `... json: cannot unmarshal string into Go struct field Process.process.args of type []string`
//! - process not an object:`... json: cannot unmarshal number into Go struct field Spec.process of type specs.Process`
//! - unknown namespace:    `runc create failed: namespace {"bogus" ""} does not exist`
//! - missing rootfs:       `runc create failed: invalid rootfs: stat <path>: no such file or directory`
//! - duplicate id:         `runc create failed: container with given ID already exists`
//! - start twice:          `cannot start an already running container`
//! - delete running:       `cannot delete container <id> that is not stopped: running`
//! - kill stopped:         `container not running`
//! - unknown id:           `container does not exist`
//! - relative cwd:         `runc create failed: Cwd must be an absolute path`
//! - empty args:           `runc create failed: args must not be empty`
//! - no process:           `runc create failed: process property must not be empty`
//! - unknown rlimit:       `runc create failed: wrong rlimit value: RLIMIT_BOGUS`
//! - hostname, no uts ns:  `runc create failed: unable to set hostname without a private UTS namespace`
//! - rlimit over the hard limit (no CAP_SYS_RESOURCE): `... error setting rlimits for ready
//!   process: error setting rlimit type 7: operation not permitted`
//! - ns path missing:      `... namespace path: lstat /nonexistent/ns: no such file or directory`
//! - ns path not a ns:     three lines: two `level=fatal` from nsexec
//!   (`failed to setns into net namespace: Invalid argument`) and
//!   `unable to start container process: can't get final child's PID from pipe: EOF`

use std::time::Duration;

use runtime_tests::{assert_nothing_left, error_text, is_runc, Bundle, ConfigExt, Output, Runtime};
use serde_json::{json, Value};

/// Assert a failure with exactly one non-empty line on stderr containing every needle
/// (case-insensitive); return that line.
fn one_line_error(out: &Output, needles: &[&str]) -> String {
    out.failed();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "the error should be one line:\n{out}");
    error_containing(out, needles)
}

/// A failure whose last error line contains every needle (case-insensitive).
fn error_containing(out: &Output, needles: &[&str]) -> String {
    out.failed();
    let msg = error_text(out);
    for n in needles {
        assert!(
            msg.to_lowercase().contains(&n.to_lowercase()),
            "error should mention {n:?}: {msg}"
        );
    }
    msg
}

/// `create` with config.json as the test wrote it; expect failure and no leftovers.
fn create_fails(rt: &Runtime, b: &Bundle, needles: &[&str]) -> String {
    let id = rt.new_id();
    let out = rt.create_saved(b, &id, &[]);
    let msg = one_line_error(&out, needles);
    assert!(
        !rt.state(&id).success(),
        "no container after a failed create"
    );
    assert_nothing_left(b, rt, &id);
    msg
}

#[test]
fn missing_config_json() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.remove_config();
    create_fails(&rt, &b, &["config.json"]);
}

#[test]
fn invalid_json() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.write_raw_config("{bad json");
    let msg = create_fails(&rt, &b, &[]);
    if !is_runc() {
        // DIVERGENCE: runc names neither the file nor the place ("invalid character 'b'
        // looking for beginning of object key string").
        assert!(msg.contains("config.json"), "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
    }
}

fn with_edit(edit: impl FnOnce(&mut Value)) -> Bundle {
    let mut b = Bundle::new();
    edit(&mut b.config);
    b.save();
    b
}

#[test]
fn wrong_type_names_the_field() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.set("/process/args", json!("not-a-list"));
    });
    create_fails(&rt, &b, &["process.args"]);
    let b = with_edit(|c| {
        c.set("/process", json!(5));
    });
    create_fails(&rt, &b, &["process"]);
}

#[test]
fn unknown_namespace_type() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.namespace("bogus", None);
    b.save();
    create_fails(&rt, &b, &["bogus"]);
}

#[test]
fn missing_rootfs() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let nowhere = b.path().join("nowhere");
    b.config.set("/root/path", json!(nowhere.to_string_lossy()));
    b.save();
    let msg = create_fails(&rt, &b, &["nowhere"]);
    // runc: "invalid rootfs: ..."; nook names the field, "root.path".
    assert!(msg.contains("rootfs") || msg.contains("root.path"), "{msg}");
}

/// A created sleeper; returns its id.
fn created(rt: &Runtime, b: &Bundle) -> String {
    b.save_probe_args(&["sleep", "100"]);
    let id = rt.new_id();
    rt.create_saved(b, &id, &[]).ok();
    id
}

#[test]
fn duplicate_id() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = created(&rt, &b);
    let other = Bundle::new();
    other.save_probe_args(&["sleep", "100"]);
    let out = rt.create_saved(&other, &id, &[]);
    one_line_error(&out, &["already exists"]);
    assert_eq!(
        rt.status_of(&id).as_deref(),
        Some("created"),
        "the first is untouched"
    );
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
    assert_nothing_left(&other, &rt, &id);
}

#[test]
fn start_twice() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = created(&rt, &b);
    rt.start(&id).ok();
    one_line_error(&rt.start(&id), &["running"]);
    assert_eq!(rt.status_of(&id).as_deref(), Some("running"));
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn delete_running_without_force() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = created(&rt, &b);
    rt.start(&id).ok();
    one_line_error(&rt.delete(&id), &["not stopped"]);
    assert_eq!(rt.status_of(&id).as_deref(), Some("running"), "still there");
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn kill_stopped_container() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = created(&rt, &b);
    rt.start(&id).ok();
    rt.kill(&id, Some("KILL")).ok();
    let st = rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_eq!(st.as_deref(), Some("stopped"));
    one_line_error(&rt.kill(&id, Some("KILL")), &["container not running"]);
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn commands_on_unknown_id() {
    let rt = Runtime::under_test();
    let id = rt.new_id();
    for args in [
        vec!["state", id.as_str()],
        vec!["start", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", id.as_str()],
    ] {
        one_line_error(&rt.exec(&args), &["does not exist"]);
    }
    // An engine deletes twice after every exit: a forced delete of nothing succeeds.
    rt.delete_force(&id).ok();
}

#[test]
fn error_in_json_log() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.remove_config();
    let log = b.host_dir("log").join("log.json");
    let l = log.to_string_lossy().into_owned();
    let bundle = b.path().to_string_lossy().into_owned();
    let id = rt.new_id();
    let out = rt.exec(&[
        "--log",
        &l,
        "--log-format",
        "json",
        "create",
        "--bundle",
        &bundle,
        &id,
    ]);
    out.failed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let errors: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == "error")
        .collect();
    assert!(
        !errors.is_empty(),
        "no error line in the JSON log:\n{text}\n{out}"
    );
    let last = errors.last().unwrap();
    assert!(
        last["msg"]
            .as_str()
            .is_some_and(|m| m.contains("config.json")),
        "{last}"
    );
    assert!(last["time"].is_string(), "{last}");
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn relative_cwd() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.cwd("tmp");
    });
    create_fails(&rt, &b, &["cwd"]);
}

#[test]
fn empty_args() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.set("/process/args", json!([]));
    });
    create_fails(&rt, &b, &["args"]);
}

#[test]
fn missing_process() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.unset("/process");
    });
    create_fails(&rt, &b, &["process"]);
}

#[test]
fn unknown_rlimit() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.rlimit("RLIMIT_BOGUS", 1, 1);
    });
    create_fails(&rt, &b, &["RLIMIT_BOGUS"]);
}

#[test]
fn hostname_without_uts_namespace() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.remove_namespace("uts").hostname("lonely");
    });
    create_fails(&rt, &b, &["hostname"]);
}

#[test]
fn rlimit_above_the_hard_limit() {
    let cap_sys_resource = 1u64 << runtime_tests::caps::cap_bit("CAP_SYS_RESOURCE");
    if runtime_tests::mode() == runtime_tests::Mode::Root
        && runtime_tests::caps::own_effective() & cap_sys_resource != 0
    {
        runtime_tests::skip!("root holds CAP_SYS_RESOURCE here: it may raise any rlimit");
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let hard: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|h| h.parse().ok())
        .expect("hard RLIMIT_NOFILE");
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.rlimit("RLIMIT_NOFILE", hard + 1000, hard + 1000);
    });
    let msg = create_fails(&rt, &b, &["rlimit"]);
    if !is_runc() {
        // DIVERGENCE: runc names the resource by number ("rlimit type 7").
        assert!(msg.contains("RLIMIT_NOFILE"), "{msg}");
    }
}

#[test]
fn namespace_path_missing() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.namespace("network", Some("/nonexistent/ns"));
    });
    create_fails(&rt, &b, &["/nonexistent/ns"]);
}

#[test]
fn namespace_path_not_a_namespace() {
    let rt = Runtime::under_test();
    let b = with_edit(|c| {
        c.namespace("network", Some("/etc/hostname"));
    });
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    if is_runc() {
        // DIVERGENCE: runc prints three lines (two fatal ones from nsexec).
        error_containing(&out, &["start container"]);
    } else {
        let msg = one_line_error(&out, &["/etc/hostname"]);
        assert!(msg.contains("net"), "names the namespace type: {msg}");
    }
    assert!(!rt.state(&id).success());
    assert_nothing_left(&b, &rt, &id);
}

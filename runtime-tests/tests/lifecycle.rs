//! The container lifecycle as an engine drives it: create, start, state, kill, delete,
//! run (foreground and detached), --pid-file, --preserve-fds, list and spec.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use runtime_tests::{assert_nothing_left, error_text, Bundle, Runtime};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

/// Create a container whose process is `/probe sleep 100` and check it is `created`.
fn create_sleeper(rt: &Runtime, b: &Bundle, extra: &[&str]) -> (String, runtime_tests::Output) {
    let id = rt.new_id();
    b.save_probe_args(&["sleep", "100"]);
    let out = rt.create_saved(b, &id, extra);
    out.ok();
    (id, out)
}

fn assert_state_fields(state: &Value, id: &str, b: &Bundle, status: &str) {
    assert_eq!(state["id"], id.to_string(), "{state}");
    assert_eq!(state["status"], status.to_string(), "{state}");
    assert_eq!(
        state["bundle"],
        b.path().to_string_lossy().as_ref(),
        "{state}"
    );
    assert!(state["ociVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    assert!(state["pid"].as_i64().is_some_and(|p| p > 0), "{state}");
}

/// Walk one container through created → running → stopped → deleted, killing with `signal`.
fn full_lifecycle(signal: &str) {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let (id, created) = create_sleeper(&rt, &b, &[]);
    assert_state_fields(&rt.state_json(&id), &id, &b, "created");
    // The process has not been started: the probe printed nothing yet.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !created.stdout_now().contains("sleeping"),
        "the probe ran before start"
    );

    rt.start(&id).ok();
    assert_eq!(
        rt.wait_status(&id, "running", WAIT).as_deref(),
        Some("running")
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !created.stdout_now().contains("\"sleeping\":100") && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        created.stdout_now().contains("\"sleeping\":100"),
        "probe output missing"
    );

    rt.kill(&id, Some(signal)).ok();
    assert_eq!(
        rt.wait_status(&id, "stopped", WAIT).as_deref(),
        Some("stopped")
    );
    rt.delete(&id).ok();
    let gone = rt.state(&id);
    gone.failed();
    assert!(error_text(&gone).contains("does not exist"), "{gone}");
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn lifecycle_kill_by_name() {
    full_lifecycle("KILL");
}

#[test]
fn lifecycle_kill_by_signal_name() {
    full_lifecycle("SIGKILL");
}

#[test]
fn lifecycle_kill_by_number() {
    full_lifecycle("9");
}

#[test]
fn run_returns_the_exit_status() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let (out, json) = rt.run_probe_output(&b, &["exit", "7"]);
    assert_eq!(out.status, 7, "{out}");
    assert_eq!(json.expect("probe line")["exit"], 7);
    let (out, _) = rt.run_probe_output(&b, &["exit", "0"]);
    assert_eq!(out.status, 0, "{out}");
}

#[test]
fn run_deletes_the_container_afterwards() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_probe_args(&["exit", "3"]);
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    assert_eq!(out.status, 3, "{out}");
    assert!(!rt.state(&id).success(), "run without --keep deletes");
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_probe_args(&["exit", "4"]);
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &["--keep"]);
    assert_eq!(out.status, 4, "{out}");
    assert_eq!(
        rt.status_of(&id).as_deref(),
        Some("stopped"),
        "--keep keeps it"
    );
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn run_detached() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_probe_args(&["sleep", "100"]);
    let id = rt.new_id();
    let started = std::time::Instant::now();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "--detach returns at once"
    );
    assert_eq!(
        rt.wait_status(&id, "running", WAIT).as_deref(),
        Some("running")
    );
    rt.kill(&id, Some("KILL")).ok();
    assert_eq!(
        rt.wait_status(&id, "stopped", WAIT).as_deref(),
        Some("stopped")
    );
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn pid_file_holds_the_host_pid() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let pid_file = b.host_dir("run").join("init.pid");
    let pf = pid_file.to_string_lossy().into_owned();
    let (id, _) = create_sleeper(&rt, &b, &["--pid-file", &pf]);
    let text = std::fs::read_to_string(&pid_file).expect("pid file written");
    let pid: i64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file: {text:?}"));
    assert_eq!(rt.state_json(&id)["pid"], pid);
    // That host pid is the container's pid 1.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("init alive");
    let nspid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .expect("NSpid");
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "{nspid}");
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn preserve_fds_passes_exactly_that_many() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let dir = b.host_dir("fds");
    let three = File::create(dir.join("fd-three")).unwrap();
    let four = File::create(dir.join("fd-four")).unwrap();
    let (fd3, fd4) = (three.as_raw_fd(), four.as_raw_fd());
    b.save_probe_args(&[]);
    let id = rt.new_id();
    let bundle = b.path().to_string_lossy().into_owned();
    let mut cmd = rt.command(&["run", "--bundle", &bundle, "--preserve-fds", "1", &id]);
    // SAFETY: only async-signal-safe fcntl/dup2 calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Move both out of the way first (either may already sit on 3 or 4), then
            // dup2 onto 3 and 4, which clears close-on-exec: the runtime starts with both.
            let a = libc::fcntl(fd3, libc::F_DUPFD, 100);
            let b = libc::fcntl(fd4, libc::F_DUPFD, 100);
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(a);
            libc::close(b);
            Ok(())
        });
    }
    let out = rt.output_of(cmd);
    out.ok();
    let r = out.json().expect("probe report");
    assert_eq!(
        r["fds"],
        serde_json::json!([0, 1, 2, 3]),
        "{}",
        r["fd_targets"]
    );
    let target = r["fd_targets"]["3"].as_str().unwrap_or_default();
    assert!(target.ends_with("fd-three"), "fd 3 is {target}");
}

#[test]
fn list_shows_the_container() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let (id, _) = create_sleeper(&rt, &b, &[]);
    let list = rt.list_json();
    let entry = list
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {list:?}"));
    assert_eq!(entry["status"], "created");
    assert_eq!(entry["bundle"], b.path().to_string_lossy().as_ref());
    assert_eq!(entry["pid"], rt.state_json(&id)["pid"]);
    rt.delete_force(&id).ok();
    assert!(rt.list_json().iter().all(|c| c["id"] != id.as_str()));
    assert_nothing_left(&b, &rt, &id);
}

fn spec_in(rt: &Runtime, dir: &std::path::Path, extra: &[&str]) -> Value {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec!["spec"];
    args.extend_from_slice(extra);
    args.extend(["--bundle", d.as_str()]);
    rt.exec(&args).ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("spec wrote config.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("config.json from spec: {e}\n{text}"))
}

fn namespace_types(c: &Value) -> Vec<String> {
    c["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn spec_writes_a_valid_config() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let c = spec_in(&rt, &b.host_dir("spec"), &[]);
    assert!(
        c["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{c}"
    );
    assert!(c["process"]["args"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert_eq!(c["root"]["path"], "rootfs");
    let ns = namespace_types(&c);
    for kind in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(ns.iter().any(|n| n == kind), "{kind} missing from {ns:?}");
    }
    assert!(c["mounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["destination"] == "/proc")));
}

#[test]
fn spec_rootless_adds_a_user_namespace() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let c = spec_in(&rt, &b.host_dir("spec"), &["--rootless"]);
    let ns = namespace_types(&c);
    assert!(ns.iter().any(|n| n == "user"), "{ns:?}");
    assert!(
        !ns.iter().any(|n| n == "network"),
        "rootless has no network ns: {ns:?}"
    );
    let uid_maps = c["linux"]["uidMappings"].as_array().expect("uidMappings");
    assert_eq!(uid_maps.len(), 1);
    assert_eq!(uid_maps[0]["containerID"], 0);
    assert_eq!(uid_maps[0]["hostID"], nix::unistd::geteuid().as_raw());
    assert!(c["linux"]["gidMappings"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
}

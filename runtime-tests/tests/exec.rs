//! `exec`: a second process in a running container shares its namespaces and
//! cgroup, takes the identity asked for, returns its exit status, and leaks no
//! fd of the runtime; the same flags give the same report under runc.

use runtime_tests::report::proc_ns_inode;
use runtime_tests::{error_text, is_runc, mode, skip, Bundle, ConfigExt, Mode, Runtime};
use serde_json::{json, Value};

/// A running container whose init sleeps; returns its id.
fn sleeper(rt: &Runtime, b: &Bundle) -> String {
    b.save_probe_args(&["sleep", "300"]);
    let id = rt.new_id();
    rt.run_saved(b, &id, &["--detach"]).ok();
    id
}

fn exec_probe(rt: &Runtime, id: &str, flags: &[&str], probe: &[&str]) -> Value {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.push(id);
    args.push("/probe");
    args.extend_from_slice(probe);
    let out = rt.exec(&args);
    out.ok();
    out.json()
        .unwrap_or_else(|| panic!("no probe JSON:\n{out}"))
}

fn init_pid(rt: &Runtime, id: &str) -> i64 {
    rt.state_json(id)["pid"].as_i64().expect("pid")
}

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    let r = exec_probe(&rt, &id, &[], &[]);
    let pid = init_pid(&rt, &id);
    assert_ne!(r["pid"], 1, "the exec'd process is not init");
    assert!(
        r["processes"].as_array().unwrap().contains(&json!(1)),
        "it sees the container's init: {}",
        r["processes"]
    );
    for ns in ["pid", "net", "ipc", "uts", "mnt"] {
        let want = proc_ns_inode(&pid.to_string(), ns);
        assert_eq!(r["namespaces"][ns], want, "{ns} namespace");
    }
    let init_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let lines: Vec<String> = init_cgroup.lines().map(str::to_string).collect();
    assert_eq!(r["cgroup"], json!(lines), "same cgroups as init");
    assert_eq!(
        r["fds"],
        json!([0, 1, 2]),
        "no runtime fd leaks: {}",
        r["fd_targets"]
    );
}

#[test]
fn exec_returns_the_exit_status() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    let out = rt.exec(&["exec", &id, "/probe", "exit", "7"]);
    assert_eq!(out.status, 7, "{out}");
}

#[test]
fn exec_flags_set_user_env_and_cwd() {
    if runtime_tests::env::only_root_mapped() {
        skip!("uid 1000 is not mapped in this user namespace");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    let flags = [
        "--user",
        "1000:1000",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        "--additional-gids",
        "29",
    ];
    let r = exec_probe(&rt, &id, &flags, &[]);
    assert_eq!(r["uid"], json!([1000, 1000, 1000, 1000]));
    assert_eq!(r["gid"], json!([1000, 1000, 1000, 1000]));
    assert_eq!(r["groups"], json!([29]));
    assert!(
        r["env"].as_array().unwrap().contains(&json!("FOO=bar")),
        "{}",
        r["env"]
    );
    assert_eq!(r["cwd"], "/tmp");
}

#[test]
fn exec_with_a_process_file() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    let process = json!({"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/probe", "exit", "3"],
                         "env": ["PATH=/bin"], "cwd": "/"});
    let file = b.host_dir("proc").join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let out = rt.exec(&["exec", "--process", &file.to_string_lossy(), &id]);
    assert_eq!(out.status, 3, "{out}");
}

#[test]
fn exec_detached_writes_the_pid_file() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    let pid_file = b.host_dir("pid").join("exec.pid");
    rt.exec(&[
        "exec",
        "--detach",
        "--pid-file",
        &pid_file.to_string_lossy(),
        &id,
        "/probe",
        "sleep",
        "30",
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // `exec -d` returns once the process is ready to execve (as runc's does):
    // the execve itself may come a moment later.
    let cmdline = || std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cmdline().starts_with("/probe\0sleep") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(cmdline().starts_with("/probe\0sleep"), "{:?}", cmdline());
}

#[test]
fn exec_refuses_stopped_and_paused_containers() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let id = sleeper(&rt, &b);
    if mode() == Mode::Rootless {
        // No cgroup is delegated to the user here: pause is refused, saying why.
        let out = rt.exec(&["pause", &id]);
        out.failed();
        assert!(error_text(&out).contains("pause: no cgroup"), "{out}");
    } else {
        rt.exec(&["pause", &id]).ok();
        let out = rt.exec(&["exec", &id, "/probe", "exit", "0"]);
        out.failed();
        assert!(error_text(&out).contains("paused"), "{out}");
        rt.exec(&["resume", &id]).ok();
    }
    rt.exec(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped", std::time::Duration::from_secs(10));
    let out = rt.exec(&["exec", &id, "/probe", "exit", "0"]);
    out.failed();
    assert!(
        error_text(&out).contains("stopped") || error_text(&out).contains("not running"),
        "{out}"
    );
}

#[test]
fn exec_report_equals_runcs() {
    if is_runc() {
        skip!("runc against itself says nothing");
    }
    let flags = [
        "--env",
        "X=1",
        "--cwd",
        "/tmp",
        "--cap",
        "CAP_SYS_PTRACE",
        "--no-new-privs",
    ];
    let pick = |r: &Value| {
        json!({"uid": r["uid"], "gid": r["gid"], "groups": r["groups"], "caps": r["caps"],
        "no_new_privs": r["no_new_privs"], "env": r["env"], "cwd": r["cwd"], "umask": r["umask"],
        "hostname": r["hostname"], "rlimits": r["rlimits"], "fds": r["fds"]})
    };
    let b = Bundle::new();
    let ours = Runtime::under_test();
    let id = sleeper(&ours, &b);
    let a = pick(&exec_probe(&ours, &id, &flags, &[]));
    let runc = Runtime::runc();
    let b2 = Bundle::new();
    let id2 = sleeper(&runc, &b2);
    let mut c = pick(&exec_probe(&runc, &id2, &flags, &[]));
    if mode() == Mode::Rootless {
        // DIVERGENCE: runc 1.1 rootless never calls setgroups(2): the process keeps the
        // caller's supplementary groups as mapped. nook sets the configured ones (none).
        assert_eq!(a["groups"], json!([]), "nook's groups: {}", a["groups"]);
        c["groups"] = json!([]);
    }
    assert_eq!(a, c, "exec reports differ (nook, runc)");
}

#[test]
fn exec_joins_the_containers_user_namespace() {
    if mode() == Mode::Userns {
        skip!("only uid 0 is mapped here: a container user namespace cannot map 100000");
    }
    if mode() == Mode::Rootless
        && runtime_tests::env::rootless_range().is_none_or(|(u, g)| u != (100000, 65536) || g != u)
    {
        skip!("the test maps host ids 100000-165535: not this user's subuid/subgid range");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        c.own_user_namespace(100000, 65536)
            .remove_mount("/sys/fs/cgroup");
        c["process"]["args"] = json!(["/probe", "sleep", "300"]);
    });
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let r = exec_probe(&rt, &id, &[], &[]);
    let pid = init_pid(&rt, &id);
    let want = proc_ns_inode(&pid.to_string(), "user");
    assert_eq!(
        r["namespaces"]["user"], want,
        "the container's user namespace"
    );
    assert_eq!(r["uid"], json!([0, 0, 0, 0]), "root inside: {}", r["uid"]);
}

/// What exec sees when the bundle's config.json changed after create: its
/// namespaces (from the container) and its process defaults (from the bundle as
/// it is now, runc's rule), under nook and runc alike.
fn exec_after_bundle_edit(rt: &Runtime) -> Value {
    let b = Bundle::new();
    let id = sleeper(rt, &b);
    let pid = init_pid(rt, &id);
    b.save_with(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("EDITED=1"));
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "uts" && n["type"] != "ipc");
    });
    let r = exec_probe(rt, &id, &[], &[]);
    let same = |ns: &str| {
        let want = std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap();
        r["namespaces"][ns] == want
    };
    let edited = r["env"].as_array().unwrap().contains(&json!("EDITED=1"));
    json!({"uts joined": same("uts"), "ipc joined": same("ipc"), "env from the bundle now": edited})
}

#[test]
fn exec_takes_namespaces_from_create_and_process_from_the_bundle() {
    let got = exec_after_bundle_edit(&Runtime::under_test());
    assert_eq!(
        got,
        json!({"uts joined": true, "ipc joined": true, "env from the bundle now": true})
    );
    if !is_runc() {
        assert_eq!(
            got,
            exec_after_bundle_edit(&Runtime::runc()),
            "runc differs"
        );
    }
}

#[test]
fn exec_joins_the_containers_time_namespace() {
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        skip!("this kernel has no time namespaces");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_with(|c| {
        c.namespace("time", None).args(&["/probe", "sleep", "300"]);
    });
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let pid = init_pid(&rt, &id);
    let want = proc_ns_inode(&pid.to_string(), "time");
    let host = proc_ns_inode("self", "time");
    assert_ne!(want, host, "the container has its own time namespace");
    let r = exec_probe(&rt, &id, &[], &[]);
    assert_eq!(r["namespaces"]["time"], want, "exec joined it");
}

/// runc gives fds 0-2 to the process's user, so that a process that dropped
/// root can reopen them (`> /dev/stdout`): init and exec alike, /dev/null left alone.
fn stdio_owners(rt: &Runtime) -> Value {
    let b = Bundle::new();
    let script = "stat -L -c %u /proc/self/fd/1; echo init-ok >> /dev/stdout; sleep 300";
    b.save_with(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["args"] = json!(["/bin/sh", "-c", script]);
    });
    let id = rt.new_id();
    let run = rt.run_saved(&b, &id, &["--detach"]);
    run.ok();
    let init_out = || std::fs::read_to_string(&run.stdout_path).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while init_out().lines().count() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let exec = rt.exec(&[
        "exec",
        "--user",
        "1000:1000",
        &id,
        "/bin/sh",
        "-c",
        "stat -L -c %u /proc/self/fd/1; echo exec-ok >> /dev/stdout",
    ]);
    rt.delete_force(&id).ok();
    json!({"init": init_out().lines().collect::<Vec<_>>(),
           "exec": exec.stdout.lines().collect::<Vec<_>>(), "exec status": exec.status})
}

#[test]
fn stdio_belongs_to_the_processs_user_like_runc() {
    if mode() == Mode::Userns {
        skip!("only uid 0 is mapped here: uid 1000 cannot be used");
    }
    let got = stdio_owners(&Runtime::under_test());
    assert_eq!(
        got,
        json!({"init": ["1000", "init-ok"], "exec": ["1000", "exec-ok"], "exec status": 0})
    );
    if !is_runc() {
        assert_eq!(got, stdio_owners(&Runtime::runc()), "runc differs");
    }
}

//! How `create` makes the container's init (nook's own shape, not runc's: runc's
//! init is the grandchild of a `runc init` that exits).
//! - One clone: the runtime clones init straight into its new namespaces, so
//!   during `create` init's parent is the runtime itself, and init is PID 1.
//! - Namespaces joined by path take an intermediate process that joins them
//!   and forks init: init's parent is not the runtime.
//! - The runtime killed in the middle of `create` leaves no init running
//!   (a death signal during setup), on either path.

use std::fs;
use std::time::Duration;

use runtime_tests::report::proc_ns_inode;
use runtime_tests::shape::{init_during_create, write_script};
use runtime_tests::{assert_nothing_left, is_runc, skip, Bundle, ConfigExt, Runtime};

fn cleanup(rt: &Runtime, b: &Bundle, id: &str) {
    rt.delete_force(id);
    assert_nothing_left(b, rt, id);
}

#[test]
fn init_is_cloned_by_the_runtime_itself() {
    if is_runc() {
        skip!("nook's launch shape: runc's init is the grandchild of `runc init`");
    }
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let id = rt.new_id();
    let seen = init_during_create(&rt, &mut b, &id);
    assert_eq!(
        seen.parent, seen.runtime,
        "init's parent is the runtime: {seen:?}"
    );
    assert_eq!(
        seen.nspid.last(),
        Some(&1),
        "PID 1 in its own pid namespace: {seen:?}"
    );
    cleanup(&rt, &b, &id);
}

#[test]
fn namespaces_joined_by_path_take_an_intermediate() {
    if is_runc() {
        skip!("nook's launch shape: runc's init is the grandchild of `runc init`");
    }
    let rt = Runtime::under_test();
    let a = Bundle::new();
    let a_id = rt.new_id();
    let a_pid = rt.start_sleeper(&a, &a_id);

    let mut b = Bundle::new();
    if runtime_tests::mode() == runtime_tests::Mode::Rootless {
        // Only A's user namespace gives an unprivileged user the right to join its net.
        b.config
            .namespace("user", Some(&format!("/proc/{a_pid}/ns/user")));
    }
    b.config
        .namespace("network", Some(&format!("/proc/{a_pid}/ns/net")));
    let id = rt.new_id();
    let seen = init_during_create(&rt, &mut b, &id);
    assert_ne!(
        seen.parent, seen.runtime,
        "init was forked by an intermediate: {seen:?}"
    );
    assert_eq!(
        seen.nspid.last(),
        Some(&1),
        "PID 1 in its own pid namespace: {seen:?}"
    );
    if runtime_tests::mode() != runtime_tests::Mode::Rootless {
        assert_eq!(
            proc_ns_inode(&seen.init.to_string(), "net"),
            proc_ns_inode(&a_pid, "net"),
            "A's network namespace"
        );
    }
    cleanup(&rt, &b, &id);
    cleanup(&rt, &a, &a_id);
}

/// A prestart hook kills the runtime (its parent) while init waits for the hooks.
fn runtime_killed_during_create(b: &mut Bundle) {
    let rt = Runtime::under_test();
    let hook = b.path().join("hooks/kill.sh");
    let pid_file = b.host_dir("killed").join("init-pid");
    write_script(
        &hook,
        "#!/bin/busybox sh\n\
         /bin/busybox tr -d '\\n ' | /bin/busybox sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' > \"$1\"\n\
         kill -9 $PPID\n",
    );
    b.config.add_hook(
        "prestart",
        &hook.to_string_lossy(),
        &["kill.sh", &pid_file.to_string_lossy()],
    );
    b.config.probe_args(&["exit", "0"]);
    let id = rt.new_id();
    let out = rt.create(b, &id, &[]);
    out.failed();
    let init = fs::read_to_string(&pid_file).unwrap_or_default();
    let init = init.trim();
    assert!(!init.is_empty(), "the hook saw init's pid:\n{out}");
    // init dies with the runtime; a zombie waits for whoever inherited it.
    let gone = || {
        fs::read_to_string(format!("/proc/{init}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        gone(),
        "init {init} still running after the runtime was killed"
    );
    // The killed runtime saved no state, so `delete` cannot know its cgroups:
    // those (empty now) go by hand.
    rt.delete_force(&id);
    for cg in runtime_tests::leftovers::cgroups_named(&id) {
        let _ = fs::remove_dir(&cg);
    }
    assert_nothing_left(b, &rt, &id);
}

#[test]
fn runtime_killed_during_create_leaves_no_init() {
    runtime_killed_during_create(&mut Bundle::new());
}

#[test]
fn runtime_killed_during_create_leaves_no_init_in_a_user_namespace() {
    runtime_tests::skip_if_only_root_mapped!(
        "a user namespace of the container's own needs a range of ids"
    );
    let mut b = Bundle::new();
    if runtime_tests::mode() != runtime_tests::Mode::Rootless {
        // (Rootless configs have one already.) The host's cgroup hierarchies
        // cannot be bound into a user namespace of the container's own.
        let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        b.config
            .namespace("user", None)
            .set("/linux/uidMappings", map.clone())
            .set("/linux/gidMappings", map)
            .remove_mount("/sys/fs/cgroup");
    }
    runtime_killed_during_create(&mut b);
}

//! What the container's process sees of itself: pid namespace, names, ids, capabilities,
//! rlimits, no_new_privs, umask, cwd, env, oom_score_adj, sysctls and namespaces.

use std::time::Duration;

use runtime_tests::caps::{cap_mask, cap_names, report_caps};
use runtime_tests::report::{ns_inode, proc_ns_inode, rlimit};
use runtime_tests::{is_runc, skip, skip_if_only_root_mapped, Bundle, ConfigExt, Runtime};
use serde_json::json;

#[test]
fn pid_one_alone_in_its_pid_namespace() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let r = rt.run_probe(&b, &[]);
    assert_eq!(r["pid"], 1, "{r}");
    assert_eq!(r["processes"], json!([1]), "only the probe is visible");
}

#[test]
fn hostname_and_domainname_from_config() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.hostname("box-one").domainname("example.test");
    let r = rt.run_probe(&b, &[]);
    assert_eq!(r["hostname"], "box-one");
    if is_runc() {
        // DIVERGENCE: runc 1.1 ignores `domainname` (support arrived in runc 1.2); the
        // new UTS namespace keeps the kernel's default "(none)". nook sets it.
        assert_eq!(r["domainname"], "(none)");
    } else {
        assert_eq!(r["domainname"], "example.test");
    }
}

#[test]
fn user_group_and_additional_groups() {
    skip_if_only_root_mapped!(
        "only uid/gid 0 are mapped: uid 1000 and gids 29, 2000 do not exist here"
    );
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.user(1000, 1000, &[29, 2000]);
    let r = rt.run_probe(&b, &[]);
    assert_eq!(
        r["uid"],
        json!([1000, 1000, 1000, 1000]),
        "real, effective, saved, fs"
    );
    assert_eq!(r["gid"], json!([1000, 1000, 1000, 1000]));
    let mut groups: Vec<u64> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g.as_u64())
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, [29, 2000], "exactly additionalGids");
}

/// A container running as `uid` (and that gid) with each capability set configured
/// as named: the probe reports each set exactly so.
fn caps_are_as_configured(uid: u32, sets: &[(&str, &[&str])]) {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.user(uid, uid, &[]);
    for (set, names) in sets {
        b.config.cap_set(set, names);
    }
    let r = rt.run_probe(&b, &[]);
    for (set, names) in sets {
        let got = report_caps(&r, set);
        let want = cap_mask(names);
        assert_eq!(
            got,
            want,
            "caps.{set}: got {:?}, want {:?}",
            cap_names(got),
            cap_names(want)
        );
    }
}

#[test]
fn capability_sets_as_root() {
    // For uid 0 execve makes permitted = effective = bounding | inheritable, so a config
    // that keeps those equal is reported exactly. Ambient needs permitted + inheritable.
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_SYS_CHROOT",
    ];
    let inheritable = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let ambient = ["CAP_NET_BIND_SERVICE"];
    caps_are_as_configured(
        0,
        &[
            ("bounding", &bounding),
            ("permitted", &bounding),
            ("effective", &bounding),
            ("inheritable", &inheritable),
            ("ambient", &ambient),
        ],
    );
}

#[test]
fn capability_sets_as_non_root() {
    skip_if_only_root_mapped!("uid 1000 is not mapped in this user namespace");
    // For a non-root user without file capabilities execve keeps only the ambient set in
    // permitted and effective; bounding and inheritable stay as configured.
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
    ];
    let inheritable = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let ambient = ["CAP_NET_BIND_SERVICE"];
    caps_are_as_configured(
        1000,
        &[
            ("bounding", &bounding),
            ("permitted", &ambient),
            ("effective", &ambient),
            ("inheritable", &inheritable),
            ("ambient", &ambient),
        ],
    );
}

#[test]
fn rlimits_from_config() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config
        .rlimit("RLIMIT_NOFILE", 256, 512)
        .rlimit("RLIMIT_NPROC", 500, 1000)
        .rlimit("RLIMIT_MSGQUEUE", 4096, 8192);
    let r = rt.run_probe(&b, &[]);
    assert_eq!(rlimit(&r, "RLIMIT_NOFILE"), (256, 512));
    assert_eq!(rlimit(&r, "RLIMIT_NPROC"), (500, 1000));
    assert_eq!(rlimit(&r, "RLIMIT_MSGQUEUE"), (4096, 8192));
}

#[test]
fn no_new_privileges_true() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.no_new_privileges(true);
    assert_eq!(rt.run_probe(&b, &[])["no_new_privs"], true);
}

#[test]
fn no_new_privileges_false() {
    let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if own.contains("NoNewPrivs:\t1") {
        skip!("the test process itself runs with no_new_privs set: it is inherited");
    }
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.no_new_privileges(false);
    assert_eq!(rt.run_probe(&b, &[])["no_new_privs"], false);
}

#[test]
fn umask_from_config() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.umask(0o027);
    assert_eq!(rt.run_probe(&b, &[])["umask"], 0o027);
}

#[test]
fn cwd_and_env_from_config() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config
        .cwd("/tmp")
        .env(&["PATH=/bin", "GREETING=hello world", "EMPTY="]);
    let r = rt.run_probe(&b, &[]);
    assert_eq!(r["cwd"], "/tmp");
    let env: Vec<&str> = r["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    for want in ["PATH=/bin", "GREETING=hello world", "EMPTY="] {
        assert!(env.contains(&want), "{want} missing from {env:?}");
    }
}

#[test]
fn oom_score_adj_from_config() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    // Raising needs no privilege (lowering needs CAP_SYS_RESOURCE, which root lacks here).
    b.config.oom_score_adj(321);
    assert_eq!(rt.run_probe(&b, &[])["oom_score_adj"], 321);
}

#[test]
fn sysctl_in_own_ipc_namespace() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.sysctl("kernel.shmmax", "123456789");
    let r = rt.run_probe(&b, &[]);
    assert_eq!(r["sysctl"]["kernel.shmmax"], "123456789");
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap_or_default();
    assert_ne!(host.trim(), "123456789", "the host's value must not change");
}

#[test]
fn new_namespaces_differ_from_the_hosts() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let r = rt.run_probe(&b, &[]);
    for kind in ["pid", "net", "ipc", "uts", "mnt"] {
        assert_ne!(
            ns_inode(&r, kind),
            proc_ns_inode("self", kind),
            "{kind} must be new"
        );
    }
    if runtime_tests::mode() == runtime_tests::Mode::Rootless {
        // A rootless config always has a user namespace of its own.
        assert_ne!(ns_inode(&r, "user"), proc_ns_inode("self", "user"));
    } else {
        // Not asked for in the config: shared with the caller.
        assert_eq!(ns_inode(&r, "user"), proc_ns_inode("self", "user"));
    }
}

#[test]
fn namespaces_joined_by_path() {
    let rt = Runtime::under_test();
    let a = Bundle::new();
    let a_id = rt.new_id();
    let a_pid = rt.start_sleeper(&a, &a_id);

    let mut b = Bundle::new();
    b.config.unset("/hostname");
    if runtime_tests::mode() == runtime_tests::Mode::Rootless {
        // Only A's user namespace gives an unprivileged user the right to join the others.
        b.config
            .namespace("user", Some(&format!("/proc/{a_pid}/ns/user")));
    }
    for (kind, proc_name) in [("network", "net"), ("uts", "uts"), ("ipc", "ipc")] {
        let path = format!("/proc/{a_pid}/ns/{proc_name}");
        b.config.namespace(kind, Some(&path));
    }
    let r = rt.run_probe(&b, &[]);
    for kind in ["net", "uts", "ipc"] {
        assert_eq!(
            ns_inode(&r, kind),
            proc_ns_inode(&a_pid, kind),
            "{kind} must be A's"
        );
    }
    // The namespaces B made itself are its own.
    for kind in ["pid", "mnt"] {
        assert_ne!(ns_inode(&r, kind), proc_ns_inode(&a_pid, kind), "{kind}");
    }
    rt.kill(&a_id, Some("KILL")).ok();
    rt.wait_status(&a_id, "stopped", Duration::from_secs(5));
    rt.delete(&a_id).ok();
    runtime_tests::assert_nothing_left(&a, &rt, &a_id);
}

//! Differential tests: the same bundle run under the runtime under test and under runc
//! must produce the same probe report, once what must differ is normalised away (temp
//! paths, container ids, namespace inodes → "host"/"new", mount ids, pipe numbers, cgroup
//! lines). With NOOK_RUNTIME=runc this is a runc-vs-runc self-check of the method.

use std::fs;

use runtime_tests::diff::{assert_same, normalise, Placeholders};
use runtime_tests::{
    mode, skip, skip_if_only_root_mapped, skip_in_userns, Bundle, ConfigExt, Mode, Runtime,
};
use serde_json::Value;

/// Run `/probe` in a bundle prepared by `edit` under `rt`; return the normalised report.
fn report_under(rt: &Runtime, edit: &dyn Fn(&mut Bundle)) -> Value {
    let mut b = Bundle::new();
    edit(&mut b);
    b.save_probe_args(&[]);
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    out.ok();
    let report = out.json().unwrap_or_else(|| panic!("no report:\n{out}"));
    let places = Placeholders::new()
        .add(b.path(), "bundle")
        .add(rt.dir(), "runtime")
        .add_text(&id, "id");
    normalise(&report, &places)
}

fn differential(case: &str, edit: &dyn Fn(&mut Bundle)) {
    let mut under_test = report_under(&Runtime::under_test(), edit);
    let mut oracle = report_under(&Runtime::runc(), edit);
    if mode() == Mode::Rootless {
        rootless_divergences(&mut under_test, &mut oracle);
    }
    assert_same(case, &under_test, &oracle);
}

/// DIVERGENCE (rootless, no cgroup of its own): runc 1.1 binds the caller's cgroup in every
/// v1 hierarchy (here each hierarchy's root) under /sys/fs/cgroup; nook binds only a
/// container's own cgroup directories, so the tmpfs stays empty. And runc never calls
/// setgroups(2) rootless: its process keeps the caller's supplementary groups as mapped,
/// where nook sets the configured ones.
fn rootless_divergences(ours: &mut Value, runc: &mut Value) {
    for r in [&mut *ours, &mut *runc] {
        if let Some(m) = r["mounts"].as_object_mut() {
            m.retain(|k, _| !k.starts_with("/sys/fs/cgroup/"));
        }
    }
    let configured = ours["groups"].clone();
    runc["groups"] = configured;
}

#[test]
fn diff_default_config() {
    // runc spec's capabilities verbatim: ambient listed without inheritable.
    differential("default", &|_| {});
}

#[test]
fn diff_hostname() {
    differential("hostname", &|b| {
        b.config.hostname("differential-host");
    });
}

#[test]
fn diff_user_with_additional_gids() {
    skip_if_only_root_mapped!("uid 1000 and gids 29, 2000 are not mapped");
    if mode() == Mode::Rootless {
        // isolation::user_group_and_additional_groups covers nook's side.
        skip!("runc 1.1 refuses additionalGids rootless (\"cannot set any additional groups in a rootless container\")");
    }
    differential("user", &|b| {
        b.config.user(1000, 1000, &[29, 2000]);
    });
}

#[test]
fn diff_reduced_caps() {
    differential("caps", &|b| {
        b.config.caps(&["CAP_CHOWN", "CAP_KILL"]);
    });
}

#[test]
fn diff_no_new_privileges_off_and_oom() {
    differential("nnp-off", &|b| {
        b.config.no_new_privileges(false).oom_score_adj(200);
    });
}

#[test]
fn diff_rlimits() {
    differential("rlimits", &|b| {
        b.config
            .rlimit("RLIMIT_NOFILE", 100, 200)
            .rlimit("RLIMIT_NPROC", 300, 400)
            .rlimit("RLIMIT_CORE", 0, 0);
    });
}

#[test]
fn diff_readonly_root() {
    differential("readonly-root", &|b| {
        b.config.root_readonly(true);
    });
}

#[test]
fn diff_extra_tmpfs() {
    differential("tmpfs", &|b| {
        b.config
            .add_mount("/mnt/t", "tmpfs", "tmpfs", &["nosuid", "nodev", "size=2m"]);
    });
}

#[test]
fn diff_extra_ro_bind() {
    differential("ro-bind", &|b| {
        let src = b.host_dir("bind-src");
        fs::write(src.join("f"), "x").unwrap();
        b.config
            .add_mount("/mnt/ro", "bind", &src.to_string_lossy(), &["rbind", "ro"]);
    });
}

#[test]
fn diff_masked_and_readonly_paths() {
    differential("masked-readonly", &|b| {
        b.config
            .masked_paths(&["/etc/hostname", "/home", "/proc/keys"])
            .readonly_paths(&["/etc", "/proc/sys", "/proc/bus"]);
    });
}

#[test]
fn diff_umask() {
    differential("umask", &|b| {
        b.config.umask(0o077);
    });
}

#[test]
fn diff_env_and_cwd() {
    differential("env-cwd", &|b| {
        b.config
            .env(&["PATH=/bin", "ONE=1", "TWO=two words"])
            .cwd("/tmp");
    });
}

#[test]
fn diff_sysctl_and_hostname() {
    differential("sysctl", &|b| {
        b.config
            .sysctl("kernel.shmmax", "65536")
            .hostname("with-sysctl");
    });
}

#[test]
fn diff_device_and_host_network() {
    skip_in_userns!("sysfs cannot be mounted for the host's network namespace from here");
    differential("device-hostnet", &|b| {
        b.config
            .add_device("/dev/fuse", "c", 10, 229, 0o666)
            .remove_namespace("network");
    });
}

#[test]
fn diff_rootfs_propagation_slave() {
    differential("propagation", &|b| {
        b.config
            .set("/linux/rootfsPropagation", serde_json::json!("rslave"));
    });
}

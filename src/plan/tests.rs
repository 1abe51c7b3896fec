use super::*;
use crate::host::{CgroupLayout, Host};
use serde_json::json;

fn host(cgroups: CgroupLayout) -> Host {
    Host {
        euid: 0,
        egid: 0,
        in_userns: false,
        delegation: None,
        cgroups,
        exe: PathBuf::from("/usr/bin/nook-runtime"),
    }
}

/// The plan of container `c1` in bundle /b on a cgroup v2 host, as root.
fn build(v: serde_json::Value) -> Result<Plan> {
    build_on(v, &host(CgroupLayout::Unified))
}

/// The plan of container `c1` in bundle /b for `config` on host `h`.
fn build_on(config: serde_json::Value, h: &Host) -> Result<Plan> {
    let spec = crate::spec::parse(config.to_string().as_bytes()).unwrap();
    Plan::build("c1", Path::new("/b"), &spec, h, &LaunchOptions::default())
}

fn base() -> serde_json::Value {
    crate::spec::default_spec(false, 0, 0)
}

#[test]
fn rootfs_is_relative_to_the_bundle() {
    let p = build(base()).unwrap();
    assert_eq!(p.rootfs, PathBuf::from("/b/rootfs"));
    assert!(p.rootfs_readonly);
    assert_eq!(p.hostname.as_deref(), Some("nook"));
}

#[test]
fn namespaces_are_ordered_user_first_mount_last() {
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"},
        {"type": "user"}, {"type": "pid"}]);
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    let p = build(v).unwrap();
    let kinds: Vec<NsKind> = p.namespaces.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        vec![NsKind::User, NsKind::Pid, NsKind::Net, NsKind::Mount]
    );
    assert_eq!(
        p.namespaces[2].path.as_deref(),
        Some(Path::new("/proc/1/ns/net"))
    );
    assert!(p.has_new(NsKind::User) && !p.has_new(NsKind::Net) && p.has(NsKind::Net));
    let maps = p.id_maps.unwrap();
    assert_eq!(IdMaps::render(&maps.uid), "0 1000 10\n");
    assert_eq!(
        p.device_method,
        DeviceMethod::Bind,
        "mknod is refused inside a new user namespace"
    );
}

#[test]
fn new_user_namespace_needs_maps() {
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "user"}]);
    v.as_object_mut().unwrap().remove("hostname");
    let err = build(v).unwrap_err().to_string();
    assert_eq!(
        err,
        "config.json: linux.uidMappings: a new user namespace needs uid mappings"
    );
}

#[test]
fn mount_options_split_into_flags_propagation_and_data() {
    let p = build(base()).unwrap();
    let dev = p
        .mounts
        .iter()
        .find(|m| m.dest == Path::new("/dev"))
        .unwrap();
    assert_eq!(
        dev.kind,
        MountKind::Fs {
            fstype: "tmpfs".into()
        }
    );
    assert_eq!(dev.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
    assert_eq!(dev.data, "mode=755,size=65536k");
    let cg = p
        .mounts
        .iter()
        .find(|m| m.dest == Path::new("/sys/fs/cgroup"))
        .unwrap();
    assert_eq!(
        cg.kind,
        MountKind::Fs {
            fstype: "cgroup2".into()
        }
    );

    let mut v = base();
    v["mounts"] = json!([{"destination": "/data", "type": "bind", "source": "data",
        "options": ["rbind", "ro", "nosuid", "rprivate"]}]);
    let p = build(v).unwrap();
    let m = &p.mounts[0];
    assert_eq!(
        m.source.as_deref(),
        Some(Path::new("/b/data")),
        "relative bind sources are bundle-relative"
    );
    assert_eq!(m.kind, MountKind::Bind { recursive: true });
    assert!(m.flags.contains(MsFlags::MS_RDONLY | MsFlags::MS_NOSUID));
    assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
    assert!(m.needs_bind_remount());
}

#[test]
fn cgroup_mount_on_hybrid_host_binds_controllers() {
    let h = host(CgroupLayout::Legacy {
        controllers: vec!["memory".into(), "pids".into()],
    });
    let p = build_on(base(), &h).unwrap();
    let cg = p
        .mounts
        .iter()
        .find(|m| m.dest == Path::new("/sys/fs/cgroup"))
        .unwrap();
    assert_eq!(
        cg.kind,
        MountKind::CgroupV1 {
            controllers: vec!["memory".into(), "pids".into()]
        }
    );
}

#[test]
fn devices_default_and_override() {
    let mut v = base();
    v["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}]);
    let p = build(v).unwrap();
    assert_eq!(p.devices.len(), DEFAULT_DEVICES.len() + 1);
    let fuse = p
        .devices
        .iter()
        .find(|d| d.path == Path::new("/dev/fuse"))
        .unwrap();
    assert_eq!(
        (fuse.kind, fuse.major, fuse.minor, fuse.mode),
        (DeviceKind::Char, 10, 229, 0o640)
    );
    let null = p
        .devices
        .iter()
        .find(|d| d.path == Path::new("/dev/null"))
        .unwrap();
    assert_eq!(null.mode, 0o600);
    assert_eq!(p.device_method, DeviceMethod::Mknod);

    let mut v = base();
    v["linux"]["devices"] = json!([{"path": "/etc/evil", "type": "c", "major": 1, "minor": 1}]);
    assert!(build(v)
        .unwrap_err()
        .to_string()
        .starts_with("config.json: linux.devices[0].path:"));
}

#[test]
fn capabilities_become_masks() {
    let p = build(base()).unwrap();
    let c = p.process.caps.unwrap();
    let want = (1u64 << 29) | (1 << 5) | (1 << 10); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
    assert_eq!(
        (c.bounding, c.effective, c.permitted, c.ambient),
        (want, want, want, want)
    );
    assert_eq!(c.inheritable, 0);
    let mut v = base();
    v["process"].as_object_mut().unwrap().remove("capabilities");
    assert_eq!(build(v).unwrap().process.caps, None);
}

#[test]
fn rlimits_are_checked() {
    let p = build(base()).unwrap();
    assert_eq!(p.process.rlimits[0].resource, libc::RLIMIT_NOFILE as i32);
    assert_eq!(
        (p.process.rlimits[0].soft, p.process.rlimits[0].hard),
        (1024, 1024)
    );
    let mut v = base();
    v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]);
    let err = build(v).unwrap_err().to_string();
    assert!(
        err.starts_with("config.json: process.rlimits[0]: RLIMIT_NOFILE: soft limit 10"),
        "{err}"
    );
}

#[test]
fn v2_device_rules_become_a_program_not_a_note() {
    let p = build(base()).unwrap();
    assert!(
        !p.not_applied
            .iter()
            .any(|n| n.starts_with("linux.resources.devices")),
        "{:?}",
        p.not_applied
    );
    let prog = p.cgroup.device_program.expect("a device program on v2");
    assert!(prog.len() > 20, "{prog:?}");
    let v1 = host(CgroupLayout::Legacy {
        controllers: vec!["devices".into()],
    });
    let p = build_on(base(), &v1).unwrap();
    assert_eq!(p.cgroup.device_program, None);
}

#[test]
fn cgroup_defaults_to_the_id_with_device_rules_on_v1() {
    let p = build(base()).unwrap();
    assert_eq!(p.cgroup.path, cgroup::CgroupPath::Relative("c1".into()));
    let h = host(CgroupLayout::Legacy {
        controllers: vec!["devices".into()],
    });
    let p = build_on(base(), &h).unwrap();
    assert_eq!(p.cgroup.writes[0].file, "devices.deny");
    assert!(p.cgroup.writes.iter().any(|w| w.value == "c 1:3 rwm"));
}

#[test]
fn rootless_needs_a_user_namespace_and_gets_the_hosts_sys_without_a_netns() {
    let mut user = host(CgroupLayout::None);
    user.euid = 1000;
    user.egid = 1000;
    user.delegation = Some(crate::subid::Delegation::default());
    let e = build_on(base(), &user).unwrap_err().to_string();
    assert!(
        e.starts_with("linux.namespaces: running as uid 1000 needs a user namespace"),
        "{e}"
    );
    let rootless = crate::spec::default_spec(true, 1000, 1000);
    let p = build_on(rootless.clone(), &user).unwrap();
    // runc's rootless spec binds /sys already; a sysfs mount without a netns becomes one too.
    let mut v = rootless;
    v["mounts"][5] = json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                            "options": ["nosuid", "noexec", "nodev", "ro"]});
    let q = build_on(v, &user).unwrap();
    for plan in [&p, &q] {
        let sys = plan
            .mounts
            .iter()
            .find(|m| m.dest == Path::new("/sys"))
            .unwrap();
        assert_eq!(sys.kind, MountKind::Bind { recursive: true });
        assert_eq!(sys.source.as_deref(), Some(Path::new("/sys")));
        assert!(sys.flags.contains(MsFlags::MS_RDONLY | MsFlags::MS_NOSUID));
    }
    let maps = p.id_maps.unwrap();
    assert_eq!(
        maps.gid_writer,
        MapWriter::Direct {
            deny_setgroups: true
        }
    );
}

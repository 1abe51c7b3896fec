//! The container's filesystem: masked and read-only paths, bind mount options, tmpfs,
//! devices, the default /dev, and a read-only root.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use nix::sys::stat::{makedev, mknod, Mode as FileMode, SFlag};
use runtime_tests::report::{access, expect_mount, has_option};
use runtime_tests::{mode, skip, skip_in_userns, Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

/// A file or directory is masked when it cannot be read or reads as empty.
fn assert_masked(answer: &Value, path: &str) {
    let a = access(answer, path);
    if a["exists"] == false {
        return;
    }
    let readable = a["read"] == "ok";
    assert!(
        !readable || a["bytes"] == 0,
        "{path} is not masked (read {} with {} bytes/entries)",
        a["read"],
        a["bytes"]
    );
}

#[test]
fn default_masked_paths_are_unreadable() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let paths = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/acpi",
        "/sys/firmware",
    ];
    let mut args = vec!["access"];
    args.extend(paths);
    let r = rt.run_probe(&b, &args);
    for p in paths {
        assert_masked(&r, p);
    }
    // /sys/firmware has entries on this host: masked, it is empty.
    assert_eq!(access(&r, "/sys/firmware")["bytes"], 0);
}

#[test]
fn masked_paths_from_config_file_and_dir() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    fs::write(b.in_rootfs("/etc/secret"), "top secret\n").unwrap();
    fs::create_dir_all(b.in_rootfs("/srv/hidden")).unwrap();
    fs::write(b.in_rootfs("/srv/hidden/a"), "a").unwrap();
    b.config.masked_paths(&["/etc/secret", "/srv/hidden"]);
    let r = rt.run_probe(&b, &["access", "/etc/secret", "/srv/hidden", "/etc/passwd"]);
    assert_eq!(access(&r, "/etc/secret")["exists"], true);
    assert_masked(&r, "/etc/secret");
    assert_eq!(access(&r, "/srv/hidden")["kind"], "dir");
    assert_eq!(access(&r, "/srv/hidden")["bytes"], 0, "masked dir is empty");
    // Unmasked neighbours are untouched.
    assert_eq!(access(&r, "/etc/passwd")["read"], "ok");
    assert_ne!(access(&r, "/etc/passwd")["bytes"], 0);
}

#[test]
fn readonly_paths_reject_writes() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config
        .readonly_paths(&["/proc/sys", "/proc/sysrq-trigger", "/etc"]);
    let r = rt.run_probe(&b, &["access", "/proc/sys/kernel/shmmax", "/etc", "/tmp"]);
    assert_eq!(access(&r, "/proc/sys/kernel/shmmax")["write"], "EROFS");
    assert_eq!(access(&r, "/proc/sys/kernel/shmmax")["read"], "ok");
    assert_eq!(access(&r, "/etc")["write"], "EROFS");
    assert_eq!(
        access(&r, "/tmp")["write"],
        "ok",
        "the rest of the root stays writable"
    );
}

#[test]
fn bind_mount_read_only() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let src = b.host_dir("ro-src");
    fs::write(src.join("file"), "data").unwrap();
    b.config
        .add_mount("/mnt/ro", "bind", &src.to_string_lossy(), &["rbind", "ro"]);
    let r = rt.run_probe(&b, &["access", "/mnt/ro/file", "/mnt/ro"]);
    assert_eq!(access(&r, "/mnt/ro/file")["read"], "ok");
    assert_eq!(access(&r, "/mnt/ro/file")["bytes"], 4);
    assert_eq!(access(&r, "/mnt/ro/file")["write"], "EROFS");
    assert_eq!(access(&r, "/mnt/ro")["write"], "EROFS");
    assert_eq!(fs::read_to_string(src.join("file")).unwrap(), "data");
}

#[test]
fn bind_mount_nosuid_is_in_the_options() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let src = b.host_dir("nosuid-src");
    b.config.add_mount(
        "/mnt/nosuid",
        "bind",
        &src.to_string_lossy(),
        &["bind", "nosuid"],
    );
    let r = rt.run_probe(&b, &[]);
    let m = expect_mount(&r, "/mnt/nosuid");
    assert!(has_option(m, "nosuid"), "{m}");
    assert!(has_option(m, "rw"), "{m}");
}

#[test]
fn bind_mount_nodev_blocks_device_nodes() {
    skip_in_userns!("mknod of a character device needs real root");
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let src = b.host_dir("dev-src");
    let node = src.join("null-copy");
    if let Err(e) = mknod(
        &node,
        SFlag::S_IFCHR,
        FileMode::from_bits_truncate(0o666),
        makedev(1, 3),
    ) {
        skip!("cannot mknod {}: {e}", node.display());
    }
    b.config
        .add_mount(
            "/mnt/nodev",
            "bind",
            &src.to_string_lossy(),
            &["bind", "nodev"],
        )
        .add_mount("/mnt/dev-ok", "bind", &src.to_string_lossy(), &["bind"]);
    let r = rt.run_probe(
        &b,
        &["access", "/mnt/nodev/null-copy", "/mnt/dev-ok/null-copy"],
    );
    let blocked = access(&r, "/mnt/nodev/null-copy");
    assert_eq!(blocked["kind"], "char");
    assert_eq!(blocked["rdev"], json!([1, 3]));
    assert_eq!(blocked["read"], "EACCES");
    // Control: the same node through a mount without nodev opens.
    assert_eq!(access(&r, "/mnt/dev-ok/null-copy")["read"], "ok");
}

#[test]
fn bind_mount_noexec_blocks_execution() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let src = b.host_dir("noexec-src");
    fs::copy("/bin/busybox", src.join("busybox")).unwrap();
    fs::set_permissions(src.join("busybox"), fs::Permissions::from_mode(0o755)).unwrap();
    b.config.add_mount(
        "/mnt/noexec",
        "bind",
        &src.to_string_lossy(),
        &["rbind", "noexec"],
    );
    let r = rt.run_probe(&b, &["run", "/mnt/noexec/busybox", "true"]);
    assert_eq!(r["exec_errno"], "EACCES", "{r}");
    // Control: the rootfs copy runs.
    let r = rt.run_probe(&b, &["run", "/bin/busybox", "true"]);
    assert_eq!(r["exec_errno"], Value::Null, "{r}");
    assert_eq!(r["status"], 0, "{r}");
}

#[test]
fn tmpfs_mount_with_options() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    // runc 1.1 chmods a tmpfs root to the mode of the directory it is mounted on (so that
    // e.g. a tmpfs on /tmp keeps 1777), which overrides `mode=`; a mount point with the
    // same mode keeps both behaviours in agreement.
    let point = b.in_rootfs("/mnt/scratch");
    fs::create_dir_all(&point).unwrap();
    fs::set_permissions(&point, fs::Permissions::from_mode(0o1770)).unwrap();
    b.config.add_mount(
        "/mnt/scratch",
        "tmpfs",
        "tmpfs",
        &["nosuid", "nodev", "mode=1770", "size=1m"],
    );
    let r = rt.run_probe(&b, &[]);
    let m = expect_mount(&r, "/mnt/scratch");
    assert_eq!(m["fstype"], "tmpfs");
    for opt in ["nosuid", "nodev", "size=1024k", "mode=1770"] {
        assert!(has_option(m, opt), "{opt} missing: {m}");
    }
    let r = rt.run_probe(&b, &["access", "/mnt/scratch"]);
    assert_eq!(access(&r, "/mnt/scratch")["mode"], 0o1770);
    assert_eq!(access(&r, "/mnt/scratch")["write"], "ok");
}

#[test]
fn devices_from_config_fuse() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.add_device("/dev/fuse", "c", 10, 229, 0o640);
    let r = rt.run_probe(&b, &["access", "/dev/fuse"]);
    let fuse = access(&r, "/dev/fuse");
    assert_eq!(fuse["kind"], "char");
    assert_eq!(fuse["rdev"], json!([10, 229]));
    if mode().in_userns() {
        // No mknod here: the host's node is bind-mounted, with the host's mode.
        let host = fs::metadata("/dev/fuse").unwrap().permissions().mode() & 0o7777;
        assert_eq!(fuse["mode"], host);
    } else {
        assert_eq!(fuse["mode"], 0o640);
        assert_eq!(fuse["uid"], 0);
    }
}

#[test]
fn devices_from_config_custom_node() {
    skip_in_userns!("a custom node needs mknod; runc binds a host node of the same path, and /dev/nook-null has none");
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.add_device("/dev/nook-null", "c", 1, 3, 0o600);
    let r = rt.run_probe(&b, &["access", "/dev/nook-null"]);
    let d = access(&r, "/dev/nook-null");
    assert_eq!(d["kind"], "char");
    assert_eq!(d["rdev"], json!([1, 3]));
    assert_eq!(d["mode"], 0o600);
    assert_eq!(d["read"], "ok", "allowed by the device rule added with it");
}

#[test]
fn default_dev_nodes() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let nodes = [
        ("/dev/null", [1, 3]),
        ("/dev/zero", [1, 5]),
        ("/dev/full", [1, 7]),
        ("/dev/random", [1, 8]),
        ("/dev/urandom", [1, 9]),
        ("/dev/tty", [5, 0]),
    ];
    let mut args = vec!["access", "/dev/shm", "/dev/pts/ptmx"];
    args.extend(nodes.iter().map(|(p, _)| *p));
    let r = rt.run_probe(&b, &args);
    for (path, rdev) in nodes {
        let a = access(&r, path);
        assert_eq!(a["kind"], "char", "{path}: {a}");
        assert_eq!(a["rdev"], json!(rdev), "{path}");
        assert_eq!(a["mode"], 0o666, "{path}");
    }
    assert_eq!(access(&r, "/dev/pts/ptmx")["rdev"], json!([5, 2]));
    assert_eq!(access(&r, "/dev/shm")["kind"], "dir");
    let r = rt.run_probe(&b, &[]);
    assert_eq!(expect_mount(&r, "/dev/shm")["fstype"], "tmpfs");
    assert_eq!(expect_mount(&r, "/dev/pts")["fstype"], "devpts");
    assert_eq!(expect_mount(&r, "/dev")["fstype"], "tmpfs");
}

#[test]
fn default_dev_links() {
    // The probe reports no link targets, so busybox's readlink prints them.
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.args(&[
        "/bin/sh",
        "-c",
        "for l in ptmx fd stdin stdout stderr; do echo \"$l=$(readlink /dev/$l)\"; done",
    ]);
    let id = rt.new_id();
    let out = rt.run(&b, &id, &[]);
    out.ok();
    for want in [
        "ptmx=pts/ptmx",
        "fd=/proc/self/fd",
        "stdin=/proc/self/fd/0",
        "stdout=/proc/self/fd/1",
        "stderr=/proc/self/fd/2",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == want),
            "{want} missing:\n{out}"
        );
    }
}

#[test]
fn readonly_root() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.root_readonly(true);
    let r = rt.run_probe(&b, &["access", "/", "/etc/passwd", "/dev/shm"]);
    assert_eq!(access(&r, "/")["write"], "EROFS");
    assert_eq!(access(&r, "/etc/passwd")["write"], "EROFS");
    assert_eq!(access(&r, "/etc/passwd")["read"], "ok");
    assert_eq!(
        access(&r, "/dev/shm")["write"],
        "ok",
        "mounts on top stay writable"
    );
    let r = rt.run_probe(&b, &[]);
    assert!(has_option(expect_mount(&r, "/"), "ro"));
}

/// A masked path that is a symlink is not followed: what it points to stays
/// as it was (runc 1.1.5 follows it and masks the target; the CVE-2025-31133
/// fixes hold targets by fd, as nook does).
#[test]
fn a_masked_symlink_is_not_followed() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    std::os::unix::fs::symlink("/etc/passwd", b.in_rootfs("/etc/passwd-link")).unwrap();
    b.config.masked_paths(&["/etc/passwd-link"]);
    let r = rt.run_probe(&b, &["access", "/etc/passwd"]);
    assert_eq!(access(&r, "/etc/passwd")["read"], "ok");
    assert_ne!(
        access(&r, "/etc/passwd")["bytes"],
        0,
        "the target was masked"
    );
}

//! `nook run`'s configuration flags, checked from inside the container (the
//! probe's report, or the file the kernel shows) and from the host: -v and
//! --mount, named volumes, --read-only, --ulimit, --env-file, --network; each bad
//! flag refused with one line, exit 125 and nothing left behind. Capabilities,
//! --privileged and --security-opt are in front_security.rs; limits and `nook
//! stats` in front_limits.rs.

#[allow(dead_code)]
mod images_support;
// Shared with front_security.rs, front_limits.rs and front_isolation.rs;
// this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod config_support;

use config_support::{assert_nothing_left, container_cgroups, probe, serial};
use runtime_tests::report::{expect_mount, has_option, ns_inode, proc_ns_inode, rlimit};
use serde_json::Value;

#[test]
fn volume_rw_and_ro_binds() {
    let _s = serial();
    let n = setup!();
    let host = config_support::Scratch::new("flags-bind");
    std::fs::write(host.join("in"), "from host").unwrap();
    let spec = format!("{}:/data", host.display());
    let out = n.ok(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "cat /data/in; echo written > /data/out",
    ]);
    assert_eq!(out, "from host");
    assert_eq!(
        std::fs::read_to_string(host.join("out")).unwrap(),
        "written\n"
    );
    let ro = format!("{}:/data:ro", host.display());
    let o = n.run(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "/probe",
        "write",
        "/data/out",
        "x",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("EROFS"),
        "a write to a :ro volume: {}",
        o.stdout
    );
    assert_eq!(
        std::fs::read_to_string(host.join("out")).unwrap(),
        "written\n"
    );
}

#[test]
fn mount_bind_and_tmpfs() {
    let _s = serial();
    let n = setup!();
    let host = config_support::Scratch::new("flags-mount");
    let bind = format!("type=bind,src={},dst=/b,readonly", host.display());
    let r = probe(
        &n,
        &[
            "--mount",
            &bind,
            "--mount",
            "type=tmpfs,destination=/t,tmpfs-size=1m",
            "--tmpfs",
            "/run2",
        ],
    );
    let b = expect_mount(&r, "/b");
    assert!(has_option(b, "ro"), "{b}");
    let t = expect_mount(&r, "/t");
    assert_eq!(t["fstype"], "tmpfs");
    assert!(has_option(t, "size=1024k"), "{t}");
    assert_eq!(expect_mount(&r, "/run2")["fstype"], "tmpfs");
}

#[test]
fn named_volume_persists_across_runs() {
    let _s = serial();
    let n = setup!();
    n.ok(&[
        "run",
        "--rm",
        "-v",
        "keep:/v",
        "busybox",
        "sh",
        "-c",
        "echo kept > /v/f",
    ]);
    let out = n.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,source=keep,target=/w",
        "busybox",
        "cat",
        "/w/f",
    ]);
    assert_eq!(out, "kept\n");
    assert!(n.ok(&["volume", "ls", "-q"]).lines().any(|l| l == "keep"));
    let info: Value = serde_json::from_str(&n.ok(&["volume", "inspect", "keep"])).unwrap();
    assert_eq!(
        info[0]["Mountpoint"],
        n.root.join("volumes/keep/_data").display().to_string()
    );
    n.ok(&["volume", "rm", "keep"]);
    assert!(!n.root.join("volumes/keep").exists());
    // A new volume gets the image's content at its target (docker's copy-up), unless nocopy.
    let out = n.ok(&[
        "run",
        "--rm",
        "-v",
        "etc:/etc",
        "busybox",
        "sh",
        "-c",
        "ls /etc/passwd",
    ]);
    assert_eq!(out, "/etc/passwd\n");
    assert!(n.root.join("volumes/etc/_data/passwd").is_file());
    n.ok(&["run", "--rm", "-v", "empty:/etc:nocopy", "busybox", "true"]);
    assert!(!n.root.join("volumes/empty/_data/passwd").exists());
    // In use by a container (kept without --rm): rm refused, -f removes it.
    n.ok(&["run", "-v", "used:/u", "busybox", "true"]);
    let o = n.run(&["volume", "rm", "used"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(o.stderr.contains("in use"), "{}", o.stderr);
    n.ok(&["volume", "rm", "-f", "used"]);
    // prune: unused anonymous volumes only (named ones too with -a).
    // (--rm would take its anonymous volume with it: `rm` without -v leaves it.)
    n.ok(&["run", "--name", "anon", "-v", "/anon", "busybox", "true"]);
    n.ok(&["rm", "anon"]);
    let before = n.ok(&["volume", "ls", "-q"]).lines().count();
    let pruned = n.ok(&["volume", "prune", "-f"]);
    assert_eq!(pruned.lines().count(), 2, "one anonymous volume: {pruned}");
    assert_eq!(n.ok(&["volume", "ls", "-q"]).lines().count(), before - 1);
}

#[test]
fn read_only_rootfs() {
    let _s = serial();
    let n = setup!();
    let o = n.run(&[
        "run",
        "--rm",
        "--read-only",
        "busybox",
        "/probe",
        "write",
        "/newfile",
        "x",
    ]);
    assert!(o.stdout.contains("EROFS"), "{}", o.stdout);
    let r = probe(&n, &["--read-only"]);
    assert!(has_option(expect_mount(&r, "/"), "ro"));
}

#[test]
fn ulimit_and_env_file() {
    let _s = serial();
    let n = setup!();
    let r = probe(&n, &["--ulimit", "nofile=100:200", "--ulimit", "core=0"]);
    assert_eq!(rlimit(&r, "RLIMIT_NOFILE"), (100, 200));
    assert_eq!(rlimit(&r, "RLIMIT_CORE"), (0, 0));
    let dir = config_support::Scratch::new("flags-env");
    std::fs::write(dir.join("e"), "# comment\nA=from file\n\nB=b=c\nC=1\n").unwrap();
    let f = dir.join("e").display().to_string();
    let out = n.ok(&[
        "run",
        "--rm",
        "--env-file",
        &f,
        "-e",
        "C=2",
        "busybox",
        "sh",
        "-c",
        "echo $A; echo $B; echo $C",
    ]);
    assert_eq!(out, "from file\nb=c\n2\n");
}

#[test]
fn network_none_is_private_and_host_is_shared() {
    let _s = serial();
    let n = setup!();
    let host = proc_ns_inode("self", "net");
    for mode in [None, Some("none"), Some("private")] {
        let flags: Vec<&str> = mode.map(|m| vec!["--network", m]).unwrap_or_default();
        let r = probe(&n, &flags);
        assert_ne!(ns_inode(&r, "net"), host, "{mode:?}: own network namespace");
    }
    let r = probe(&n, &["--network", "host"]);
    assert_eq!(ns_inode(&r, "net"), host);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        r["hostname"],
        hostname.trim(),
        "docker: the host's name on its network"
    );
    let out = n.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["lo"],
        "loopback only"
    );
}

#[test]
fn bad_flags_are_one_line_125_and_leave_nothing() {
    let _s = serial();
    let n = setup!();
    let cases: &[(&[&str], &str)] = &[
        (
            &["-v", "relative:/x:zz"],
            "--volume \"relative:/x:zz\": invalid mode",
        ),
        (&["-v", "./rel:/x"], "--volume \"./rel:/x\""),
        (&["-v", "/tmp:x"], "must be absolute"),
        (
            &["--mount", "type=bind,source=/tmp,target=/x,bogus=1"],
            "unexpected key 'bogus'",
        ),
        (
            &["--mount", "type=bind,source=/nonexistent-flags,target=/x"],
            "does not exist",
        ),
        (
            &["--cap-add", "NOT_A_CAP"],
            "--cap-add \"NOT_A_CAP\": unknown capability",
        ),
        (&["--cap-drop", "bogus"], "--cap-drop \"bogus\""),
        (&["--memory", "12q"], "--memory \"12q\""),
        (&["--memory-swap", "1g"], "--memory-swap"),
        (&["--cpus", "1000"], "--cpus \"1000\""),
        (&["--ulimit", "nofile=10:5"], "--ulimit"),
        (&["--network", "bridge"], "--network \"bridge\""),
        (
            &["--security-opt", "seccomp=/nonexistent-flags.json"],
            "--security-opt",
        ),
        (&["--env-file", "/nonexistent-flags.env"], "--env-file"),
    ];
    for (flags, want) in cases {
        let before = container_cgroups();
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let o = n.run(&args);
        assert_eq!(o.code, 125, "{flags:?}: {}", o.stderr);
        assert_eq!(
            o.stderr.trim().lines().count(),
            1,
            "{flags:?}: one line: {}",
            o.stderr
        );
        assert!(
            o.stderr.contains(want),
            "{flags:?}: {:?} lacks {want:?}",
            o.stderr
        );
        assert_nothing_left(&n.root, &before);
    }
}

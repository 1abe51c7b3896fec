//! `nook run`'s security flags, read back from the probe's report inside the
//! container: --cap-add/--cap-drop (CapEff/CapBnd), --privileged (every
//! capability, no seccomp, no masked paths, the host's devices), and
//! --security-opt (seccomp unconfined or a custom profile, no-new-privileges).

#[allow(dead_code)]
mod images_support;
#[allow(dead_code)]
#[macro_use]
mod config_support;

use config_support::{probe, serial};
use runtime_tests::caps::{cap_mask, report_caps};
use runtime_tests::report::{expect_mount, has_option};

#[test]
fn cap_add_and_drop_read_back() {
    let _s = serial();
    let n = setup!();
    let r = probe(&n, &["--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN"]);
    let docker = cap_mask(&config_support::DOCKER_CAPS);
    let want = (docker | cap_mask(&["CAP_NET_ADMIN"])) & !cap_mask(&["CAP_CHOWN"]);
    assert_eq!(report_caps(&r, "effective"), want);
    assert_eq!(report_caps(&r, "bounding"), want);
    let r = probe(&n, &["--cap-drop", "ALL", "--cap-add", "KILL"]);
    assert_eq!(report_caps(&r, "effective"), cap_mask(&["CAP_KILL"]));
}

#[test]
fn privileged_has_every_cap_no_seccomp_no_masks_and_host_devices() {
    let _s = serial();
    let n = setup!();
    let r = probe(&n, &["--privileged"]);
    // As a user, nook runs in a user namespace of its own, whose creation
    // gives it the full bounding set (user_namespaces(7)): every capability
    // the kernel knows, over that namespace only. As root (or under
    // `unshare -r`, already in one), the bounding set the test has.
    let want = if runtime_tests::mode() == runtime_tests::Mode::Rootless {
        let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (1u64 << (last + 1)) - 1
    } else {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let bnd = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim()
            .to_string();
        u64::from_str_radix(&bnd, 16).unwrap()
    };
    assert_eq!(report_caps(&r, "effective"), want);
    assert_eq!(r["seccomp"], 0);
    let masked = r["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["target"] == "/proc/keys");
    assert!(!masked, "no masked paths with --privileged");
    assert!(
        !has_option(expect_mount(&r, "/sys"), "ro"),
        "/sys is writable"
    );
    let host_devs = std::fs::read_dir("/dev").unwrap().count();
    let out = n.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "ls /dev | wc -l",
    ]);
    assert!(
        out.trim().parse::<usize>().unwrap() * 2 > host_devs,
        "{out} of {host_devs}"
    );
}

#[test]
fn seccomp_unconfined_custom_profile_and_no_new_privileges() {
    let _s = serial();
    let n = setup!();
    let r = probe(&n, &[]);
    assert_eq!(r["seccomp"], 2, "the default profile");
    assert_eq!(r["no_new_privs"], false);
    let r = probe(
        &n,
        &[
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "no-new-privileges",
        ],
    );
    assert_eq!(r["seccomp"], 0);
    assert_eq!(r["no_new_privs"], true);
    let dir = config_support::Scratch::new("flags-seccomp");
    let profile = dir.join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let o = n.run(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /tmp/x; grep Seccomp: /proc/self/status",
    ]);
    assert!(o.stderr.contains("Operation not permitted"), "{}", o.stderr);
    assert!(o.stdout.contains("Seccomp:\t2"), "{}", o.stdout);
}

/// A `#!/proc/self/exe` program (CVE-2019-5736's entry) never runs nook's file on
/// the host: `__create` gives init the exec stub (container::sealing), the script
/// re-enters the stub, which stops with "Exec format error" (exit 127). Run from
/// nook's file, the script would start nook itself ("unrecognized subcommand" from
/// a static build; the loader the image lacks from a debug one). As uid 1000 with
/// docker's capabilities (not all ambient) `__create` re-executes from a sealed
/// view of nook instead, after which the snapshot is still mounted, once.
#[test]
fn a_proc_self_exe_program_never_runs_the_host_nook() {
    let _s = serial();
    let n = setup!();
    let dir = config_support::Scratch::new("nook-selfexe-");
    let script = dir.join("evil.sh");
    std::fs::write(&script, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let vol = format!("{}:/x", dir.display());
    let o = n.run(&["run", "--rm", "-v", &vol, "busybox", "/x/evil.sh", "a"]);
    assert_eq!(o.code, 127, "{}", o.stderr);
    assert!(
        o.stderr.contains("exec: \"/x/evil.sh\": Exec format error"),
        "the program did not end in the exec stub: {}",
        o.stderr
    );
    if runtime_tests::mode() == runtime_tests::Mode::Root {
        let out = n.ok(&["run", "--rm", "-u", "1000", "busybox", "ls", "/bin/busybox"]);
        assert_eq!(out, "/bin/busybox\n");
    }
}

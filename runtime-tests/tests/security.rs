//! Known container-escape classes, checked from inside a container.
//!
//! - CVE-2019-5736: a container must not be able to open the runtime binary for writing
//!   through /proc/<runtime pid>/exe while the runtime runs in its namespaces.
//! - CVE-2024-21626: no runtime fd leaks into the container, and a cwd naming such an fd
//!   (/proc/self/fd/N) can never leave the process in a host directory.
//! - Symlinked mount destinations: a destination that is a symlink to an absolute path is
//!   resolved inside the rootfs, never on the host.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use runtime_tests::env::fresh_dir;
use runtime_tests::report::mounts;
use runtime_tests::{assert_nothing_left, is_runc, Bundle, ConfigExt, Runtime};
use serde_json::json;

/// A sits in `created` (its init blocked before exec: the runtime's own code, or nook's
/// exec stub waiting at the start gate);
/// B joins A's pid namespace, where A's init is pid 1, and tries to open /proc/1/exe for
/// writing. `caps`: B's capabilities (None: the defaults).
fn open_runtime_exe_from_neighbour(caps: Option<&[&str]>) {
    if runtime_tests::mode() == runtime_tests::Mode::Rootless {
        runtime_tests::skip!(
            "a created init is non-dumpable: an unprivileged user may not open its /proc/PID/ns \
             to join it (ptrace access check), so no neighbour can reach it this way"
        );
    }
    let rt = Runtime::under_test();
    let before = fs::read(rt.binary()).expect("read the runtime binary");
    let a = Bundle::new();
    a.save_probe_args(&["sleep", "100"]);
    let a_id = rt.new_id();
    rt.create_saved(&a, &a_id, &[]).ok();
    let a_pid = rt.state_json(&a_id)["pid"].as_i64().expect("pid");
    let mut b = Bundle::new();
    b.config
        .namespace("pid", Some(&format!("/proc/{a_pid}/ns/pid")));
    if let Some(caps) = caps {
        for set in ["bounding", "effective", "permitted"] {
            b.config.cap_set(set, caps);
        }
    }
    let r = rt.run_probe(&b, &["open-write", "/proc/1/exe"]);
    // runc 1.1.5 answers ETXTBSY (its init runs from a sealed copy of itself).
    assert_ne!(
        r["result"], "ok",
        "A's init binary was opened for writing: {r}"
    );
    if caps.is_none() && !is_runc() {
        // nook's waiting init is not dumpable: without CAP_SYS_PTRACE B may not read
        // its environment, nor its fds (the host's exec.fifo, which would start A).
        // runc 1.1.5's can be read (its state dir path, its fifo fd).
        for path in ["/proc/1/environ", "/proc/1/fd/0"] {
            let r = rt.run_probe(&b, &["cat", path]);
            assert_eq!(r["error"], "EACCES", "{path} of A's init: {r}");
        }
    }
    assert_eq!(rt.status_of(&a_id).as_deref(), Some("created"));
    let after = fs::read(rt.binary()).expect("read the runtime binary again");
    assert!(before == after, "the runtime binary changed");
    rt.delete_force(&a_id).ok();
    assert_nothing_left(&a, &rt, &a_id);
}

#[test]
fn runtime_binary_not_writable_from_a_neighbour() {
    open_runtime_exe_from_neighbour(None);
}

#[test]
fn runtime_binary_not_writable_from_a_privileged_neighbour() {
    open_runtime_exe_from_neighbour(Some(&[
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_KILL",
        "CAP_SETUID",
        "CAP_SETGID",
        "CAP_SYS_ADMIN",
        "CAP_SYS_PTRACE",
    ]));
}

#[test]
fn no_runtime_fds_leak_into_run() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let r = rt.run_probe(&b, &[]);
    assert_eq!(r["fds"], json!([0, 1, 2]), "{}", r["fd_targets"]);
}

#[test]
fn no_runtime_fds_leak_into_create_start() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_probe_args(&[]);
    let id = rt.new_id();
    let created = rt.create_saved(&b, &id, &[]);
    created.ok();
    rt.start(&id).ok();
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    let r = runtime_tests::runtime::last_json_line(&created.stdout_now())
        .unwrap_or_else(|| panic!("no report:\n{created}"));
    assert_eq!(r["fds"], json!([0, 1, 2]), "{}", r["fd_targets"]);
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn cwd_through_a_leaked_fd_never_reaches_the_host() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    for fd in 3..=10 {
        b.config.cwd(&format!("/proc/self/fd/{fd}"));
        let (out, r) = rt.run_probe_output(&b, &[]);
        if !out.success() {
            // Refusing is fine (runc: "mkdir /proc/self/fd/N: not a directory").
            assert!(
                r.is_none(),
                "fd {fd}: the probe ran but the run failed:\n{out}"
            );
            continue;
        }
        let r = r.expect("report");
        let cwd = r["cwd"].as_str().unwrap_or_default();
        assert!(
            cwd.starts_with('/') && !cwd.contains("unreachable"),
            "fd {fd}: the process runs outside its root, cwd {cwd:?}"
        );
    }
}

#[test]
fn symlinked_mount_destination_stays_in_the_rootfs() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    // A host directory the symlink points at, with a marker; it must stay untouched.
    let host = fresh_dir("nook-host-");
    fs::write(host.join("marker"), "host").unwrap();
    let inside = host.to_string_lossy().into_owned();
    symlink(&inside, b.in_rootfs("/evil")).unwrap();
    b.config.add_mount("/evil", "tmpfs", "tmpfs", &["size=1m"]);

    let r = rt.run_probe(&b, &[]);
    let tmpfs_at: Vec<&str> = mounts(&r)
        .iter()
        .filter(|m| m["fstype"] == "tmpfs")
        .filter_map(|m| m["target"].as_str())
        .collect();
    assert!(
        tmpfs_at.contains(&inside.as_str()),
        "the tmpfs should be at {inside} inside the container: {tmpfs_at:?}"
    );
    let w = rt.run_probe(&b, &["write", "/evil/pwned", "x"]);
    assert_eq!(w["result"], "ok", "{w}");

    let host_entries: Vec<_> = fs::read_dir(&host)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        host_entries,
        ["marker"],
        "the host directory was written to"
    );
    assert_eq!(fs::read_to_string(host.join("marker")).unwrap(), "host");
    assert!(
        !runtime_tests::leftovers::mounts_mentioning(Path::new(&inside))
            .iter()
            .any(|l| l.split_whitespace().nth(4) == Some(inside.as_str())),
        "the host directory is a mount point"
    );
    // The write went to the tmpfs, which is gone: the rootfs copy holds nothing either.
    assert!(!b.in_rootfs(&format!("{inside}/pwned")).exists());
    fs::remove_dir_all(&host).unwrap();
}

#[test]
fn preserve_fds_with_nothing_to_preserve_leaks_nothing() {
    // The caller asks for fd 3 to be passed but has none open: whatever the runtime
    // itself opened at fd 3 must not reach the container.
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save_probe_args(&[]);
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &["--preserve-fds", "1"]);
    if !out.success() {
        return; // refusing is fine
    }
    let r = out.json().unwrap_or_else(|| panic!("no report:\n{out}"));
    if is_runc() {
        // DIVERGENCE: runc 1.1.5 hands the container its own O_PATH fd of the host's
        // /sys/fs/cgroup as fd 3 (as root); nook must not.
        return;
    }
    let extra: Vec<_> = r["fds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fd| fd.as_i64() > Some(2))
        .map(|fd| r["fd_targets"][fd.to_string()].clone())
        .collect();
    assert!(extra.is_empty(), "runtime fds leaked: {extra:?}");
}

/// A `#!/proc/self/exe` program (CVE-2019-5736's entry): init's execve of it
/// must never run the runtime's file on the host. nook's `run` goes through
/// its exec stub (a sealed memfd that only execs the program), so the script
/// runs the stub again, which stops there (exit 127, init's message for a
/// failed exec); the runtime's own command line never runs. runc runs a
/// sealed copy of itself, which refuses the arguments.
#[test]
fn a_proc_self_exe_program_never_runs_the_host_binary() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let script = b.in_rootfs("/evil.sh");
    fs::write(&script, "#!/proc/self/exe\n").unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    b.save_with(|c| c["process"]["args"] = json!(["/evil.sh"]));
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    assert_ne!(out.status, 0, "{out}");
    if !is_runc() {
        assert_eq!(out.status, 127, "{out}");
        // The stub's own refusal (ENOEXEC). Run from the runtime's file, the
        // script would print its command-line error (a static build), or
        // fail for the dynamic loader the image lacks (ENOENT: a debug build).
        assert!(
            out.stderr.contains(
                "unable to start container process: exec: \"/evil.sh\": Exec format error"
            ),
            "the program did not end in the exec stub:\n{out}"
        );
    }
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

/// The same through `create` and `start`: nook's init execs the stub before the start
/// gate and the stub waits there, so the script runs the stub again (its path first,
/// then the arguments), which stops with its message on the container's stderr
/// (create's). runc's waiting init is its sealed copy, which refuses the arguments.
#[test]
fn a_proc_self_exe_program_started_later_never_runs_the_host_binary() {
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    let script = b.in_rootfs("/evil.sh");
    fs::write(&script, "#!/proc/self/exe\n").unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    b.save_with(|c| c["process"]["args"] = json!(["/evil.sh", "a", "b"]));
    let id = rt.new_id();
    let created = rt.create_saved(&b, &id, &[]);
    created.ok();
    rt.start(&id).ok();
    let stopped = rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_eq!(stopped.as_deref(), Some("stopped"), "{created}");
    if !is_runc() {
        let stderr = created.stderr_now();
        assert!(
            stderr.contains("exec: \"/evil.sh\": Exec format error"),
            "the program did not end in the exec stub:\n{stderr}"
        );
    }
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

/// `exec` runs the runtime from a read-only overlayfs view of its binary, not from a
/// 4 MiB memfd copy made at every `exec`, wherever overlayfs takes the binary's
/// directory as a layer. The binary is copied to /tmp first (the v2 guest sees the
/// build tree over 9p, which overlayfs refuses); there the kernel (6.1) also refuses a
/// detached mount as the second layer, which the host's kernel takes
/// (`make test-cgroup2` runs this test in the guest too).
#[test]
fn exec_runs_the_runtime_from_a_read_only_overlay_of_its_binary() {
    if is_runc() {
        runtime_tests::skip!("runc 1.1.5 copies itself into a memfd by design");
    }
    if runtime_tests::mode() != runtime_tests::Mode::Root {
        runtime_tests::skip!("an overlayfs mount needs real root: elsewhere the copy is the way");
    }
    let dir = fresh_dir("nook-exe-");
    let copy = dir.join("nook-runtime");
    fs::copy(Runtime::under_test().binary(), &copy).expect("copy the runtime");
    let rt = Runtime::with_binary(&copy);
    let b = Bundle::new();
    b.save_with(|c| c["process"]["args"] = json!(["/bin/sleep", "100"]));
    let id = rt.new_id();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let mut exec = rt
        .command(&["exec", &id, "/bin/sleep", "100"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn exec");
    // Once re-executed, the runtime's exe is no longer the file it was started from.
    let link = format!("/proc/{}/exe", exec.id());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let exe = loop {
        let exe = fs::read_link(&link).unwrap_or_default();
        if exe != copy || std::time::Instant::now() > deadline {
            break exe;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let fs_type = nix::sys::statfs::statfs(Path::new(&link)).map(|s| s.filesystem_type());
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    rt.delete_force(&id).ok();
    exec.wait().ok();
    fs::remove_dir_all(&dir).ok();
    assert_nothing_left(&b, &rt, &id);
    assert_ne!(exe, copy, "exec never re-executed itself");
    if exe.to_string_lossy().starts_with("/memfd:")
        && !filesystems.lines().any(|l| l.ends_with("\toverlay"))
    {
        runtime_tests::skip!("no overlayfs in this kernel: the memfd copy is the way");
    }
    assert_eq!(
        fs_type.ok(),
        Some(nix::sys::statfs::OVERLAYFS_SUPER_MAGIC),
        "exec runs from {}, not from a read-only overlay of its binary",
        exe.display()
    );
}

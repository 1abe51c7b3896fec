//! `nook run` in the foreground, as the tutorials use it: the image's command,
//! docker's exit codes, isolation seen from inside, `-e`/`-w`/`-u`/`--entrypoint`
//! /`--hostname`, and `--rm` leaving nothing behind.

// Shared with tests/images.rs; this file uses only part of it.
#[allow(dead_code)]
mod images_support;

use images_support::nook_with_busybox;
use runtime_tests::skip;

macro_rules! setup {
    () => {{
        match nook_with_busybox() {
            Some(n) => n,
            None => skip!("fixture images missing: run `make fixtures`"),
        }
    }};
}

#[test]
fn run_is_isolated_and_returns_the_exit_code() {
    let n = setup!();
    let o = n.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "hostname; ps -o pid,args; exit 3",
    ]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines[0].len(),
        12,
        "hostname is the short id: {:?}",
        lines[0]
    );
    assert!(lines[0].chars().all(|c| c.is_ascii_hexdigit()));
    let pids: Vec<&str> = lines[2..]
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(pids[0], "1", "the command is PID 1: {}", o.stdout);
    assert_eq!(pids.len(), 2, "only the shell and ps: {}", o.stdout);
}

#[test]
fn missing_command_is_127_and_nook_errors_are_125() {
    let n = setup!();
    let o = n.run(&["run", "--rm", "busybox", "nosuchcommand"]);
    assert_eq!(o.code, 127, "{}", o.stderr);
    assert!(
        o.stderr.contains("executable file not found"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.trim().lines().count(), 1, "one line: {}", o.stderr);
    let o = n.run(&["run", "--rm", "nosuchimage"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
}

#[test]
fn env_workdir_user_entrypoint_hostname() {
    if runtime_tests::mode() == runtime_tests::Mode::Userns {
        skip!("-u nook: uid 1000 and its groups are not mapped where only root is (unshare -r)");
    }
    let n = setup!();
    let out = n.ok(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar",
        "-w",
        "/tmp",
        "-u",
        "nook",
        "--hostname",
        "box",
        "--entrypoint",
        "/bin/sh",
        "busybox",
        "-c",
        "echo $FOO; pwd; id -u; id -g; hostname",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["bar", "/tmp", "1000", "1000", "box"]
    );
}

#[test]
fn rm_leaves_no_container_and_no_mount() {
    let n = setup!();
    n.ok(&["run", "--rm", "busybox", "true"]);
    let containers = n.root.join("containers");
    let left: Vec<_> = std::fs::read_dir(&containers)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&*n.root.to_string_lossy()),
        "a mount of the store is left"
    );
    // The snapshot's files are deleted after the client was told: the name
    // and the image are free at once, the trash is empty soon after.
    n.ok(&["run", "--rm", "--name", "again", "busybox", "true"]);
    n.ok(&["run", "--rm", "--name", "again", "busybox", "true"]);
    n.ok(&["rmi", "busybox"]);
    let trash = n.root.join("trash");
    let empty = || std::fs::read_dir(&trash).map_or(true, |mut d| d.next().is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(empty(), "the trash is emptied");
}

#[test]
fn trash_left_by_a_killed_monitor_is_emptied_by_the_next_run() {
    let n = setup!();
    let left = n.root.join("trash").join("ab".repeat(32));
    std::fs::create_dir_all(left.join("snapshot/upper/etc")).unwrap();
    std::fs::write(left.join("snapshot/upper/etc/x"), "x").unwrap();
    n.ok(&["run", "--rm", "busybox", "true"]);
    assert!(!left.exists(), "{} is left", left.display());
}

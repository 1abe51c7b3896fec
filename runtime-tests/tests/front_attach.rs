//! `nook attach` without a terminal (sig-proxy on and off, stdin through two
//! attaches, --no-stdin), `exec -d -t` (runs on after nook exits, its terminal
//! held by the monitor), and bad input for attach and the stream flags of
//! `run` (one line, exit 125, nothing left). The terminal cases (detach keys)
//! are in front_tty.rs.

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_lifecycle.rs; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::{assert_error_125, eventually, TICK};
use std::io::Write;
use std::time::Duration;

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -s {sig} {pid}");
}

#[test]
fn attach_without_terminal_proxies_signals_or_not() {
    let f = front_or_skip!();
    let id = f.detached(&["--name", "px", "busybox", "sh", "-c", TICK]);
    // sig-proxy (the default): our SIGINT reaches the container, which
    // exits 7; attach returns its status.
    let a = f.spawn(&["attach", "px"]);
    std::thread::sleep(Duration::from_millis(500));
    signal(a.id(), "INT");
    let out = a.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tick"));
    assert!(f.status_of(&id).starts_with("Exited (7)"));
    f.ok(&["rm", "px"]);
    f.assert_gone(&id, "echo got-int");

    // --sig-proxy=false: the signal ends the client only.
    let id = f.detached(&["--name", "np", "busybox", "sh", "-c", TICK]);
    let a = f.spawn(&["attach", "--sig-proxy=false", "np"]);
    std::thread::sleep(Duration::from_millis(500));
    signal(a.id(), "INT");
    let out = a.wait_with_output().unwrap();
    assert_eq!(out.status.code(), None, "killed by the signal: {out:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(f.status_of(&id).starts_with("Up "), "{}", f.status_of(&id));
    f.ok(&["rm", "-f", "np"]);
    f.assert_gone(&id, "echo got-int");
}

/// A `nook` command with its stdin piped.
fn spawn_stdin(f: &front_support::Front, args: &[&str]) -> std::process::Child {
    f.n.command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn nook")
}

#[test]
fn attach_stdin_and_no_stdin() {
    let f = front_or_skip!();
    let id = f.detached(&[
        "-i",
        "--name",
        "cat",
        "busybox",
        "sh",
        "-c",
        "while read l; do echo got-$l; done; echo eof",
    ]);
    // Two lines through one attach; its end does not close the container's
    // stdin (only `run -i`'s client does: docker's StdinOnce).
    let mut a = spawn_stdin(&f, &["attach", "cat"]);
    a.stdin.as_mut().unwrap().write_all(b"one\n").unwrap();
    assert!(eventually(5, || f.ok(&["logs", "cat"]).contains("got-one")));
    drop(a.stdin.take());
    std::thread::sleep(Duration::from_millis(300));
    let _ = a.kill();
    let _ = a.wait();
    let mut b = spawn_stdin(&f, &["attach", "cat"]);
    b.stdin.as_mut().unwrap().write_all(b"two\n").unwrap();
    assert!(eventually(5, || f.ok(&["logs", "cat"]).contains("got-two")));
    let _ = b.kill();
    let _ = b.wait();
    assert!(!f.ok(&["logs", "cat"]).contains("eof"));
    // --no-stdin: what we type goes nowhere.
    let mut c = spawn_stdin(&f, &["attach", "--no-stdin", "cat"]);
    c.stdin.as_mut().unwrap().write_all(b"three\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = c.kill();
    let _ = c.wait();
    assert!(!f.ok(&["logs", "cat"]).contains("got-three"));
    f.ok(&["rm", "-f", "cat"]);
    f.assert_gone(&id, "while read l");
}

#[test]
fn bad_attach_and_run_flags() {
    let f = front_or_skip!();
    f.ok(&["run", "--name", "done", "busybox", "true"]);
    assert_error_125(
        &f.run(&["attach", "done"]),
        "You cannot attach to a stopped container, start it first",
    );
    assert_error_125(&f.run(&["attach", "nosuch"]), "No such container: nosuch");
    assert_error_125(
        &f.run(&["attach", "--detach-keys", "ctrl-1", "done"]),
        "--detach-keys \"ctrl-1\"",
    );
    let id = f.detached(&["-t", "-i", "--name", "tty", "busybox", "sh"]);
    assert_error_125(&f.run(&["attach", "tty"]), "the input device is not a TTY");
    f.ok(&["pause", "tty"]);
    assert_error_125(
        &f.run(&["attach", "tty"]),
        "You cannot attach to a paused container",
    );
    f.ok(&["rm", "-f", "tty"]);
    f.assert_gone(&id, "nothing-to-match-here");
    for args in [
        vec!["run", "--detach-keys", "ctrl-", "busybox", "true"],
        vec!["run", "--sig-proxy=maybe", "busybox", "true"],
    ] {
        let o = f.run(&args);
        assert_eq!(o.code, 125, "{args:?}: {}", o.stderr);
        assert_eq!(o.stderr.trim().lines().count(), 1, "{:?}", o.stderr);
    }
    assert_eq!(
        f.ok(&["ps", "-aq"]).lines().count(),
        1,
        "only `done` exists"
    );
    f.ok(&["rm", "done"]);
}

#[test]
fn exec_detached_with_a_terminal() {
    let f = front_or_skip!();
    let id = f.detached(&["--name", "xd", "busybox", "sleep", "1000050"]);
    let o = f.run(&[
        "exec",
        "-d",
        "-t",
        "xd",
        "sh",
        "-c",
        "tty > /tty.txt; sleep 1; echo done > /done.txt; sleep 1000051",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    // It runs on after nook exec has gone, on a terminal of its own, whose
    // master the container's monitor holds.
    assert!(eventually(5, || f
        .run(&["exec", "xd", "cat", "/done.txt"])
        .stdout
        .contains("done")));
    let tty = f.ok(&["exec", "xd", "cat", "/tty.txt"]);
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
    let top = f.ok(&["top", "xd"]);
    assert!(top.contains("sleep 1000051"), "{top}");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", f.monitor_pid(&id)))
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.ends_with("ptmx")))
        .count();
    assert_eq!(fds, 1, "the monitor holds the exec's terminal");
    // Bad input: exec -dt into a stopped container.
    f.ok(&["stop", "-t", "0", "xd"]);
    assert_error_125(&f.run(&["exec", "-dt", "xd", "true"]), "is not running");
    f.ok(&["rm", "xd"]);
    f.assert_gone(&id, "sleep 100005");
}
